package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// shortTimeoutClient is an HTTP client that gives up on one attempt after 200 ms.
func shortTimeoutClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 200 * time.Millisecond, Transport: tr}
}

// countingConn counts the bytes the client reads from the connection.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// countingClient is an HTTP client that adds every byte it reads from the network to read.
func countingClient(t *testing.T, read *atomic.Int64) *http.Client {
	t.Helper()
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, read: read}, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// hijack takes over the connection and writes raw, then closes it; with reset, the close
// sends a TCP RST instead of a FIN.
func hijack(t *testing.T, raw string, reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		buf.WriteString(raw)
		buf.Flush()
		if reset {
			conn.(*net.TCPConn).SetLinger(0)
		}
		conn.Close()
	}
}

const partialHead = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
const partialBody = `{"request_id":"r","output":{"task_id":"t","task_sta`

func TestGetTaskBrokenConnections(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(t *testing.T, f *fakeUpstream) http.HandlerFunc
		httpClient func(t *testing.T) *http.Client
		want       api.Error
		// cause is what errors.Is must find in the chain.
		cause error
	}{
		{
			name:    "closed before any answer",
			handler: func(t *testing.T, _ *fakeUpstream) http.HandlerFunc { return hijack(t, "", false) },
			want:    api.Error{Kind: api.KindUnavailable},
			cause:   io.EOF,
		},
		{
			name:    "closed mid-body",
			handler: func(t *testing.T, _ *fakeUpstream) http.HandlerFunc { return hijack(t, partialHead+partialBody, false) },
			want:    api.Error{Kind: api.KindUnavailable, StatusCode: 200},
			cause:   io.ErrUnexpectedEOF,
		},
		{
			name: "headers never come",
			handler: func(_ *testing.T, f *fakeUpstream) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { f.block(r) }
			},
			httpClient: shortTimeoutClient,
			want:       api.Error{Kind: api.KindUnavailable},
			cause:      context.DeadlineExceeded,
		},
		{
			name: "body trickles forever",
			handler: func(_ *testing.T, f *fakeUpstream) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for {
						if _, err := io.WriteString(w, " "); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						select {
						case <-tick.C:
						case <-r.Context().Done():
							return
						case <-f.done:
							return
						}
					}
				}
			},
			httpClient: shortTimeoutClient,
			want:       api.Error{Kind: api.KindUnavailable, StatusCode: 200},
			cause:      context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f *fakeUpstream
			f = newUpstream(t, func(w http.ResponseWriter, r *http.Request) { tt.handler(t, f)(w, r) })
			p := fastRetry
			p.CallTimeout = 5 * time.Second
			opts := []api.Option{api.WithRetryPolicy(p)}
			if tt.httpClient != nil {
				opts = append(opts, api.WithHTTPClient(tt.httpClient(t)))
			}
			_, err := f.client(t, opts...).GetTask(context.Background(), taskID)
			want := tt.want
			want.Attempts = 4
			checkError(t, f, err, wantErr{err: want, requests: 4})
			if !errors.Is(err, tt.cause) {
				t.Errorf("GetTask error = %v, want errors.Is(err, %v)", err, tt.cause)
			}
			if err != nil && strings.Contains(err.Error(), prefix+"/task/") {
				t.Errorf("GetTask error = %q, want the request URL scrubbed", err)
			}
		})
	}
}

// TestGetTaskConnectionReset resets the connection after headers and part of the body. The
// RST can overtake the data it follows, so the status may or may not have been read.
func TestGetTaskConnectionReset(t *testing.T) {
	f := newUpstream(t, hijack(t, partialHead+partialBody, true))
	_, err := f.client(t).GetTask(context.Background(), taskID)
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("GetTask(%q) error = %v, want *api.Error", taskID, err)
	}
	if e.Kind != api.KindUnavailable || e.Attempts != 4 || (e.StatusCode != 0 && e.StatusCode != 200) {
		t.Errorf("GetTask(%q) = %#v, want KindUnavailable after 4 attempts, status 0 or 200", taskID, e)
	}
	if n := f.requests.Load(); n != 4 {
		t.Errorf("upstream got %d requests, want 4", n)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("GetTask error = %v, want a connection reset or unexpected EOF", err)
	}
}

func TestGetTaskConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := api.NewClient(testToken, api.WithBaseURL("http://"+addr+prefix), api.WithRetryPolicy(fastRetry))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, err = c.GetTask(context.Background(), taskID)
	checkError(t, nil, err, wantErr{err: api.Error{Kind: api.KindUnavailable, Attempts: 4}})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GetTask error = %v, want errors.Is(err, ECONNREFUSED)", err)
	}
	if strings.Contains(err.Error(), prefix+"/task/") {
		t.Errorf("GetTask error = %q, want the request URL scrubbed", err)
	}
}

// TestGetTaskCallTimeout checks that CallTimeout ends a call whose first attempt hangs,
// whatever the HTTP client's own timeout.
func TestGetTaskCallTimeout(t *testing.T) {
	var f *fakeUpstream
	f = newUpstream(t, func(w http.ResponseWriter, r *http.Request) { f.block(r) })
	p := fastRetry
	p.CallTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := f.client(t, api.WithRetryPolicy(p)).GetTask(context.Background(), taskID)
	elapsed := time.Since(start)
	checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindUnavailable, Attempts: 1}, requests: 1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetTask error = %v, want errors.Is(err, context.DeadlineExceeded)", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("GetTask took %v with a CallTimeout of 300ms", elapsed)
	}
}

func TestGetTaskCancelled(t *testing.T) {
	t.Run("before the call", func(t *testing.T) {
		f := newUpstream(t, replyJSON(200, succeededBody))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.client(t).GetTask(ctx, taskID)
		checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindUnavailable, Attempts: 1}, requests: 0})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetTask error = %v, want errors.Is(err, context.Canceled)", err)
		}
	})
	t.Run("while a request is in flight", func(t *testing.T) {
		started := make(chan struct{}, 1)
		var f *fakeUpstream
		f = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			f.block(r)
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-started
			cancel()
		}()
		start := time.Now()
		_, err := f.client(t).GetTask(ctx, taskID)
		elapsed := time.Since(start)
		checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindUnavailable, Attempts: 1}, requests: 1})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetTask error = %v, want errors.Is(err, context.Canceled)", err)
		}
		if elapsed > 5*time.Second {
			t.Errorf("GetTask took %v to notice the cancellation", elapsed)
		}
	})
	t.Run("during the backoff", func(t *testing.T) {
		f := newUpstream(t, replyJSON(503, `{"code":"ServiceUnavailable","message":"busy","request_id":"req-503"}`))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := fastRetry
		p.BaseDelay = time.Minute
		p.CallTimeout = 10 * time.Minute
		// The retry is logged just before the wait: cancel then, so the wait is what the
		// cancellation interrupts.
		var logged atomic.Int64
		logger := slog.New(handlerFunc(func(slog.Record) {
			logged.Add(1)
			cancel()
		}))
		start := time.Now()
		_, err := f.client(t, api.WithRetryPolicy(p), api.WithLogger(logger)).GetTask(ctx, taskID)
		elapsed := time.Since(start)
		checkError(t, f, err, wantErr{
			err: api.Error{Kind: api.KindUnavailable, StatusCode: 503, Code: "ServiceUnavailable",
				Message: "busy", RequestID: "req-503", Attempts: 1},
			requests: 1,
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetTask error = %v, want errors.Is(err, context.Canceled)", err)
		}
		if n := logged.Load(); n != 1 {
			t.Errorf("logger got %d records, want 1 (the retry)", n)
		}
		if elapsed > 5*time.Second {
			t.Errorf("GetTask took %v to notice the cancellation", elapsed)
		}
	})
}

// handlerFunc is a slog.Handler that calls f for every record.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h handlerFunc) WithGroup(string) slog.Handler                 { return h }

// TestGetTaskBodySizeLimit checks the 1 MiB limit at its edge, with and without a
// Content-Length.
func TestGetTaskBodySizeLimit(t *testing.T) {
	task := `{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"}}`
	body := func(size int) string { return task + strings.Repeat(" ", size-len(task)) }
	tests := []struct {
		name          string
		size          int
		contentLength bool
		wantErr       bool
	}{
		{name: "exactly the limit with Content-Length", size: api.MaxBodySize, contentLength: true},
		{name: "exactly the limit chunked", size: api.MaxBodySize},
		{name: "one byte over with Content-Length", size: api.MaxBodySize + 1, contentLength: true, wantErr: true},
		{name: "one byte over chunked", size: api.MaxBodySize + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body(tt.size)
			f := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentLength {
					w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				}
				io.WriteString(w, b)
			})
			got, err := f.client(t).GetTask(context.Background(), taskID)
			if !tt.wantErr {
				if err != nil || got.Status != api.StatusRunning {
					t.Fatalf("GetTask(%q) = %v, %v, want a RUNNING task", taskID, got, err)
				}
				return
			}
			checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindNotATask, StatusCode: 200, Attempts: 1}, requests: 1})
			if err != nil && !strings.Contains(err.Error(), "body larger than 1048576 bytes") {
				t.Errorf("GetTask error = %q, want it to name the limit", err)
			}
		})
	}
}

// bigBody serves size bytes, with a Content-Length or chunked, counting what it managed
// to write before the client hung up; finished is closed when the handler returns.
type bigBody struct {
	size          int64
	contentLength bool
	written       atomic.Int64
	finished      chan struct{}
}

func (b *bigBody) handler() http.HandlerFunc {
	b.finished = make(chan struct{})
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(b.finished)
		w.Header().Set("Content-Type", "application/json")
		if b.contentLength {
			w.Header().Set("Content-Length", strconv.FormatInt(b.size, 10))
		}
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for b.written.Load() < b.size {
			n, err := w.Write(chunk[:min(int64(len(chunk)), b.size-b.written.Load())])
			b.written.Add(int64(n))
			if err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			default:
			}
		}
	}
}

// wait waits for the handler to stop writing.
func (b *bigBody) wait(t *testing.T) {
	t.Helper()
	select {
	case <-b.finished:
	case <-time.After(10 * time.Second):
		t.Fatalf("the upstream is still writing after 10s (%d bytes so far): the client did not hang up", b.written.Load())
	}
}

func TestGetTaskHugeBody(t *testing.T) {
	tests := []struct {
		name          string
		size          int64
		contentLength bool
		// maxRead bounds what the client may read from the network.
		maxRead int64
	}{
		// The Content-Length alone refuses the body: nothing of it need be read.
		{name: "2 MiB with Content-Length", size: 2 << 20, contentLength: true, maxRead: 64 << 10},
		{name: "64 MiB chunked", size: 64 << 20, maxRead: api.MaxBodySize + 64<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bigBody{size: tt.size, contentLength: tt.contentLength}
			f := newUpstream(t, b.handler())
			var read atomic.Int64
			c := f.client(t, api.WithHTTPClient(countingClient(t, &read)))
			_, err := c.GetTask(context.Background(), taskID)
			checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindNotATask, StatusCode: 200, Attempts: 1}, requests: 1})
			b.wait(t)
			if n := read.Load(); n > tt.maxRead {
				t.Errorf("client read %d bytes of a %d-byte body, want at most %d", n, tt.size, tt.maxRead)
			}
			// The socket buffers take some of what the upstream writes; the rest fails.
			if tt.size > 32<<20 {
				if n := b.written.Load(); n > 32<<20 {
					t.Errorf("upstream wrote %d of %d bytes before the client hung up, want well under", n, tt.size)
				}
			}
		})
	}
}

// TestGetTaskHugeBodyMemory checks that a 64 MiB body costs the client about the limit in
// memory, not the body's size.
func TestGetTaskHugeBodyMemory(t *testing.T) {
	b := &bigBody{size: 64 << 20}
	f := newUpstream(t, b.handler())
	c := f.client(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.GetTask(context.Background(), taskID)
	runtime.ReadMemStats(&after)
	checkError(t, f, err, wantErr{err: api.Error{Kind: api.KindNotATask, StatusCode: 200, Attempts: 1}, requests: 1})
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("GetTask of a 64 MiB body allocated %d bytes, want under 8 MiB", alloc)
	}
	b.wait(t)
}
