// Package delivery lets the handler of an HTTP request that answers with server-sent events
// wait until the events it queued for its own response have been written.
//
// A handler that queues an event (a progress notification) for another goroutine to write,
// and then returns, races that goroutine: a transport that ends the response when the handler
// returns may drop an event that was taken off its queue but not yet written. Track counts the
// events written to each response; a handler counts what it queued and, before it returns,
// waits until the response has caught up.
package delivery

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Tracker counts, for one HTTP request, the events queued for its response and the events
// written to it. The zero value is not usable: Track makes them.
type Tracker struct {
	mu      sync.Mutex
	queued  int
	written int
	newline bool          // the last byte written was a '\n' that ended a line, not an event
	changed chan struct{} // closed, and replaced, whenever written grows
}

type contextKey struct{}

// Track serves next with a response writer that counts the server-sent events written to it
// and a request context that carries their Tracker (see FromContext).
func Track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := &Tracker{changed: make(chan struct{})}
		ctx := context.WithValue(r.Context(), contextKey{}, t)
		next.ServeHTTP(&writer{ResponseWriter: w, tracker: t}, r.WithContext(ctx))
	})
}

// FromContext returns the Tracker of the request ctx belongs to, or nil outside Track.
func FromContext(ctx context.Context) *Tracker {
	t, _ := ctx.Value(contextKey{}).(*Tracker)
	return t
}

// Queued records one event queued for the response. A nil Tracker ignores it.
func (t *Tracker) Queued() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.queued++
	t.mu.Unlock()
}

// Wait returns when every event queued so far has been written, when ctx ends, or after
// timeout, whichever comes first, with how many queued events were not written by then. A
// nil Tracker has nothing to wait for.
func (t *Tracker) Wait(ctx context.Context, timeout time.Duration) (unwritten int) {
	if t == nil {
		return 0
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		t.mu.Lock()
		missing, changed := t.queued-t.written, t.changed
		t.mu.Unlock()
		if missing <= 0 {
			return 0
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return missing
		case <-timer.C:
			return missing
		}
	}
}

// wrote counts the events that p completes: an event ends with an empty line, and the JSON
// an event carries holds no raw newline.
func (t *Tracker) wrote(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ended := 0
	for _, b := range p {
		switch {
		case b != '\n':
			t.newline = false
		case t.newline:
			ended++
			t.newline = false
		default:
			t.newline = true
		}
	}
	if ended > 0 {
		t.written += ended
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// writer is the response writer Track hands on: it counts what is written and, like the
// writer it wraps, can flush.
type writer struct {
	http.ResponseWriter
	tracker *Tracker
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.tracker.wrote(p[:n])
	return n, err
}

// Flush flushes the wrapped writer when it can; a transport that sees an http.Flusher
// streams events as they come.
func (w *writer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
