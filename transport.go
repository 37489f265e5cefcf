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

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// stdioWorkers is how many tool calls run at once over stdio; mcp-go allows at most 100 and
// defaults to 5, too few for an agent that waits on dozens of tasks.
const stdioWorkers = 100

// shutdownGrace is how long HTTP transports wait for responses to drain after a signal.
const shutdownGrace = 4 * time.Second

// serveStdio serves one client on stdin and stdout until stdin closes or ctx ends.
func serveStdio(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	server.WithWorkerPoolSize(stdioWorkers)(stdio)
	server.WithQueueSize(10 * stdioWorkers)(stdio)
	err := stdio.Listen(ctx, stdin, stdout)
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		logger.Info("stopped", "reason", stopReason(ctx, "end of input"))
		return nil
	}
	return err
}

// serveHTTP serves the sse or http transport on cfg.addr until ctx ends, then cancels every
// running call and drains.
func serveHTTP(ctx context.Context, cfg config, s *server.MCPServer, logger *slog.Logger) error {
	guard, err := newHTTPGuard(cfg.authToken, cfg.allowedOrigins)
	if err != nil {
		return err
	}
	// Calls run under this context, so that shutdown ends long waits at once, each with a
	// result that says to call again, instead of waiting for them.
	callsCtx, cancelCalls := context.WithCancelCause(context.Background())
	defer cancelCalls(nil)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	var transport interface{ Shutdown(context.Context) error }
	switch cfg.transport {
	case "sse":
		sse := server.NewSSEServer(s,
			server.WithSSEEndpoint("/sse"),
			server.WithMessageEndpoint("/message"),
			server.WithKeepAlive(true),
		)
		mux.Handle("/sse", guard.wrap(sse))
		mux.Handle("/message", guard.wrap(sse))
		transport = sse
	case "http":
		streamable := server.NewStreamableHTTPServer(s,
			server.WithEndpointPath("/mcp"),
			// Stateless: each request stands alone, so concurrent calls' progress cannot
			// cross streams, and nothing per session accumulates.
			server.WithStateLess(true),
			// With an event store, a notification sent just before a result is not lost
			// (mcp-go); this one keeps nothing, since stateless streams cannot resume.
			server.WithEventStore(discardEventStore{}),
			server.WithStreamableHTTPLogger(logger),
		)
		mux.Handle("/mcp", guard.wrap(streamable))
		transport = streamable
	}

	listener, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	httpServer := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return callsCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	endpoint := "/mcp"
	if cfg.transport == "sse" {
		endpoint = "/sse"
	}
	logger.Info("listening", "url", "http://"+listener.Addr().String()+endpoint)
	if host, _, _ := net.SplitHostPort(listener.Addr().String()); !isLoopback(host) && cfg.authToken == "" {
		logger.Warn("listening beyond loopback without client authentication: anyone who can reach this address can use the server; set "+envAuthToken,
			"addr", listener.Addr().String())
	}

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(listener) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "reason", stopReason(ctx, ""))
	cancelCalls(tools.ErrShuttingDown)
	drainCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = transport.Shutdown(drainCtx)
	if err := httpServer.Shutdown(drainCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func stopReason(ctx context.Context, otherwise string) string {
	if ctx.Err() != nil {
		return "signal"
	}
	return otherwise
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
