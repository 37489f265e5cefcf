package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/httpguard"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// Environment variables read.
const (
	envAPIKey   = "GPTGE_API_KEY"
	envBaseURL  = "GPTGE_BASE_URL"
	envLogLevel = "LOG_LEVEL"
	// envAuthToken is the bearer token HTTP clients must send; unset, there is no client
	// authentication.
	envAuthToken = "MCP_AUTH_TOKEN"
	// envDashScopeKey holds the key when the provider is dashscope.
	envDashScopeKey = "DASHSCOPE_API_KEY"
	// envEnableCreate, set to 1 (or true), offers create_video_task like --enable-create.
	envEnableCreate = "VIDEO_TASK_ENABLE_CREATE"
)

// simulateBaseURL, given as the base URL, turns the simulator on like --simulate.
const simulateBaseURL = "simulate"

// simulatedAPIKey stands in for a missing key when simulating. It must not occur in simulated
// bodies: the client redacts its key from what it quotes.
const simulatedAPIKey = "no-key-needed"

// config is everything the server is run with. parseConfig builds it whole from the command
// line and the environment; nothing changes it afterwards.
type config struct {
	transport       string
	addr            string
	pollInterval    time.Duration
	maxPollInterval time.Duration
	waitTimeout     time.Duration
	maxQPS          float64
	authToken       string
	debugAddr       string
	allowedOrigins  []string
	// Bounds of the HTTP transports: open connections, open SSE sessions, tool calls running
	// in all and for one client (calllimit.go), and the time a request body may take (zero:
	// httpguard's default; tests shorten it).
	maxConnections    int
	maxSSESessions    int
	maxCalls          int
	maxCallsPerClient int
	bodyTimeout       time.Duration
	logLevel          slog.Level
	showVersion       bool
	// downloadDir is --download-dir as given: "" offers no download_video and writes nothing.
	downloadDir string
	// command is the command to run instead of serving; nil to serve (cli.go).
	command *command

	// The upstream: which provider, where, with which key, and whether it is the simulator.
	provider api.Provider
	baseURL  string
	apiKey   string
	// apiKeyVariable names the variable the key comes from, for messages about a missing key.
	apiKeyVariable string
	simulate       bool
	enableCreate   bool
}

// flagValues are the flags as given, before the environment fills in what they left unset.
type flagValues struct {
	transport         string
	addr              string
	baseURL           string
	allowedOrigins    string
	pollInterval      time.Duration
	maxPollInterval   time.Duration
	waitTimeout       time.Duration
	debugAddr         string
	maxQPS            float64
	maxConnections    int
	maxSSESessions    int
	maxCalls          int
	maxCallsPerClient int
	logLevel          string
	showVersion       bool
	provider          string
	region            string
	enableCreate      bool
	downloadDir       string
	simulate          bool
}

// parseConfig reads the flags, then the environment for what the flags left unset, and checks
// the result.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var f flagValues
	fs := newFlagSet(&f, stderr)
	cmd, err := parseCommandLine(fs, args)
	if err != nil {
		return config{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	rawToken := getenv(envAuthToken)
	if rawToken != "" && strings.TrimSpace(rawToken) == "" {
		return config{}, errors.New(envAuthToken + " is set but blank, which would leave the HTTP transports open to anyone: set a token (such as the output of openssl rand -hex 32), or unset it to run without client authentication")
	}
	cfg := config{
		transport:         f.transport,
		addr:              f.addr,
		pollInterval:      f.pollInterval,
		maxPollInterval:   f.maxPollInterval,
		waitTimeout:       f.waitTimeout,
		maxQPS:            f.maxQPS,
		authToken:         strings.TrimSpace(rawToken),
		maxConnections:    f.maxConnections,
		maxSSESessions:    f.maxSSESessions,
		maxCalls:          f.maxCalls,
		maxCallsPerClient: f.maxCallsPerClient,
		debugAddr:         f.debugAddr,
		showVersion:       f.showVersion,
		downloadDir:       f.downloadDir,
		command:           cmd,
	}
	if f.allowedOrigins != "" {
		cfg.allowedOrigins = strings.Split(f.allowedOrigins, ",")
	}
	if err := resolveUpstream(&cfg, f, set, getenv); err != nil {
		return config{}, err
	}
	logLevel := firstNonEmpty(f.logLevel, getenv(envLogLevel), defaultLogLevel(cmd))
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return config{}, fmt.Errorf("log level %q: want debug, info, warn or error", logLevel)
	}
	if err := cfg.check(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// newFlagSet defines the server's flags on a new flag set that stores them in f.
func newFlagSet(f *flagValues, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(serverName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.transport, "transport", "stdio", "MCP transport: stdio, sse (HTTP+SSE at /sse and /message) or http (Streamable HTTP at /mcp)")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address of the sse and http transports")
	fs.StringVar(&f.baseURL, "base-url", "", "upstream base URL (env "+envBaseURL+", default "+api.DefaultBaseURL+")")
	fs.StringVar(&f.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides localhost, e.g. https://app.example.com")
	fs.DurationVar(&f.pollInterval, "poll-interval", tools.DefaultPollInterval, "first pause between polls of a wait")
	fs.DurationVar(&f.maxPollInterval, "max-poll-interval", tools.DefaultMaxPollInterval, "longest pause between polls of a wait")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", tools.DefaultWaitTimeout, "default budget of one wait_for_video_task call")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve Go's pprof and expvar on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	fs.Float64Var(&f.maxQPS, "max-qps", 10, "most upstream requests per second, shared by all calls (the upstream allows about 20 per account)")
	fs.IntVar(&f.maxConnections, "max-connections", defaultMaxConnections, "most open connections of the sse and http transports, lowered to fit the open-file limit; past it: 503")
	fs.IntVar(&f.maxSSESessions, "max-sse-sessions", defaultMaxSSESessions, "most open SSE sessions; past it: 503")
	fs.IntVar(&f.maxCalls, "max-calls", defaultMaxCalls, "most tool calls running at once over sse and http, all clients together; past it: an error saying to call again")
	fs.IntVar(&f.maxCallsPerClient, "max-calls-per-client", defaultMaxCallsPerClient, "most tool calls running at once for one client: an SSE session, or one remote address over stateless http; past it: an error saying to call again")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn or error (env "+envLogLevel+", default info)")
	fs.BoolVar(&f.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&f.provider, "provider", string(api.ProviderGPTGE), "upstream: gptge (api.gpt.ge, key in "+envAPIKey+") or dashscope (Alibaba Cloud Model Studio, key in "+envDashScopeKey+")")
	fs.StringVar(&f.region, "region", "", "with --provider dashscope: beijing (default), singapore, virginia, or a base URL such as a workspace endpoint")
	fs.BoolVar(&f.enableCreate, "enable-create", false, "offer the create_video_task tool, which submits billed tasks (env "+envEnableCreate+"=1; off by default)")
	fs.StringVar(&f.downloadDir, "download-dir", "", "offer download_video, which saves finished videos into this directory (made if missing); off: nothing is written to disk")
	fs.BoolVar(&f.simulate, "simulate", false, "answer from a built-in simulated upstream: no key or network needed (same as --base-url "+simulateBaseURL+")")
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
	return fs
}

// resolveUpstream sets the upstream part of cfg, and whether submissions are offered, from the
// flags (set names those given) and the environment: the provider, its base URL and key, the
// variable that names the key. Flags win over the environment.
func resolveUpstream(cfg *config, f flagValues, set map[string]bool, getenv func(string) string) error {
	provider, err := api.ParseProvider(f.provider)
	if err != nil {
		return fmt.Errorf("--provider %q: want gptge or dashscope", f.provider)
	}
	cfg.provider = provider

	cfg.enableCreate = f.enableCreate
	if !set["enable-create"] {
		if cfg.enableCreate, err = parseEnvBool(getenv(envEnableCreate)); err != nil {
			return fmt.Errorf("%s=%q: want 1 or 0", envEnableCreate, getenv(envEnableCreate))
		}
	}

	baseURL := firstNonEmpty(f.baseURL, getenv(envBaseURL), api.DefaultBaseURL)
	cfg.simulate = f.simulate || baseURL == simulateBaseURL

	switch provider {
	case api.ProviderDashScope:
		if set["base-url"] && !cfg.simulate {
			return errors.New("--base-url is for --provider gptge; with --provider dashscope, give --region a region or a base URL")
		}
		cfg.apiKeyVariable = envDashScopeKey
		if !cfg.simulate {
			if baseURL, err = api.DashScopeBaseURL(f.region); err != nil {
				return fmt.Errorf("--%w", err)
			}
		}
	default:
		if set["region"] {
			return errors.New("--region is for --provider dashscope; the gptge provider takes --base-url")
		}
		cfg.apiKeyVariable = envAPIKey
	}
	cfg.apiKey = strings.TrimSpace(getenv(cfg.apiKeyVariable))
	cfg.baseURL = baseURL
	if cfg.simulate {
		cfg.baseURL = simulate.BaseURL
		cfg.apiKey = firstNonEmpty(cfg.apiKey, simulatedAPIKey)
	}
	return nil
}

// check refuses settings that parse but cannot be served with.
func (cfg config) check() error {
	switch cfg.transport {
	case "stdio", "sse", "http":
	default:
		return fmt.Errorf("--transport %q: want stdio, sse or http", cfg.transport)
	}
	// !(x > 0) also refuses NaN; an infinite rate would turn the limit off.
	if cfg.pollInterval <= 0 || cfg.maxPollInterval <= 0 || cfg.waitTimeout <= 0 || !(cfg.maxQPS > 0) || math.IsInf(cfg.maxQPS, 1) {
		return errors.New("--poll-interval, --max-poll-interval, --wait-timeout and --max-qps must be positive")
	}
	if cfg.maxConnections <= 0 || cfg.maxSSESessions <= 0 || cfg.maxCalls <= 0 || cfg.maxCallsPerClient <= 0 {
		return errors.New("--max-connections, --max-sse-sessions, --max-calls and --max-calls-per-client must be positive")
	}
	// Origins are checked here, so that a pattern is refused whatever the transport.
	if _, err := httpguard.New(httpguard.Config{AllowedOrigins: cfg.allowedOrigins}); err != nil {
		return err
	}
	if cfg.maxPollInterval < cfg.pollInterval {
		return fmt.Errorf("--max-poll-interval %s is shorter than --poll-interval %s", cfg.maxPollInterval, cfg.pollInterval)
	}
	return nil
}

// defaultLogLevel is info for the server, and error for a command: its stderr is for the
// person at the terminal, who gets every failure from the result itself (a failed query, a
// video not saved) and would otherwise read it twice, once as a warning log line.
func defaultLogLevel(cmd *command) string {
	if cmd != nil {
		return "error"
	}
	return "info"
}

// parseEnvBool reads a boolean variable: unset or empty is false.
func parseEnvBool(v string) (bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
