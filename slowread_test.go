//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// TestHTTPStalledReadersAreCut makes the server write much to clients that never read what it
// writes: an SSE session's stream, on which the responses to the many requests the client
// posts go out, and a Streamable HTTP call whose wait sends a progress notification at every
// poll. Once the kernel's buffers are full, a write waits; past the write timeout the server
// must close the connection, and every goroutine the stalled client held must end.
//
// Not parallel: it counts the goroutines of the whole test process.
func TestHTTPStalledReadersAreCut(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	// limit only keeps a failing test from hanging: the server should cut the connection
	// about writeTimeout after its buffers are full, and without a deadline it never did.
	const limit = 20 * time.Second
	for _, kind := range []string{"sse", "http"} {
		t.Run(kind, func(t *testing.T) {
			cfg := testHTTPConfig(kind)
			cfg.writeTimeout = writeTimeout
			srv := startWatchedHTTP(t, cfg, tools.Deps{
				Client:          simulatedClient(t),
				PollInterval:    time.Millisecond,
				MaxPollInterval: time.Millisecond,
			})
			before := runtime.NumGoroutine()
			conn := dialStalled(t, srv.addr)
			start := time.Now()
			switch kind {
			case "sse":
				stallSSE(t, conn, srv, limit)
			case "http":
				stallWait(t, conn, srv, limit)
			}
			t.Logf("connection closed %v after the client stopped reading", time.Since(start).Round(time.Millisecond))

			// The server's goroutines of the connection end with it (the test's own client
			// keeps none: its idle connections are closed).
			deadline := time.Now().Add(limit)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines %s after the connection closed, %d before it opened:\n%s",
						runtime.NumGoroutine(), limit, before, goroutineStacks())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// stallSSE opens an SSE session on conn, stops reading its stream, and posts requests to the
// session until the server has closed conn; it fails past limit.
func stallSSE(t *testing.T, conn net.Conn, srv *watchedHTTP, limit time.Duration) {
	t.Helper()
	if _, err := io.WriteString(conn, "GET /sse HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		t.Fatalf("GET /sse: %v", err)
	}
	endpoint := readEndpoint(t, conn)
	// From here on the client reads nothing.
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for id := 1; ; id++ {
		select {
		case <-srv.closedConn(conn):
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream of an SSE client that stopped reading is still open after %s and %d requests; goroutines: %d", limit, id, runtime.NumGoroutine())
		}
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, id)
		resp, err := hc.Post(srv.url+endpoint, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", endpoint, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			// The session ended with its stream; the stream's connection closes next.
			select {
			case <-srv.closedConn(conn):
				return
			case <-time.After(time.Until(deadline)):
				t.Fatalf("the session ended (POST: %s) but its stream's connection is still open after %s", resp.Status, limit)
			}
		}
	}
}

// readEndpoint reads the response head and the endpoint event of an SSE stream, and returns
// the path the event names.
func readEndpoint(t *testing.T, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	// One byte at a time, so that nothing past the endpoint event leaves the socket.
	r := bufio.NewReaderSize(oneByte{conn}, 16)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the SSE stream: %v", err)
		}
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			return path
		}
	}
}

// oneByte reads at most one byte at a time.
type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

// stallWait calls wait_for_video_task with a progress token on a task that never ends, over
// stateless Streamable HTTP, reads nothing of the answer, and returns once the server has
// closed conn; it fails past limit.
func stallWait(t *testing.T, conn net.Conn, srv *watchedHTTP, limit time.Duration) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":"` +
		simulate.IDSlow + `","timeout_seconds":3600},"_meta":{"progressToken":"stalled"}}}`
	head := "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
		"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatalf("POST /mcp: %v", err)
	}
	select {
	case <-srv.closedConn(conn):
	case <-time.After(limit):
		t.Fatalf("the call of a client that stopped reading is still open after %s; goroutines: %d", limit, runtime.NumGoroutine())
	}
}

// dialStalled connects to addr with a receive buffer of a few KiB, so that a client that does
// not read fills it soon.
func dialStalled(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: socketBuffer(syscall.SO_RCVBUF)}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// socketBuffer sets a socket's buffer (SO_RCVBUF or SO_SNDBUF) to a few KiB, where the kernel
// would grow it to megabytes.
func socketBuffer(option int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, option, 4<<10)
		}); cerr != nil {
			return cerr
		}
		return err
	}
}

// watchedHTTP is an HTTP transport served as serveHTTP serves it, which tells when it has
// closed a connection.
type watchedHTTP struct {
	addr, url string

	mu     sync.Mutex
	closed map[string]chan struct{} // by the remote address; closed with the connection
}

// startWatchedHTTP serves cfg's transport on a loopback port, with deps' tools.
func startWatchedHTTP(t *testing.T, cfg config, deps tools.Deps) *watchedHTTP {
	t.Helper()
	// Small send buffers, which the kernel would otherwise grow to megabytes, fill in a
	// fraction of a second even at the pace of progress notifications.
	lc := net.ListenConfig{Control: socketBuffer(syscall.SO_SNDBUF)}
	listener, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	w := &watchedHTTP{
		addr:   listener.Addr().String(),
		url:    "http://" + listener.Addr().String(),
		closed: map[string]chan struct{}{},
	}
	serveOn(t, listener, cfg, deps, func(c net.Conn, state http.ConnState) {
		if state == http.StateClosed {
			close(w.closing(c.RemoteAddr().String()))
		}
	})
	return w
}

// closing is the channel closed with the server's connection from the remote address.
func (w *watchedHTTP) closing(remote string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.closed[remote]
	if !ok {
		ch = make(chan struct{})
		w.closed[remote] = ch
	}
	return ch
}

// closedConn is closed once the server has closed its end of the client's conn.
func (w *watchedHTTP) closedConn(conn net.Conn) <-chan struct{} {
	return w.closing(conn.LocalAddr().String())
}

// simulatedClient is a client of the built-in simulated upstream, with no rate limit worth
// the name.
func simulatedClient(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(simulatedAPIKey,
		api.WithHTTPClient(&http.Client{Transport: simulate.Transport(simulate.NewHandler(simulate.Options{}))}),
		api.WithRateLimit(100000))
	if err != nil {
		t.Fatalf("api.NewClient: %v", err)
	}
	return c
}

// goroutineStacks is the stacks of every goroutine, for a failure's message.
func goroutineStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestE2EHTTPStopWithStalledReader stops the server (SIGTERM) while a write to an SSE client
// that stopped reading waits: the stop must not wait for that write's deadline, and must
// still be a clean one.
func TestE2EHTTPStopWithStalledReader(t *testing.T) {
	t.Parallel()
	// limit only keeps a failing test from hanging: a stop takes about 5 s.
	const limit = 15 * time.Second
	p := startProcess(t, serverBinary(t), []string{"--transport", "sse", "--addr", "127.0.0.1:0", "--simulate"}, serverEnv(), false)
	base := strings.TrimSuffix(p.listenURL(t), "/sse")
	conn := dialStalled(t, strings.TrimPrefix(base, "http://"))
	if _, err := io.WriteString(conn, "GET /sse HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		t.Fatalf("GET /sse: %v", err)
	}
	endpoint := readEndpoint(t, conn)
	// About 8 MiB of answers: more than the kernel's buffers for the connection hold.
	hc := &http.Client{Transport: &http.Transport{}, Timeout: limit}
	defer hc.CloseIdleConnections()
	for id := 1; id <= 1000; id++ {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, id)
		resp, err := hc.Post(base+endpoint, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", endpoint, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST %s = %s, want 202 Accepted", endpoint, resp.Status)
		}
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if !p.waitExit(limit) {
		t.Fatalf("server still running %s after SIGTERM with a stalled SSE client; stderr:\n%s", limit, p.stderr)
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if p.waitErr != nil {
		t.Errorf("server exited with %v after SIGTERM, want a clean stop; stderr:\n%s", p.waitErr, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "connections still open after the grace period") {
		t.Errorf("server log does not say it closed the connections still open:\n%s", p.stderr)
	}
}
