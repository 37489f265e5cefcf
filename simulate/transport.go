package simulate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns a RoundTripper that serves every request with h inside the process: no
// listener, no network. The response body streams from the handler as it writes. Cancelling
// the request's context ends the round trip, or the body being read, with the context's error,
// and cancels the context the handler sees; so does closing the body early.
func Transport(h http.Handler) http.RoundTripper {
	return &transport{h: h}
}

type transport struct {
	h http.Handler
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	if req.URL == nil {
		closeBody(req)
		return nil, fmt.Errorf("simulate: request has no URL")
	}

	handlerCtx, cancel := context.WithCancel(ctx)
	serverReq := serverRequest(handlerCtx, req)

	pr, pw := io.Pipe()
	w := &responseWriter{
		header:    http.Header{},
		body:      pw,
		head:      req.Method == http.MethodHead,
		headerOut: make(chan struct{}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		defer closeBody(serverReq)
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("simulate: handler panicked: %v", p)
			} else if handlerCtx.Err() != nil {
				// The caller went away: what the handler wrote is cut short, and the
				// reader must not take it for the whole body.
				err = context.Cause(handlerCtx)
			}
			w.finish(err)
		}()
		t.h.ServeHTTP(w, serverReq)
	}()
	// Cancelling the request ends a body being read, as a closed connection would.
	go func() {
		select {
		case <-handlerCtx.Done():
			_ = pw.CloseWithError(context.Cause(handlerCtx))
		case <-done:
		}
	}()

	select {
	case <-w.headerOut:
	case <-ctx.Done():
		// handlerCtx ends with ctx, and with ctx's error; cancelling it here could get in
		// first and end it as Canceled where ctx passed its deadline. The handler's
		// goroutine cancels it once the handler returns.
		return nil, ctx.Err()
	}
	if w.err != nil && w.status == 0 {
		cancel()
		return nil, w.err
	}
	resp := &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		ContentLength: -1,
		Body:          &pipeBody{r: pr, cancel: cancel},
		Request:       req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		resp.ContentLength = n
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
		cancel()
	}
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// responseWriter hands the handler's status and headers over once, then streams its writes
// into a pipe that the response body reads.
type responseWriter struct {
	header http.Header
	body   *io.PipeWriter
	head   bool

	once      sync.Once
	headerOut chan struct{} // closed when status and sent are set
	status    int
	sent      http.Header
	err       error // set before headerOut closes when the handler failed before a header
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not the response
	}
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.headerOut)
	})
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.head {
		return len(p), nil
	}
	return w.body.Write(p)
}

// Flush does nothing: writes reach the reader as they are made.
func (w *responseWriter) Flush() {}

// finish ends the response: a handler that wrote nothing answered 200 with an empty body; one
// that failed before its header fails the round trip, after it the body.
func (w *responseWriter) finish(err error) {
	w.once.Do(func() {
		if err != nil {
			w.err = err
		} else {
			w.status = http.StatusOK
			w.sent = w.header.Clone()
		}
		close(w.headerOut)
	})
	if err != nil {
		_ = w.body.CloseWithError(err)
		return
	}
	_ = w.body.Close()
}

// pipeBody is a response body; closing it ends the handler's request.
type pipeBody struct {
	r      *io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *pipeBody) Close() error {
	b.cancel()
	return b.r.Close()
}

// serverRequest is req as a server's handler receives it, under ctx.
func serverRequest(ctx context.Context, req *http.Request) *http.Request {
	serverReq := req.Clone(ctx)
	serverReq.RequestURI = req.URL.RequestURI()
	serverReq.RemoteAddr = "192.0.2.1:49152" // TEST-NET-1: no real peer
	if serverReq.Host == "" {
		serverReq.Host = req.URL.Host
	}
	if serverReq.Body == nil {
		serverReq.Body = http.NoBody
	}
	return serverReq
}
