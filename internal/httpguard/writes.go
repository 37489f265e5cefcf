package httpguard

import (
	"net/http"
	"time"
)

// DefaultWriteTimeout bounds one write of a response to its client's connection.
const DefaultWriteTimeout = 30 * time.Second

// BoundWrites gives every write and flush of every response, on every path, timeout to reach
// the client's connection. A client that stops reading fills the kernel's buffers, and without
// a deadline the write that comes next waits for as long as the client keeps the connection
// open, holding the handler and whatever queues behind it (an SSE session's responses, a
// call's progress). Past the deadline the write fails, net/http cancels the request's context
// and closes the connection, and the handler ends.
//
// The deadline is renewed before each write, not set once per request as http.Server's
// WriteTimeout is: an event stream whose client reads it lives as long as the client stays,
// however long that is. It is renewed once more when the handler returns, for the rest of the
// response that net/http then sends.
func BoundWrites(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &boundedWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
		bw.renew()
		defer bw.renew()
		next.ServeHTTP(bw, r)
	})
}

// boundedWriter renews the connection's write deadline before each write to it.
type boundedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// renew gives the next write timeout from now. A writer without deadlines (a recorder in a
// test) is left as it is.
func (w *boundedWriter) renew() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
}

func (w *boundedWriter) WriteHeader(status int) {
	w.renew()
	w.ResponseWriter.WriteHeader(status)
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	w.renew()
	return w.ResponseWriter.Write(p)
}

// Flush sends what is buffered, within the deadline; transports stream events only to a
// writer that is an http.Flusher.
func (w *boundedWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with its error, which http.ResponseController.Flush returns.
func (w *boundedWriter) FlushError() error {
	w.renew()
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *boundedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
