package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverEnv is the environment of a server under test: this process's, minus anything that
// configures the server, plus the API key.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GPTGE_"), strings.HasPrefix(name, "DASHSCOPE_"),
			name == "MCP_AUTH_TOKEN", name == "LOG_LEVEL", name == "VIDEO_TASK_ENABLE_CREATE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GPTGE_API_KEY="+apiKey)
}

// logBuffer collects a process's stderr, up to a bound.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const maxLog = 4 << 20

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < maxLog {
		b.buf.Write(p[:min(len(p), maxLog-b.buf.Len())])
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines.
func (b *logBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// httpServer is the server run with --transport http as a subprocess.
type httpServer struct {
	cmd      *exec.Cmd
	stderr   *logBuffer
	exited   chan struct{}
	mcpURL   string // http://127.0.0.1:port/mcp
	debugURL string // http://127.0.0.1:port/debug/pprof/
}

var (
	listeningLine = regexp.MustCompile(`listening url=(http://\S+)`)
	debugLine     = regexp.MustCompile(`debug endpoints url=(http://\S+)`)
)

// startHTTPServer starts bin with Streamable HTTP and the debug endpoints on free loopback
// ports, extraEnv added to its environment, and waits until it listens.
func startHTTPServer(bin string, extraEnv []string, args ...string) (*httpServer, error) {
	args = append([]string{"--transport", "http", "--addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0"}, args...)
	s := &httpServer{stderr: &logBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(serverEnv(), extraEnv...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		log := s.stderr.String()
		m, d := listeningLine.FindStringSubmatch(log), debugLine.FindStringSubmatch(log)
		if m != nil && d != nil {
			s.mcpURL, s.debugURL = m[1], d[1]
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited before listening: %s", s.stderr.tail(20))
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.kill()
	return nil, fmt.Errorf("server did not listen within 15 s: %s", s.stderr.tail(20))
}

func (s *httpServer) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit; it kills after 10 s.
func (s *httpServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

func (s *httpServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// memory is what /proc/<pid>/status says of a process's resident memory, in KiB.
type memory struct {
	rss, hwm int64
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	for line := range strings.Lines(string(b)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmRSS":
			m.rss = kb
		case "VmHWM":
			m.hwm = kb
		}
	}
	if m.hwm == 0 {
		return m, errors.New("no VmHWM in /proc status")
	}
	return m, nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// goroutineCount is the server's goroutines, from its pprof endpoint, and how many of them
// sit in each of a few known places.
type goroutineCount struct {
	total int
	where map[string]int
}

// goroutinePlaces classify goroutines by a function on their stack; the innermost frame
// that matches one wins.
var goroutinePlaces = []struct{ name, frame string }{
	{"wait calls", "tools.(*waiter).run"},
	{"get calls", "tools.(*handlers).getVideoTask"},
	{"poll loops", "tools.(*pollHub).run"},
	{"rate limiter waits", "api.(*rateLimiter).wait"},
	{"Streamable HTTP requests", "server.(*StreamableHTTPServer)"},
	{"HTTP connections (server side)", "net/http.(*conn"},
	{"upstream connections", "net/http.(*persistConn)"},
}

func readGoroutines(ctx context.Context, hc *http.Client, debugURL string) (goroutineCount, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, debugURL+"goroutine?debug=1", nil)
	if err != nil {
		return goroutineCount{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return goroutineCount{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return goroutineCount{}, err
	}
	g := goroutineCount{total: -1, where: map[string]int{}}
	// The first line is "goroutine profile: total N"; then groups, each a line
	// "COUNT @ addresses" followed by its frames, separated by blank lines.
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	group, placed := 0, false
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "goroutine profile: total "); ok {
			g.total, _ = strconv.Atoi(strings.TrimSpace(rest))
			continue
		}
		if count, _, ok := strings.Cut(line, " @ "); ok && !strings.HasPrefix(line, "#") {
			if n, err := strconv.Atoi(count); err == nil {
				group, placed = n, false
				continue
			}
		}
		if placed || group == 0 || !strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range goroutinePlaces {
			if strings.Contains(line, p.frame) {
				g.where[p.name] += group
				placed = true
				break
			}
		}
	}
	if g.total < 0 {
		return g, fmt.Errorf("no goroutine total in %s", debugURL)
	}
	return g, nil
}

func (g goroutineCount) String() string {
	var parts []string
	for _, p := range goroutinePlaces {
		if n := g.where[p.name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p.name, n))
		}
	}
	if len(parts) == 0 {
		return strconv.Itoa(g.total)
	}
	return fmt.Sprintf("%d (%s)", g.total, strings.Join(parts, ", "))
}

// runtimeMemory is the part of the server's runtime.MemStats (from expvar) that explains its
// resident memory.
type runtimeMemory struct {
	Sys        uint64 `json:"Sys"`
	HeapInuse  uint64 `json:"HeapInuse"`
	HeapAlloc  uint64 `json:"HeapAlloc"`
	StackInuse uint64 `json:"StackInuse"`
	NextGC     uint64 `json:"NextGC"`
	NumGC      uint32 `json:"NumGC"`
}

func readRuntimeMemory(ctx context.Context, hc *http.Client, debugURL string) (runtimeMemory, error) {
	varsURL := strings.TrimSuffix(debugURL, "pprof/") + "vars"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, varsURL, nil)
	if err != nil {
		return runtimeMemory{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return runtimeMemory{}, err
	}
	defer resp.Body.Close()
	var vars struct {
		MemStats runtimeMemory `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return runtimeMemory{}, fmt.Errorf("%s: %w", varsURL, err)
	}
	return vars.MemStats, nil
}

func (m runtimeMemory) String() string {
	return fmt.Sprintf("goroutine stacks %s, heap in use %s (allocated %s, next GC at %s), all from the OS %s",
		mibBytes(m.StackInuse), mibBytes(m.HeapInuse), mibBytes(m.HeapAlloc), mibBytes(m.NextGC), mibBytes(m.Sys))
}

func mibBytes(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// sampler reads a server's memory (from /proc and its expvar memstats) every memEvery and
// its goroutines (from pprof) every goroutinesEvery. Collecting a goroutine profile costs
// the server memory of its own when it has thousands of goroutines: a longer
// goroutinesEvery disturbs the memory figures less.
type sampler struct {
	peakRSS        int64
	peakInUse      runtimeMemory // the sample with the most heap and stack in use
	peakGoroutines goroutineCount
	samples        int
	goroutineReads int
	errs           int
}

func (s *sampler) run(ctx context.Context, pid int, debugURL string, memEvery, goroutinesEvery time.Duration) {
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(memEvery)
	defer tick.Stop()
	var lastGoroutines time.Time
	for {
		if m, err := readMemory(pid); err == nil {
			rm, err := readRuntimeMemory(ctx, hc, debugURL)
			if err != nil && ctx.Err() == nil {
				s.errs++
			}
			s.peakRSS = max(s.peakRSS, m.rss)
			if rm.HeapInuse+rm.StackInuse > s.peakInUse.HeapInuse+s.peakInUse.StackInuse {
				s.peakInUse = rm
			}
		} else {
			s.errs++
		}
		if time.Since(lastGoroutines) >= goroutinesEvery {
			lastGoroutines = time.Now()
			if g, err := readGoroutines(ctx, hc, debugURL); err == nil {
				s.goroutineReads++
				if g.total > s.peakGoroutines.total {
					s.peakGoroutines = g
				}
			} else if ctx.Err() == nil {
				s.errs++
			}
		}
		s.samples++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// percentile returns the p-th percentile (0-100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// ms renders a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}
