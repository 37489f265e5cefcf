package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiKey is the key the server is started with; the fake upstream refuses any other.
const apiKey = "sk-loadtest-0123456789abcdef"

// upstreamPrefix is where the fake task API lives, so that a client that drops the base
// URL's path fails loudly.
const upstreamPrefix = "/relay"

// Task ids with fixed answers. Any other id finishes at its polls-th request.
const (
	runningPrefix = "run-"  // always RUNNING
	donePrefix    = "done-" // always SUCCEEDED
	// timedPrefix ids finish timedFinish after their first request, however often they are
	// polled: the replicas mode counts how often that is.
	timedPrefix = "timed-"
)

// timedFinish is how long a timed- task runs.
const timedFinish = 30 * time.Second

// upstream is a loopback fake of the task API. A task id answers PENDING at its first
// request, RUNNING after, and SUCCEEDED at its polls-th request; it counts requests per id
// and keeps when each arrived.
type upstream struct {
	polls int
	srv   *http.Server
	url   string // base URL, prefix included

	mu           sync.Mutex
	perID        map[string]int
	arrivals     []time.Time
	timed        map[string][]time.Time // the arrivals of each timed- task
	unauthorized int
}

func startUpstream(polls int) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{polls: polls, perID: map[string]int{}, timed: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+upstreamPrefix+"/task/{id}", u.serve)
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	u.url = "http://" + ln.Addr().String() + upstreamPrefix
	go func() { _ = u.srv.Serve(ln) }()
	return u, nil
}

func (u *upstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = u.srv.Shutdown(ctx)
}

// closeIdle closes the connections nobody uses, as an upstream does after its idle timeout,
// so that the server's pooled upstream connections do not count as its goroutines.
func (u *upstream) closeIdle() {
	u.srv.SetKeepAlivesEnabled(false) // closes idle connections
	u.srv.SetKeepAlivesEnabled(true)
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if r.Header.Get("Authorization") != "Bearer "+apiKey {
		u.mu.Lock()
		u.unauthorized++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r-401"}`)
		return
	}
	id := r.PathValue("id")
	u.mu.Lock()
	u.perID[id]++
	n := u.perID[id]
	u.arrivals = append(u.arrivals, now)
	var first time.Time
	if strings.HasPrefix(id, timedPrefix) {
		u.timed[id] = append(u.timed[id], now)
		first = u.timed[id][0]
	}
	u.mu.Unlock()

	var status string
	switch {
	case !first.IsZero() && now.Sub(first) >= timedFinish:
		status = "SUCCEEDED"
	case !first.IsZero() && n == 1:
		status = "PENDING"
	case !first.IsZero():
		status = "RUNNING"
	case strings.HasPrefix(id, runningPrefix):
		status = "RUNNING"
	case strings.HasPrefix(id, donePrefix) || n >= u.polls:
		status = "SUCCEEDED"
	case n == 1:
		status = "PENDING"
	default:
		status = "RUNNING"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, taskBody(id, status))
}

// taskBody is a task body as DashScope answers a query: request_id, and output with the
// task_id, task_status, times and, once SUCCEEDED, video_url and usage.
func taskBody(id, status string) string {
	reqID := fmt.Sprintf("%08x-5b1d-4a4e-8c7b-0d6e5f4a3b2c", len(id)*7919)
	switch status {
	case "SUCCEEDED":
		return `{"request_id":"` + reqID + `","output":{"task_id":"` + id + `","task_status":"SUCCEEDED",` +
			`"submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772","end_time":"2025-10-26 12:52:20.355",` +
			`"video_url":"https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/0a/20251026/` + id +
			`.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D",` +
			`"orig_prompt":"a cat runs across a meadow","actual_prompt":"A fluffy ginger cat sprints across a sunlit meadow at golden hour."},` +
			`"usage":{"video_count":1,"video_ratio":"832*480","video_duration":5}}`
	case "PENDING":
		return `{"request_id":"` + reqID + `","output":{"task_id":"` + id + `","task_status":"PENDING","submit_time":"2025-10-26 12:50:16.723"}}`
	default:
		return `{"request_id":"` + reqID + `","output":{"task_id":"` + id + `","task_status":"` + status +
			`","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772"}}`
	}
}

// requests returns how many requests id received.
func (u *upstream) requests(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.perID[id]
}

// timedArrivals returns the arrivals of every timed- task.
func (u *upstream) timedArrivals() map[string][]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string][]time.Time, len(u.timed))
	for id, ts := range u.timed {
		out[id] = slices.Clone(ts)
	}
	return out
}

// snapshot returns the request count of every id and every arrival time, in order.
func (u *upstream) snapshot() (map[string]int, []time.Time, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	perID := make(map[string]int, len(u.perID))
	for k, v := range u.perID {
		perID[k] = v
	}
	return perID, slices.Clone(u.arrivals), u.unauthorized
}

// rates returns the most requests that arrived within one wall-clock second (a calendar
// second, as a per-second quota counts), the most within any sliding one-second window, and
// the shortest gap between two consecutive arrivals, and how many gaps were shorter than
// half of spacing.
func rates(arrivals []time.Time, spacing time.Duration) (perSecond, sliding int, busiest time.Time, minGap time.Duration, short int) {
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	buckets := map[int64]int{}
	for _, t := range arrivals {
		s := t.Unix()
		buckets[s]++
		if buckets[s] > perSecond {
			perSecond, busiest = buckets[s], time.Unix(s, 0)
		}
	}
	minGap = -1
	for i := 1; i < len(arrivals); i++ {
		gap := arrivals[i].Sub(arrivals[i-1])
		if minGap < 0 || gap < minGap {
			minGap = gap
		}
		if gap < spacing/2 {
			short++
		}
	}
	lo := 0
	for hi := range arrivals {
		for arrivals[hi].Sub(arrivals[lo]) >= time.Second {
			lo++
		}
		sliding = max(sliding, hi-lo+1)
	}
	return perSecond, sliding, busiest, minGap, short
}

// Control endpoints of an upstream run as its own process.
const (
	statsPath     = "/_loadtest/stats"
	closeIdlePath = "/_loadtest/close-idle"
)

// upstreamStats is what the stats endpoint answers.
type upstreamStats struct {
	PerID        map[string]int `json:"per_id"`
	Arrivals     []int64        `json:"arrivals_unix_nano"`
	Unauthorized int            `json:"unauthorized"`
	// Timed holds the arrivals of each timed- task, in Unix nanoseconds.
	Timed map[string][]int64 `json:"timed,omitempty"`
}

// serveUpstreamProcess is -mode upstream-process: the fake upstream as a process of its own,
// so that the load on the test's clients cannot delay (and bunch) what it observes. It
// prints its base URL, serves until stdin closes, and answers the control endpoints.
func serveUpstreamProcess(polls int) error {
	u, err := startUpstream(polls)
	if err != nil {
		return err
	}
	defer u.close()
	mux := u.srv.Handler.(*http.ServeMux)
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, r *http.Request) {
		perID, arrivals, unauthorized := u.snapshot()
		st := upstreamStats{PerID: perID, Unauthorized: unauthorized, Timed: map[string][]int64{}}
		for _, t := range arrivals {
			st.Arrivals = append(st.Arrivals, t.UnixNano())
		}
		for id, ts := range u.timedArrivals() {
			for _, t := range ts {
				st.Timed[id] = append(st.Timed[id], t.UnixNano())
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("POST "+closeIdlePath, func(w http.ResponseWriter, r *http.Request) {
		u.closeIdle()
		w.WriteHeader(http.StatusNoContent)
	})
	fmt.Println(u.url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// upstreamProcess is the fake upstream run by serveUpstreamProcess, seen from the test.
type upstreamProcess struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	url     string
	control *http.Client
}

func startUpstreamProcess(polls int) (*upstreamProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &upstreamProcess{control: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
	p.cmd = exec.Command(self, "-mode", "upstream-process", "-polls", strconv.Itoa(polls))
	p.cmd.Stderr = os.Stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.close()
		return nil, fmt.Errorf("the upstream process did not say where it listens: %w", err)
	}
	p.url = strings.TrimSpace(line)
	return p, nil
}

// close ends the process by closing its stdin.
func (p *upstreamProcess) close() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func (p *upstreamProcess) origin() string {
	return strings.TrimSuffix(p.url, upstreamPrefix)
}

// closeIdle asks the upstream to close its idle connections.
func (p *upstreamProcess) closeIdle() error {
	resp, err := p.control.Post(p.origin()+closeIdlePath, "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// snapshot is upstream.snapshot, fetched.
func (p *upstreamProcess) snapshot() (map[string]int, []time.Time, int, error) {
	resp, err := p.control.Get(p.origin() + statsPath)
	if err != nil {
		return nil, nil, 0, err
	}
	defer resp.Body.Close()
	var st upstreamStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, nil, 0, fmt.Errorf("upstream stats: %w", err)
	}
	arrivals := make([]time.Time, len(st.Arrivals))
	for i, ns := range st.Arrivals {
		arrivals[i] = time.Unix(0, ns)
	}
	return st.PerID, arrivals, st.Unauthorized, nil
}
