package main

// Cancelled requests get no response. mcp-go v1.2.1 cancels a request's context on
// notifications/cancelled but still writes the handler's response, which the spec says a
// receiver should not send and strict clients refuse ("unknown request ID"). mcp-go offers no
// hook between a handler and the transport, so the server wraps what each transport writes:
//
//   - stdio: the lines mcp-go writes to stdout (stdio.go);
//   - SSE: the events mcp-go writes on a session's GET /sse stream, keyed by the session id the
//     stream announces in its first event;
//   - Streamable HTTP runs stateless, so the sender of a notification cannot be known, and
//     request ids collide between clients as a rule: the notification is not passed on at all.
//     A client cancels by closing its own request, which ends the call's context (and its
//     upstream polling); the call's budget bounds it in any case.
//
// A request that was answered before its cancellation arrived was answered as usual. mcp-go
// files a running call's cancel func under the printed form of its id (fmt's %v), so that the
// string "1" and the number 1 share one: a cancellation reaches mcp-go only when it names a
// request awaiting its answer under that very id, and no other such request's id prints the
// same. Otherwise mcp-go could cut short the other one, which never was cancelled; the
// cancelled call then gets no response but runs on until it ends (its budget bounds it).
// That holds later too: mcp-go forgets the shared key when either call ends, so a cancellation
// passed on once the other was answered finds nothing to cancel there.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// message is what the server needs to know of a JSON-RPC message to route it. mcp-go
// (HandleMessage) reads these same fields into these same types and answers by them, so the
// server counts a request exactly when mcp-go will answer it, under the id it will answer with:
//   - a message it cannot read so (a jsonrpc that is no string, an id out of a number's range)
//     gets an error with a null id;
//   - a message with an id and a result is taken for a response, and gets no answer;
//   - any other message with an id gets an answer under that id, method or not, its id being
//     the Go value read from it, written back: 1.0 as 1, an object's keys sorted.
type message struct {
	JSONRPC string  `json:"jsonrpc"`
	Method  string  `json:"method"`
	ID      any     `json:"id"`
	Result  present `json:"result"` // mcp-go reads it as any, nil for null
}

// present records whether a field holds anything but null, without keeping it: a response's
// result can be large, and every response passes through parseMessage.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = present(!bytes.Equal(b, []byte("null")))
	return nil
}

// parseMessage reads the routing fields of one JSON-RPC message; ok is false when mcp-go
// cannot read them either.
func parseMessage(b []byte) (m message, ok bool) {
	return m, json.Unmarshal(b, &m) == nil
}

// isRequest reports whether mcp-go will answer m under its id. A result mcp-go cannot read
// makes it answer with a null id instead: no request either.
func (m message) isRequest() bool { return m.ID != nil && !bool(m.Result) }

// isResponse reports whether m, written by mcp-go, answers a request.
func (m message) isResponse() bool { return m.Method == "" && m.ID != nil }

// isCancellation reports whether m is notifications/cancelled.
func (m message) isCancellation() bool {
	return m.Method == string(mcp.MethodNotificationCancelled) && m.ID == nil
}

// cancelledID returns the id of the request that m, a notifications/cancelled, makes mcp-go
// cancel; ok is false when m is none or names no request.
func cancelledID(b []byte, m message) (id any, ok bool) {
	if !m.isCancellation() || m.JSONRPC != mcp.JSONRPC_VERSION {
		return nil, false
	}
	// mcp-go reads the result as any (a notification with a result it cannot read cancels
	// nothing), then the params as a map, where it looks up "requestId" exactly.
	var n struct {
		Result any            `json:"result"`
		Params map[string]any `json:"params"`
	}
	if json.Unmarshal(b, &n) != nil {
		return nil, false
	}
	id = n.Params["requestId"]
	return id, id != nil
}

// idKey is a request id as mcp-go writes it back: ids that mcp-go answers alike are one key.
func idKey(id any) string {
	b, err := json.Marshal(id)
	if err != nil {
		return "" // no value read from JSON fails to marshal
	}
	return string(b)
}

// printedID is a request id as mcp-go files the cancel func of its call: ids that print alike
// share one.
func printedID(id any) string { return fmt.Sprint(id) }

// pendingCalls are the requests of one connection that have not been answered yet, and
// whether each was cancelled.
type pendingCalls struct {
	mu      sync.Mutex
	calls   map[string]*pendingCall // by idKey
	printed map[string]int          // unanswered requests by printedID
	idle    chan struct{}           // closed while calls is empty; nil until the first request
}

type pendingCall struct {
	count     int    // requests under this id still unanswered (a client should not reuse one)
	printed   string // printedID of the id
	cancelled bool
}

func newPendingCalls() *pendingCalls {
	return &pendingCalls{calls: make(map[string]*pendingCall), printed: make(map[string]int)}
}

// begin records a request that will be answered.
func (p *pendingCalls) begin(id any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		p.idle = make(chan struct{})
	}
	key := idKey(id)
	c := p.calls[key]
	if c == nil {
		c = &pendingCall{printed: printedID(id)}
		p.calls[key] = c
	}
	c.count++
	p.printed[c.printed]++
}

// cancel marks the request with this id cancelled, if one is not answered yet, and reports
// whether mcp-go is to see the cancellation: only then, and only when no other unanswered
// request has an id that prints the same (mcp-go could cancel that one instead).
func (p *pendingCalls) cancel(id any) (pass bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[idKey(id)]
	if c == nil {
		return false
	}
	c.cancelled = true
	return p.printed[c.printed] == c.count
}

// finish records the response to the request with this id, and reports whether it must be
// dropped because the request was cancelled. A response to no recorded request (mcp-go's
// answer to a line it could not parse, say) is kept.
func (p *pendingCalls) finish(id any) (drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := idKey(id)
	c := p.calls[key]
	if c == nil {
		return false
	}
	c.count--
	p.printed[c.printed]--
	if p.printed[c.printed] == 0 {
		delete(p.printed, c.printed)
	}
	if c.count == 0 {
		delete(p.calls, key)
		if len(p.calls) == 0 {
			close(p.idle)
		}
	}
	return c.cancelled
}

// len is the number of requests not answered yet.
func (p *pendingCalls) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += c.count
	}
	return n
}

// drained is closed once every recorded request has been answered.
func (p *pendingCalls) drained() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return p.idle
}

// unanswered removes and returns the ids of the requests not answered yet, cancelled ones
// excepted: what a stopping server still owes its client.
func (p *pendingCalls) unanswered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var keys []string
	for key, c := range p.calls {
		if !c.cancelled {
			for range c.count {
				keys = append(keys, key)
			}
		}
		delete(p.calls, key)
	}
	clear(p.printed)
	if p.idle != nil && len(keys) > 0 {
		select {
		case <-p.idle:
		default:
			close(p.idle)
		}
	}
	return keys
}

// sseCancellations drops, on the legacy SSE transport, the responses to requests their
// client cancelled. It watches POST /message for requests and cancellations, and filters the
// events of each session's GET /sse stream.
type sseCancellations struct {
	mu       sync.Mutex
	sessions map[string]*pendingCalls // by session id, while the session's stream is open
}

func newSSECancellations() *sseCancellations {
	return &sseCancellations{sessions: make(map[string]*pendingCalls)}
}

// wrap returns next (mcp-go's SSE handler) with the cancellations applied. Bodies reach it
// already bounded by the HTTP guard.
func (c *sseCancellations) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/sse":
			sw := &sseStream{ResponseWriter: w, owner: c}
			defer sw.close()
			next.ServeHTTP(sw, r)
		case r.Method == http.MethodPost && r.URL.Path == "/message":
			if !c.observe(r) {
				w.WriteHeader(http.StatusAccepted) // as mcp-go answers a notification
				return
			}
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// observe records a request or a cancellation posted to a session, before mcp-go sees it,
// leaving the body for mcp-go to read. It reports whether mcp-go is to see it: not a
// cancellation that pendingCalls.cancel keeps from it.
func (c *sseCancellations) observe(r *http.Request) (pass bool) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	if err != nil {
		return true
	}
	c.mu.Lock()
	calls := c.sessions[r.URL.Query().Get("sessionId")]
	c.mu.Unlock()
	if calls == nil {
		return true // mcp-go refuses an unknown session
	}
	// mcp-go reads the first JSON value of the body and ignores the rest.
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(body)).Decode(&first) != nil {
		return true
	}
	m, ok := parseMessage(first)
	switch {
	case !ok:
	case m.isRequest():
		calls.begin(m.ID)
	default:
		if id, ok := cancelledID(first, m); ok {
			return calls.cancel(id)
		}
	}
	return true
}

// errReader returns err, or io.EOF when err is nil: a body that failed to read fails the same
// way for the handler behind.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// sseStream is one session's GET /sse response. mcp-go writes each event with one Write: the
// first names the session's message endpoint, later ones carry messages.
type sseStream struct {
	http.ResponseWriter
	owner   *sseCancellations
	session string
	calls   *pendingCalls
}

const (
	sseEndpointEvent = "event: endpoint\ndata: "
	sseMessageEvent  = "event: message\ndata: "
)

func (s *sseStream) Write(p []byte) (int, error) {
	switch {
	case s.calls == nil && bytes.HasPrefix(p, []byte(sseEndpointEvent)):
		s.register(strings.TrimSpace(string(p[len(sseEndpointEvent):])))
	case s.calls != nil && bytes.HasPrefix(p, []byte(sseMessageEvent)):
		if m, ok := parseMessage(p[len(sseMessageEvent):]); ok && m.isResponse() && s.calls.finish(m.ID) {
			return len(p), nil
		}
	}
	return s.ResponseWriter.Write(p)
}

// register starts tracking the session the endpoint URL names.
func (s *sseStream) register(endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Query().Get("sessionId") == "" {
		return
	}
	s.session = u.Query().Get("sessionId")
	s.calls = newPendingCalls()
	s.owner.mu.Lock()
	s.owner.sessions[s.session] = s.calls
	s.owner.mu.Unlock()
}

// close stops tracking the session: its stream has ended, and with it the session.
func (s *sseStream) close() {
	if s.calls == nil {
		return
	}
	s.owner.mu.Lock()
	delete(s.owner.sessions, s.session)
	s.owner.mu.Unlock()
}

// Flush passes on flushes: mcp-go needs an http.Flusher to stream.
func (s *sseStream) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *sseStream) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ignoreCancellations answers notifications/cancelled on stateless Streamable HTTP with 202
// Accepted and passes it on to nobody: its sender cannot be known, and mcp-go would cancel
// whichever client's call has that request id. Other messages reach next untouched.
func ignoreCancellations(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		if err == nil {
			if m, ok := parseMessage(body); ok && m.isCancellation() {
				w.WriteHeader(http.StatusAccepted)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
