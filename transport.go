package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/internal/delivery"
	"github.com/video-task-mcp/video-task-mcp/internal/httpguard"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// How long a stopping server lets running calls answer, lets results just queued on SSE
// streams go out, and then lets responses drain; together they stay under the 5 s that
// process supervisors commonly allow after SIGTERM.
const (
	answerGrace   = 2 * time.Second
	flushGrace    = 200 * time.Millisecond
	shutdownGrace = 2 * time.Second
)

// serveHTTP serves the sse or http transport on cfg.addr until ctx ends, then cancels every
// running call and drains.
func serveHTTP(ctx context.Context, cfg config, srv *tools.Server, logger *slog.Logger) error {
	handler, transport, err := newHTTPHandler(cfg, srv, logger)
	if err != nil {
		return err
	}
	// Calls run under this context, so that a call still running after the answer grace
	// period is cancelled rather than waited for.
	callsCtx, cancelCalls := context.WithCancel(context.Background())
	defer cancelCalls()

	listener, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	limited := httpguard.LimitConnections(listener, connectionLimit(cfg.maxConnections, logger))
	httpServer := newHTTPServer(callsCtx, handler, logger)
	endpoint := "/mcp"
	if cfg.transport == "sse" {
		endpoint = "/sse"
	}
	logger.Info("listening", "url", "http://"+listener.Addr().String()+endpoint)
	if host, _, _ := net.SplitHostPort(listener.Addr().String()); !httpguard.IsLoopback(host) && cfg.authToken == "" {
		logger.Warn("listening beyond loopback without client authentication: anyone who can reach this address can use the server; set "+envAuthToken,
			"addr", listener.Addr().String())
	}

	if cfg.authToken != "" && len(cfg.authToken) < minTokenLength {
		logger.Warn(fmt.Sprintf("%s is shorter than %d bytes and could be guessed; use a random one, such as the output of: openssl rand -hex 32", envAuthToken, minTokenLength))
	}

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(limited) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "reason", "signal")
	// Refuse new connections first, then let running calls answer, then cut what remains.
	_ = listener.Close()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), answerGrace)
	defer cancelStop()
	if err := srv.Shutdown(stopCtx); err != nil {
		logger.Warn("calls still running after the grace period; cancelled them", "grace", answerGrace)
	}
	// The SSE transport writes a result from a queue on the session's stream, which ends as
	// soon as its context does: give results that were just queued time to go out.
	time.Sleep(flushGrace)
	cancelCalls()
	drainCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = transport.Shutdown(drainCtx)
	err = httpServer.Shutdown(drainCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A request still open: a response its client has stopped reading (the write waits
		// for its deadline, httpguard.BoundWrites), or a body still arriving (it has its
		// own). The stop does not wait for either.
		open := limited.Open()
		_ = httpServer.Close()
		logger.Warn("connections still open after the grace period (a client not reading its response, or still sending a body); closed them",
			"connections", open, "grace", shutdownGrace)
		return nil
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newHTTPServer returns the server of handler, whose requests run under callsCtx.
func newHTTPServer(callsCtx context.Context, handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler: handler,
		// A request body has a deadline of its own (httpguard.BoundBodies), and so has each
		// write of a response (httpguard.BoundWrites): a ReadTimeout or WriteTimeout would
		// also end long calls and event streams.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return callsCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// minTokenLength is the shortest MCP_AUTH_TOKEN accepted without a warning.
const minTokenLength = 16

// connectionLimit is max, lowered when the process may not open that many files: the
// connections must leave descriptors for the upstream's, the debug listener's and files.
func connectionLimit(max int, logger *slog.Logger) int {
	limit, ok := openFileLimit()
	if !ok {
		return max
	}
	reserve := 64 + limit/8
	if limit <= reserve {
		return max
	}
	if fit := limit - reserve; uint64(max) > fit {
		logger.Info("lowering --max-connections to fit the open-file limit", "max_connections", fit, "open_file_limit", limit)
		return int(fit)
	}
	return max
}

// httpTransport is the mcp-go transport behind an HTTP handler.
type httpTransport interface{ Shutdown(context.Context) error }

// httpServerOptions are the MCP server options the HTTP transports need: the bounds on tool
// calls running at once, and each call's client named to the rate limit.
func httpServerOptions(cfg config) []server.ServerOption {
	limit := newCallLimit(cfg.maxCalls, cfg.maxCallsPerClient)
	return []server.ServerOption{
		server.WithToolHandlerMiddleware(limit.middleware),
		server.WithToolHandlerMiddleware(toolCaller),
		server.WithResourceHandlerMiddleware(resourceCaller),
	}
}

// newHTTPHandler returns the handler of the sse or http transport, every MCP endpoint behind
// the guard (authentication, origins, CORS, body limits) and every path's body and writes
// bounded in time, and the transport, to shut down.
func newHTTPHandler(cfg config, srv *tools.Server, logger *slog.Logger) (http.Handler, httpTransport, error) {
	s := srv.MCPServer
	guard, err := httpguard.New(httpguard.Config{
		Token:          cfg.authToken,
		AllowedOrigins: cfg.allowedOrigins,
		BodyTimeout:    cfg.bodyTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	if cfg.authToken != "" {
		httpguard.StaticTokenRoutes(mux, "/mcp", "/sse")
	}
	var transport httpTransport
	switch cfg.transport {
	case "sse":
		// CORS is the guard's; without WithSSECORS, mcp-go still answers the
		// GET /sse stream with Access-Control-Allow-Origin: *, which only origins the guard
		// accepted ever see.
		sse := server.NewSSEServer(s,
			server.WithSSEEndpoint("/sse"),
			server.WithMessageEndpoint("/message"),
			server.WithKeepAlive(true),
		)
		// Responses to cancelled requests are dropped from the streams (cancel.go).
		filtered := newSSECancellations().wrap(sse)
		// Each session holds its event stream open for as long as the client stays.
		mux.Handle("/sse", guard.Wrap(httpguard.LimitConcurrent(filtered,
			httpguard.Limit{Max: cfg.maxSSESessions, What: "SSE sessions", Flag: "--max-sse-sessions"},
			httpguard.Limit{Max: cfg.maxSSESessionsPerClient, What: "SSE sessions from this address", Flag: "--max-sse-sessions-per-client"})))
		mux.Handle("/message", guard.Wrap(filtered))
		transport = sse
	case "http":
		streamable := server.NewStreamableHTTPServer(s,
			server.WithEndpointPath("/mcp"),
			// Stateless: each request stands alone, so concurrent calls' progress cannot
			// cross streams, and nothing per session accumulates.
			server.WithStateLess(true),
			// No standalone GET stream: a stateless server has nothing to send on it, and
			// mcp-go would register it as the session "" that every later request then
			// shares, so one client's progress could go to another's stream.
			server.WithDisableStreaming(true),
			// With an event store, a notification sent just before a result is not lost
			// (mcp-go); this one keeps nothing, since stateless streams cannot resume.
			server.WithEventStore(discardEventStore{}),
			server.WithStreamableHTTPLogger(logger),
			// Calls are limited per client, and without a session the client is its address.
			server.WithHTTPContextFunc(withRemoteIP),
		)
		// Cancellations cannot be told apart by sender here; they are not passed on
		// (cancel.go).
		// Track lets a call wait until its progress notifications are written: mcp-go
		// drops one still on its way to the writer when the call answers.
		mux.Handle("/mcp", guard.Wrap(ignoreCancellations(delivery.Track(streamable))))
		transport = streamable
	default:
		return nil, nil, fmt.Errorf("no HTTP transport %q", cfg.transport)
	}
	return httpguard.BoundWrites(httpguard.BoundBodies(mux, cfg.bodyTimeout), cfg.writeTimeout), transport, nil
}

// healthz answers liveness probes without authentication and without revealing anything.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// discardEventStore is an event store that keeps nothing: stateless Streamable HTTP streams
// cannot be resumed, and mcp-go's in-memory store would keep every event forever.
type discardEventStore struct{}

var eventCounter atomic.Uint64

// StoreEvent returns a fresh event id and stores nothing.
func (discardEventStore) StoreEvent(context.Context, string, string, json.RawMessage) (string, error) {
	return strconv.FormatUint(eventCounter.Add(1), 10), nil
}

// ReplayEventsAfter has nothing to replay.
func (discardEventStore) ReplayEventsAfter(context.Context, string, string, func(string, json.RawMessage) error) (string, error) {
	return "", server.ErrUnknownEventID
}

// PurgeSession has nothing to purge.
func (discardEventStore) PurgeSession(context.Context, string) error { return nil }
