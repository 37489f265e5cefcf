package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/httpguard"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// testHTTPConfig is the configuration of an HTTP transport with the default limits.
func testHTTPConfig(kind string) config {
	return config{
		transport:               kind,
		maxConnections:          defaultMaxConnections,
		maxSSESessions:          defaultMaxSSESessions,
		maxSSESessionsPerClient: defaultMaxSSESessionsPerClient,
		maxCalls:                defaultMaxCalls,
		maxCallsPerClient:       defaultMaxCallsPerClient,
	}
}

// startHTTP serves cfg's transport as serveHTTP does, on a loopback port, with deps' tools, and
// returns its base URL.
func startHTTP(t *testing.T, cfg config, deps tools.Deps) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	serveOn(t, listener, cfg, deps, nil)
	return "http://" + listener.Addr().String()
}

// serveOn serves cfg's transport as serveHTTP does on listener, with deps' tools, until the
// test ends; connState, when not nil, hears of every connection's state.
func serveOn(t *testing.T, listener net.Listener, cfg config, deps tools.Deps, connState func(net.Conn, http.ConnState)) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	deps.Logger = logger
	mcpServer := tools.NewServer(serverName, "test", deps, httpServerOptions(cfg)...)
	handler, mcpTransport, err := newHTTPHandler(cfg, mcpServer, logger)
	if err != nil {
		t.Fatalf("newHTTPHandler: %v", err)
	}
	srv := newHTTPServer(context.Background(), handler, logger)
	srv.ConnState = connState
	go func() { _ = srv.Serve(httpguard.LimitConnections(listener, cfg.maxConnections)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = mcpTransport.Shutdown(context.Background())
	})
}

// TestHTTPHeldBodiesEndInTime sends requests whose bodies never finish arriving to every path
// of both HTTP transports, authorized or not: each connection must be answered or closed once
// the body's time is up, and not held open.
func TestHTTPHeldBodiesEndInTime(t *testing.T) {
	t.Parallel()
	const token = "client-token-0123456789abcdef"
	const bodyTimeout = 200 * time.Millisecond
	// limit only keeps a failing test from hanging: the server should be done within
	// bodyTimeout, and without a deadline it never was.
	const limit = 10 * time.Second
	bodies := []struct {
		name string
		send func(net.Conn)
	}{
		{"declared, never sent", func(net.Conn) {}},
		{"partly sent, then held", func(c net.Conn) { _, _ = io.WriteString(c, `{"jsonrpc":"2.0",`) }},
		{"trickled", func(c net.Conn) {
			for range 40 {
				if _, err := io.WriteString(c, " "); err != nil {
					return
				}
				time.Sleep(bodyTimeout / 8)
			}
		}},
	}
	auth := "Authorization: Bearer " + token + "\r\n"
	requests := []struct {
		transport, name, head string
	}{
		{"http", "authorized /mcp", "POST /mcp HTTP/1.1\r\n" + auth},
		{"http", "unauthorized /mcp", "POST /mcp HTTP/1.1\r\n"},
		{"http", "foreign origin /mcp", "POST /mcp HTTP/1.1\r\n" + auth + "Origin: https://evil.example\r\n"},
		{"http", "preflight /mcp", "OPTIONS /mcp HTTP/1.1\r\nOrigin: http://localhost:6274\r\nAccess-Control-Request-Method: POST\r\n"},
		{"http", "unknown path", "POST /nowhere HTTP/1.1\r\n" + auth},
		{"http", "GET /healthz", "GET /healthz HTTP/1.1\r\n"},
		{"http", "POST /healthz", "POST /healthz HTTP/1.1\r\n"},
		{"sse", "authorized /message", "POST /message?sessionId=none HTTP/1.1\r\n" + auth},
		{"sse", "unauthorized /message", "POST /message HTTP/1.1\r\n"},
		{"sse", "authorized /sse", "GET /sse HTTP/1.1\r\n" + auth},
		{"sse", "GET /healthz", "GET /healthz HTTP/1.1\r\n"},
		{"sse", "unknown path", "POST /mcp HTTP/1.1\r\n" + auth},
	}
	urls := map[string]string{}
	for _, kind := range []string{"http", "sse"} {
		cfg := testHTTPConfig(kind)
		cfg.authToken = token
		cfg.bodyTimeout = bodyTimeout
		urls[kind] = startHTTP(t, cfg, tools.Deps{})
	}
	for _, req := range requests {
		for _, body := range bodies {
			t.Run(req.transport+" "+req.name+" "+body.name, func(t *testing.T) {
				t.Parallel()
				c, err := net.Dial("tcp", strings.TrimPrefix(urls[req.transport], "http://"))
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(limit))
				if _, err := io.WriteString(c, req.head+"Host: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"); err != nil {
					t.Fatalf("write: %v", err)
				}
				go body.send(c)
				answer, err := io.ReadAll(c)
				// A client still sending after the answer may find the connection reset.
				if errors.Is(err, syscall.ECONNRESET) && len(answer) > 0 {
					err = nil
				}
				if err != nil {
					t.Fatalf("connection neither answered nor closed: %v (read %q)", err, answer)
				}
				if len(answer) > 0 && !strings.HasPrefix(string(answer), "HTTP/1.1 ") {
					t.Errorf("answer = %q, want an HTTP response", answer)
				}
			})
		}
	}
}

// blockingUpstream answers task queries only when released, and tells which ids arrived.
type blockingUpstream struct {
	arrived chan string
	release chan struct{}
	once    sync.Once
}

func newBlockingUpstream(t *testing.T) (*blockingUpstream, *api.Client) {
	t.Helper()
	u := &blockingUpstream{arrived: make(chan string, 16), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.arrived <- r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		select {
		case <-u.release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(u.releaseAll) // before srv.Close, which waits for the handlers
	c, err := api.NewClient("sk-test", api.WithBaseURL(srv.URL), api.WithRateLimit(1000))
	if err != nil {
		t.Fatalf("api.NewClient: %v", err)
	}
	return u, c
}

func (u *blockingUpstream) releaseAll() { u.once.Do(func() { close(u.release) }) }

// await returns when the query for id reached the upstream.
func (u *blockingUpstream) await(t *testing.T, id string) {
	t.Helper()
	select {
	case got := <-u.arrived:
		if got != id {
			t.Fatalf("upstream got a query for %q, want %q", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the query for %q never reached the upstream", id)
	}
}

// mcpClientFrom connects to a Streamable HTTP server from the loopback address localIP.
func mcpClientFrom(t *testing.T, url, localIP string) *client.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	c, err := client.NewStreamableHttpClient(url+"/mcp", transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatalf("NewStreamableHttpClient: %v", err)
	}
	return startClient(t, c)
}

func startClient(t *testing.T, c *client.Client) *client.Client {
	t.Helper()
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "limits-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// getTask calls get_video_task for id in the background; the result arrives on the channel.
func getTask(c *client.Client, id string) <-chan error {
	done := make(chan error, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.GetVideoTaskName
		req.Params.Arguments = map[string]any{"task_id": id}
		_, err := c.CallTool(context.Background(), req)
		done <- err
	}()
	return done
}

// wantRefused checks that a call was refused with an error naming flag.
func wantRefused(t *testing.T, call <-chan error, flag string) {
	t.Helper()
	err := <-call
	if err == nil || !strings.Contains(err.Error(), flag) {
		t.Fatalf("call past the limit: error %v, want one naming %s", err, flag)
	}
}

func TestHTTPCallLimits(t *testing.T) {
	t.Parallel()
	t.Run("stateless http: one address's calls", func(t *testing.T) {
		t.Parallel()
		up, api := newBlockingUpstream(t)
		cfg := testHTTPConfig("http")
		cfg.maxCallsPerClient = 1
		url := startHTTP(t, cfg, tools.Deps{Client: api})
		first, other := mcpClientFrom(t, url, "127.0.0.1"), mcpClientFrom(t, url, "127.0.0.2")
		running := getTask(first, "task-a1")
		up.await(t, "task-a1")
		wantRefused(t, getTask(first, "task-a2"), "--max-calls-per-client")
		// Another address is another client: its call runs.
		otherCall := getTask(other, "task-b1")
		up.await(t, "task-b1")
		up.releaseAll()
		for _, call := range []<-chan error{running, otherCall} {
			if err := <-call; err != nil {
				t.Errorf("call within the limit: %v", err)
			}
		}
	})
	t.Run("stateless http: a made-up session id is not another client", func(t *testing.T) {
		t.Parallel()
		up, api := newBlockingUpstream(t)
		cfg := testHTTPConfig("http")
		cfg.maxCallsPerClient = 1
		url := startHTTP(t, cfg, tools.Deps{Client: api})
		var made atomic.Int64
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("Mcp-Session-Id", fmt.Sprintf("made-up-%d", made.Add(1)))
			return http.DefaultTransport.RoundTrip(r)
		})}
		// The 2025-11-25 era, whose requests carry a session id (2026-07-28 ignores it).
		tr, err := transport.NewStreamableHTTP(url+"/mcp", transport.WithHTTPBasicClient(hc))
		if err != nil {
			t.Fatalf("NewStreamableHTTP: %v", err)
		}
		liar := startClient(t, client.NewClient(tr, client.WithProtocolVersion("2025-11-25")))
		running := getTask(liar, "task-a1")
		up.await(t, "task-a1")
		wantRefused(t, getTask(liar, "task-a2"), "--max-calls-per-client")
		up.releaseAll()
		if err := <-running; err != nil {
			t.Errorf("call within the limit: %v", err)
		}
	})
	t.Run("all clients together", func(t *testing.T) {
		t.Parallel()
		up, api := newBlockingUpstream(t)
		cfg := testHTTPConfig("http")
		cfg.maxCalls = 1
		url := startHTTP(t, cfg, tools.Deps{Client: api})
		first, other := mcpClientFrom(t, url, "127.0.0.1"), mcpClientFrom(t, url, "127.0.0.2")
		running := getTask(first, "task-a1")
		up.await(t, "task-a1")
		wantRefused(t, getTask(other, "task-b1"), "--max-calls")
		up.releaseAll()
		if err := <-running; err != nil {
			t.Errorf("call within the limit: %v", err)
		}
	})
	t.Run("sse: one session's calls", func(t *testing.T) {
		t.Parallel()
		up, api := newBlockingUpstream(t)
		cfg := testHTTPConfig("sse")
		cfg.maxCallsPerClient = 1
		url := startHTTP(t, cfg, tools.Deps{Client: api})
		var sessions []*client.Client
		for range 2 {
			c, err := client.NewSSEMCPClient(url + "/sse")
			if err != nil {
				t.Fatalf("NewSSEMCPClient: %v", err)
			}
			sessions = append(sessions, startClient(t, c))
		}
		running := getTask(sessions[0], "task-a1")
		up.await(t, "task-a1")
		wantRefused(t, getTask(sessions[0], "task-a2"), "--max-calls-per-client")
		otherCall := getTask(sessions[1], "task-b1")
		up.await(t, "task-b1")
		up.releaseAll()
		for _, call := range []<-chan error{running, otherCall} {
			if err := <-call; err != nil {
				t.Errorf("call within the limit: %v", err)
			}
		}
	})
}

func TestSSESessionLimit(t *testing.T) {
	t.Parallel()
	cfg := testHTTPConfig("sse")
	cfg.maxSSESessions = 1
	url := startHTTP(t, cfg, tools.Deps{})
	// The timeout only keeps a failing test from hanging on a stream that should not open.
	hc := &http.Client{Timeout: 10 * time.Second}
	open := func() *http.Response {
		t.Helper()
		resp, err := hc.Get(url + "/sse")
		if err != nil {
			t.Fatalf("GET /sse: %v", err)
		}
		return resp
	}
	first := open()
	// The stream is open once its endpoint event arrives.
	if _, err := bufio.NewReader(first.Body).ReadString('\n'); err != nil {
		t.Fatalf("reading the first stream: %v", err)
	}
	second := open()
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable || second.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "--max-sse-sessions") {
		t.Fatalf("second stream: %d, Retry-After %q, %q; want 503 with Retry-After naming --max-sse-sessions",
			second.StatusCode, second.Header.Get("Retry-After"), body)
	}
	first.Body.Close()
	// The slot is free again once the server has seen the first stream close.
	for i := 0; ; i++ {
		resp := open()
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if i == 100 {
			t.Fatalf("after the first stream closed: %d, want 200", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDebugChecksHost(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	if err := serveDebug(addr, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("serveDebug: %v", err)
	}
	for host, want := range map[string]int{
		addr:                    http.StatusOK,
		"localhost":             http.StatusOK,
		"rebound.example":       http.StatusForbidden,
		"rebound.example:6060":  http.StatusForbidden,
		"127.0.0.1.example.com": http.StatusForbidden,
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/debug/vars", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /debug/vars with Host %s: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /debug/vars with Host %s = %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// callerRecorder is a Limiter that lets every request go at once and records on whose behalf
// each was made (api.CallerOf).
type callerRecorder struct {
	mu      sync.Mutex
	callers map[string]bool
}

func (r *callerRecorder) Wait(ctx context.Context, urgent bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.callers[api.CallerOf(ctx)] = true
	return nil
}

func (r *callerRecorder) Pause(time.Duration) {}

func (r *callerRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.callers))
}

// TestHTTPCallsTakeTheirClientsTurns checks that the client the call limits count (an SSE
// session, or a remote address on stateless HTTP) is the caller whose turns the call's
// upstream requests take under the rate limit, so that clients share it fairly.
func TestHTTPCallsTakeTheirClientsTurns(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		_, _ = io.WriteString(w, `{"request_id":"r","output":{"task_id":"`+id+`","task_status":"RUNNING"}}`)
	}))
	t.Cleanup(upstream.Close)
	newDeps := func(t *testing.T) (tools.Deps, *callerRecorder) {
		rec := &callerRecorder{callers: map[string]bool{}}
		c, err := api.NewClient("sk-test", api.WithBaseURL(upstream.URL), api.WithLimiter(rec))
		if err != nil {
			t.Fatalf("api.NewClient: %v", err)
		}
		return tools.Deps{Client: c}, rec
	}
	wantAnswered := func(t *testing.T, call <-chan error) {
		t.Helper()
		if err := <-call; err != nil {
			t.Fatalf("get_video_task: %v", err)
		}
	}
	t.Run("stateless http: the remote address", func(t *testing.T) {
		deps, rec := newDeps(t)
		url := startHTTP(t, testHTTPConfig("http"), deps)
		wantAnswered(t, getTask(mcpClientFrom(t, url, "127.0.0.1"), "task-a"))
		wantAnswered(t, getTask(mcpClientFrom(t, url, "127.0.0.2"), "task-b"))
		want := []string{"address 127.0.0.1", "address 127.0.0.2"}
		if diff := cmp.Diff(want, rec.seen()); diff != "" {
			t.Errorf("callers at the rate limit (-want +got):\n%s", diff)
		}
	})
	t.Run("sse: the session", func(t *testing.T) {
		deps, rec := newDeps(t)
		url := startHTTP(t, testHTTPConfig("sse"), deps)
		for i := range 2 {
			c, err := client.NewSSEMCPClient(url + "/sse")
			if err != nil {
				t.Fatalf("NewSSEMCPClient: %v", err)
			}
			wantAnswered(t, getTask(startClient(t, c), fmt.Sprint("task-", i)))
		}
		// mcp-go's SSE client does not tell its session id: two sessions, two callers.
		got := rec.seen()
		if len(got) != 2 || !strings.HasPrefix(got[0], "session ") || !strings.HasPrefix(got[1], "session ") {
			t.Errorf("callers at the rate limit = %q, want two sessions", got)
		}
	})
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
