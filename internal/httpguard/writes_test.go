package httpguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands an http.Server the server ends of in-memory connections, which have no
// buffer: a write waits until the client reads it. Inside a synctest bubble their deadlines
// run on the bubble's clock.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// dial returns the client end of a new connection to the server.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// serveInBubble serves h, bounded by BoundWrites(timeout), on an in-memory listener until the
// test ends. Call it inside a synctest bubble.
func serveInBubble(t *testing.T, h http.Handler, timeout time.Duration) *pipeListener {
	t.Helper()
	l := newPipeListener()
	srv := &http.Server{Handler: BoundWrites(h, timeout)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l
}

// event is one server-sent event of about 2 KiB, so that a few fill net/http's buffer and
// reach the connection.
func event(i int) string {
	return fmt.Sprintf("data: %d %s\n\n", i, strings.Repeat("x", 2<<10))
}

// streamEvents is a handler that writes an event every pause until it has written n or a write
// fails, and reports how it ended on ended: nil, or the failed write's error and how long it
// waited.
func streamEvents(n int, pause time.Duration, ended chan<- streamEnd) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range n {
			start := time.Now()
			_, err := io.WriteString(w, event(i))
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				ended <- streamEnd{written: i, err: err, waited: time.Since(start), ctxErr: r.Context().Err()}
				return
			}
			time.Sleep(pause)
		}
		ended <- streamEnd{written: n}
	})
}

type streamEnd struct {
	written int
	err     error
	waited  time.Duration
	ctxErr  error
}

// TestBoundWritesCutsAStalledClient: a client that reads the response's head and then nothing
// holds the handler's next write for exactly the write timeout; the write then fails and the
// request's context ends, so that whatever waits on it ends too.
func TestBoundWritesCutsAStalledClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 30 * time.Second
		ended := make(chan streamEnd, 1)
		l := serveInBubble(t, streamEvents(1000, time.Second, ended), timeout)
		c := l.dial()
		defer c.Close()
		if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatalf("write request: %v", err)
		}
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatalf("read response head: %v", err)
		}
		// From here on the client reads nothing.
		end := <-ended
		if end.err == nil || !errors.Is(end.err, http.ErrHandlerTimeout) && !isTimeout(end.err) {
			t.Fatalf("stream to a stalled client ended after %d events with %v, want a write timeout", end.written, end.err)
		}
		if end.waited != timeout {
			t.Errorf("the failed write waited %v, want the write timeout %v", end.waited, timeout)
		}
		if end.ctxErr == nil {
			t.Errorf("the request's context is still live after its write failed")
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestBoundWritesKeepsStreamsThatAreRead: the deadline is one write's, not the stream's. A
// stream that its client reads, however slowly, lives far past the write timeout: here 100
// events a minute apart, each read 20 s after it was written, under a 30 s write timeout.
func TestBoundWritesKeepsStreamsThatAreRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			timeout = 30 * time.Second
			events  = 100
		)
		ended := make(chan streamEnd, 1)
		l := serveInBubble(t, streamEvents(events, time.Minute, ended), timeout)
		c := l.dial()
		defer c.Close()
		if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatalf("write request: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("read response head: %v", err)
		}
		body := bufio.NewReader(resp.Body)
		for i := range events {
			time.Sleep(20 * time.Second)
			want := event(i)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(body, got); err != nil || string(got) != want {
				t.Fatalf("event %d: read %.20q, %v; want %.20q", i, got, err, want)
			}
		}
		if end := <-ended; end.err != nil {
			t.Errorf("stream read throughout ended after %d of %d events with %v", end.written, events, end.err)
		}
	})
}

// TestBoundWritesAnswerAfterSilence: a handler that answers only after a silence longer than
// the write timeout (a long call) still gets its answer out: the deadline counts from each
// write, not from the request.
func TestBoundWritesAnswerAfterSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 30 * time.Second
		l := serveInBubble(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(3 * timeout)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"done"}`)
		}), timeout)
		c := l.dial()
		defer c.Close()
		r := bufio.NewReader(c)
		for i := range 2 { // the second request reuses the connection after the first's silence
			if _, err := io.WriteString(c, "GET /call HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
				t.Fatalf("request %d: write: %v", i, err)
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("request %d: read response: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != `{"status":"done"}` {
				t.Fatalf("request %d: body %q, %v; want {\"status\":\"done\"}", i, body, err)
			}
		}
	})
}
