package main

// End-to-end tests: they build the real binary, run it as a subprocess over stdio, Streamable
// HTTP and the legacy HTTP+SSE transport, and drive it with mcp-go's own client (or raw pipes)
// against a fake upstream that serves DashScope task bodies under a path prefix.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// testAPIKey is the key the servers under test are given; the fake upstream refuses any other.
const testAPIKey = "sk-e2e-0123456789abcdef"

// The three transports, as --transport names them.
var allTransports = []string{"stdio", "http", "sse"}

// Polling as fast as the tests want it: a slow-3 wait takes about 50+75+112 ms.
var fastPolling = []string{"--poll-interval", "50ms", "--max-poll-interval", "200ms"}

// ---------------------------------------------------------------------------------------------
// The binary

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// waitingParallel is how many parallel tests run at once unless -parallel says otherwise. The
// end-to-end tests spend their time waiting on server processes, polls and timers, not on
// this process's CPU, so go test's default of one per CPU would leave a small machine idle.
const waitingParallel = 16

func TestMain(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", strconv.Itoa(max(waitingParallel, runtime.GOMAXPROCS(0))))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds the server once per test run, on first use, so that tests of this
// package that do not need it do not pay for the build.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "video-task-mcp-e2e-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "video-task-mcp")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building the server: %v", buildErr)
	}
	return buildPath
}

// ---------------------------------------------------------------------------------------------
// The fake upstream

// videoExpires is the Expires parameter of every video URL the fake upstream hands out.
const videoExpires = 1761540731

func videoURL(id string) string {
	return "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/0a/20251026/" + id +
		".mp4?Expires=" + strconv.Itoa(videoExpires) +
		"&OSSAccessKeyId=LTAI5tQZd8AEcZX6KZV4G8qL&Signature=Zq4%2BxG1Oo0eJ9f7%2Fh3Zs1rD6xYQ%3D"
}

// Messages of scripted failures, which the server must pass on.
const (
	failCode       = "DataInspectionFailed"
	failMessage    = "Output data may contain inappropriate content."
	missingMessage = "The task e2e-missing-42 does not exist or has expired."
)

// upstream is a fake api.gpt.ge task API mounted under /prefix. It answers
// GET /prefix/task/{id} by a script chosen by the id's prefix and records every request.
//
//   - done-*: SUCCEEDED, with a signed video URL that carries Expires.
//   - slow-N[-…]: PENDING on the first request, RUNNING up to the Nth, SUCCEEDED from the
//     N+1th on.
//   - fail-*: FAILED with a code and message.
//   - unknown-*: UNKNOWN.
//   - forever*: RUNNING, always.
//   - stall-N[-…]: RUNNING for the first N requests; every later one is held until its
//     client gives it up, and then counted in abandoned.
//   - missing: HTTP 404 with a DashScope-style error body.
//
// Any other id, and any other path, is a 404 that the test reports through stray.
type upstream struct {
	srv *httptest.Server

	mu        sync.Mutex
	hits      map[string][]time.Time // by task id
	stray     []string               // requests outside the task route, or with the wrong key
	abandoned chan string            // the id of each held request its client gave up
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{hits: make(map[string][]time.Time), abandoned: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prefix/task/{id}", u.serveTask)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.stray = append(u.stray, r.Method+" "+r.URL.String())
		u.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "NotFound", "message": "no such route", "request_id": "req-stray"})
	})
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	return u
}

// baseURL is what the server is given: the fake is mounted under a prefix, so that a server
// that drops the base path fails loudly.
func (u *upstream) baseURL() string { return u.srv.URL + "/prefix" }

func (u *upstream) serveTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	u.mu.Lock()
	u.hits[id] = append(u.hits[id], time.Now())
	n := len(u.hits[id])
	if r.Header.Get("Authorization") != "Bearer "+testAPIKey {
		u.stray = append(u.stray, "bad Authorization for "+id)
		u.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "req-auth"})
		return
	}
	u.mu.Unlock()
	if digits, ok := strings.CutPrefix(id, "stall-"); ok {
		digits, _, _ = strings.Cut(digits, "-")
		if k, _ := strconv.Atoi(digits); n > k {
			select {
			case <-r.Context().Done():
				u.abandoned <- id
			case <-time.After(time.Minute): // a bound for a server that never gives up
			}
			return
		}
	}
	status, body := scriptedTask(id, n)
	writeJSON(w, status, body)
}

// scriptedTask is the answer to the nth request (1-based) for task id.
func scriptedTask(id string, n int) (int, map[string]any) {
	requestID := fmt.Sprintf("req-%s-%d", id, n)
	output := map[string]any{"task_id": id, "submit_time": "2025-10-26 12:50:16.723"}
	task := func(status string) (int, map[string]any) {
		output["task_status"] = status
		if status != "PENDING" {
			output["scheduled_time"] = "2025-10-26 12:50:16.772"
		}
		return http.StatusOK, map[string]any{"request_id": requestID, "output": output}
	}
	succeeded := func() (int, map[string]any) {
		output["end_time"] = "2025-10-26 12:52:11.355"
		output["video_url"] = videoURL(id)
		output["orig_prompt"] = "A cat running on the grass"
		output["actual_prompt"] = "A small orange cat runs across a sunlit lawn."
		status, body := task("SUCCEEDED")
		body["usage"] = map[string]any{"video_count": 1, "video_ratio": "832*480", "video_duration": 5}
		return status, body
	}
	switch {
	case strings.HasPrefix(id, "done-"):
		return succeeded()
	case strings.HasPrefix(id, "slow-"):
		digits, _, _ := strings.Cut(strings.TrimPrefix(id, "slow-"), "-")
		k, _ := strconv.Atoi(digits)
		switch {
		case n > k:
			return succeeded()
		case n == 1:
			return task("PENDING")
		default:
			return task("RUNNING")
		}
	case strings.HasPrefix(id, "fail-"):
		output["end_time"] = "2025-10-26 12:51:02.100"
		output["code"] = failCode
		output["message"] = failMessage
		return task("FAILED")
	case strings.HasPrefix(id, "unknown-"):
		return http.StatusOK, map[string]any{"request_id": requestID, "output": map[string]any{"task_id": id, "task_status": "UNKNOWN"}}
	case strings.HasPrefix(id, "forever"), strings.HasPrefix(id, "stall-"):
		return task("RUNNING")
	case id == "missing":
		return http.StatusNotFound, map[string]any{"code": "NotFound", "message": missingMessage, "request_id": requestID}
	}
	return http.StatusNotFound, map[string]any{"code": "NotFound", "message": "no script for task " + id, "request_id": requestID}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// count is how many requests task id has received.
func (u *upstream) count(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.hits[id])
}

// settle waits until task id has had no request for quiet, at most max, and returns the
// count then; false if it never went quiet.
func (u *upstream) settle(id string, quiet, max time.Duration) (int, bool) {
	deadline := time.Now().Add(max)
	n, since := u.count(id), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if m := u.count(id); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= quiet {
			return n, true
		}
	}
	return n, false
}

// total is how many requests reached the fake at all, stray ones included.
func (u *upstream) total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.stray)
	for _, h := range u.hits {
		n += len(h)
	}
	return n
}

// checkNoStray fails the test if a request missed the task route or carried the wrong key.
func (u *upstream) checkNoStray(t *testing.T) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.stray) > 0 {
		t.Errorf("upstream got unexpected requests: %q", u.stray)
	}
}

// ---------------------------------------------------------------------------------------------
// Server processes and clients

// logBuffer collects a process's stderr; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverEnv is the environment of a server under test: the test's own, minus everything the
// server reads, plus extra.
func serverEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GPTGE_") || strings.HasPrefix(name, "MCP_") ||
			strings.HasPrefix(name, "DASHSCOPE_") || strings.HasPrefix(name, "VIDEO_TASK_") || name == "LOG_LEVEL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// serverOpts says how to run a server.
type serverOpts struct {
	noAPIKey bool     // leave GPTGE_API_KEY out of the environment
	env      []string // more environment
	args     []string // more flags
}

// testServer is a server to connect to: over stdio every connection starts its own process;
// over HTTP one process serves every connection.
type testServer struct {
	kind string
	bin  string
	args []string
	env  []string

	proc *process // sse and http only
	url  string   // sse and http only
}

// startServer prepares a server of the given transport that talks to up; for sse and http it
// starts the process and waits until it listens.
func startServer(t *testing.T, kind string, up *upstream, opts serverOpts) *testServer {
	t.Helper()
	s := &testServer{kind: kind, bin: serverBinary(t)}
	s.args = append([]string{"--base-url", up.baseURL()}, fastPolling...)
	s.args = append(s.args, opts.args...)
	env := slices.Clone(opts.env)
	if !opts.noAPIKey {
		env = append(env, "GPTGE_API_KEY="+testAPIKey)
	}
	s.env = serverEnv(env...)
	if kind == "stdio" {
		return s
	}
	s.args = append([]string{"--transport", kind, "--addr", "127.0.0.1:0"}, s.args...)
	s.proc = startProcess(t, s.bin, s.args, s.env, false)
	s.url = s.proc.listenURL(t)
	return s
}

// process is a server run as a subprocess by the test itself.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser // nil unless asked for
	stderr  *logBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// startProcess runs bin, with a pipe to its stdin when withStdin is set (an *os.File pipe:
// Wait would otherwise wait for a copying goroutine as long as the test keeps its end
// open); t.Cleanup kills it if it is still running.
func startProcess(t *testing.T, bin string, args, env []string, withStdin bool) *process {
	t.Helper()
	p := &process{stderr: &logBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if withStdin {
		var err error
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			t.Fatalf("StdinPipe: %v", err)
		}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s %q: %v", bin, args, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("server process %d did not exit after kill", p.cmd.Process.Pid)
		}
	})
	return p
}

var listenURLPattern = regexp.MustCompile(`listening url=(http://\S+)`)

// listenURL waits for the log line that says where the server listens.
func (p *process) listenURL(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenURLPattern.FindStringSubmatch(p.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited before listening (%v); stderr:\n%s", p.waitErr, p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("server did not log its address within 15 s; stderr:\n%s", p.stderr)
	return ""
}

// waitExit waits up to d for the process to exit and reports whether it did.
func (p *process) waitExit(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// conn is one initialized client connection to a server under test.
type conn struct {
	*client.Client
	kind   string
	init   *mcp.InitializeResult
	stderr *logBuffer // the server's stderr
	notes  *recorder
}

// connect starts a client for s and initializes it. The connection, and over stdio its
// process, end in t.Cleanup.
func (s *testServer) connect(t *testing.T, opts ...client.ClientOption) *conn {
	t.Helper()
	var (
		tr     transport.Interface
		stderr *logBuffer
		err    error
	)
	switch s.kind {
	case "stdio":
		stderr = &logBuffer{}
		var cmd *exec.Cmd
		tr = transport.NewStdioWithOptions(s.bin, nil, s.args, transport.WithCommandFunc(
			func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
				// The environment is set exactly, not appended to the test's: a
				// GPTGE_API_KEY of the caller's must not reach the server.
				cmd = exec.CommandContext(ctx, command, args...)
				cmd.Env = s.env
				cmd.Stderr = stderr
				return cmd, nil
			}))
		t.Cleanup(func() {
			// Close ends the process (stdin closed, then SIGTERM, then kill); make
			// sure of it.
			if cmd != nil && cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
		})
	case "http":
		stderr = s.proc.stderr
		tr, err = transport.NewStreamableHTTP(s.url)
	case "sse":
		stderr = s.proc.stderr
		tr, err = transport.NewSSE(s.url)
	}
	if err != nil {
		t.Fatalf("creating the %s transport: %v", s.kind, err)
	}
	c := &conn{Client: client.NewClient(tr, opts...), kind: s.kind, stderr: stderr, notes: &recorder{}}
	c.OnNotification(c.notes.record)
	// Start gets a context that outlives this function: the stdio process and the SSE
	// stream live as long as it does.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("starting the %s client: %v", s.kind, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "video-task-mcp-e2e", Version: "0"}
	if c.init, err = c.Initialize(ctx, req); err != nil {
		t.Fatalf("Initialize over %s: %v; server stderr:\n%s", s.kind, err, stderr)
	}
	return c
}

// startAndConnect is startServer and connect in one.
func startAndConnect(t *testing.T, kind string, up *upstream, opts serverOpts, copts ...client.ClientOption) *conn {
	t.Helper()
	return startServer(t, kind, up, opts).connect(t, copts...)
}

// recorder keeps the progress notifications a client receives, in order, each numbered in a
// sequence that mark also draws from, so that a test can tell what arrived after a result.
type recorder struct {
	mu     sync.Mutex
	seq    int
	events []progressEvent
}

type progressEvent struct {
	seq      int
	token    any
	progress float64
	message  string
}

func (r *recorder) record(n mcp.JSONRPCNotification) {
	if n.Method != "notifications/progress" {
		return
	}
	f := n.Params.AdditionalFields
	progress, _ := f["progress"].(float64)
	message, _ := f["message"].(string)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.events = append(r.events, progressEvent{seq: r.seq, token: f["progressToken"], progress: progress, message: message})
}

// mark numbers a moment, such as the return of a call, in the sequence of notifications.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.seq
}

// progress returns the notifications received for token so far; all of them for a nil token.
func (r *recorder) progress(token any) []progressEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []progressEvent
	for _, e := range r.events {
		if token == nil || e.token == token {
			out = append(out, e)
		}
	}
	return out
}

// awaitProgressSent waits, at most d, until the client has received as many notifications for
// token as the server logged sending for task id, and returns both counts. Either may lag: a
// notification over stdio or SSE can trail its call's result, and the server's log reaches
// the test through a pipe.
func (c *conn) awaitProgressSent(id string, token any, d time.Duration) (received, sent int) {
	deadline := time.Now().Add(d)
	for {
		received = len(c.notes.progress(token))
		sent = strings.Count(c.stderr.String(), "progress sent task_id="+id+" ")
		if received == sent || time.Now().After(deadline) {
			return received, sent
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------
// Calls and results

// callTool calls a tool and returns its result, or the error of the call itself.
func (c *conn) callTool(ctx context.Context, name string, args map[string]any, meta *mcp.Meta) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	return c.CallTool(ctx, req)
}

// mustCall calls a tool with a generous deadline and fails the test if the call itself fails.
func (c *conn) mustCall(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.callTool(ctx, name, args, nil)
	if err != nil {
		t.Fatalf("CallTool(%s, %v) over %s: error %v; server stderr:\n%s", name, args, c.kind, err, c.stderr)
	}
	return res
}

// taskResult is the structuredContent of both tools, as the contract describes it; decoded
// here independently of the server's own types, as a client would.
type taskResult struct {
	TaskID            string         `json:"task_id"`
	TaskStatus        string         `json:"task_status"`
	Done              bool           `json:"done"`
	Summary           string         `json:"summary"`
	VideoURL          string         `json:"video_url"`
	VideoURLExpiresAt string         `json:"video_url_expires_at"`
	SubmitTime        string         `json:"submit_time"`
	ScheduledTime     string         `json:"scheduled_time"`
	EndTime           string         `json:"end_time"`
	OrigPrompt        string         `json:"orig_prompt"`
	ActualPrompt      string         `json:"actual_prompt"`
	Usage             map[string]any `json:"usage"`
	Error             *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID     string   `json:"request_id"`
	Polls         *int     `json:"polls"`
	WaitedSeconds *float64 `json:"waited_seconds"`
}

// contentBlock is one content item of a result, whatever its type.
type contentBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	URI      string `json:"uri"`
	Name     string `json:"name"`
	MIMEType string `json:"mimeType"`
}

// toolOutput is a CallToolResult taken apart.
type toolOutput struct {
	isError    bool
	structured *taskResult // nil when the result has no structuredContent
	text       string      // all text blocks, joined
	texts      int         // how many text blocks
	links      []contentBlock
}

func decodeResult(t *testing.T, res *mcp.CallToolResult) toolOutput {
	t.Helper()
	out := toolOutput{isError: res.IsError}
	for _, c := range res.Content {
		var b contentBlock
		remarshal(t, c, &b)
		switch b.Type {
		case "text":
			out.texts++
			out.text += b.Text
		case "resource_link":
			out.links = append(out.links, b)
		default:
			t.Errorf("result has a content block of type %q, want text or resource_link", b.Type)
		}
	}
	if res.StructuredContent != nil {
		out.structured = &taskResult{}
		remarshal(t, res.StructuredContent, out.structured)
	}
	return out
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", from, err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", b, err)
	}
}

// mustSucceed returns the structured result of a call that must not be an error.
func mustSucceed(t *testing.T, call string, out toolOutput) *taskResult {
	t.Helper()
	if out.isError {
		t.Fatalf("%s: isError = true, want false; text: %s", call, out.text)
	}
	if out.structured == nil {
		t.Fatalf("%s: no structuredContent; text: %s", call, out.text)
	}
	return out.structured
}

// checkErrorText checks the text of an error result: present, short, naming what it must, and
// never the API key.
func checkErrorText(t *testing.T, call string, out toolOutput, mustContain ...string) {
	t.Helper()
	if !out.isError {
		t.Errorf("%s: isError = false, want true; text: %s", call, out.text)
	}
	if out.text == "" {
		t.Errorf("%s: error result has no text", call)
	}
	if n := utf8.RuneCountInString(out.text); n >= 1000 {
		t.Errorf("%s: error text is %d characters, want under 1000", call, n)
	}
	if strings.Contains(out.text, testAPIKey) {
		t.Errorf("%s: error text echoes the API key: %s", call, out.text)
	}
	for _, s := range mustContain {
		if !strings.Contains(out.text, s) {
			t.Errorf("%s: error text = %q, want it to contain %q", call, out.text, s)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// 1. initialize and tools/list

// protocolEras are the two ways a client connects: pinned to the last initialize-handshake
// revision, or letting mcp-go's client negotiate the newest it knows.
var protocolEras = []struct {
	name string
	opts []client.ClientOption
	want string // the version the connection must settle on; "" for the newest
}{
	{"2025-11-25", []client.ClientOption{client.WithProtocolVersion("2025-11-25")}, "2025-11-25"},
	{"newest", nil, ""},
}

func TestE2EToolsList(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		for _, era := range protocolEras {
			t.Run(kind+"/"+era.name, func(t *testing.T) {
				t.Parallel()
				up := newUpstream(t)
				c := startAndConnect(t, kind, up, serverOpts{}, era.opts...)
				checkToolsList(t, c)
				if up.total() != 0 {
					t.Errorf("upstream got %d requests during initialize and tools/list, want 0", up.total())
				}
			})
		}
	}
}

func checkToolsList(t *testing.T, c *conn) {
	t.Helper()
	kind := c.kind
	if got := c.init.ServerInfo.Name; got != "video-task-mcp" {
		t.Errorf("Initialize over %s: serverInfo.name = %q, want video-task-mcp", kind, got)
	}
	if c.init.Instructions == "" {
		t.Errorf("Initialize over %s: no instructions", kind)
	}
	if c.GetServerCapabilities().Tools == nil {
		t.Errorf("Initialize over %s: capabilities.tools = nil, want the tools capability", kind)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools over %s: %v", kind, err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"get_video_task", "wait_for_video_task"}; !slices.Equal(names, want) {
		t.Fatalf("ListTools names = %q, want %q", names, want)
	}
	for _, tool := range list.Tools {
		checkToolDefinition(t, tool)
	}
	// The size the client sees, re-encoded; TestE2EStdoutPurity measures the exact
	// bytes on the wire.
	body, err := json.Marshal(list)
	if err != nil {
		t.Fatalf("json.Marshal(tools/list result): %v", err)
	}
	if len(body) >= 4096 {
		t.Errorf("tools/list result is %d bytes, want under 4096", len(body))
	}
}

func checkToolDefinition(t *testing.T, tool mcp.Tool) {
	t.Helper()
	if tool.Title == "" && tool.Annotations.Title == "" {
		t.Errorf("tool %s has no title", tool.Name)
	}
	if tool.Description == "" {
		t.Errorf("tool %s has no description", tool.Name)
	}
	hints := []struct {
		name string
		got  *bool
		want bool
	}{
		{"readOnlyHint", tool.Annotations.ReadOnlyHint, true},
		{"destructiveHint", tool.Annotations.DestructiveHint, false},
		{"idempotentHint", tool.Annotations.IdempotentHint, true},
		{"openWorldHint", tool.Annotations.OpenWorldHint, true},
	}
	for _, h := range hints {
		if h.got == nil {
			t.Errorf("tool %s: annotations.%s is not set, want %v", tool.Name, h.name, h.want)
		} else if *h.got != h.want {
			t.Errorf("tool %s: annotations.%s = %v, want %v", tool.Name, h.name, *h.got, h.want)
		}
	}
	if tool.OutputSchema.Type != "object" {
		t.Errorf("tool %s: outputSchema.type = %q, want \"object\"", tool.Name, tool.OutputSchema.Type)
	}
	for _, field := range []string{"task_id", "task_status", "done", "summary", "video_url", "video_url_expires_at", "error"} {
		if _, ok := tool.OutputSchema.Properties[field]; !ok {
			t.Errorf("tool %s: outputSchema has no property %q", tool.Name, field)
		}
	}
	if _, ok := tool.InputSchema.Properties["task_id"]; !ok {
		t.Errorf("tool %s: inputSchema has no property task_id", tool.Name)
	}
	if !slices.Contains(tool.InputSchema.Required, "task_id") {
		t.Errorf("tool %s: inputSchema.required = %q, want it to hold task_id", tool.Name, tool.InputSchema.Required)
	}
}

// ---------------------------------------------------------------------------------------------
// 2 and 12. get_video_task on a finished task, in both protocol eras

// checkFinishedTask calls get_video_task on a SUCCEEDED task and checks the whole result.
func checkFinishedTask(t *testing.T, c *conn, up *upstream) {
	t.Helper()
	const id = "done-1"
	call := fmt.Sprintf("CallTool(get_video_task, %q) over %s", id, c.kind)
	out := decodeResult(t, c.mustCall(t, "get_video_task", map[string]any{"task_id": id}))
	got := mustSucceed(t, call, out)

	wantExpiry := time.Unix(videoExpires, 0).UTC().Format(time.RFC3339)
	want := taskResult{
		TaskID:            id,
		TaskStatus:        "SUCCEEDED",
		Done:              true,
		VideoURL:          videoURL(id),
		VideoURLExpiresAt: wantExpiry,
		SubmitTime:        "2025-10-26 12:50:16.723",
		ScheduledTime:     "2025-10-26 12:50:16.772",
		EndTime:           "2025-10-26 12:52:11.355",
		OrigPrompt:        "A cat running on the grass",
		ActualPrompt:      "A small orange cat runs across a sunlit lawn.",
		Usage:             map[string]any{"video_count": 1.0, "video_ratio": "832*480", "video_duration": 5.0},
		RequestID:         "req-done-1-1",
	}
	if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(taskResult{}, "Summary")); diff != "" {
		t.Errorf("%s: structuredContent mismatch (-want +got):\n%s", call, diff)
	}
	if exp, err := time.Parse(time.RFC3339, got.VideoURLExpiresAt); err != nil || exp.Location() != time.UTC {
		t.Errorf("%s: video_url_expires_at = %q, want RFC 3339 in UTC (%v)", call, got.VideoURLExpiresAt, err)
	}
	if !strings.Contains(got.Summary, videoURL(id)) || !strings.Contains(got.Summary, wantExpiry) {
		t.Errorf("%s: summary = %q, want it to give the video URL and its expiry %s", call, got.Summary, wantExpiry)
	}

	// The text block is a human summary, then the same JSON as structuredContent.
	if i := strings.Index(out.text, "\n{"); i < 0 {
		t.Errorf("%s: text = %q, want a summary followed by the JSON result", call, out.text)
	} else {
		var inText taskResult
		if err := json.Unmarshal([]byte(out.text[i+1:]), &inText); err != nil {
			t.Errorf("%s: the JSON in the text block does not decode: %v", call, err)
		} else if diff := cmp.Diff(*got, inText); diff != "" {
			t.Errorf("%s: JSON in the text differs from structuredContent (-structured +text):\n%s", call, diff)
		}
	}
	if out.texts != 1 {
		t.Errorf("%s: %d text blocks, want 1", call, out.texts)
	}
	if !strings.Contains(out.text, videoURL(id)) {
		t.Errorf("%s: text = %q, want it to contain the video URL", call, out.text)
	}
	wantLink := contentBlock{Type: "resource_link", URI: videoURL(id), Name: id + ".mp4", MIMEType: "video/mp4"}
	if len(out.links) != 1 {
		t.Fatalf("%s: %d resource_link blocks, want 1", call, len(out.links))
	}
	if link := out.links[0]; link.URI != wantLink.URI || link.Name != wantLink.Name || link.MIMEType != wantLink.MIMEType {
		t.Errorf("%s: resource_link = %+v, want %+v", call, link, wantLink)
	}

	if n := up.count(id); n != 1 {
		t.Errorf("%s: upstream got %d requests for %s, want 1", call, n, id)
	}
	up.checkNoStray(t)
}

func TestE2EGetFinishedTask(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			checkFinishedTask(t, startAndConnect(t, kind, up, serverOpts{}), up)
		})
	}
}

func TestE2EProtocolEras(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		for _, era := range protocolEras {
			t.Run(kind+"/"+era.name, func(t *testing.T) {
				t.Parallel()
				up := newUpstream(t)
				c := startAndConnect(t, kind, up, serverOpts{}, era.opts...)
				got := c.ProtocolVersion()
				want := era.want
				if want == "" {
					// The server serves the newest era mcp-go knows, so the client
					// settles on it.
					want = mcp.LATEST_PROTOCOL_VERSION
				}
				if got != want {
					t.Errorf("ProtocolVersion() over %s = %q, want %q", kind, got, want)
				}
				checkFinishedTask(t, c, up)
			})
		}
	}
}

// ---------------------------------------------------------------------------------------------
// 3. wait_for_video_task with progress

func TestE2EWaitProgress(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		for _, era := range protocolEras {
			t.Run(kind+"/"+era.name, func(t *testing.T) {
				t.Parallel()
				up := newUpstream(t)
				c := startAndConnect(t, kind, up, serverOpts{}, era.opts...)
				checkWaitWithProgress(t, c, up)
			})
		}
	}
}

func checkWaitWithProgress(t *testing.T, c *conn, up *upstream) {
	t.Helper()
	const (
		id    = "slow-3"
		token = "tok"
	)
	call := fmt.Sprintf("CallTool(wait_for_video_task, %q) over %s", id, c.kind)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.callTool(ctx, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": 30}, &mcp.Meta{ProgressToken: token})
	returned := c.notes.mark()
	if err != nil {
		t.Fatalf("%s: error %v; server stderr:\n%s", call, err, c.stderr)
	}
	got := mustSucceed(t, call, decodeResult(t, res))
	if got.TaskStatus != "SUCCEEDED" || !got.Done {
		t.Errorf("%s: task_status, done = %s, %v, want SUCCEEDED, true", call, got.TaskStatus, got.Done)
	}
	if got.Polls == nil || *got.Polls != 4 {
		t.Errorf("%s: polls = %v, want 4", call, deref(got.Polls))
	}
	if got.WaitedSeconds == nil {
		t.Errorf("%s: waited_seconds is missing", call)
	}
	if got.VideoURL != videoURL(id) {
		t.Errorf("%s: video_url = %q, want %q", call, got.VideoURL, videoURL(id))
	}

	// Nothing more may happen after the result: no further poll, no trailing notification.
	// Over stdio and SSE the client reads notifications and responses on one goroutine, in
	// the order they were written, but the test marks the result only after CallTool
	// returns: a notification written just after the response could still be numbered
	// before the mark. TestE2EStdoutPurity checks the byte order on the stdio wire. Over
	// Streamable HTTP a notification written after the response is lost with its stream:
	// the count below catches that.
	time.Sleep(300 * time.Millisecond)
	if n := up.count(id); n != 4 {
		t.Errorf("%s: upstream got %d requests, want 4 (none after the terminal one)", call, n)
	}
	events := c.notes.progress(token)
	if all := c.notes.progress(nil); len(all) != len(events) {
		t.Errorf("%s: %d progress notifications, %d of them with token %q, want all with it: %+v", call, len(all), len(events), token, all)
	}
	wantStatus := []string{"PENDING", "RUNNING", "RUNNING"}
	if len(events) != len(wantStatus) {
		t.Fatalf("%s: %d progress notifications, want %d (one per unfinished poll): %+v", call, len(events), len(wantStatus), events)
	}
	for i, e := range events {
		if e.seq > returned {
			t.Errorf("%s: progress notification %d (%q) arrived after the result", call, i, e.message)
		}
		if i > 0 && e.progress <= events[i-1].progress {
			t.Errorf("%s: progress %v after %v, want strictly increasing", call, e.progress, events[i-1].progress)
		}
		if !strings.Contains(e.message, wantStatus[i]) || !strings.Contains(e.message, "waited") {
			t.Errorf("%s: progress message %d = %q, want it to name status %s and the time waited", call, i, e.message, wantStatus[i])
		}
	}
	up.checkNoStray(t)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// ---------------------------------------------------------------------------------------------
// 4. cancelling a wait

func TestE2EWaitCancel(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c := startAndConnect(t, kind, up, serverOpts{})
			id := "forever-cancel-" + kind
			call := fmt.Sprintf("CallTool(wait_for_video_task, %q) over %s", id, kind)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := c.callTool(ctx, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": 60}, nil)
				done <- err
			}()
			// Cancel only once the wait is polling: a fixed pause could end before it starts
			// on a loaded machine.
			waitForPoll(t, up, id)
			// Over stdio the client answers a cancelled context with
			// notifications/cancelled; over Streamable HTTP it aborts the POST. Over
			// SSE it sends nothing (the transport counts as HTTP), so the session must
			// go: closing the client closes the SSE stream.
			cancel()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s: returned no error after its context was cancelled", call)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: did not return within 10 s of cancelling its context", call)
			}
			if kind == "sse" {
				if err := c.Close(); err != nil {
					t.Errorf("closing the SSE client: %v", err)
				}
			}
			// Allow a request that was already on its way, however loaded the machine:
			// a loop that still polls never goes quiet (its pauses are at most 200 ms).
			before, ok := up.settle(id, 500*time.Millisecond, 5*time.Second)
			if !ok {
				t.Fatalf("%s: upstream requests went on for 5 s after cancel (%d so far)", call, before)
			}
			time.Sleep(time.Second)
			if after := up.count(id); after != before {
				t.Errorf("%s: upstream requests went on after cancel: %d, then %d a second later", call, before, after)
			}

			if kind != "sse" {
				// The server still serves the connection.
				checkStillServing(t, c)
			}
		})
	}
}

// checkStillServing checks that the server answers a quick call.
func checkStillServing(t *testing.T, c *conn) {
	t.Helper()
	out := decodeResult(t, c.mustCall(t, "get_video_task", map[string]any{"task_id": "done-after"}))
	got := mustSucceed(t, "CallTool(get_video_task, \"done-after\") over "+c.kind, out)
	if got.TaskStatus != "SUCCEEDED" {
		t.Errorf("CallTool(get_video_task, \"done-after\") over %s: task_status = %s, want SUCCEEDED", c.kind, got.TaskStatus)
	}
}

// ---------------------------------------------------------------------------------------------
// 5. the wait budget runs out

// TestE2EWaitBudget checks a wait whose budget ends first: done false, the latest status, the
// advice to call again, and polls counting the answers the wait saw. The upstream answers two
// polls and holds the third: that request was sent, but the wait ends without its answer, and
// the server gives it up rather than wait past the budget.
func TestE2EWaitBudget(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c := startAndConnect(t, kind, up, serverOpts{})
			id := "stall-2-budget"
			call := fmt.Sprintf("CallTool(wait_for_video_task, %q, timeout_seconds 1) over %s", id, kind)
			start := time.Now()
			out := decodeResult(t, c.mustCall(t, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": 1}))
			elapsed := time.Since(start)
			got := mustSucceed(t, call, out)
			if got.Done || got.TaskStatus != "RUNNING" {
				t.Errorf("%s: done, task_status = %v, %s, want false, RUNNING", call, got.Done, got.TaskStatus)
			}
			const again = "wait_for_video_task again"
			if !strings.Contains(got.Summary, again) || !strings.Contains(got.Summary, "(2 polls)") {
				t.Errorf("%s: summary = %q, want it to say (2 polls) and contain %q", call, got.Summary, again)
			}
			if !strings.Contains(out.text, again) {
				t.Errorf("%s: text = %q, want it to contain %q", call, out.text, again)
			}
			if got.Polls == nil || *got.Polls != 2 {
				t.Errorf("%s: polls = %v, want 2: the answers the wait saw", call, deref(got.Polls))
			}
			if got.WaitedSeconds == nil || *got.WaitedSeconds > 1.5 || *got.WaitedSeconds < 1 {
				t.Errorf("%s: waited_seconds = %v, want the budget, between 1 and 1.5", call, deref(got.WaitedSeconds))
			}
			// A generous bound: the budget is 1 s.
			if elapsed > 10*time.Second {
				t.Errorf("%s took %v, want well under 10 s", call, elapsed)
			}
			select {
			case <-up.abandoned:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the server still held the third request 10 s after the wait ended", call)
			}
			if n := up.count(id); n != 3 {
				t.Errorf("%s: the upstream got %d requests, want 3: the two answered and the one given up", call, n)
			}
			up.checkNoStray(t)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// 6. FAILED, UNKNOWN and unknown-to-the-upstream tasks

func TestE2ETaskOutcomes(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c := startAndConnect(t, kind, up, serverOpts{})

			t.Run("failed", func(t *testing.T) {
				for _, tool := range []string{"get_video_task", "wait_for_video_task"} {
					id := "fail-1-" + tool
					call := fmt.Sprintf("CallTool(%s, %q) over %s", tool, id, kind)
					got := mustSucceed(t, call, decodeResult(t, c.mustCall(t, tool, map[string]any{"task_id": id})))
					if got.TaskStatus != "FAILED" || !got.Done {
						t.Errorf("%s: task_status, done = %s, %v, want FAILED, true", call, got.TaskStatus, got.Done)
					}
					if got.Error == nil {
						t.Fatalf("%s: structuredContent.error is missing", call)
					}
					if got.Error.Code != failCode || got.Error.Message != failMessage {
						t.Errorf("%s: error = %+v, want code %q, message %q", call, *got.Error, failCode, failMessage)
					}
					if !strings.Contains(got.Summary, failCode) {
						t.Errorf("%s: summary = %q, want it to name %s", call, got.Summary, failCode)
					}
					if got.VideoURL != "" {
						t.Errorf("%s: video_url = %q, want none", call, got.VideoURL)
					}
					if n := up.count(id); n != 1 {
						t.Errorf("%s: upstream got %d requests, want 1", call, n)
					}
				}
			})

			t.Run("unknown", func(t *testing.T) {
				for _, tool := range []string{"get_video_task", "wait_for_video_task"} {
					id := "unknown-1-" + tool
					call := fmt.Sprintf("CallTool(%s, %q) over %s", tool, id, kind)
					got := mustSucceed(t, call, decodeResult(t, c.mustCall(t, tool, map[string]any{"task_id": id})))
					if got.TaskStatus != "UNKNOWN" || !got.Done {
						t.Errorf("%s: task_status, done = %s, %v, want UNKNOWN, true", call, got.TaskStatus, got.Done)
					}
					if !strings.Contains(got.Summary, "24 hours") {
						t.Errorf("%s: summary = %q, want it to mention 24 hours", call, got.Summary)
					}
					if n := up.count(id); n != 1 {
						t.Errorf("%s: upstream got %d requests, want 1", call, n)
					}
				}
			})

			t.Run("missing", func(t *testing.T) {
				for _, tool := range []string{"get_video_task", "wait_for_video_task"} {
					before := up.count("missing")
					call := fmt.Sprintf("CallTool(%s, \"missing\") over %s", tool, kind)
					out := decodeResult(t, c.mustCall(t, tool, map[string]any{"task_id": "missing"}))
					checkErrorText(t, call, out, missingMessage)
					// A 404 is not transient: one request, no retry, no polling.
					if n := up.count("missing") - before; n != 1 {
						t.Errorf("%s: upstream got %d requests, want 1", call, n)
					}
				}
			})
			up.checkNoStray(t)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// 7. bad input

func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name string
		tool string
		args map[string]any
	}{
		{"dot-dot-slash", "get_video_task", map[string]any{"task_id": "../etc"}},
		{"slash", "get_video_task", map[string]any{"task_id": "a/b"}},
		{"slash wait", "wait_for_video_task", map[string]any{"task_id": "a/b"}},
		{"dot-dot", "get_video_task", map[string]any{"task_id": ".."}},
		{"dot", "get_video_task", map[string]any{"task_id": "."}},
		{"empty", "get_video_task", map[string]any{"task_id": ""}},
		{"blank", "get_video_task", map[string]any{"task_id": "   "}},
		{"missing", "get_video_task", map[string]any{}},
		{"number", "get_video_task", map[string]any{"task_id": 42}},
		{"too long", "get_video_task", map[string]any{"task_id": strings.Repeat("a", 129)}},
		{"query", "get_video_task", map[string]any{"task_id": "done-1?x=1"}},
		{"percent", "get_video_task", map[string]any{"task_id": "done-1%2F.."}},
		{"timeout 0", "wait_for_video_task", map[string]any{"task_id": "done-timeout", "timeout_seconds": 0}},
		{"timeout 99999", "wait_for_video_task", map[string]any{"task_id": "done-timeout", "timeout_seconds": 99999}},
		{"timeout negative", "wait_for_video_task", map[string]any{"task_id": "done-timeout", "timeout_seconds": -5}},
		{"timeout fraction", "wait_for_video_task", map[string]any{"task_id": "done-timeout", "timeout_seconds": 1.5}},
	}
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c := startAndConnect(t, kind, up, serverOpts{})
			for _, tc := range bad {
				t.Run(tc.name, func(t *testing.T) {
					call := fmt.Sprintf("CallTool(%s, %v) over %s", tc.tool, tc.args, kind)
					out := decodeResult(t, c.mustCall(t, tc.tool, tc.args))
					checkErrorText(t, call, out)
					if n := up.total(); n != 0 {
						t.Errorf("%s: upstream got %d requests, want 0", call, n)
					}
				})
			}
			// The largest id allowed, and one with white space around it, are accepted.
			for _, id := range []string{" done-padded\t", "done-" + strings.Repeat("x", 123)} {
				call := fmt.Sprintf("CallTool(get_video_task, %q) over %s", id, kind)
				got := mustSucceed(t, call, decodeResult(t, c.mustCall(t, "get_video_task", map[string]any{"task_id": id})))
				trimmed := strings.TrimSpace(id)
				if got.TaskID != trimmed || up.count(trimmed) != 1 {
					t.Errorf("%s: task_id = %q and %d upstream requests for %q, want %q and 1", call, got.TaskID, up.count(trimmed), trimmed, trimmed)
				}
			}
			checkStillServing(t, c)
			up.checkNoStray(t)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// 8. no API key

func TestE2EMissingAPIKey(t *testing.T) {
	t.Parallel()
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			c := startAndConnect(t, kind, up, serverOpts{noAPIKey: true})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("ListTools over %s without an API key: %v", kind, err)
			}
			if len(list.Tools) != 2 {
				t.Errorf("ListTools over %s without an API key: %d tools, want 2", kind, len(list.Tools))
			}
			for _, tool := range []string{"get_video_task", "wait_for_video_task"} {
				call := fmt.Sprintf("CallTool(%s, \"done-1\") over %s without an API key", tool, kind)
				start := time.Now()
				out := decodeResult(t, c.mustCall(t, tool, map[string]any{"task_id": "done-1"}))
				checkErrorText(t, call, out, "GPTGE_API_KEY")
				// A wait must not poll on through its budget for a key that cannot appear.
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s took %v, want it to fail at once", call, d)
				}
			}
			if n := up.total(); n != 0 {
				t.Errorf("upstream got %d requests from a server without an API key, want 0", n)
			}
			if log := c.stderr.String(); !strings.Contains(log, "GPTGE_API_KEY") {
				t.Errorf("server log does not name GPTGE_API_KEY at start-up:\n%s", log)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// 9. stdout carries JSON-RPC only; end of input ends the process

// TestE2EStdoutPurity drives a stdio server through raw pipes, with debug logging on, and
// checks every byte it writes to stdout.
func TestE2EStdoutPurity(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	bin := serverBinary(t)
	args := append([]string{"--base-url", up.baseURL()}, fastPolling...)
	cmd := exec.Command(bin, args...)
	cmd.Env = serverEnv("GPTGE_API_KEY="+testAPIKey, "LOG_LEVEL=debug")
	stderr := &logBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("StdinPipe: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	// Read stdout line by line, keeping every line.
	var (
		mu      sync.Mutex
		lines   []string
		readErr error
	)
	seen := make(chan struct{}, 1)
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			select {
			case seen <- struct{}{}:
			default:
			}
		}
		readErr = sc.Err()
	}()
	// cmd.Wait closes stdout, so it runs only once the reader has seen the end of it.
	exited := make(chan error, 1)
	go func() {
		<-stdoutDone
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-stdoutDone
	})

	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatalf("writing %s: %v", msg, err)
		}
	}
	// responses returns the responses received so far, by id.
	responses := func() map[float64]map[string]any {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[float64]map[string]any)
		for _, line := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				if id, ok := m["id"].(float64); ok {
					out[id] = m
				}
			}
		}
		return out
	}
	awaitResponses := func(ids ...float64) map[float64]map[string]any {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			got := responses()
			missing := false
			for _, id := range ids {
				if _, ok := got[id]; !ok {
					missing = true
				}
			}
			if !missing {
				return got
			}
			select {
			case <-seen:
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatalf("no responses to ids %v within 20 s; have %v; stderr:\n%s", ids, got, stderr)
			}
		}
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-e2e","version":"0"}}}`)
	awaitResponses(1)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"done-1"}}}`)
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":"slow-3","timeout_seconds":30},"_meta":{"progressToken":"raw-tok"}}}`)
	send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"missing"}}}`)
	send(`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"../etc"}}}`)
	send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
	got := awaitResponses(1, 2, 3, 4, 5, 6, 7)

	if v := dig(got[1], "result", "protocolVersion"); v != "2025-11-25" {
		t.Errorf("initialize: protocolVersion = %v, want 2025-11-25", v)
	}
	for id, wantError := range map[float64]bool{3: false, 4: false, 5: true, 6: true} {
		if isErr, _ := dig(got[id], "result", "isError").(bool); isErr != wantError {
			t.Errorf("tools/call id %v: isError = %v, want %v: %v", id, isErr, wantError, got[id])
		}
	}

	// Close stdin: the server must finish and exit on its own.
	stdin.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exited with %v after end of input, want success; stderr:\n%s", err, stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("server still running 5 s after stdin closed")
	}

	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		t.Errorf("reading stdout: %v", readErr)
	}
	// Every line of stdout is a JSON-RPC 2.0 message.
	var toolsListLine string
	respondedAt := -1
	var progressAt []int
	for i, line := range lines {
		var m struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
			Result  json.RawMessage `json:"result"`
			Error   json.RawMessage `json:"error"`
			Params  struct {
				ProgressToken any `json:"progressToken"`
			} `json:"params"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stdout line %d is not JSON (%v): %q", i+1, err, line)
			continue
		}
		if m.JSONRPC != "2.0" {
			t.Errorf("stdout line %d: jsonrpc = %q, want \"2.0\": %q", i+1, m.JSONRPC, line)
		}
		isResponse := len(m.ID) > 0 && m.Method == "" && (len(m.Result) > 0) != (len(m.Error) > 0)
		isNotification := len(m.ID) == 0 && m.Method != ""
		if !isResponse && !isNotification {
			t.Errorf("stdout line %d is neither a response nor a notification: %q", i+1, line)
		}
		switch {
		case string(m.ID) == "2":
			toolsListLine = string(m.Result)
		case string(m.ID) == "4":
			respondedAt = i
		case m.Method == "notifications/progress" && m.Params.ProgressToken == "raw-tok":
			progressAt = append(progressAt, i)
		}
	}
	// On the wire, every progress notification of the wait comes before its response.
	if len(progressAt) != 3 {
		t.Errorf("stdout has %d progress notifications for raw-tok, want 3", len(progressAt))
	}
	for _, at := range progressAt {
		if at > respondedAt {
			t.Errorf("stdout line %d, a progress notification, comes after the wait's response on line %d", at+1, respondedAt+1)
		}
	}
	// The exact tools/list answer: small, and without null type unions in its schemas.
	if n := len(toolsListLine); n == 0 || n >= 4096 {
		t.Errorf("tools/list result is %d bytes on the wire, want 1 to 4095", n)
	}
	if strings.Contains(toolsListLine, `"null"`) {
		t.Errorf("tools/list result mentions the type \"null\": %s", toolsListLine)
	}
	if n := up.count("slow-3"); n != 4 {
		t.Errorf("upstream got %d requests for slow-3, want 4", n)
	}

	log := stderr.String()
	if strings.Count(log, "\n") < 2 || !strings.Contains(log, "starting") {
		t.Errorf("stderr has no log lines; got:\n%s", log)
	}
	// LOG_LEVEL is honoured: the polls of the wait are logged at debug level.
	if !strings.Contains(log, " DBG ") {
		t.Errorf("stderr has no debug lines with LOG_LEVEL=debug:\n%s", log)
	}
}

// TestE2EStdioStopDuringWait checks that a stdio server stops promptly, and cleanly, with a
// wait in flight: at the end of its input and on SIGTERM.
func TestE2EStdioStopDuringWait(t *testing.T) {
	t.Parallel()
	stops := []struct {
		name string
		stop func(p *process, stdin io.Closer) error
	}{
		{"stdin closed", func(_ *process, stdin io.Closer) error { return stdin.Close() }},
		{"SIGTERM", func(p *process, _ io.Closer) error { return p.cmd.Process.Signal(syscall.SIGTERM) }},
	}
	for _, tc := range stops {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			args := append([]string{"--base-url", up.baseURL()}, fastPolling...)
			p := startProcess(t, serverBinary(t), args, serverEnv("GPTGE_API_KEY="+testAPIKey), true)
			stdinW := p.stdin
			go func() {
				for _, m := range []string{
					`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-e2e","version":"0"}}}`,
					`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
					`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":"forever-stop","timeout_seconds":60}}}`,
				} {
					if _, err := io.WriteString(stdinW, m+"\n"); err != nil {
						return
					}
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for up.count("forever-stop") == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the wait made no upstream request within 10 s; stderr:\n%s", p.stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := tc.stop(p, stdinW); err != nil {
				t.Fatalf("stopping the server (%s): %v", tc.name, err)
			}
			if !p.waitExit(5 * time.Second) {
				t.Fatalf("server still running 5 s after %s with a wait in flight; stderr:\n%s", tc.name, p.stderr)
			}
			if p.waitErr != nil {
				t.Errorf("server exited with %v after %s, want success; stderr:\n%s", p.waitErr, tc.name, p.stderr)
			}
		})
	}
}

// dig follows keys through nested JSON objects.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

// ---------------------------------------------------------------------------------------------
// 10. many waits at once

// TestE2EConcurrentWaits runs 64 waits at once on one connection: each must get its own
// result and every progress notification the server sent for it (it logs each one at debug
// level). How many it sends depends on timing: a busy machine may merge two polls into one
// observation, or skip a notification that would come just before the poll that may end the
// wait. Over Streamable HTTP the notifications travel on the call's own response, so all of
// them must have arrived when the call returns; over stdio and SSE they are written apart from
// results and may trail them.
//
// A lost notification shows only when the machine is busy; check with two CPU hogs running:
//
//	yes >/dev/null & yes >/dev/null & go test -race -count=30 -run TestE2EConcurrentWaits .; kill %1 %2
func TestE2EConcurrentWaits(t *testing.T) {
	t.Parallel()
	const waits = 64
	for _, kind := range allTransports {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			// The process-wide limit of 10 upstream requests per second would make this
			// a test of the limiter (TestE2ERateLimit is that); lift it.
			c := startAndConnect(t, kind, up, serverOpts{args: []string{"--max-qps", "1000", "--log-level", "debug"}})
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			type outcome struct {
				id       string
				res      *mcp.CallToolResult
				err      error
				progress int // notifications for the call's token when it returned
			}
			results := make(chan outcome, waits)
			before := make(map[string]int) // notifications received when the call returned
			for i := range waits {
				// 1 to 4 unfinished polls, distinct ids.
				id := fmt.Sprintf("slow-%d-c%02d", i%4+1, i)
				go func() {
					res, err := c.callTool(ctx, "wait_for_video_task",
						map[string]any{"task_id": id, "timeout_seconds": 40}, &mcp.Meta{ProgressToken: "tok-" + id})
					results <- outcome{id, res, err, len(c.notes.progress("tok-" + id))}
				}()
			}
			for range waits {
				o := <-results
				call := fmt.Sprintf("CallTool(wait_for_video_task, %q) over %s", o.id, kind)
				if o.err != nil {
					t.Errorf("%s: error %v", call, o.err)
					continue
				}
				out := decodeResult(t, o.res)
				if out.isError || out.structured == nil {
					t.Errorf("%s: isError = %v, structured = %v; text: %s", call, out.isError, out.structured != nil, out.text)
					continue
				}
				if got := out.structured; got.TaskStatus != "SUCCEEDED" || !got.Done || got.TaskID != o.id {
					t.Errorf("%s: task_id, task_status, done = %s, %s, %v, want %s, SUCCEEDED, true", call, got.TaskID, got.TaskStatus, got.Done, o.id)
				}
				before[o.id] = o.progress
			}
			// Each task was polled exactly until it finished, and every notification the
			// server sent reached its own caller.
			total := 0
			for i := range waits {
				id := fmt.Sprintf("slow-%d-c%02d", i%4+1, i)
				unfinished := i%4 + 1
				if n := up.count(id); n != unfinished+1 {
					t.Errorf("upstream got %d requests for %s, want %d", n, id, unfinished+1)
				}
				received, sent := c.awaitProgressSent(id, "tok-"+id, 10*time.Second)
				if received != sent {
					t.Errorf("%d progress notifications for %s, want the %d the server sent", received, id, sent)
				}
				if sent > unfinished {
					t.Errorf("the server sent %d progress notifications for %s, want at most %d", sent, id, unfinished)
				}
				if kind == "http" && before[id] != sent {
					t.Errorf("%d progress notifications for %s had arrived with the result over http, want all %d", before[id], id, sent)
				}
				total += sent
			}
			if total == 0 {
				t.Error("the server sent no progress notification at all")
			}
			if t.Failed() {
				t.Logf("server stderr:\n%s", c.stderr)
			}
			if strings.Contains(c.stderr.String(), "progress notification lost") {
				t.Errorf("the server lost progress notifications:\n%s", c.stderr)
			}
			up.checkNoStray(t)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// 11. flags

func TestE2EFlags(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)
	run := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = serverEnv()
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
			code = exitErr.ExitCode()
		default:
			t.Fatalf("running %s %q: %v", bin, args, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s %q did not exit within 10 s", bin, args)
		}
		return out.String(), errOut.String(), code
	}

	t.Run("version", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := run(t, "--version")
		if code != 0 {
			t.Errorf("--version exit code = %d, want 0; stderr: %s", code, stderr)
		}
		if !regexp.MustCompile(`^video-task-mcp \S+\n$`).MatchString(stdout) {
			t.Errorf("--version stdout = %q, want one line \"video-task-mcp VERSION\"", stdout)
		}
	})

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := run(t, "--help")
		if code != 0 {
			t.Errorf("--help exit code = %d, want 0", code)
		}
		help := stdout + stderr
		flags := []string{"transport", "addr", "base-url", "poll-interval", "max-poll-interval", "wait-timeout", "log-level", "version"}
		// Flags the contract adds later must be listed too, once the binary takes them.
		for _, later := range []struct{ flag, value string }{
			{"max-qps", "5"}, {"allowed-origins", "https://app.example.com"}, {"simulate", "true"},
			{"enable-create", "true"}, {"provider", "gptge"}, {"region", "cn"}, {"download-dir", os.TempDir()},
			{"max-stdio-calls", "50"},
		} {
			if _, _, code := run(t, "--"+later.flag+"="+later.value, "--version"); code == 0 {
				flags = append(flags, later.flag)
			}
		}
		// Go's flag package prints "-name"; "--name" is accepted as well.
		for _, flag := range flags {
			if !regexp.MustCompile(`(^|\s)--?` + regexp.QuoteMeta(flag) + `\b`).MatchString(help) {
				t.Errorf("--help does not mention --%s:\n%s", flag, help)
			}
		}
		// MCP_AUTH_TOKEN is read by the server (TestE2EHTTPGuard), so it is listed as well.
		for _, env := range []string{"GPTGE_API_KEY", "GPTGE_BASE_URL", "LOG_LEVEL", "MCP_AUTH_TOKEN"} {
			if !strings.Contains(help, env) {
				t.Errorf("--help does not mention %s:\n%s", env, help)
			}
		}
	})

	t.Run("unknown flag", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := run(t, "--no-such-flag")
		if code == 0 {
			t.Errorf("--no-such-flag exit code = 0, want non-zero")
		}
		if !strings.Contains(stderr, "no-such-flag") {
			t.Errorf("--no-such-flag stderr = %q, want it to name the flag", stderr)
		}
	})

	t.Run("bad max-stdio-calls", func(t *testing.T) {
		for _, v := range []string{"0", "10001"} {
			if _, stderr, code := run(t, "--max-stdio-calls", v); code == 0 || !strings.Contains(stderr, "--max-stdio-calls") {
				t.Errorf("--max-stdio-calls %s: exit code %d, stderr %q; want non-zero naming the flag", v, code, stderr)
			}
		}
	})

	t.Run("bad transport", func(t *testing.T) {
		if _, _, code := run(t, "--transport", "carrier-pigeon"); code == 0 {
			t.Errorf("--transport carrier-pigeon exit code = 0, want non-zero")
		}
	})
}

// ---------------------------------------------------------------------------------------------
// 13. SIGTERM with a wait in flight

// startWaitInFlight starts a wait on a task that never ends and returns once the upstream has
// seen its first poll. The call's outcome arrives on the returned channel.
func startWaitInFlight(t *testing.T, c *conn, up *upstream, id string, callTimeout time.Duration) <-chan callOutcome {
	t.Helper()
	done := make(chan callOutcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		res, err := c.callTool(ctx, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": 60}, nil)
		done <- callOutcome{res, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for up.count(id) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the wait for %s made no upstream request within 10 s; stderr:\n%s", id, c.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return done
}

type callOutcome struct {
	res *mcp.CallToolResult
	err error
}

func TestE2ESIGTERM(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			srv := startServer(t, kind, up, serverOpts{})
			c := srv.connect(t)
			startWaitInFlight(t, c, up, "forever-sigterm", 10*time.Second)
			if err := srv.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatalf("sending SIGTERM: %v", err)
			}
			if !srv.proc.waitExit(5 * time.Second) {
				t.Fatalf("server still running 5 s after SIGTERM with a wait in flight; stderr:\n%s", srv.proc.stderr)
			}
			if srv.proc.waitErr != nil {
				t.Errorf("server exited with %v after SIGTERM, want a clean exit; stderr:\n%s", srv.proc.waitErr, srv.proc.stderr)
			}
			if !strings.Contains(srv.proc.stderr.String(), "shutting down") {
				t.Errorf("server log does not say it is shutting down:\n%s", srv.proc.stderr)
			}
		})
	}
}

// TestE2ESIGTERMResult checks what transport.go promises for shutdown: a wait in flight ends
// at once "with a result that says to call again".
func TestE2ESIGTERMResult(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			srv := startServer(t, kind, up, serverOpts{})
			c := srv.connect(t)
			// A bounded call: mcp-go's SSE client does not fail a pending call when its
			// stream ends, and would otherwise wait for its own 30 s response timeout.
			done := startWaitInFlight(t, c, up, "forever-sigterm", 5*time.Second)
			if err := srv.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatalf("sending SIGTERM: %v", err)
			}
			o := <-done
			call := fmt.Sprintf("CallTool(wait_for_video_task, \"forever-sigterm\") over %s during shutdown", kind)
			if o.err != nil {
				t.Fatalf("%s: error %v, want a result that says to call again", call, o.err)
			}
			out := decodeResult(t, o.res)
			if !strings.Contains(out.text, "wait_for_video_task again") {
				t.Errorf("%s: text = %q, want it to say to call wait_for_video_task again", call, out.text)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Later settings: the upstream rate limit, and the HTTP guard

// TestE2ERateLimit checks that --max-qps spaces the upstream requests of many callers, and
// that the callers wait for their turn instead of failing.
func TestE2ERateLimit(t *testing.T) {
	t.Parallel()
	const (
		calls = 30
		qps   = 20
	)
	up := newUpstream(t)
	c := startAndConnect(t, "stdio", up, serverOpts{args: []string{"--max-qps", strconv.Itoa(qps)}})
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		id := fmt.Sprintf("done-rate-%02d", i)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := c.callTool(ctx, "get_video_task", map[string]any{"task_id": id}, nil)
			switch {
			case err != nil:
				errs <- fmt.Errorf("CallTool(get_video_task, %q): %v", id, err)
			case res.IsError:
				errs <- fmt.Errorf("CallTool(get_video_task, %q): isError = true, want false", id)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	up.mu.Lock()
	var first, last time.Time
	n := 0
	for _, hits := range up.hits {
		for _, at := range hits {
			n++
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
	}
	up.mu.Unlock()
	if n != calls {
		t.Fatalf("upstream got %d requests, want %d", n, calls)
	}
	// The requests are spaced 1/qps apart when they start; on a loaded machine the first can
	// arrive late, so allow it half a second. Without a limit they all arrive at once.
	if spread, min := last.Sub(first), time.Duration(calls-1)*time.Second/qps-500*time.Millisecond; spread < min {
		t.Errorf("%d upstream requests at --max-qps %d arrived within %v, want at least %v", calls, qps, spread, min)
	}
}

// TestE2EHTTPGuard checks client authentication with MCP_AUTH_TOKEN and the refusal of foreign
// browser origins on both HTTP transports.
func TestE2EHTTPGuard(t *testing.T) {
	t.Parallel()
	const token = "e2e-client-token-5f2c"
	for _, kind := range []string{"http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			srv := startServer(t, kind, up, serverOpts{env: []string{"MCP_AUTH_TOKEN=" + token}})

			for _, tc := range []struct {
				name   string
				header http.Header
				want   int
			}{
				{"no token", nil, http.StatusUnauthorized},
				{"wrong token", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
				{"foreign origin", http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if got := rawHTTPStatus(t, kind, srv.url, tc.header); got != tc.want {
						t.Errorf("%s %s with %v: status %d, want %d", kind, srv.url, tc.header, got, tc.want)
					}
				})
			}

			t.Run("client with token", func(t *testing.T) {
				headers := map[string]string{"Authorization": "Bearer " + token}
				var tr transport.Interface
				var err error
				if kind == "http" {
					tr, err = transport.NewStreamableHTTP(srv.url, transport.WithHTTPHeaders(headers))
				} else {
					tr, err = transport.NewSSE(srv.url, transport.WithHeaders(headers))
				}
				if err != nil {
					t.Fatalf("creating the %s transport: %v", kind, err)
				}
				c := client.NewClient(tr)
				if err := c.Start(context.Background()); err != nil {
					t.Fatalf("starting the %s client with the token: %v", kind, err)
				}
				t.Cleanup(func() { _ = c.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
					t.Fatalf("Initialize over %s with the token: %v", kind, err)
				}
				checkStillServing(t, &conn{Client: c, kind: kind, stderr: srv.proc.stderr, notes: &recorder{}})
			})
			if strings.Contains(srv.proc.stderr.String(), token) {
				t.Errorf("server log contains MCP_AUTH_TOKEN:\n%s", srv.proc.stderr)
			}
		})
	}
}

// rawHTTPStatus opens the transport's endpoint with the given headers and returns the status:
// an initialize POST for Streamable HTTP, the event stream GET for SSE.
func rawHTTPStatus(t *testing.T, kind, url string, header http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	method, body := http.MethodGet, io.Reader(nil)
	if kind == "http" {
		method = http.MethodPost
		body = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-e2e","version":"0"}}}`)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatalf("http.NewRequest: %v", err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close() // an SSE stream that opened is closed at once
	return resp.StatusCode
}
