package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/redis/go-redis/v9"
)

// replicaCount is how many server processes the replicas mode runs.
const replicaCount = 3

// replicaScenario is one run of the replicas mode.
type replicaScenario struct {
	name   string
	redis  bool // the servers share a Redis
	kill   bool // kill -9 the last server mid-run
	outage bool // stop Redis for outageFor mid-run
}

// Mid-run events happen this long after the waits start (the tasks run timedFinish).
const (
	eventAt   = 10 * time.Second
	outageFor = 5 * time.Second
)

// runReplicas is -mode replicas: three servers over Streamable HTTP, with and without one
// Redis, o.n waits spread round-robin over them, 10 callers on each task id; then the same
// with one server killed mid-run, with Redis stopped mid-run, and without Redis.
func runReplicas(ctx context.Context, bin, workDir string, o options) ([]string, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not on PATH: install the Debian package redis-server")
	}
	var failures []string
	for _, sc := range []replicaScenario{
		{name: "shared", redis: true},
		{name: "shared, one server killed (kill -9) mid-run", redis: true, kill: true},
		{name: "shared, Redis stopped for 5 s mid-run", redis: true, outage: true},
		{name: "alone (no --redis-url)"},
	} {
		f, err := runReplicaScenario(ctx, bin, workDir, o, sc)
		if err != nil {
			return failures, fmt.Errorf("%s: %w", sc.name, err)
		}
		failures = append(failures, f...)
	}
	return failures, nil
}

// replicaOutcome is how one wait ended.
type replicaOutcome struct {
	server int
	status string // "" when the call failed
	err    string
}

func runReplicaScenario(ctx context.Context, bin, workDir string, o options, sc replicaScenario) ([]string, error) {
	ids := max(o.n/10, 1)
	section(fmt.Sprintf("replicas (%s): %d servers, %d waits round-robin, %d callers on each of %d task ids", sc.name, replicaCount, o.n, o.n/ids, ids))
	up, err := startUpstreamProcess(o.polls)
	if err != nil {
		return nil, err
	}
	defer up.close()
	var rs *redisServer
	if sc.redis {
		if rs, err = startRedis(workDir); err != nil {
			return nil, err
		}
		defer rs.stop()
	}
	args := []string{
		"--base-url", up.url,
		"--max-qps", strconv.FormatFloat(o.maxQPS, 'f', -1, 64),
		"--poll-interval", o.pollInterval.String(),
		"--max-poll-interval", o.maxPollInterval.String(),
		"--wait-timeout", o.waitTimeout.String(),
		"--max-calls", strconv.Itoa(2*o.n + 100),
		"--max-calls-per-client", strconv.Itoa(2*o.n + 100),
	}
	if rs != nil {
		args = append(args, "--redis-url", rs.url())
	}
	servers := make([]*httpServer, replicaCount)
	for i := range servers {
		if servers[i], err = startHTTPServer(bin, nil, args...); err != nil {
			return nil, err
		}
		defer servers[i].stop()
	}
	fmt.Printf("  servers: --max-qps %g each, --poll-interval %s --max-poll-interval %s; upstream: each task SUCCEEDED %s after its first request\n",
		o.maxQPS, o.pollInterval, o.maxPollInterval, timedFinish)

	callersHTTP, callersTransport := newHTTPClient(o.n + 16)
	defer callersTransport.CloseIdleConnections()
	clients := make([]*mcpClient, o.n)
	for i := range clients {
		c, err := newMCPClient(ctx, servers[i%replicaCount].mcpURL, callersHTTP, o.protocol)
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		defer c.Close()
		clients[i] = c
	}

	outcomes := make([]replicaOutcome, o.n)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			outcomes[i] = replicaOutcome{server: i % replicaCount}
			id := fmt.Sprintf("%s%03d", timedPrefix, i%ids)
			res, err := c.call(ctx, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": int(o.waitTimeout / time.Second)},
				&mcp.Meta{ProgressToken: fmt.Sprintf("r-%d", i)})
			switch {
			case err != nil:
				outcomes[i].err = err.Error()
			case res.IsError:
				outcomes[i].err = resultText(res)
			default:
				outcomes[i].status, _, _ = structured(res)
			}
		})
	}
	var eventTime time.Time
	var leases map[string]bool // the tasks whose lease the killed server held
	if sc.kill || sc.outage {
		select {
		case <-time.After(eventAt):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		eventTime = time.Now()
		if sc.kill {
			leases, err = leasesOf(ctx, rs, servers[replicaCount-1])
			if err != nil {
				return nil, err
			}
			eventTime = time.Now()
			servers[replicaCount-1].kill()
		} else {
			rs.stop()
			time.Sleep(outageFor)
			if err := rs.start(); err != nil {
				return nil, err
			}
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	st, err := up.stats()
	if err != nil {
		return nil, err
	}
	return reportReplicas(o, sc, outcomes, st, eventTime, leases, elapsed, servers), nil
}

// onePollSchedule is how many polls one caller's loop makes of a task that runs for d: at 0,
// then after pauses from first growing by half up to most, until one comes at or after d.
func onePollSchedule(first, most, d time.Duration) int {
	n, at, pause := 1, time.Duration(0), first
	for at < d {
		at += pause
		pause = min(time.Duration(float64(pause)*1.5), most)
		n++
	}
	return n
}

func reportReplicas(o options, sc replicaScenario, outcomes []replicaOutcome, st upstreamStats, eventTime time.Time, leases map[string]bool, elapsed time.Duration, servers []*httpServer) []string {
	var failures []string
	fail := func(format string, args ...any) {
		msg := sc.name + ": " + fmt.Sprintf(format, args...)
		failures = append(failures, msg)
		fmt.Println("  FAIL", msg)
	}
	// Waits.
	killed := -1
	if sc.kill {
		killed = replicaCount - 1
	}
	var succeeded, failedOnKilled, failedElsewhere, other int
	firstErr := ""
	for _, w := range outcomes {
		switch {
		case w.err != "" && w.server == killed:
			failedOnKilled++
		case w.err != "":
			failedElsewhere++
			if firstErr == "" {
				firstErr = w.err
			}
		case w.status == "SUCCEEDED":
			succeeded++
		default:
			other++
		}
	}
	fmt.Printf("  waits: %d SUCCEEDED, %d failed on the killed server, %d failed elsewhere, %d ended otherwise, in %s\n",
		succeeded, failedOnKilled, failedElsewhere, other, elapsed.Round(100*time.Millisecond))
	if failedElsewhere > 0 || other > 0 {
		fail("%d waits failed and %d did not end SUCCEEDED on live servers (first error: %.200s)", failedElsewhere, other, firstErr)
	}
	if sc.kill && succeeded != len(outcomes)-len(outcomes)/replicaCount {
		fail("%d waits on the live servers SUCCEEDED, want %d", succeeded, len(outcomes)-len(outcomes)/replicaCount)
	}

	// Polls per task.
	one := onePollSchedule(o.pollInterval, o.maxPollInterval, timedFinish)
	var counts []int
	over := 0
	timed := map[string][]time.Time{}
	for id, ns := range st.Timed {
		ts := make([]time.Time, len(ns))
		for i, n := range ns {
			ts[i] = time.Unix(0, n)
		}
		timed[id] = ts
		counts = append(counts, len(ts))
		if len(ts) > one+1 {
			over++
		}
	}
	slices.Sort(counts)
	if len(counts) == 0 {
		fail("the upstream saw no polls")
		return failures
	}
	fmt.Printf("  polls per task: min %d, median %d, max %d (one caller's loop: %d); tasks over one caller's polls plus one: %d of %d\n",
		counts[0], counts[len(counts)/2], counts[len(counts)-1], one, over, len(counts))
	if sc.redis && !sc.outage && over > 0 {
		fail("%d tasks were polled more than one caller's polls plus one", over)
	}

	// The upstream's busiest second.
	arrivals := make([]time.Time, len(st.Arrivals))
	for i, n := range st.Arrivals {
		arrivals[i] = time.Unix(0, n)
	}
	perSecond, sliding, _, _, _ := rates(arrivals, time.Duration(float64(time.Second)/o.maxQPS))
	fmt.Printf("  upstream: %d requests; busiest calendar second %d, busiest sliding second %d (--max-qps %g per server, %d servers)\n",
		len(arrivals), perSecond, sliding, o.maxQPS, replicaCount)
	if sc.redis && !sc.outage && perSecond > int(o.maxQPS) {
		fail("busiest second at the upstream %d > --max-qps %g", perSecond, o.maxQPS)
	}

	switch {
	case sc.kill:
		// How long each task whose lease the killed server held went unpolled after the
		// kill, against two of its poll intervals before it.
		var gaps []time.Duration
		late := 0
		for id := range leases {
			ts := timed[id]
			i, _ := slices.BinarySearchFunc(ts, eventTime, time.Time.Compare)
			if i < 2 || i >= len(ts) {
				continue
			}
			gap, pause := ts[i].Sub(eventTime), ts[i-1].Sub(ts[i-2])
			gaps = append(gaps, gap)
			if gap > 2*pause {
				late++
			}
		}
		slices.Sort(gaps)
		if len(gaps) == 0 {
			fail("the killed server held no lease of a running task")
			break
		}
		fmt.Printf("  the killed server held %d leases; another server polled each of those tasks after median %s, max %s; later than two of its poll intervals: %d\n",
			len(gaps), ms(gaps[len(gaps)/2]), ms(gaps[len(gaps)-1]), late)
		if late > 0 {
			fail("%d tasks waited more than two poll intervals for another server to take their lease", late)
		}
	case sc.outage:
		var during []int
		for _, ts := range timed {
			n := 0
			for _, t := range ts {
				if !t.Before(eventTime) && t.Before(eventTime.Add(outageFor)) {
					n++
				}
			}
			during = append(during, n)
		}
		slices.Sort(during)
		fmt.Printf("  polls per task during the %s outage: min %d, median %d, max %d (each server polls on its own; %d servers)\n",
			outageFor, during[0], during[len(during)/2], during[len(during)-1], replicaCount)
		var perSecond []string
		for from := eventTime.Add(-2 * time.Second); from.Before(eventTime.Add(outageFor + 4*time.Second)); from = from.Add(time.Second) {
			n := 0
			for _, t := range arrivals {
				if !t.Before(from) && t.Before(from.Add(time.Second)) {
					n++
				}
			}
			perSecond = append(perSecond, strconv.Itoa(n))
		}
		fmt.Printf("  upstream requests in each second from 2 s before the outage to 4 s after it: %s\n", strings.Join(perSecond, " "))
	}
	if sc.redis {
		var logged []string
		for _, s := range servers {
			logged = append(logged, strconv.Itoa(strings.Count(s.stderr.String(), "redis is unreachable")))
		}
		fmt.Printf("  Redis outages logged by each server: %s\n", strings.Join(logged, ", "))
	}
	return failures
}

// leasesOf returns the tasks whose lease srv holds, by the instance id it logged.
func leasesOf(ctx context.Context, rs *redisServer, srv *httpServer) (map[string]bool, error) {
	m := instanceLine.FindStringSubmatch(srv.stderr.String())
	if m == nil {
		return nil, errors.New("the server did not log its instance id")
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.socket})
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, "video-task-mcp:*:lease:*").Result()
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, k := range keys {
		if v, err := rdb.Get(ctx, k).Result(); err == nil && v == m[1] {
			held[k[strings.LastIndex(k, ":")+1:]] = true
		}
	}
	return held, nil
}

var instanceLine = regexp.MustCompile(`sharing the rate limit.* instance=(\S+)`)

// stats fetches the upstream's figures whole.
func (p *upstreamProcess) stats() (upstreamStats, error) {
	resp, err := p.control.Get(p.origin() + statsPath)
	if err != nil {
		return upstreamStats{}, err
	}
	defer resp.Body.Close()
	var st upstreamStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return upstreamStats{}, fmt.Errorf("upstream stats: %w", err)
	}
	return st, nil
}

// redisServer is a redis-server on a unix socket in a directory of its own.
type redisServer struct {
	dir    string
	socket string
	cmd    *exec.Cmd
}

func startRedis(workDir string) (*redisServer, error) {
	dir, err := os.MkdirTemp(workDir, "redis")
	if err != nil {
		return nil, err
	}
	r := &redisServer{dir: dir, socket: filepath.Join(dir, "redis.sock")}
	return r, r.start()
}

func (r *redisServer) url() string { return "unix://" + r.socket }

func (r *redisServer) start() error {
	r.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", r.socket, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", r.socket); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("redis-server did not listen within 10 s")
}

func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
	_ = os.Remove(r.socket)
}
