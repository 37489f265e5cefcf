package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Task ids of the get_video_task probes: one that never finishes and that nobody waits on,
// so every get costs an upstream request, and one that finished before the waits began.
const (
	probeRunningID = runningPrefix + "probe"
	probeDoneID    = donePrefix + "probe"
)

// settle is how long the server is left alone before its goroutines are counted.
const settle = 2 * time.Second

// waitOutcome is how one wait_for_video_task call ended.
type waitOutcome struct {
	err      error
	isError  bool
	text     string
	status   string
	done     bool
	polls    int
	latency  time.Duration
	progress int64
}

// mcpClient is an initialized MCP client over Streamable HTTP, counting the progress
// notifications it receives.
type mcpClient struct {
	*client.Client
	progress atomic.Int64
}

func newMCPClient(ctx context.Context, url string, hc *http.Client, protocol string) (*mcpClient, error) {
	tr, err := transport.NewStreamableHTTP(url,
		transport.WithHTTPBasicClient(hc),
		transport.WithHTTPLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	var opts []client.ClientOption
	if protocol != "" {
		opts = append(opts, client.WithProtocolVersion(protocol))
	}
	c := &mcpClient{Client: client.NewClient(tr, opts...)}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			c.progress.Add(1)
		}
	})
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = protocol
	init.Params.ClientInfo = mcp.Implementation{Name: "video-task-mcp-loadtest", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	return c, nil
}

// call calls a tool; meta may be nil.
func (c *mcpClient) call(ctx context.Context, name string, args map[string]any, meta *mcp.Meta) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	return c.CallTool(ctx, req)
}

// structured reads the fields the load test checks from a result's structuredContent.
func structured(res *mcp.CallToolResult) (status string, done bool, polls int) {
	m, ok := res.StructuredContent.(map[string]any)
	if !ok {
		return "", false, 0
	}
	status, _ = m["task_status"].(string)
	done, _ = m["done"].(bool)
	p, _ := m["polls"].(float64)
	return status, done, int(p)
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// waitTaskID is the task id of caller i: callers come in groups of n/ids on one id.
func waitTaskID(i, ids int) string { return fmt.Sprintf("lt-%05d", i%ids) }

// newHTTPClient is a keep-alive client that keeps up to conns idle connections.
func newHTTPClient(conns int) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     5 * time.Minute,
	}
	return &http.Client{Transport: tr}, tr
}

// probeStats times get_video_task calls.
type probeStats struct {
	latencies []time.Duration
	errors    int
	firstErr  string
}

func (p *probeStats) String() string {
	if len(p.latencies) == 0 {
		return fmt.Sprintf("no calls completed (%d errors: %s)", p.errors, p.firstErr)
	}
	s := fmt.Sprintf("p50 %s, p99 %s, max %s over %d calls", ms(percentile(p.latencies, 50)),
		ms(percentile(p.latencies, 99)), ms(percentile(p.latencies, 100)), len(p.latencies))
	if p.errors > 0 {
		s += fmt.Sprintf(", %d errors (%s)", p.errors, p.firstErr)
	}
	return s
}

// probe calls get_video_task on id every pause until stop closes (or count calls, when
// count > 0), and times each call.
func probe(ctx context.Context, c *mcpClient, id, wantStatus string, pause time.Duration, count int, stop <-chan struct{}) *probeStats {
	stats := &probeStats{}
	for i := 0; count <= 0 || i < count; i++ {
		callCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		start := time.Now()
		res, err := c.call(callCtx, "get_video_task", map[string]any{"task_id": id}, nil)
		elapsed := time.Since(start)
		cancel()
		status := ""
		if err == nil && !res.IsError {
			status, _, _ = structured(res)
		}
		switch {
		case err != nil:
			err = fmt.Errorf("call: %w", err)
		case res.IsError:
			err = errors.New(resultText(res))
		case status != wantStatus:
			err = fmt.Errorf("status %q, want %s", status, wantStatus)
		}
		if err != nil {
			stats.errors++
			if stats.firstErr == "" {
				stats.firstErr = err.Error()
			}
		} else {
			stats.latencies = append(stats.latencies, elapsed)
		}
		select {
		case <-stop:
			return stats
		case <-ctx.Done():
			return stats
		case <-time.After(pause):
		}
	}
	return stats
}

// mergeProbes pools the figures of several probers.
func mergeProbes(ps []*probeStats) *probeStats {
	all := &probeStats{}
	for _, p := range ps {
		all.latencies = append(all.latencies, p.latencies...)
		all.errors += p.errors
		if all.firstErr == "" {
			all.firstErr = p.firstErr
		}
	}
	return all
}

// runWaits is the load test proper: o.n concurrent waits on o.ids task ids over Streamable
// HTTP, with get_video_task probes alongside, the server's memory and goroutines sampled.
func runWaits(ctx context.Context, bin string, o options) ([]string, error) {
	ids := min(o.ids, o.n)
	section(fmt.Sprintf("waits: %d concurrent wait_for_video_task calls on %d task ids over Streamable HTTP", o.n, ids))
	// The fake upstream runs as a process of its own: in this one, the load of a thousand
	// clients would delay its reads and bunch the arrivals it times.
	up, err := startUpstreamProcess(o.polls)
	if err != nil {
		return nil, err
	}
	defer up.close()
	var extraEnv []string
	if o.serverEnv != "" {
		extraEnv = strings.Split(o.serverEnv, ",")
	}
	srv, err := startHTTPServer(bin, extraEnv,
		"--base-url", up.url,
		"--max-qps", strconv.FormatFloat(o.maxQPS, 'f', -1, 64),
		"--poll-interval", o.pollInterval.String(),
		"--max-poll-interval", o.maxPollInterval.String(),
		"--wait-timeout", o.waitTimeout.String(),
		// All the waits come from one address, one client to the server: let them all run,
		// since this mode measures the server under them.
		"--max-calls", strconv.Itoa(2*o.n+100),
		"--max-calls-per-client", strconv.Itoa(2*o.n+100))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Printf("  server: pid %d, %s, debug %s; --max-qps %g --poll-interval %s --max-poll-interval %s --wait-timeout %s\n",
		srv.pid(), srv.mcpURL, srv.debugURL, o.maxQPS, o.pollInterval, o.maxPollInterval, o.waitTimeout)
	if len(extraEnv) > 0 {
		fmt.Printf("  server environment adds %s\n", strings.Join(extraEnv, " "))
	}
	fmt.Printf("  upstream: loopback fake; each task PENDING, then RUNNING, then SUCCEEDED at its request %d\n", o.polls)

	sampleCtx, stopSampling := context.WithCancel(ctx)
	samples := &sampler{}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		samples.run(sampleCtx, srv.pid(), srv.debugURL, o.sampleEvery, o.goroutinesEvery)
	}()
	defer func() { stopSampling(); <-sampled }()
	debugClient := &http.Client{Timeout: 10 * time.Second}
	defer debugClient.CloseIdleConnections()

	// Probes: their own clients and connections. The finished task is asked once so that
	// the server remembers it; then both are timed while the server is idle.
	probeHTTP, probeTransport := newHTTPClient(o.runningProbes + 4)
	defer probeTransport.CloseIdleConnections()
	runningProbes := make([]*mcpClient, max(o.runningProbes, 1))
	for i := range runningProbes {
		c, err := newMCPClient(ctx, srv.mcpURL, probeHTTP, o.protocol)
		if err != nil {
			return nil, fmt.Errorf("probe client: %w", err)
		}
		defer c.Close()
		runningProbes[i] = c
	}
	doneProbe, err := newMCPClient(ctx, srv.mcpURL, probeHTTP, o.protocol)
	if err != nil {
		return nil, fmt.Errorf("probe client: %w", err)
	}
	defer doneProbe.Close()
	idleRunning := probe(ctx, runningProbes[0], probeRunningID+"-idle", "RUNNING", o.probeEvery, 20, nil)
	idleDone := probe(ctx, doneProbe, probeDoneID, "SUCCEEDED", o.probeEvery, 20, nil)

	callersHTTP, callersTransport := newHTTPClient(o.n + 16)
	defer callersTransport.CloseIdleConnections()
	closeConnections := func() error {
		callersTransport.CloseIdleConnections()
		probeTransport.CloseIdleConnections()
		return up.closeIdle()
	}
	if err := closeConnections(); err != nil {
		return nil, err
	}
	time.Sleep(settle)
	idleGoroutines, err := readGoroutines(ctx, debugClient, srv.debugURL)
	if err != nil {
		return nil, err
	}
	idleMemory, err := readMemory(srv.pid())
	if err != nil {
		return nil, err
	}

	// One client per caller, as separate users of one deployment would be; all connect
	// before any wait starts.
	clients := make([]*mcpClient, o.n)
	var initErrs atomic.Int64
	var firstInitErr atomic.Value
	initStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := newMCPClient(ctx, srv.mcpURL, callersHTTP, o.protocol)
			if err != nil {
				initErrs.Add(1)
				firstInitErr.CompareAndSwap(nil, err.Error())
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	fmt.Printf("  clients: %d connected (server/discover or initialize) in %.1f s, %d failed\n",
		int64(o.n)-initErrs.Load(), time.Since(initStart).Seconds(), initErrs.Load())
	defer func() {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
	}()

	// The waits, all at once, with get_video_task probes alongside until they end.
	outcomes := make([]waitOutcome, o.n)
	callTimeout := o.waitTimeout + 30*time.Second
	start := time.Now()
	for i, c := range clients {
		if c == nil {
			outcomes[i] = waitOutcome{err: fmt.Errorf("initialize: %v", firstInitErr.Load())}
			continue
		}
		wg.Go(func() {
			id := waitTaskID(i, ids)
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			t0 := time.Now()
			res, err := c.call(callCtx, "wait_for_video_task", map[string]any{"task_id": id},
				&mcp.Meta{ProgressToken: "wait-" + strconv.Itoa(i)})
			out := waitOutcome{err: err, latency: time.Since(t0)}
			if err == nil {
				out.isError, out.text = res.IsError, resultText(res)
				out.status, out.done, out.polls = structured(res)
			}
			// Progress sent before the result arrives before it on the same stream.
			out.progress = c.progress.Load()
			outcomes[i] = out
		})
	}
	// Several probers of RUNNING tasks, each on its own id, since each of their calls waits
	// its turn under the rate limit; one prober of the finished task.
	stopProbes := make(chan struct{})
	loadRunning := make([]*probeStats, o.runningProbes)
	var loadDone *probeStats
	var probes sync.WaitGroup
	for i := range loadRunning {
		probes.Go(func() {
			loadRunning[i] = probe(ctx, runningProbes[i], probeRunningID+"-"+strconv.Itoa(i), "RUNNING", o.probeEvery, 0, stopProbes)
		})
	}
	probes.Go(func() { loadDone = probe(ctx, doneProbe, probeDoneID, "SUCCEEDED", o.probeEvery, 0, stopProbes) })
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProbes)
	probes.Wait()

	// Goroutines after the waits: first with every connection still open, then with idle
	// keep-alive connections closed on both sides, as they would be after their timeouts.
	time.Sleep(settle)
	afterOpen, err := readGoroutines(ctx, debugClient, srv.debugURL)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		if c != nil {
			_ = c.Close()
		}
	}
	if err := closeConnections(); err != nil {
		return nil, err
	}
	time.Sleep(settle)
	afterClosed, err := readGoroutines(ctx, debugClient, srv.debugURL)
	if err != nil {
		return nil, err
	}
	finalMemory, err := readMemory(srv.pid())
	if err != nil {
		return nil, err
	}
	stopSampling()
	<-sampled

	perID, arrivals, unauthorized, err := up.snapshot()
	if err != nil {
		return nil, err
	}
	if o.serverLog != "" {
		if err := os.WriteFile(o.serverLog, []byte(srv.stderr.String()), 0o644); err != nil {
			return nil, err
		}
	}
	return reportWaits(o, ids, srv, waitsFigures{
		perID: perID, arrivals: arrivals, unauthorized: unauthorized,
		outcomes: outcomes, elapsed: elapsed,
		idleRunning: idleRunning, idleDone: idleDone, loadRunning: mergeProbes(loadRunning), loadDone: loadDone,
		idleGoroutines: idleGoroutines, afterOpen: afterOpen, afterClosed: afterClosed,
		idleMemory: idleMemory, finalMemory: finalMemory, samples: samples,
	}), nil
}

type waitsFigures struct {
	perID                                        map[string]int
	arrivals                                     []time.Time
	unauthorized                                 int
	outcomes                                     []waitOutcome
	elapsed                                      time.Duration
	idleRunning, idleDone, loadRunning, loadDone *probeStats
	idleGoroutines, afterOpen, afterClosed       goroutineCount
	idleMemory, finalMemory                      memory
	samples                                      *sampler
}

// reportWaits prints the figures of a waits run and returns the checks that failed.
func reportWaits(o options, ids int, srv *httpServer, f waitsFigures) []string {
	var failures []string
	var received, done, notDone, errorResults, callErrors, neverReturned int
	var progress int64
	var latencies []time.Duration
	var firstProblem string
	for _, out := range f.outcomes {
		switch {
		case out.err != nil && errors.Is(out.err, context.DeadlineExceeded):
			neverReturned++
		case out.err != nil:
			callErrors++
		case out.isError || out.status == "":
			errorResults++
		default:
			received++
			latencies = append(latencies, out.latency)
			if out.done && out.status == "SUCCEEDED" {
				done++
			} else {
				notDone++
			}
		}
		progress += out.progress
		if firstProblem == "" {
			switch {
			case out.err != nil:
				firstProblem = out.err.Error()
			case out.isError || out.status == "":
				firstProblem = out.text
			}
		}
	}
	lost := callErrors + neverReturned + errorResults
	fmt.Printf("  waits: %d results received, %d lost (%d call errors, %d never returned, %d error results); all over in %.1f s\n",
		received, lost, callErrors, neverReturned, errorResults, f.elapsed.Seconds())
	fmt.Printf("  results: %d done (SUCCEEDED), %d not done; wait latency p50 %.2f s, max %.2f s; %d progress notifications (%.1f per wait)\n",
		done, notDone, percentile(latencies, 50).Seconds(), percentile(latencies, 100).Seconds(),
		progress, float64(progress)/float64(len(f.outcomes)))
	if firstProblem != "" {
		fmt.Printf("  first problem: %.300s\n", firstProblem)
	}
	if lost > 0 {
		failures = append(failures, fmt.Sprintf("%d of %d waits lost", lost, len(f.outcomes)))
	}

	perID, arrivals, unauthorized := f.perID, f.arrivals, f.unauthorized
	minReq, maxReq, sum := math.MaxInt, 0, 0
	for i := range ids {
		n := perID[waitTaskID(i, ids)]
		minReq, maxReq, sum = min(minReq, n), max(maxReq, n), sum+n
	}
	avg := float64(sum) / float64(ids)
	fmt.Printf("  upstream requests per task: min %d, avg %.2f, max %d (one caller alone needs %d); %d callers per task\n",
		minReq, avg, maxReq, o.polls, o.n/ids)
	if ids == 1 {
		fmt.Printf("  %d callers on one task id: the upstream received %d requests for it; one caller needs %d\n",
			o.n, perID[waitTaskID(0, 1)], o.polls)
	}
	if minReq != o.polls || maxReq != o.polls {
		var odd []string
		for i := range ids {
			if id := waitTaskID(i, ids); perID[id] != o.polls && len(odd) < 5 {
				odd = append(odd, fmt.Sprintf("%s: %d", id, perID[id]))
			}
		}
		fmt.Printf("  tasks polled other than %d times (first 5): %s\n", o.polls, strings.Join(odd, ", "))
		failures = append(failures, fmt.Sprintf("upstream requests per task %d..%d, want exactly %d (shared polling)", minReq, maxReq, o.polls))
	}
	spacing := time.Duration(float64(time.Second) / o.maxQPS)
	perSecond, sliding, busiest, minGap, short := rates(arrivals, spacing)
	probeRequests := 0
	for id, n := range perID {
		if strings.HasPrefix(id, probeRunningID) {
			probeRequests += n
		}
	}
	fmt.Printf("  upstream: %d requests in all (%d to the RUNNING probes); most in one wall-clock second %d (at %s); --max-qps %g\n",
		len(arrivals), probeRequests, perSecond, busiest.Format(time.TimeOnly), o.maxQPS)
	fmt.Printf("  upstream: most in any sliding 1 s window %d; closest consecutive arrivals %s apart, %d of %d gaps under %s (the limiter spaces requests %s)\n",
		sliding, ms(minGap), short, max(len(arrivals)-1, 0), ms(spacing/2), ms(spacing))
	if unauthorized > 0 {
		failures = append(failures, fmt.Sprintf("%d upstream requests without the API key", unauthorized))
	}
	if float64(perSecond) > math.Ceil(o.maxQPS) {
		failures = append(failures, fmt.Sprintf("upstream saw %d requests in one second, above --max-qps %g", perSecond, o.maxQPS))
	}

	fmt.Printf("  get_video_task, server idle:  RUNNING task (1 upstream request each): %s\n", f.idleRunning)
	fmt.Printf("                                finished task (remembered):          %s\n", f.idleDone)
	fmt.Printf("  get_video_task, during waits: RUNNING tasks (%d probers, 1 upstream request each): %s\n", o.runningProbes, f.loadRunning)
	fmt.Printf("                                finished task (remembered):          %s\n", f.loadDone)

	fmt.Printf("  server memory: idle %s RSS; peak (VmHWM) %s; peak RSS sampled %s; after %s RSS\n",
		mib(f.idleMemory.rss), mib(f.finalMemory.hwm), mib(f.samples.peakRSS), mib(f.finalMemory.rss))
	fmt.Printf("  Go runtime at its peak heap+stacks sample: %s\n", f.samples.peakInUse)
	fmt.Printf("  server goroutines: idle before %s\n", f.idleGoroutines)
	fmt.Printf("                     peak %s\n", f.samples.peakGoroutines)
	fmt.Printf("                     after, connections open %s\n", f.afterOpen)
	fmt.Printf("                     after, idle connections closed %s\n", f.afterClosed)
	fmt.Printf("  (memory sampled %d times every %s, goroutines %d times every %s; %d samples failed)\n",
		f.samples.samples, o.sampleEvery, f.samples.goroutineReads, o.goroutinesEvery, f.samples.errs)
	if warns, first := countLevels(srv.stderr.String()); warns != "" {
		fmt.Printf("  server log: %s; the first:\n%s", warns, first)
	}

	target("no wait lost", lost == 0, fmt.Sprintf("%d lost", lost), "0")
	target("upstream rate within --max-qps", float64(perSecond) <= math.Ceil(o.maxQPS),
		fmt.Sprintf("%d in one second", perSecond), fmt.Sprintf("<= %g", o.maxQPS))
	target("requests per task = one caller's", minReq == o.polls && maxReq == o.polls,
		fmt.Sprintf("%d..%d", minReq, maxReq), strconv.Itoa(o.polls))
	if o.n >= 1000 {
		target("peak memory", f.finalMemory.hwm <= 64<<10, mib(f.finalMemory.hwm), "<= 64 MiB")
	}
	target("goroutines back to idle", f.afterClosed.total <= f.idleGoroutines.total,
		fmt.Sprintf("%d after, %d before", f.afterClosed.total, f.idleGoroutines.total), "after <= before")
	return failures
}

// countLevels counts the server's warning and error log lines (tint's WRN and ERR) and
// returns the first few.
func countLevels(log string) (string, string) {
	var warn, errs int
	var first strings.Builder
	for line := range strings.Lines(log) {
		isWarn, isErr := strings.Contains(line, " WRN "), strings.Contains(line, " ERR ")
		if !isWarn && !isErr {
			continue
		}
		if isWarn {
			warn++
		} else {
			errs++
		}
		if warn+errs <= 5 {
			first.WriteString("    " + line)
		}
	}
	if warn+errs == 0 {
		return "", ""
	}
	return fmt.Sprintf("%d warnings, %d errors", warn, errs), first.String()
}
