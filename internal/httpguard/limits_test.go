package httpguard

import (
	"bufio"
	"expvar"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// get sends GET /healthz on c and returns the response.
func get(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func refusedCount() int64 {
	v, _ := connStats.Get("refused").(*expvar.Int)
	if v == nil {
		return 0
	}
	return v.Value()
}

func TestLimitConnections(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limited := LimitConnections(listener, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go func() { _ = srv.Serve(limited) }()
	t.Cleanup(func() { _ = srv.Close() })
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", listener.Addr().String())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	refusedBefore := refusedCount()
	// Two connections kept open (each answered, so surely accepted) fill the limit.
	held := []net.Conn{dial(), dial()}
	for _, c := range held {
		if resp := get(t, c); resp.StatusCode != http.StatusOK {
			t.Fatalf("within the limit: %d, want 200", resp.StatusCode)
		}
	}
	if got := limited.Open(); got != 2 {
		t.Errorf("Open() = %d, want 2", got)
	}
	resp := get(t, dial())
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "--max-connections") {
		t.Fatalf("past the limit: %d, Retry-After %q, %q; want 503 with Retry-After naming --max-connections",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if got := limited.Refused(); got != 1 {
		t.Errorf("Refused() = %d, want 1", got)
	}
	if got := refusedCount() - refusedBefore; got != 1 {
		t.Errorf("expvar http_connections.refused went up by %d, want 1", got)
	}
	// A closed connection frees its slot: the server notices the close, and a new
	// connection is served.
	held[0].Close()
	for i := 0; ; i++ {
		resp := get(t, dial())
		if resp.StatusCode == http.StatusOK {
			break
		}
		if i == 1000 {
			t.Fatalf("after a close: %d, want 200", resp.StatusCode)
		}
	}
}

func TestLimitConcurrent(t *testing.T) {
	tests := []struct {
		name             string
		total, perAddr   int
		secondFrom       string
		wantSecond       int
		wantSecondNaming string
	}{
		{"all clients, same address", 1, 10, "127.0.0.1", http.StatusServiceUnavailable, "--max-streams"},
		{"all clients, another address", 1, 10, "127.0.0.2", http.StatusServiceUnavailable, "--max-streams"},
		{"one address", 10, 1, "127.0.0.1", http.StatusServiceUnavailable, "--max-streams-per-client"},
		{"another address", 10, 1, "127.0.0.2", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entered, release := make(chan struct{}, 4), make(chan struct{})
			h := LimitConcurrent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				entered <- struct{}{}
				<-release
			}), Limit{tt.total, "streams", "--max-streams"}, Limit{tt.perAddr, "streams from this address", "--max-streams-per-client"})
			srv := &http.Server{Handler: h}
			listener, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(listener) }()
			t.Cleanup(func() { _ = srv.Close() })
			url := "http://" + listener.Addr().String() + "/"
			getFrom := func(ip string) (int, string) {
				dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
				hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
				resp, err := hc.Get(url)
				if err != nil {
					return 0, err.Error()
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					return resp.StatusCode, "no Retry-After"
				}
				return resp.StatusCode, string(body)
			}
			first := make(chan int, 1)
			go func() { code, _ := getFrom("127.0.0.1"); first <- code }()
			<-entered
			second := make(chan struct {
				code int
				body string
			}, 1)
			go func() {
				code, body := getFrom(tt.secondFrom)
				second <- struct {
					code int
					body string
				}{code, body}
			}()
			if tt.wantSecond == http.StatusOK {
				<-entered
			}
			if tt.wantSecond != http.StatusOK {
				got := <-second
				if got.code != tt.wantSecond || !strings.Contains(got.body, tt.wantSecondNaming) {
					t.Fatalf("second request: %d %q, want %d naming %s", got.code, got.body, tt.wantSecond, tt.wantSecondNaming)
				}
			}
			close(release)
			if got := <-first; got != http.StatusOK {
				t.Errorf("first request: %d, want 200", got)
			}
			if tt.wantSecond == http.StatusOK {
				if got := <-second; got.code != http.StatusOK {
					t.Errorf("second request: %d %q, want 200", got.code, got.body)
				}
			}
			// With both done, the slots are free again.
			go func() { <-entered }()
			if code, body := getFrom("127.0.0.1"); code != http.StatusOK {
				t.Errorf("after the others ended: %d %q, want 200", code, body)
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	h := CheckHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for host, want := range map[string]int{
		"127.0.0.1:6060":        http.StatusOK,
		"localhost:6060":        http.StatusOK,
		"[::1]:6060":            http.StatusOK,
		"LOCALHOST":             http.StatusOK,
		"rebound.example":       http.StatusForbidden,
		"rebound.example:6060":  http.StatusForbidden,
		"localhost.example.com": http.StatusForbidden,
		"192.168.1.2:6060":      http.StatusForbidden,
	} {
		rec := httptest.NewRecorder()
		r, _ := http.NewRequest(http.MethodGet, "http://x/debug/vars", nil)
		r.Host = host
		h.ServeHTTP(rec, r)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

// TestBoundBodiesLeavesLongAnswersAlone checks that a request without a body may take longer
// than the body's time: net/http cancels a request whose connection read deadline passes.
func TestBoundBodiesLeavesLongAnswersAlone(t *testing.T) {
	const timeout = 50 * time.Millisecond
	cancelled := make(chan bool, 1)
	h := BoundBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(10 * timeout):
			cancelled <- false
		}
	}), timeout)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(listener) }()
	t.Cleanup(func() { _ = srv.Close() })
	resp, err := http.Get("http://" + listener.Addr().String() + "/debug/pprof/profile")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if <-cancelled {
		t.Errorf("a request without a body was cancelled when the body's time ran out")
	}
}
