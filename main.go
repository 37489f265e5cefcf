// Command video-task-mcp is an MCP server that lets AI agents follow Alibaba Bailian (Wan)
// video-generation tasks run through the api.gpt.ge aggregator. It serves the tools over stdio
// (the default), the 2024-11-05 HTTP+SSE transport, or Streamable HTTP.
//
// This file turns flags and environment into a configuration, builds the logger, the upstream
// client and the MCP server, and runs the chosen transport until a signal or end of input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// version is stamped by the linker in release builds:
// go build -trimpath -ldflags "-X main.version=v1.2.3".
var version = ""

const serverName = "video-task-mcp"

// Environment variables read.
const (
	envAPIKey   = "GPTGE_API_KEY"
	envBaseURL  = "GPTGE_BASE_URL"
	envLogLevel = "LOG_LEVEL"
	// envAuthToken is the bearer token HTTP clients must send; unset, there is no client
	// authentication.
	envAuthToken = "MCP_AUTH_TOKEN"
)

// simulateBaseURL, given as the base URL, turns the simulator on like --simulate.
const simulateBaseURL = "simulate"

// simulatedAPIKey stands in for a missing key when simulating. It must not occur in simulated
// bodies: the client redacts its key from what it quotes.
const simulatedAPIKey = "no-key-needed"

// config is everything the server is run with.
type config struct {
	transport       string
	addr            string
	baseURL         string
	apiKey          string
	pollInterval    time.Duration
	maxPollInterval time.Duration
	waitTimeout     time.Duration
	maxQPS          float64
	authToken       string
	debugAddr       string
	allowedOrigins  []string
	logLevel        slog.Level
	showVersion     bool
	simulate        bool
	// downloadDir is --download-dir as given; command is the command to run instead of
	// serving, nil to serve (cli.go).
	downloadDir string
	command     *command
	// provider, apiKeyVariable and enableCreate come from resolveProvider (provider.go).
	provider       api.Provider
	apiKeyVariable string
	enableCreate   bool
}

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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		var code exitCode // a command's outcome, already reported (cli.go)
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "video-task-mcp:", err)
		os.Exit(2)
	}
}

// run is main with its inputs and outputs passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, serverName, currentVersion())
		return nil
	}
	logger := newLogger(stderr, cfg.logLevel)

	opts := []api.Option{
		api.WithBaseURL(cfg.baseURL),
		api.WithUserAgent(serverName + "/" + currentVersion()),
		api.WithLogger(logger),
		api.WithRateLimit(cfg.maxQPS),
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
		return err
	}
	if cfg.apiKey == "" && cfg.command == nil {
		logger.Warn("no API key: every tool call will fail until it is set",
			"variable", cfg.apiKeyVariable, "where", "the env block of this server in your MCP client config")
	}
	downloadDir, downloadClient, err := downloadSettings(cfg, logger)
	if err != nil {
		return err
	}
	cfg.downloadDir = downloadDir
	stopping := make(chan struct{})
	mcpServer := tools.NewServer(serverName, currentVersion(), tools.Deps{
		Stopping:           stopping,
		Client:             client,
		PollInterval:       cfg.pollInterval,
		MaxPollInterval:    cfg.maxPollInterval,
		WaitTimeout:        cfg.waitTimeout,
		Logger:             logger,
		APIKeyVariable:     cfg.apiKeyVariable,
		EnableCreate:       cfg.enableCreate,
		DownloadDir:        downloadDir,
		DownloadHTTPClient: downloadClient,
	})
	if cfg.debugAddr != "" {
		if err := serveDebug(cfg.debugAddr, logger); err != nil {
			return err
		}
	}
	logger.Info("starting", "version", currentVersion(), "transport", cfg.transport,
		"provider", client.Provider(), "upstream", client.BaseURL(), "wait_timeout", cfg.waitTimeout)
	if cfg.enableCreate && !cfg.simulate {
		logger.Info("create_video_task is enabled: each call submits a task billed to the account of " + cfg.apiKeyVariable)
	}

	if cfg.command != nil {
		return runCommand(ctx, cfg.command, cfg, mcpServer, stdout, stderr)
	}
	stop := newStopper(mcpServer, stopping, logger)
	switch cfg.transport {
	case "stdio":
		return serveStdio(ctx, stop, stdin, stdout, logger)
	default:
		return serveHTTP(ctx, cfg, stop, logger)
	}
}

// parseConfig reads flags, then the environment for what the flags left unset.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	var logLevel, allowedOrigins string
	fs := flag.NewFlagSet(serverName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.transport, "transport", "stdio", "MCP transport: stdio, sse (HTTP+SSE at /sse and /message) or http (Streamable HTTP at /mcp)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address of the sse and http transports")
	fs.StringVar(&cfg.baseURL, "base-url", "", "upstream base URL (env "+envBaseURL+", default "+api.DefaultBaseURL+")")
	fs.StringVar(&allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides localhost, e.g. https://app.example.com")
	fs.DurationVar(&cfg.pollInterval, "poll-interval", tools.DefaultPollInterval, "first pause between polls of a wait")
	fs.DurationVar(&cfg.maxPollInterval, "max-poll-interval", tools.DefaultMaxPollInterval, "longest pause between polls of a wait")
	fs.DurationVar(&cfg.waitTimeout, "wait-timeout", tools.DefaultWaitTimeout, "default budget of one wait_for_video_task call")
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "serve Go's pprof and expvar on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	fs.Float64Var(&cfg.maxQPS, "max-qps", 10, "most upstream requests per second, shared by all calls (the upstream allows about 20 per account)")
	fs.StringVar(&logLevel, "log-level", "", "log level: debug, info, warn or error (env "+envLogLevel+", default info)")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	var pf providerFlags
	addProviderFlags(fs, &pf)
	fs.StringVar(&cfg.downloadDir, "download-dir", "", "offer download_video, which saves finished videos into this directory (made if missing); off: nothing is written to disk")
	fs.BoolVar(&cfg.simulate, "simulate", false, "answer from a built-in simulated upstream: no key or network needed (same as --base-url "+simulateBaseURL+")")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: %s [flags] [get|wait|create ARGS...: see Commands below]

An MCP server for following Bailian (Wan) video-generation tasks on api.gpt.ge or DashScope
(and, with --enable-create, submitting them).
Serves MCP over stdio unless --transport says otherwise.

Flags:
`, serverName)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, `
Environment:
  %-25s API key sent as the bearer token (required for real calls; never a flag)
  %-25s API key with --provider dashscope, instead of %s
  %-25s 1 offers create_video_task, when --enable-create is not given
  %-25s upstream base URL, when --base-url is not given ("%s" simulates it)
  %-25s log level, when --log-level is not given
  %-25s bearer token that sse and http clients must send (unset: no client authentication)
`, envAPIKey, envDashScopeKey, envAPIKey, envEnableCreate, envBaseURL, simulateBaseURL, envLogLevel, envAuthToken)
	}
	cmd, err := parseCommandLine(fs, args)
	if err != nil {
		return cfg, err
	}
	cfg.command = cmd

	cfg.apiKey = strings.TrimSpace(getenv(envAPIKey))
	cfg.authToken = strings.TrimSpace(getenv(envAuthToken))
	if allowedOrigins != "" {
		cfg.allowedOrigins = strings.Split(allowedOrigins, ",")
	}
	cfg.baseURL = firstNonEmpty(cfg.baseURL, getenv(envBaseURL), api.DefaultBaseURL)
	if cfg.baseURL == simulateBaseURL {
		cfg.simulate = true
	}
	if cfg.simulate {
		cfg.baseURL = simulate.BaseURL
		cfg.apiKey = firstNonEmpty(cfg.apiKey, simulatedAPIKey)
	}
	if err := resolveProvider(&cfg, fs, pf, getenv); err != nil {
		return cfg, err
	}
	logLevel = firstNonEmpty(logLevel, getenv(envLogLevel), defaultLogLevel(cfg))
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("log level %q: want debug, info, warn or error", logLevel)
	}
	switch cfg.transport {
	case "stdio", "sse", "http":
	default:
		return cfg, fmt.Errorf("--transport %q: want stdio, sse or http", cfg.transport)
	}
	// !(x > 0) also refuses NaN; an infinite rate would turn the limit off.
	if cfg.pollInterval <= 0 || cfg.maxPollInterval <= 0 || cfg.waitTimeout <= 0 || !(cfg.maxQPS > 0) || math.IsInf(cfg.maxQPS, 1) {
		return cfg, errors.New("--poll-interval, --max-poll-interval, --wait-timeout and --max-qps must be positive")
	}
	if cfg.maxPollInterval < cfg.pollInterval {
		return cfg, fmt.Errorf("--max-poll-interval %s is shorter than --poll-interval %s", cfg.maxPollInterval, cfg.pollInterval)
	}
	return cfg, nil
}

// newLogger logs to stderr with tint, in colour only when stderr is a terminal.
func newLogger(stderr io.Writer, level slog.Level) *slog.Logger {
	return slog.New(tint.NewHandler(stderr, &tint.Options{
		Level:      level,
		TimeFormat: time.TimeOnly,
		NoColor:    !isTerminal(stderr),
	}))
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

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
