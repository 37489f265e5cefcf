// Command video-task-mcp is an MCP server that lets AI agents follow Alibaba Bailian (Wan)
// video-generation tasks run through the api.gpt.ge aggregator. It serves the tools over stdio
// (the default), the 2024-11-05 HTTP+SSE transport, or Streamable HTTP.
//
// This file builds the logger, the upstream client and the MCP server from the configuration
// (config.go) and runs the chosen transport until a signal or end of input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/coord"
	"github.com/video-task-mcp/video-task-mcp/internal/httpguard"
	"github.com/video-task-mcp/video-task-mcp/internal/redact"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// version is stamped by the linker in release builds:
// go build -trimpath -ldflags "-X main.version=v1.2.3".
var version = ""

const serverName = "video-task-mcp"

// defaultMemoryLimit is the soft memory limit of the Go runtime when GOMEMLIMIT is unset. The
// server idles far below it; under a burst of hundreds of concurrent HTTP waits it makes the
// collector run sooner instead of letting the heap double (BENCHMARKS.md has the figures).
const defaultMemoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a stop, which takes a few seconds; a second one ends the process
	// at once, as the signals do by default.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		var code exitCode // a command's outcome, already reported (cli.go)
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "video-task-mcp:", terminalText(err.Error()))
		os.Exit(2)
	}
}

// run is main with its inputs and outputs passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, serverName, currentVersion())
		return nil
	}
	logger := newLogger(stderr, cfg.logLevel, cfg.apiKey, cfg.authToken, coord.Password(cfg.redisURL))

	limiter, shared, err := sharing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer shared.Close()
	client, err := newUpstreamClient(cfg, logger, limiter)
	if err != nil {
		return err
	}
	downloadDir, downloadClient, err := downloadSettings(cfg, logger)
	if err != nil {
		return err
	}
	var serverOpts []server.ServerOption
	if cfg.transport != "stdio" && cfg.command == nil {
		serverOpts = httpServerOptions(cfg)
	}
	mcpServer := tools.NewServer(serverName, currentVersion(), tools.Deps{
		Client:             client,
		PollInterval:       cfg.pollInterval,
		MaxPollInterval:    cfg.maxPollInterval,
		WaitTimeout:        cfg.waitTimeout,
		Logger:             logger,
		APIKeyVariable:     cfg.apiKeyVariable,
		EnableCreate:       cfg.enableCreate,
		DownloadDir:        downloadDir,
		DownloadHTTPClient: downloadClient,
		Secrets:            []string{cfg.apiKey, cfg.authToken},
		Shared:             shared,
	}, serverOpts...)
	if cfg.debugAddr != "" {
		if err := serveDebug(cfg.debugAddr, logger); err != nil {
			return err
		}
	}
	logStart(cfg, client, logger)

	if cfg.command != nil {
		return runCommand(ctx, cfg.command, cfg, mcpServer, stdout, stderr)
	}
	switch cfg.transport {
	case "stdio":
		return serveStdio(ctx, mcpServer, cfg.maxStdioCalls, stdin, stdout, logger)
	default:
		return serveHTTP(ctx, cfg, mcpServer, logger)
	}
}

// sharing returns the rate limit of the upstream account and, with --redis-url, the Redis store
// that the processes of the account share it through (nil without).
func sharing(ctx context.Context, cfg config, logger *slog.Logger) (api.Limiter, *coord.Store, error) {
	if cfg.redisURL == "" {
		return api.NewLimiter(cfg.maxQPS), nil, nil
	}
	shared, err := coord.Open(ctx, cfg.redisURL, cfg.apiKey, logger)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("sharing the rate limit, task polling and finished tasks with the other processes of this API key",
		"redis", shared.Addr(), "instance", shared.Instance())
	return shared.Limiter(cfg.maxQPS), shared, nil
}

// newUpstreamClient builds the client of the upstream API (or of the simulator) and warns
// about a configuration that works but should not stay: a key sent in clear text, or none.
func newUpstreamClient(cfg config, logger *slog.Logger, limiter api.Limiter) (*api.Client, error) {
	opts := []api.Option{
		api.WithBaseURL(cfg.baseURL),
		api.WithUserAgent(serverName + "/" + currentVersion()),
		api.WithLogger(logger),
		api.WithLimiter(limiter),
		api.WithProvider(cfg.provider),
	}
	if cfg.simulate {
		sim := simulate.NewHandler(simulate.Options{Logger: logger})
		opts = append(opts, api.WithHTTPClient(&http.Client{Transport: simulate.Transport(sim)}))
		logger.Info("simulating the upstream: no key or network needed; the task id chooses the story",
			"task_ids", strings.Join(simulate.TaskIDs(), " "))
		if cfg.enableCreate {
			logger.Info("simulated submissions follow sim-success under a fresh id, or sim-fail when the prompt contains \"" + simulate.FailKeyword + "\"")
		}
	}
	client, err := api.NewClient(cfg.apiKey, opts...)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(cfg.baseURL); err == nil && u.Scheme == "http" && !cfg.simulate && !httpguard.IsLoopback(u.Hostname()) {
		logger.Warn("the base URL is plain http to another machine: the API key travels in clear text; use https",
			"host", u.Host)
	}
	if cfg.apiKey == "" && cfg.command == nil {
		logger.Warn("no API key: every tool call will fail until it is set",
			"variable", cfg.apiKeyVariable, "where", "the env block of this server in your MCP client config")
	}
	return client, nil
}

// logStart says what the server is about to serve, and that submissions are billed when they are.
func logStart(cfg config, client *api.Client, logger *slog.Logger) {
	logger.Info("starting", "version", currentVersion(), "transport", cfg.transport,
		"provider", client.Provider(), "upstream", client.BaseURL(), "wait_timeout", cfg.waitTimeout)
	if cfg.enableCreate && !cfg.simulate {
		logger.Info("create_video_task is enabled: each call submits a task billed to the account of " + cfg.apiKeyVariable)
	}
}

// newLogger logs to stderr with tint, in colour only when stderr is a terminal. No line
// reveals a secret, in any JSON or URL escaping: whatever carries one (an upstream's words, a
// task id a client sent) has it replaced by [redacted]. No line acts on a terminal either
// (see escapeLogAttr).
func newLogger(stderr io.Writer, level slog.Level, secrets ...string) *slog.Logger {
	return slog.New(redact.NewHandler(tint.NewTextHandler(stderr, logOptions(level, isTerminal(stderr))), redact.New(secrets...)))
}

// logOptions are the logger's options, in colour or not.
func logOptions(level slog.Level, colour bool) *tint.Options {
	return &tint.Options{
		Level:       level,
		TimeFormat:  time.TimeOnly,
		NoColor:     !colour,
		ReplaceAttr: escapeLogAttr,
	}
}

// escapeLogAttr makes the message, string attributes and errors of a log line text a terminal
// shows rather than acts on (see terminalText). tint writes the message as it is and, in
// colour, turns every \x1b of a quoted value back into ESC: so ESC is written \u001b, and a
// literal \x1b the value held is written \u005cx1b.
func escapeLogAttr(_ []string, a slog.Attr) (escaped slog.Attr) {
	defer func() {
		if recover() != nil { // an Error method that panics, on a nil pointer: tint says so
			escaped = a
		}
	}()
	var s string
	switch v := a.Value.Any(); {
	case a.Value.Kind() == slog.KindString:
		s = a.Value.String()
	case a.Value.Kind() == slog.KindAny && v != nil:
		err, ok := v.(error)
		if !ok {
			return a
		}
		s = err.Error()
	default:
		return a
	}
	s = strings.ReplaceAll(s, `\x1b`, `\u005cx1b`)
	return slog.String(a.Key, strings.ReplaceAll(terminalText(s), `\x1b`, `\u001b`))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// currentVersion is the linker-stamped version, else the module version Go recorded (set by
// go install), else "dev".
func currentVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
