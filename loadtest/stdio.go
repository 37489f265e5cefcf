package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// initializeRequest is what a client sends first over stdio.
const initializeRequest = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"video-task-mcp-loadtest","version":"0"}}}` + "\n"

const initializedNotification = `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"

// stdioServer is the server run over stdio, spoken to in raw JSON-RPC lines so that no
// client library's cost is counted as the server's.
type stdioServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *logBuffer
	nextID int
}

func startStdio(bin string, args ...string) (*stdioServer, error) {
	s := &stdioServer{stderr: &logBuffer{}, nextID: 1}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = serverEnv()
	s.cmd.Stderr = s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.stdout = bufio.NewReaderSize(out, 64<<10)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// stop closes stdin, which ends the server, and waits; it kills after 5 s.
func (s *stdioServer) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// roundTrip writes one request line and reads lines until the answer with its id.
func (s *stdioServer) roundTrip(request []byte, id int) ([]byte, error) {
	if _, err := s.stdin.Write(request); err != nil {
		return nil, err
	}
	want := []byte(`"id":` + strconv.Itoa(id) + `,`)
	want2 := []byte(`"id":` + strconv.Itoa(id) + `}`)
	for {
		line, err := s.stdout.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("reading the answer: %w; server stderr: %s", err, s.stderr.tail(10))
		}
		if bytes.Contains(line, want) || bytes.Contains(line, want2) {
			return line, nil
		}
	}
}

// request renders a JSON-RPC request with a fresh id.
func (s *stdioServer) request(method, params string) ([]byte, int) {
	s.nextID++
	id := s.nextID
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params), id
}

// initialize performs the handshake.
func (s *stdioServer) initialize() error {
	answer, err := s.roundTrip([]byte(initializeRequest), 1)
	if err != nil {
		return err
	}
	if !bytes.Contains(answer, []byte(`"result"`)) {
		return fmt.Errorf("initialize answered %s", answer)
	}
	_, err = s.stdin.Write([]byte(initializedNotification))
	return err
}

// measureStartup times process start to the initialize answer over stdio, runs times, next
// to a minimal Go program that answers one line, the floor of any Go server.
func measureStartup(ctx context.Context, bin, workDir string, runs int) error {
	section(fmt.Sprintf("startup: process start to initialize answer over stdio, %d runs", runs))
	floor, err := buildEcho(ctx, workDir)
	if err != nil {
		return err
	}
	timeOne := func(path string, args ...string) (time.Duration, error) {
		cmd := exec.Command(path, args...)
		cmd.Env = serverEnv()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return 0, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		defer func() {
			_ = stdin.Close()
			_ = cmd.Wait()
		}()
		if _, err := io.WriteString(stdin, initializeRequest); err != nil {
			return 0, err
		}
		line, err := bufio.NewReader(out).ReadBytes('\n')
		elapsed := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("%s: no answer: %w", path, err)
		}
		if !bytes.Contains(line, []byte(`"result"`)) {
			return 0, fmt.Errorf("%s answered %s", path, line)
		}
		return elapsed, nil
	}
	series := func(path string) ([]time.Duration, error) {
		if _, err := timeOne(path); err != nil { // warm the page cache; not counted
			return nil, err
		}
		var ds []time.Duration
		for range runs {
			d, err := timeOne(path)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		return ds, nil
	}
	server, err := series(bin)
	if err != nil {
		return err
	}
	echo, err := series(floor)
	if err != nil {
		return err
	}
	fmt.Printf("  video-task-mcp: median %s, p90 %s, min %s, max %s\n",
		ms(percentile(server, 50)), ms(percentile(server, 90)), ms(percentile(server, 0)), ms(percentile(server, 100)))
	fmt.Printf("  floor (a Go program that reads a line and answers one): median %s, p90 %s\n",
		ms(percentile(echo, 50)), ms(percentile(echo, 90)))
	target("start to initialize answer (median)", percentile(server, 50) <= 20*time.Millisecond,
		ms(percentile(server, 50)), "<= 20 ms")
	return nil
}

// echoSource is the floor program: it answers the first line of stdin with a result and
// exits when stdin ends.
const echoSource = `package main

import (
	"bufio"
	"io"
	"os"
)

func main() {
	r := bufio.NewReader(os.Stdin)
	if _, err := r.ReadBytes('\n'); err != nil {
		return
	}
	os.Stdout.WriteString("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n")
	io.Copy(io.Discard, r)
}
`

func buildEcho(ctx context.Context, workDir string) (string, error) {
	dir := filepath.Join(workDir, "echo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(echoSource), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module echo\n\ngo 1.24\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "echo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the floor program: %v\n%s", err, b)
	}
	return out, nil
}

// measureIdleMemory starts the stdio server, initializes it, lists its tools, leaves it idle
// for a second and reads its peak resident memory; runs times.
func measureIdleMemory(ctx context.Context, bin, workDir string, runs int) error {
	section(fmt.Sprintf("idle memory: stdio server after initialize and tools/list, idle 1 s, %d runs", runs))
	one := func(path string, fullHandshake bool) (memory, error) {
		s, err := startStdio(path)
		if err != nil {
			return memory{}, err
		}
		defer s.stop()
		if fullHandshake {
			if err := s.initialize(); err != nil {
				return memory{}, err
			}
			req, id := s.request("tools/list", "{}")
			answer, err := s.roundTrip(req, id)
			if err != nil {
				return memory{}, err
			}
			if !bytes.Contains(answer, []byte("wait_for_video_task")) {
				return memory{}, fmt.Errorf("tools/list answered %.200s", answer)
			}
		} else if _, err := s.roundTrip([]byte(initializeRequest), 1); err != nil {
			return memory{}, err
		}
		time.Sleep(time.Second)
		return readMemory(s.cmd.Process.Pid)
	}
	floor, err := buildEcho(ctx, workDir)
	if err != nil {
		return err
	}
	var hwm, rss, floorHWM []int64
	for range runs {
		m, err := one(bin, true)
		if err != nil {
			return err
		}
		hwm, rss = append(hwm, m.hwm), append(rss, m.rss)
	}
	for range min(runs, 3) {
		m, err := one(floor, false)
		if err != nil {
			return err
		}
		floorHWM = append(floorHWM, m.hwm)
	}
	slices.Sort(hwm)
	slices.Sort(rss)
	slices.Sort(floorHWM)
	fmt.Printf("  video-task-mcp: peak (VmHWM) median %s, max %s; RSS median %s\n",
		mib(hwm[len(hwm)/2]), mib(hwm[len(hwm)-1]), mib(rss[len(rss)/2]))
	fmt.Printf("  floor (a Go program that reads a line and answers one): VmHWM %s\n", mib(floorHWM[len(floorHWM)/2]))
	target("idle stdio peak memory (max of runs)", hwm[len(hwm)-1] <= 20<<10, mib(hwm[len(hwm)-1]), "<= 20 MiB")
	return nil
}

// measureSize builds the server twice and reports the sizes.
func measureSize(ctx context.Context, root, workDir string) error {
	section("binary size")
	for _, b := range []struct {
		name  string
		flags []string
	}{
		{"go build", nil},
		{`go build -trimpath -ldflags "-s -w"`, []string{"-trimpath", "-ldflags", "-s -w"}},
	} {
		out := filepath.Join(workDir, "size-video-task-mcp")
		if err := goBuild(ctx, root, out, b.flags...); err != nil {
			return err
		}
		info, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Printf("  %-36s %10d bytes (%.1f MiB)\n", b.name, info.Size(), float64(info.Size())/(1<<20))
		_ = os.Remove(out)
	}
	return nil
}

// measureStdioRTT times, side by side in one run, a get_video_task round trip over stdio on a
// RUNNING task (one upstream request each) and a direct keep-alive GET of the same loopback
// upstream, alternating, iters of each; and, for reference, a get of a finished task,
// answered from memory.
func measureStdioRTT(ctx context.Context, bin string, iters int) error {
	section(fmt.Sprintf("stdio round trip: get_video_task over stdio vs a direct keep-alive GET, %d each, alternating", iters))
	up, err := startUpstream(1)
	if err != nil {
		return err
	}
	defer up.close()
	// The rate limit is lifted: this measures the path, not the limiter, which would
	// space back-to-back calls 100 ms apart at the default --max-qps 10.
	s, err := startStdio(bin, "--base-url", up.url, "--max-qps", "1000000")
	if err != nil {
		return err
	}
	defer s.stop()
	if err := s.initialize(); err != nil {
		return err
	}
	hc := api.NewHTTPClient() // the transport the server's own upstream client uses
	defer hc.CloseIdleConnections()

	// Both ask for a RUNNING task of the same upstream; distinct ids of one length keep
	// their request counts apart.
	const runningID, directID, doneID = runningPrefix + "rtt-mcp", runningPrefix + "rtt-get", donePrefix + "rtt-mcp"
	direct := func() (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, up.url+"/task/"+directID, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"RUNNING"`)) {
			return 0, fmt.Errorf("direct GET: %d %v %s", resp.StatusCode, err, body)
		}
		return elapsed, nil
	}
	viaStdio := func(id, status string) (time.Duration, error) {
		req, rid := s.request("tools/call", `{"name":"get_video_task","arguments":{"task_id":"`+id+`"}}`)
		start := time.Now()
		answer, err := s.roundTrip(req, rid)
		elapsed := time.Since(start)
		if err != nil {
			return 0, err
		}
		if !bytes.Contains(answer, []byte(`"task_status":"`+status+`"`)) || bytes.Contains(answer, []byte(`"isError":true`)) {
			return 0, fmt.Errorf("get_video_task answered %.300s", answer)
		}
		return elapsed, nil
	}
	if _, err := viaStdio(doneID, "SUCCEEDED"); err != nil { // remembered from now on
		return err
	}
	warm := max(iters/10, 50)
	var directs, stdios, cached, diffs []time.Duration
	for i := range warm + iters {
		// Alternate which goes first, so that neither always follows the other.
		var d, st time.Duration
		var err1, err2 error
		if i%2 == 0 {
			d, err1 = direct()
			st, err2 = viaStdio(runningID, "RUNNING")
		} else {
			st, err2 = viaStdio(runningID, "RUNNING")
			d, err1 = direct()
		}
		c, err3 := viaStdio(doneID, "SUCCEEDED")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		if i < warm {
			continue
		}
		directs, stdios, cached, diffs = append(directs, d), append(stdios, st), append(cached, c), append(diffs, st-d)
	}
	upstreamRequests := up.requests(runningID)
	medianDirect, medianStdio := percentile(directs, 50), percentile(stdios, 50)
	fmt.Printf("  direct keep-alive GET:                     median %s, p90 %s\n", ms(medianDirect), ms(percentile(directs, 90)))
	fmt.Printf("  get_video_task over stdio, RUNNING task:   median %s, p90 %s  (%d upstream requests for %d calls)\n",
		ms(medianStdio), ms(percentile(stdios, 90)), upstreamRequests, warm+iters)
	fmt.Printf("  get_video_task over stdio, finished task:  median %s, p90 %s  (remembered: no upstream request)\n",
		ms(percentile(cached, 50)), ms(percentile(cached, 90)))
	fmt.Printf("  difference of medians %s (ratio %.2f); median of paired differences %s\n",
		ms(medianStdio-medianDirect), float64(medianStdio)/float64(medianDirect), ms(percentile(diffs, 50)))
	target("stdio get_video_task minus direct GET (median)", medianStdio-medianDirect <= 300*time.Microsecond,
		ms(medianStdio-medianDirect), "<= 0.300 ms")
	if upstreamRequests != warm+iters {
		return fmt.Errorf("the RUNNING task got %d upstream requests for %d calls", upstreamRequests, warm+iters)
	}
	return nil
}
