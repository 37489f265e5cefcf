package httpguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// BoundBodies gives every request on every path, guarded or not, timeout to deliver its body.
// net/http reads a body a handler left unread (up to 256 KiB) before it answers, and without a
// read deadline a client that declares a body and never sends it holds the connection
// forever. Handlers that need the connection longer lift the deadline once the body is in.
func BoundBodies(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Without a body there is nothing to wait for, and a deadline would end a long
		// answer (an event stream, a profile) when net/http's background read hits it.
		deadline := time.Time{}
		if r.Body != nil && r.Body != http.NoBody {
			deadline = time.Now().Add(timeout)
		}
		_ = http.NewResponseController(w).SetReadDeadline(deadline)
		next.ServeHTTP(w, r)
	})
}

// bodyLimit reads request bodies whole before the handler runs, bounded in size and time.
type bodyLimit struct {
	max     int64
	timeout time.Duration
}

// read reads the body, at most max bytes within timeout, and hands next the bytes read. Then
// it lifts the read deadline: net/http cancels a request whose background read hits it,
// which would cut off a long call or an event stream. A body that is too large or too slow is
// refused and its connection closed, with the deadline kept, so that nothing waits for the
// rest of it.
func (b bodyLimit) read(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body == nil || r.Body == http.NoBody {
			_ = rc.SetReadDeadline(time.Time{})
			next.ServeHTTP(w, r)
			return
		}
		_ = rc.SetReadDeadline(time.Now().Add(b.timeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.max))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", b.max))
				return
			}
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("Request body not received within %s", b.timeout), http.StatusRequestTimeout)
			return
		}
		// The body was read to its end, so closing it reads nothing more.
		r.Body.Close()
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
