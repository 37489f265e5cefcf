package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// sessionCalls cancels a session's running tool calls when the session ends. Over stdio and
// Streamable HTTP a call's context already ends with its request; over the legacy SSE
// transport it does not, and a wait would poll on for a client that is gone.
type sessionCalls struct {
	mu    sync.Mutex
	calls map[string]map[*context.CancelFunc]struct{}
}

func newSessionCalls() *sessionCalls {
	return &sessionCalls{calls: make(map[string]map[*context.CancelFunc]struct{})}
}

// middleware runs each call under a context that onUnregister can cancel.
func (s *sessionCalls) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		session := server.ClientSessionFromContext(ctx)
		// Stateless Streamable HTTP gives every request the session id "": such calls end
		// with their own request, and one shared key would let any client's DELETE cancel
		// every other client's calls.
		if session == nil || session.SessionID() == "" {
			return next(ctx, req)
		}
		id := session.SessionID()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s.mu.Lock()
		if s.calls[id] == nil {
			s.calls[id] = make(map[*context.CancelFunc]struct{})
		}
		s.calls[id][&cancel] = struct{}{}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.calls[id], &cancel)
			if len(s.calls[id]) == 0 {
				delete(s.calls, id)
			}
			s.mu.Unlock()
		}()
		return next(ctx, req)
	}
}

// onUnregister is the server hook for a session that went away.
func (s *sessionCalls) onUnregister(_ context.Context, session server.ClientSession) {
	if session.SessionID() == "" {
		return
	}
	s.mu.Lock()
	calls := s.calls[session.SessionID()]
	delete(s.calls, session.SessionID())
	s.mu.Unlock()
	for cancel := range calls {
		(*cancel)()
	}
}

// callCounter counts the tool calls running, so that a stopping server can let them answer,
// and cancels those still running when it can wait no longer.
type callCounter struct {
	mu      sync.Mutex
	running map[*context.CancelCauseFunc]struct{}
	idle    chan struct{} // closed while running is empty; nil until the first call
}

func newCallCounter() *callCounter {
	return &callCounter{running: make(map[*context.CancelCauseFunc]struct{})}
}

// errShutdown is the cause of a call's context cancelled by Server.Shutdown.
var errShutdown = errors.New("server shutting down")

func (c *callCounter) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, done := c.start(ctx)
		defer done()
		return next(ctx, req)
	}
}

// start counts a call that runs under the returned context until it calls done.
func (c *callCounter) start(ctx context.Context) (_ context.Context, done func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	c.mu.Lock()
	if len(c.running) == 0 {
		c.idle = make(chan struct{})
	}
	c.running[&cancel] = struct{}{}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		delete(c.running, &cancel)
		if len(c.running) == 0 {
			close(c.idle)
		}
		c.mu.Unlock()
		cancel(nil)
	}
}

// wait returns when no call is running, or with ctx's error when ctx ends first.
func (c *callCounter) wait(ctx context.Context) error {
	c.mu.Lock()
	idle := c.idle
	running := len(c.running)
	c.mu.Unlock()
	if running == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelAll cancels every running call with errShutdown.
func (c *callCounter) cancelAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cancel := range c.running {
		(*cancel)(errShutdown)
	}
}

// recoverPanics turns a handler panic into an error result, so that the caller learns
// something went wrong and the server keeps serving.
func recoverPanics(logger *slog.Logger) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (result *mcp.CallToolResult, err error) {
			defer func() {
				if r := recover(); r != nil {
					result, err = mcp.NewToolResultError(panicked(ctx, logger, req.Params.Name, r)), nil
				}
			}()
			return next(ctx, req)
		}
	}
}

// panicked logs the panic r of a call of tool, with its stack, and returns what the caller is
// told.
func panicked(ctx context.Context, logger *slog.Logger, tool string, r any) string {
	logger.ErrorContext(ctx, "tool handler panicked", "tool", tool, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return fmt.Sprintf("Internal error in %s: the server hit a bug and recovered. Try again; if it repeats, report it with the server log.", tool)
}
