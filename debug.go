package main

import (
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	"github.com/video-task-mcp/video-task-mcp/internal/httpguard"
)

// publishGoroutines publishes the goroutine count once: expvar refuses a name twice.
var publishGoroutines sync.Once

// serveDebug serves pprof and expvar on addr, which must be loopback: profiles show
// everything the process holds. A request must name this machine in its Host header too, so
// that a page whose domain was rebound to 127.0.0.1 cannot read them.
func serveDebug(addr string, logger *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !httpguard.IsLoopback(host) {
		return fmt.Errorf("--debug-addr %q: want a loopback address such as 127.0.0.1:6060", addr)
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	publishGoroutines.Do(func() {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
	srv := &http.Server{
		Handler:           httpguard.BoundWrites(httpguard.BoundBodies(httpguard.CheckHost(mux), httpguard.DefaultBodyTimeout), httpguard.DefaultWriteTimeout),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	logger.Info("debug endpoints", "url", "http://"+listener.Addr().String()+"/debug/pprof/")
	go func() { _ = srv.Serve(listener) }()
	return nil
}
