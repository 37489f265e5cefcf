package main

// End-to-end tests of cancellation, end of input and the stdio limits, over raw JSON-RPC
// against the built binary: what matters here is exactly which messages go out, and mcp-go's
// own client would hide a response it does not expect.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// rpcMessage is one JSON-RPC message the server wrote.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result *struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (m rpcMessage) id() string { return string(m.ID) }

// text is the result's text, or the error's message.
func (m rpcMessage) text() string {
	if m.Error != nil {
		return m.Error.Message
	}
	var b strings.Builder
	if m.Result != nil {
		for _, c := range m.Result.Content {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

const (
	rawInitialize  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-e2e","version":"0"}}}`
	rawInitialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

func rawToolCall(id int, tool, taskID string, timeout int) string {
	args := fmt.Sprintf(`{"task_id":%q}`, taskID)
	if timeout > 0 {
		args = fmt.Sprintf(`{"task_id":%q,"timeout_seconds":%d}`, taskID, timeout)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args)
}

func rawCancel(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":"test"}}`, id)
}

// rawStdio is a server process driven over raw stdin and stdout lines.
type rawStdio struct {
	t      *testing.T
	proc   *process
	mu     sync.Mutex
	seen   []rpcMessage
	arrive chan struct{} // signalled on each message
	eof    chan struct{} // closed when stdout ends
}

// startRawStdio runs the server over stdio with args against up.
func startRawStdio(t *testing.T, up *upstream, args ...string) *rawStdio {
	t.Helper()
	args = append(append([]string{"--base-url", up.baseURL()}, fastPolling...), args...)
	cmd := exec.Command(serverBinary(t), args...)
	// An *os.File pipe, not StdoutPipe: Wait closes that one when the process exits, and a
	// reader still behind would lose the end of what the server wrote.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("os.Pipe: %v", err)
	}
	cmd.Stdout = w
	r := &rawStdio{t: t, arrive: make(chan struct{}, 1), eof: make(chan struct{})}
	r.proc = startCmd(t, cmd, serverEnv("GPTGE_API_KEY="+testAPIKey))
	w.Close() // the server holds its own copy
	go func() {
		defer close(r.eof)
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		defer func() {
			if err := sc.Err(); err != nil {
				t.Errorf("reading the server's stdout: %v", err)
			}
		}()
		for sc.Scan() {
			var m rpcMessage
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("stdout line is not JSON-RPC: %v: %q", err, sc.Text())
				continue
			}
			r.mu.Lock()
			r.seen = append(r.seen, m)
			r.mu.Unlock()
			select {
			case r.arrive <- struct{}{}:
			default:
			}
		}
	}()
	// The reader reports to t: it must be done before the test is.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.eof
	})
	return r
}

// startCmd starts cmd with a stdin pipe, as startProcess does.
func startCmd(t *testing.T, cmd *exec.Cmd, env []string) *process {
	t.Helper()
	p := &process{cmd: cmd, stderr: &logBuffer{}, exited: make(chan struct{})}
	cmd.Env = env
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("StdinPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (r *rawStdio) send(lines ...string) {
	r.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(r.proc.stdin, l+"\n"); err != nil {
			r.t.Fatalf("writing to the server's stdin: %v", err)
		}
	}
}

// messages returns what the server wrote so far.
func (r *rawStdio) messages() []rpcMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rpcMessage(nil), r.seen...)
}

// answer waits up to d for the response with this id.
func (r *rawStdio) answer(id string, d time.Duration) (rpcMessage, bool) {
	deadline := time.After(d)
	for {
		for _, m := range r.messages() {
			if m.Method == "" && m.id() == id {
				return m, true
			}
		}
		select {
		case <-r.arrive:
		case <-r.eof:
			// One last look: the message may have come with the end.
			for _, m := range r.messages() {
				if m.Method == "" && m.id() == id {
					return m, true
				}
			}
			return rpcMessage{}, false
		case <-deadline:
			return rpcMessage{}, false
		}
	}
}

func (r *rawStdio) mustAnswer(id string, d time.Duration) rpcMessage {
	r.t.Helper()
	m, ok := r.answer(id, d)
	if !ok {
		r.t.Fatalf("no response with id %s within %s; stderr:\n%s", id, d, r.proc.stderr)
	}
	return m
}

// mustAnswerCount waits up to d until the server has written n responses.
func (r *rawStdio) mustAnswerCount(n int, d time.Duration) {
	r.t.Helper()
	deadline := time.After(d)
	for {
		count := 0
		for _, m := range r.messages() {
			if m.Method == "" {
				count++
			}
		}
		if count >= n {
			return
		}
		select {
		case <-r.arrive:
		case <-r.eof:
			r.t.Fatalf("stdout ended after %d responses, want %d; stderr:\n%s", count, n, r.proc.stderr)
		case <-deadline:
			r.t.Fatalf("%d responses within %s, want %d; stderr:\n%s", count, d, n, r.proc.stderr)
		}
	}
}

// closeAndDrain closes stdin and waits for stdout to end and the process to exit.
func (r *rawStdio) closeAndDrain(d time.Duration) []rpcMessage {
	r.t.Helper()
	r.proc.stdin.Close()
	select {
	case <-r.eof:
	case <-time.After(d):
		r.t.Fatalf("stdout still open %s after stdin closed; stderr:\n%s", d, r.proc.stderr)
	}
	if !r.proc.waitExit(d) {
		r.t.Fatalf("server still running %s after stdin closed; stderr:\n%s", d, r.proc.stderr)
	}
	return r.messages()
}

func countID(msgs []rpcMessage, id string) int {
	n := 0
	for _, m := range msgs {
		if m.Method == "" && m.id() == id {
			n++
		}
	}
	return n
}

// waitForPoll waits until the upstream has seen a request for id.
func waitForPoll(t *testing.T, up *upstream, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for up.count(id) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no upstream request for %s within 10 s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------
// No response to a cancelled request

// TestE2ECancelledRequestGetsNoResponse checks that after notifications/cancelled for a
// running call, the server stops polling and writes nothing for that id, while a request that
// was answered before its cancellation arrived keeps its answer and the server keeps serving.
// Streamable HTTP is covered by TestE2EStatelessHTTPCancellation: there a client cancels by
// closing its own request.
func TestE2ECancelledRequestGetsNoResponse(t *testing.T) {
	t.Parallel()
	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		r := startRawStdio(t, up)
		r.send(rawInitialize, rawInitialized)
		r.mustAnswer("1", 10*time.Second)
		// Answered before its cancellation: the answer stands.
		r.send(rawToolCall(2, "get_video_task", "done-early", 0))
		r.mustAnswer("2", 10*time.Second)
		r.send(rawCancel(2))

		r.send(rawToolCall(3, "wait_for_video_task", "forever-cancelled", 60))
		waitForPoll(t, up, "forever-cancelled")
		r.send(rawCancel(3))
		if _, ok := up.settle("forever-cancelled", 500*time.Millisecond, 5*time.Second); !ok {
			t.Fatalf("upstream polling went on for 5 s after the cancellation")
		}
		r.send(rawToolCall(4, "get_video_task", "done-after", 0))
		if m := r.mustAnswer("4", 10*time.Second); m.Result == nil || m.Result.IsError {
			t.Errorf("get_video_task after a cancellation: %q, want a result", m.text())
		}
		// Everything the server had to say comes out before it exits.
		msgs := r.closeAndDrain(5 * time.Second)
		if n := countID(msgs, "3"); n != 0 {
			t.Errorf("the server wrote %d responses to cancelled request 3, want none", n)
		}
		if n := countID(msgs, "2"); n != 1 {
			t.Errorf("the server wrote %d responses to request 2 (answered before its cancellation), want 1", n)
		}
	})
	t.Run("sse", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		srv := startServer(t, "sse", up, serverOpts{})
		s := openSSE(t, srv.url)
		s.post(rawInitialize)
		s.mustAnswer("1")
		s.post(rawInitialized)
		s.post(rawToolCall(2, "get_video_task", "done-early", 0))
		s.mustAnswer("2")
		s.post(rawCancel(2))

		s.post(rawToolCall(3, "wait_for_video_task", "forever-cancelled", 60))
		waitForPoll(t, up, "forever-cancelled")
		s.post(rawCancel(3))
		if _, ok := up.settle("forever-cancelled", 500*time.Millisecond, 5*time.Second); !ok {
			t.Fatalf("upstream polling went on for 5 s after the cancellation")
		}
		s.post(rawToolCall(4, "get_video_task", "done-after", 0))
		s.mustAnswer("4")
		// The server flushes its streams when it stops: whatever it had for id 3 would be
		// on the stream by its end.
		if err := srv.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		msgs := s.drain(5 * time.Second)
		if n := countID(msgs, "3"); n != 0 {
			t.Errorf("the server wrote %d responses to cancelled request 3, want none", n)
		}
		if n := countID(msgs, "2"); n != 1 {
			t.Errorf("the server wrote %d responses to request 2 (answered before its cancellation), want 1", n)
		}
	})
}

// TestE2ECancelOddIDs checks that a cancellation finds its request however the client spells
// the request's id, as mcp-go finds it: the request was cancelled, so the response it gets
// anyway is dropped. Over SSE, mcp-go reads the first JSON value of a body and ignores the
// rest, so a cancellation followed by stray bytes cancels too.
func TestE2ECancelOddIDs(t *testing.T) {
	t.Parallel()
	call := func(id, taskID string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":%q,"timeout_seconds":60}}}`, id, taskID)
	}
	cancel := func(id string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%s}}`, id)
	}
	// The server writes the id back as {"a":6,"b":5}.
	const objectID, objectIDWritten = `{ "b" : 5, "a" : 6 }`, `{"a":6,"b":5}`
	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		r := startRawStdio(t, up)
		r.send(rawInitialize, rawInitialized)
		r.mustAnswer("1", 10*time.Second)
		r.send(call(objectID, "forever-odd-cancel"))
		waitForPoll(t, up, "forever-odd-cancel")
		r.send(cancel(objectIDWritten))
		if _, ok := up.settle("forever-odd-cancel", 500*time.Millisecond, 5*time.Second); !ok {
			t.Fatalf("upstream polling went on for 5 s after the cancellation")
		}
		msgs := r.closeAndDrain(5 * time.Second)
		if n := countID(msgs, objectIDWritten); n != 0 {
			t.Errorf("the server wrote %d responses to cancelled request %s, want none", n, objectID)
		}
	})
	t.Run("sse", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		srv := startServer(t, "sse", up, serverOpts{})
		s := openSSE(t, srv.url)
		s.post(rawInitialize)
		s.mustAnswer("1")
		s.post(rawInitialized)
		s.post(call(objectID, "forever-odd-cancel"))
		s.post(call("7", "forever-trailing-cancel"))
		waitForPoll(t, up, "forever-odd-cancel")
		waitForPoll(t, up, "forever-trailing-cancel")
		s.post(cancel(objectIDWritten))
		s.post(cancel("7") + " and stray bytes")
		for _, task := range []string{"forever-odd-cancel", "forever-trailing-cancel"} {
			if _, ok := up.settle(task, 500*time.Millisecond, 5*time.Second); !ok {
				t.Fatalf("upstream polling for %s went on for 5 s after the cancellation", task)
			}
		}
		if err := srv.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		msgs := s.drain(5 * time.Second)
		for _, id := range []string{objectIDWritten, "7"} {
			if n := countID(msgs, id); n != 0 {
				t.Errorf("the server wrote %d responses to cancelled request %s, want none", n, id)
			}
		}
	})
}

// TestE2ECancelNamesItsOwnRequest checks that a cancellation never cuts short a request with
// another id: mcp-go finds the call to cancel by the id's printed form, so the string "60"
// would cancel the call with the number 60, which would then answer "cancelled" to a client
// that never cancelled it.
func TestE2ECancelNamesItsOwnRequest(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, m rpcMessage) {
		t.Helper()
		if m.Result == nil || m.Result.IsError || strings.Contains(m.text(), "cancelled") || !strings.Contains(m.text(), "RUNNING") {
			t.Errorf("answer to call 60 after a cancellation of \"60\" = %q, want its own end of budget: still RUNNING, not cancelled", m.text())
		}
	}
	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		r := startRawStdio(t, up)
		r.send(rawInitialize, rawInitialized)
		r.mustAnswer("1", 10*time.Second)
		r.send(rawToolCall(60, "wait_for_video_task", "forever-own-id", 2))
		waitForPoll(t, up, "forever-own-id")
		r.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"60"}}`)
		check(t, r.mustAnswer("60", 10*time.Second))
	})
	t.Run("sse", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		srv := startServer(t, "sse", up, serverOpts{})
		s := openSSE(t, srv.url)
		s.post(rawInitialize)
		s.mustAnswer("1")
		s.post(rawInitialized)
		s.post(rawToolCall(60, "wait_for_video_task", "forever-own-id", 2))
		waitForPoll(t, up, "forever-own-id")
		s.post(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"60"}}`)
		check(t, s.mustAnswer("60"))
	})
}

// TestE2ECancelLeavesALookalikeIDRunning checks a cancellation when another running call's id
// prints the same: mcp-go files the calls 60 and "60" under one key, and a cancellation of 60
// would cut short whichever of the two came last. The server does not pass it on then: 60
// gets no response, and "60" runs to its own end of budget.
func TestE2ECancelLeavesALookalikeIDRunning(t *testing.T) {
	t.Parallel()
	call := func(id, taskID string, timeout int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":%q,"timeout_seconds":%d}}}`, id, taskID, timeout)
	}
	check := func(t *testing.T, m rpcMessage) {
		t.Helper()
		if m.Result == nil || m.Result.IsError || strings.Contains(m.text(), "cancelled") || !strings.Contains(m.text(), "RUNNING") {
			t.Errorf("answer to call \"60\" after a cancellation of 60 = %q, want its own end of budget: still RUNNING, not cancelled", m.text())
		}
	}
	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		r := startRawStdio(t, up)
		r.send(rawInitialize, rawInitialized)
		r.mustAnswer("1", 10*time.Second)
		// "60" comes last, so its cancel func is the one mcp-go keeps under the shared key.
		r.send(call(`60`, "forever-number-id", 60))
		waitForPoll(t, up, "forever-number-id")
		r.send(call(`"60"`, "forever-string-id", 2))
		waitForPoll(t, up, "forever-string-id")
		r.send(rawCancel(60))
		check(t, r.mustAnswer(`"60"`, 10*time.Second))
		msgs := r.closeAndDrain(5 * time.Second)
		if n := countID(msgs, "60"); n != 0 {
			t.Errorf("the server wrote %d responses to cancelled request 60, want none", n)
		}
	})
	t.Run("sse", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		srv := startServer(t, "sse", up, serverOpts{})
		s := openSSE(t, srv.url)
		s.post(rawInitialize)
		s.mustAnswer("1")
		s.post(rawInitialized)
		s.post(call(`60`, "forever-number-id", 60))
		waitForPoll(t, up, "forever-number-id")
		s.post(call(`"60"`, "forever-string-id", 2))
		waitForPoll(t, up, "forever-string-id")
		s.post(rawCancel(60))
		check(t, s.mustAnswer(`"60"`))
		if err := srv.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		if n := countID(s.drain(5*time.Second), "60"); n != 0 {
			t.Errorf("the server wrote %d responses to cancelled request 60, want none", n)
		}
	})
}

// sseClient is a raw client of the legacy SSE transport.
type sseClient struct {
	t        *testing.T
	endpoint string
	mu       sync.Mutex
	seen     []rpcMessage
	arrive   chan struct{}
	eof      chan struct{}
}

func openSSE(t *testing.T, url string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	c := &sseClient{t: t, arrive: make(chan struct{}, 1), eof: make(chan struct{})}
	endpoint := make(chan string, 1)
	go func() {
		defer close(c.eof)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "endpoint":
				endpoint <- strings.TrimSpace(strings.TrimPrefix(line, "data: "))
			case strings.HasPrefix(line, "data: ") && event == "message":
				var m rpcMessage
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
					t.Errorf("SSE data is not JSON-RPC: %v: %q", err, line)
					continue
				}
				c.mu.Lock()
				c.seen = append(c.seen, m)
				c.mu.Unlock()
				select {
				case c.arrive <- struct{}{}:
				default:
				}
			}
		}
	}()
	select {
	case e := <-endpoint:
		c.endpoint = strings.TrimSuffix(url, "/sse") + e
	case <-time.After(10 * time.Second):
		t.Fatalf("no endpoint event on %s within 10 s", url)
	}
	return c
}

func (c *sseClient) post(body string) {
	c.t.Helper()
	resp, err := http.Post(c.endpoint, "application/json", strings.NewReader(body))
	if err != nil {
		c.t.Fatalf("POST %s: %v", c.endpoint, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("POST %s = %d, want 202", body, resp.StatusCode)
	}
}

func (c *sseClient) messages() []rpcMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rpcMessage(nil), c.seen...)
}

func (c *sseClient) mustAnswer(id string) rpcMessage {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, m := range c.messages() {
			if m.Method == "" && m.id() == id {
				return m
			}
		}
		select {
		case <-c.arrive:
		case <-c.eof:
			c.t.Fatalf("the SSE stream ended before the response with id %s", id)
		case <-deadline:
			c.t.Fatalf("no response with id %s on the SSE stream within 10 s", id)
		}
	}
}

// drain waits for the stream to end and returns every message it carried.
func (c *sseClient) drain(d time.Duration) []rpcMessage {
	c.t.Helper()
	select {
	case <-c.eof:
	case <-time.After(d):
		c.t.Fatalf("the SSE stream still open %s after SIGTERM", d)
	}
	return c.messages()
}

// ---------------------------------------------------------------------------------------------
// Stateless Streamable HTTP: one client's cancellation never touches another's call

// TestE2EStatelessHTTPCancellation runs two clients whose waits share request ids, in both
// protocol eras. Client B cancels every id the two could share, then closes its own request:
// A's wait runs to its result, and B's call ends with its request (its polling stops).
func TestE2EStatelessHTTPCancellation(t *testing.T) {
	t.Parallel()
	eras := []struct {
		name    string
		version string
		modern  bool
	}{
		{"2025-11-25", "2025-11-25", false},
		{"2026-07-28", mcp.ProtocolVersion20260728, true},
	}
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			srv := startServer(t, "http", up, serverOpts{})
			h := httpEra{t: t, url: srv.url, version: era.version, modern: era.modern}
			if !era.modern {
				h.call(context.Background(), rawInitialize) // stateless: nothing to keep
			}
			// Both clients number their calls the same way: id 2 is each one's wait.
			aDone := make(chan rpcMessage, 1)
			go func() {
				aDone <- h.call(context.Background(), h.toolCall(2, "wait_for_video_task", "slow-12-a", 30))
			}()
			bCtx, closeB := context.WithCancel(context.Background())
			bDone := make(chan rpcMessage, 1)
			go func() {
				bDone <- h.call(bCtx, h.toolCall(2, "wait_for_video_task", "forever-b", 60))
			}()
			waitForPoll(t, up, "slow-12-a")
			waitForPoll(t, up, "forever-b")
			for id := range 4 {
				if status := h.notify(h.cancel(id)); status != http.StatusAccepted {
					t.Errorf("POST notifications/cancelled = %d, want 202", status)
				}
			}
			closeB()
			select {
			case m := <-bDone:
				if m.Result != nil && !m.Result.IsError {
					t.Errorf("B's wait after closing its request: got a result %q", m.text())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("B's call did not end within 10 s of closing its request")
			}
			if _, ok := up.settle("forever-b", 500*time.Millisecond, 5*time.Second); !ok {
				t.Errorf("B's upstream polling went on for 5 s after B closed its request")
			}
			select {
			case m := <-aDone:
				if m.Result == nil || m.Result.IsError || !strings.Contains(m.text(), "SUCCEEDED") {
					t.Errorf("A's wait after B's cancellations = %q, want its SUCCEEDED result", m.text())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("A's wait did not answer within 20 s")
			}
		})
	}
}

// httpEra speaks raw Streamable HTTP in one protocol era.
type httpEra struct {
	t       *testing.T
	url     string
	version string
	modern  bool
}

// meta is the _meta member a 2026-07-28 message carries.
func (h httpEra) meta() string {
	if !h.modern {
		return ""
	}
	return fmt.Sprintf(`,"_meta":{%q:%q,"io.modelcontextprotocol/clientInfo":{"name":"raw-e2e","version":"0"},"io.modelcontextprotocol/clientCapabilities":{}}`,
		mcp.MetaKeyProtocolVersion, h.version)
}

func (h httpEra) toolCall(id int, tool, taskID string, timeout int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"task_id":%q,"timeout_seconds":%d}%s}}`,
		id, tool, taskID, timeout, h.meta())
}

func (h httpEra) cancel(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":"not yours"%s}}`, id, h.meta())
}

func (h httpEra) request(ctx context.Context, body string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, h.version)
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	_ = json.Unmarshal([]byte(body), &m)
	if h.modern {
		req.Header.Set(mcp.HeaderMethod, m.Method)
		if m.Params.Name != "" {
			req.Header.Set(mcp.HeaderName, m.Params.Name)
		}
	}
	return req
}

// call posts a request and returns its response (a zero message if the request failed, as
// it does when ctx ends).
func (h httpEra) call(ctx context.Context, body string) rpcMessage {
	resp, err := http.DefaultClient.Do(h.request(ctx, body))
	if err != nil {
		return rpcMessage{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var last rpcMessage
	// A JSON body, or an event stream whose last message is the response.
	for _, line := range bytes.Split(raw, []byte("\n")) {
		line = bytes.TrimPrefix(bytes.TrimSpace(line), []byte("data: "))
		var m rpcMessage
		if json.Unmarshal(line, &m) == nil && m.Method == "" && len(m.ID) > 0 {
			last = m
		}
	}
	if len(last.ID) == 0 && ctx.Err() == nil {
		h.t.Errorf("POST %s = %d with no response: %s", body, resp.StatusCode, raw)
	}
	return last
}

// notify posts a notification and returns the status.
func (h httpEra) notify(body string) int {
	resp, err := http.DefaultClient.Do(h.request(context.Background(), body))
	if err != nil {
		h.t.Fatalf("POST %s: %v", body, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ---------------------------------------------------------------------------------------------
// End of input

// TestE2EStdioEndOfInput pipes the classic smoke test into the server, exactly as a person
// would: the calls received before the end of input are answered, then the server exits.
func TestE2EStdioEndOfInput(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)
	cases := []struct {
		name, call string
		want       []string
	}{
		{"get", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"sim-done"}}}`,
			[]string{"SUCCEEDED"}},
		{"wait", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":"sim-slow"}}}`,
			[]string{"RUNNING", "wait_for_video_task again"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := fmt.Sprintf("printf '%%s\\n' '%s' '%s' '%s' | %q --simulate", rawInitialize, rawInitialized, tc.call, bin)
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = serverEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatalf("sh -c %q: %v", script, err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("the pipe exited with %v; stderr:\n%s", err, &stderr)
				}
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("the server still ran 5 s after its input ended; stderr:\n%s", &stderr)
			}
			var answer *rpcMessage
			for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
				var m rpcMessage
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("stdout line is not JSON-RPC: %v: %q", err, line)
				}
				if m.id() == "2" {
					answer = &m
				}
			}
			if answer == nil {
				t.Fatalf("no answer to the tools/call; stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(answer.text(), w) {
					t.Errorf("answer = %q, want it to contain %q", answer.text(), w)
				}
			}
			if strings.Contains(answer.text(), "cancelled") {
				t.Errorf("answer = %q, want no cancellation", answer.text())
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Stdio limits

// TestE2EStdioLongLine checks that a line over the limit is skipped with an error naming the
// limit and carrying the request's id, and that the server goes on serving.
func TestE2EStdioLongLine(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	r := startRawStdio(t, up)
	r.send(rawInitialize, rawInitialized)
	r.mustAnswer("1", 10*time.Second)
	long := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"done-x","padding":"%s"}}}`,
		strings.Repeat("x", 3<<20))
	r.send(long)
	m := r.mustAnswer("7", 10*time.Second)
	if m.Error == nil || m.Error.Code != mcp.INVALID_REQUEST || !strings.Contains(m.Error.Message, fmt.Sprint(maxStdioLine)) {
		t.Errorf("answer to a 3 MiB line = %+v %q, want error %d naming the limit %d", m.Error, m.text(), mcp.INVALID_REQUEST, maxStdioLine)
	}
	r.send(`{"jsonrpc":"2.0","id":8,"method":"ping"}`)
	r.mustAnswer("8", 10*time.Second)
}

// TestE2EStdioCallLimit checks --max-stdio-calls: past it a request is refused at once with
// an error that names the flag, while ping and cancellations are still served.
func TestE2EStdioCallLimit(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	r := startRawStdio(t, up, "--max-stdio-calls", "3")
	r.send(rawInitialize, rawInitialized)
	r.mustAnswer("1", 10*time.Second)
	for id := 10; id < 13; id++ {
		r.send(rawToolCall(id, "wait_for_video_task", "forever-limit", 60))
	}
	waitForPoll(t, up, "forever-limit")
	r.send(rawToolCall(13, "wait_for_video_task", "forever-limit", 60))
	m := r.mustAnswer("13", 5*time.Second)
	if m.Error == nil || m.Error.Code != codeServerBusy || !strings.Contains(m.Error.Message, "--max-stdio-calls") {
		t.Errorf("answer to the 4th call with --max-stdio-calls 3 = %+v, want error %d naming --max-stdio-calls", m.Error, codeServerBusy)
	}
	r.send(`{"jsonrpc":"2.0","id":14,"method":"ping"}`)
	r.mustAnswer("14", 5*time.Second)
	// A cancelled call makes room.
	r.send(rawCancel(10))
	deadline := time.Now().Add(10 * time.Second)
	for id := 15; ; id++ {
		r.send(rawToolCall(id, "get_video_task", "done-limit", 0))
		m := r.mustAnswer(fmt.Sprint(id), 10*time.Second)
		if m.Error == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still refused 10 s after a cancellation made room: %q", m.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2EStdioOddIDs checks that a request with an id the server answers under another
// spelling, or does not answer at all, never holds one of the --max-stdio-calls places: with
// one place, a tools/list sent after each such request is served. The front counts a request
// exactly when mcp-go will answer it, under the id mcp-go will answer with: mcp-go reads the
// id as a Go value and writes that value back (an object's keys sorted, 1.0 as 1), answers a
// message it cannot read with a null id, and does not answer a message carrying a result.
func TestE2EStdioOddIDs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, line string
		answered   bool // whether the server answers the line at all
	}{
		{"object id, keys out of order", `{"jsonrpc":"2.0","id":{ "b" : 1, "a" : 2 },"method":"tools/list"}`, true},
		{"object id with an HTML character", `{"jsonrpc":"2.0","id":{"a":"<"},"method":"tools/list"}`, true},
		{"array id", `{"jsonrpc":"2.0","id":[1.0, 2],"method":"tools/list"}`, true},
		{"boolean id", `{"jsonrpc":"2.0","id":true,"method":"tools/list"}`, true},
		{"number id 1.0", `{"jsonrpc":"2.0","id":1.0e0,"method":"tools/list"}`, true},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}`, true},
		{"negative zero id", `{"jsonrpc":"2.0","id":-0.0,"method":"tools/list"}`, true},
		{"escaped string id", `{"jsonrpc":"2.0","id":"\u0031","method":"tools/list"}`, true},
		{"long string id", `{"jsonrpc":"2.0","id":"` + strings.Repeat("i", 100<<10) + `","method":"tools/list"}`, true},
		{"id out of a number's range", `{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}`, true},
		{"jsonrpc not a string", `{"jsonrpc":2,"id":21,"method":"tools/list"}`, true},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":22,"method":"tools/list"}`, true},
		{"request with a result", `{"jsonrpc":"2.0","id":23,"method":"tools/list","result":{}}`, false},
	}
	up := newUpstream(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := startRawStdio(t, up, "--max-stdio-calls", "1")
			r.send(rawInitialize, rawInitialized)
			r.mustAnswer("1", 10*time.Second)
			r.send(tc.line)
			if tc.answered {
				r.mustAnswerCount(2, 10*time.Second)
			}
			r.send(`{"jsonrpc":"2.0","id":"probe","method":"tools/list"}`)
			if m := r.mustAnswer(`"probe"`, 10*time.Second); m.Error != nil {
				t.Errorf("tools/list after %s = error %d %q, want it served", tc.line[:min(len(tc.line), 80)], m.Error.Code, m.Error.Message)
			}
		})
	}
	// A message without a method is no request, but mcp-go answers it under its id all the
	// same: that answer must not count as the answer to a call under the same id.
	t.Run("methodless message under a running call's id", func(t *testing.T) {
		t.Parallel()
		r := startRawStdio(t, up, "--max-stdio-calls", "1")
		r.send(rawInitialize, rawInitialized)
		r.mustAnswer("1", 10*time.Second)
		r.send(rawToolCall(40, "wait_for_video_task", "forever-odd-ids", 60))
		waitForPoll(t, up, "forever-odd-ids")
		r.send(`{"jsonrpc":"2.0","id":40,"error":{"code":-1,"message":"not a request"}}`)
		r.mustAnswer("40", 10*time.Second)
		r.send(`{"jsonrpc":"2.0","id":"probe","method":"tools/list"}`)
		if m := r.mustAnswer(`"probe"`, 10*time.Second); m.Error == nil || m.Error.Code != codeServerBusy {
			t.Errorf("tools/list with the one place taken by a running call = %+v, want error %d", m.Error, codeServerBusy)
		}
	})
}

// TestE2EStdioStopAnswersAll checks that SIGTERM with 1,200 calls outstanding, far more than
// the server runs at once (the rest queued), answers every one of them, with the advice to
// call again, each on a whole line, and exits within the server's stop budget.
//
// Stress it beside the rest of the machine's load with two `yes >/dev/null` running:
//
//	go test -c -race -o /tmp/e2e.test . && /tmp/e2e.test -test.run 'TestE2EStdioStopAnswersAll$' -test.count=25
func TestE2EStdioStopAnswersAll(t *testing.T) {
	t.Parallel()
	const calls = 1200
	up := newUpstream(t)
	r := startRawStdio(t, up, "--max-stdio-calls", "2000")
	r.send(rawInitialize, rawInitialized)
	r.mustAnswer("1", 10*time.Second)
	for id := 100; id < 100+calls; id++ {
		r.send(rawToolCall(id, "wait_for_video_task", "forever-stop-all", 60))
	}
	// The last call has been read when its neighbour's ping is answered.
	r.send(`{"jsonrpc":"2.0","id":99,"method":"ping"}`)
	r.mustAnswer("99", 10*time.Second)
	waitForPoll(t, up, "forever-stop-all")
	if err := r.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	stopBudget := answerGrace + stdioOwedGrace + shutdownGrace // serveStdio's phases, each bounded
	select {
	case <-r.eof:
	case <-time.After(stopBudget):
		t.Fatalf("stdout still open %v after SIGTERM; stderr:\n%s", stopBudget, r.proc.stderr)
	}
	answers := make(map[string]rpcMessage)
	for _, m := range r.messages() {
		if m.Method == "" {
			answers[m.id()] = m
		}
	}
	missing := 0
	for id := 100; id < 100+calls; id++ {
		m, ok := answers[fmt.Sprint(id)]
		switch {
		case !ok:
			missing++
		case !strings.Contains(m.text(), "again"):
			t.Errorf("call %d of %d: answer %q, want the advice to call again", id-99, calls, m.text())
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d calls got no answer after SIGTERM; stderr:\n%s", missing, calls, r.proc.stderr)
	}
}
