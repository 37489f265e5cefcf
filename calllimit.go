package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// Default bounds of the HTTP transports (flags change them).
const (
	defaultMaxConnections = 4096
	defaultMaxSSESessions = 1024
	// defaultMaxSSESessionsPerClient is per remote IP address: an SSE stream comes before
	// its session, so its address is all there is to tell clients apart.
	defaultMaxSSESessionsPerClient = 64
	defaultMaxCalls                = 1024
	defaultMaxCallsPerClient       = 256
)

// callLimit bounds the tool calls running at once over HTTP, in all and for each client, so
// that one client's thousands of waits are refused instead of slowing every other client's
// calls. A client is an SSE session; stateless Streamable HTTP has no session, so there it is
// the remote IP address, which clients behind one proxy or on one machine share.
type callLimit struct {
	max, perClient int

	mu       sync.Mutex
	running  int
	byClient map[string]int
}

func newCallLimit(max, perClient int) *callLimit {
	return &callLimit{max: max, perClient: perClient, byClient: make(map[string]int)}
}

// middleware refuses a call past a limit with a JSON-RPC error that says which limit and what
// to do, and runs the others.
func (l *callLimit) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		client := clientOf(ctx)
		if err := l.acquire(client); err != nil {
			return nil, err
		}
		defer l.release(client)
		return next(ctx, req)
	}
}

func (l *callLimit) acquire(client string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running >= l.max {
		return fmt.Errorf("server busy: %d tool calls are running, the limit for all clients (--max-calls); call again when one of yours has finished", l.running)
	}
	if client != "" && l.byClient[client] >= l.perClient {
		return fmt.Errorf("too many calls at once: this client has %d tool calls running, its limit (--max-calls-per-client); wait for one to finish, then call again", l.byClient[client])
	}
	l.running++
	if client != "" {
		l.byClient[client]++
	}
	return nil
}

func (l *callLimit) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	if client == "" {
		return
	}
	if l.byClient[client]--; l.byClient[client] == 0 {
		delete(l.byClient, client)
	}
}

// remoteIPKey is the context key of the remote IP address of a Streamable HTTP request.
type remoteIPKey struct{}

// withRemoteIP is the Streamable HTTP context function that records the client's address.
func withRemoteIP(ctx context.Context, r *http.Request) context.Context {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return context.WithValue(ctx, remoteIPKey{}, host)
}

// toolCaller has the upstream requests of a tool call take their turns under the rate limit
// as its client's (see api.ForCaller): clients take turns, so one client's many calls cannot
// hold back another's. Stdio has one client, and no need of it.
func toolCaller(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return next(api.ForCaller(ctx, clientOf(ctx)), req)
	}
}

// resourceCaller is toolCaller for a resource read.
func resourceCaller(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return next(api.ForCaller(ctx, clientOf(ctx)), req)
	}
}

// clientOf names the client a call comes from: on Streamable HTTP its address, else its SSE
// session, else "" (none known, and no limit per client applies). The address comes first:
// stateless Streamable HTTP takes whatever Mcp-Session-Id a request carries without checking
// it, so a client that made one up per request would otherwise be a new client each time.
func clientOf(ctx context.Context) string {
	if ip, ok := ctx.Value(remoteIPKey{}).(string); ok {
		return "address " + ip
	}
	if session := server.ClientSessionFromContext(ctx); session != nil && session.SessionID() != "" {
		return "session " + session.SessionID()
	}
	return ""
}
