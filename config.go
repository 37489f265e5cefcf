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
	// envRedisURL, like --redis-url, names the Redis that replicas share.
	envRedisURL = "REDIS_URL"
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
	maxStdioCalls   int
	authToken       string
	debugAddr       string
	allowedOrigins  []string
	// Bounds of the HTTP transports: open connections, open SSE sessions, tool calls running
	// in all and for one client (calllimit.go), and the time a request body may take and a
	// write to a client may wait (zero: httpguard's defaults; tests shorten them).
	maxConnections          int
	maxSSESessions          int
	maxSSESessionsPerClient int
	maxCalls                int
	maxCallsPerClient       int
	bodyTimeout             time.Duration
	writeTimeout            time.Duration
	logLevel                slog.Level
	showVersion             bool
	// downloadDir is --download-dir without surrounding white space: "" offers no
	// download_video and writes nothing.
	downloadDir string
	// redisURL names the Redis that processes of one account share; "" shares nothing.
	redisURL string
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
	transport               string
	addr                    string
	baseURL                 string
	allowedOrigins          string
	pollInterval            time.Duration
	maxPollInterval         time.Duration
	waitTimeout             time.Duration
	debugAddr               string
	maxQPS                  float64
	maxConnections          int
	maxSSESessions          int
	maxSSESessionsPerClient int
	maxCalls                int
	maxCallsPerClient       int
	maxStdioCalls           int
	logLevel                string
	showVersion             bool
	provider                string
	region                  string
	enableCreate            bool
	downloadDir             string
	simulate                bool

	// redisURL is --redis-url as given.
	redisURL string
}

// parseConfig reads the flags, then the environment for what the flags left unset, and checks
// the result. Asked for help, it prints it on stdout and returns flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var f flagValues
	fs := newFlagSet(&f)
	cmd, err := parseCommandLine(fs, args)
	if help, ok := errors.AsType[helpRequest](err); ok {
		writeHelp(stdout, help.command)
		return config{}, flag.ErrHelp
	}
	if err != nil {
		return config{}, err
	}
	// A flag given an empty value counts as not given: a host that starts the server from an
	// MCP bundle's manifest passes a setting the user left empty as --region= or the like.
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		if strings.TrimSpace(fl.Value.String()) != "" {
			set[fl.Name] = true
		}
	})

	rawToken := getenv(envAuthToken)
	if rawToken != "" && strings.TrimSpace(rawToken) == "" {
		return config{}, errors.New(envAuthToken + " is set but blank, which would leave the HTTP transports open to anyone: set a token (such as the output of openssl rand -hex 32), or unset it to run without client authentication")
	}
	cfg := config{
		transport:               f.transport,
		addr:                    f.addr,
		pollInterval:            f.pollInterval,
		maxPollInterval:         f.maxPollInterval,
		waitTimeout:             f.waitTimeout,
		maxQPS:                  f.maxQPS,
		authToken:               strings.TrimSpace(rawToken),
		maxConnections:          f.maxConnections,
		maxSSESessions:          f.maxSSESessions,
		maxSSESessionsPerClient: f.maxSSESessionsPerClient,
		maxCalls:                f.maxCalls,
		maxCallsPerClient:       f.maxCallsPerClient,
		maxStdioCalls:           f.maxStdioCalls,
		debugAddr:               f.debugAddr,
		showVersion:             f.showVersion,
		downloadDir:             strings.TrimSpace(f.downloadDir),
		command:                 cmd,

		redisURL: firstNonEmpty(f.redisURL, getenv(envRedisURL)),
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

// newFlagSet defines the server's flags on a new flag set that stores them in f. The set prints
// nothing: parseCommandLine words its errors, and writeHelp prints the help.
func newFlagSet(f *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet(serverName, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.transport, "transport", "stdio", "MCP transport: stdio, sse (HTTP+SSE at /sse and /message) or http (Streamable HTTP at /mcp)")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address of the sse and http transports")
	fs.StringVar(&f.baseURL, "base-url", "", "upstream base URL (env "+envBaseURL+", default "+api.DefaultBaseURL+")")
	fs.StringVar(&f.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides localhost, e.g. https://app.example.com")
	fs.DurationVar(&f.pollInterval, "poll-interval", tools.DefaultPollInterval, "first pause between polls of a wait")
	fs.DurationVar(&f.maxPollInterval, "max-poll-interval", tools.DefaultMaxPollInterval, "longest pause between polls of a wait")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", tools.DefaultWaitTimeout, "default budget of one wait_for_video_task call")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve Go's pprof and expvar on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	fs.Float64Var(&f.maxQPS, "max-qps", 10, "most upstream requests per second, shared by all calls, clients taking turns (the upstream allows about 20 per account)")
	fs.IntVar(&f.maxConnections, "max-connections", defaultMaxConnections, "most open connections of the sse and http transports, lowered to fit the open-file limit; past it: 503")
	fs.IntVar(&f.maxSSESessions, "max-sse-sessions", defaultMaxSSESessions, "most open SSE sessions, all clients together; past it: 503")
	fs.IntVar(&f.maxSSESessionsPerClient, "max-sse-sessions-per-client", defaultMaxSSESessionsPerClient, "most open SSE sessions from one remote address; past it: 503")
	fs.IntVar(&f.maxCalls, "max-calls", defaultMaxCalls, "most tool calls running at once over sse and http, all clients together; past it: an error saying to call again")
	fs.IntVar(&f.maxCallsPerClient, "max-calls-per-client", defaultMaxCallsPerClient, "most tool calls running at once for one client: an SSE session, or one remote address over stateless http; past it: an error saying to call again")
	fs.IntVar(&f.maxStdioCalls, "max-stdio-calls", defaultMaxStdioCalls, fmt.Sprintf("most requests awaiting their answer over stdio; past it a request gets an error at once (at most %d)", maxStdioCallsLimit))
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn or error (env "+envLogLevel+", default info)")
	fs.BoolVar(&f.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&f.provider, "provider", string(api.ProviderGPTGE), "upstream: gptge (api.gpt.ge, key in "+envAPIKey+") or dashscope (Alibaba Cloud Model Studio, key in "+envDashScopeKey+")")
	fs.StringVar(&f.region, "region", "", "with --provider dashscope: beijing (default), singapore, virginia, or a base URL such as a workspace endpoint")
	fs.BoolVar(&f.enableCreate, "enable-create", false, "offer the create_video_task tool, which submits billed tasks (env "+envEnableCreate+"=1; off by default)")
	fs.StringVar(&f.downloadDir, "download-dir", "", "offer download_video, which saves finished videos into this directory (made if missing); off: nothing is written to disk")
	fs.StringVar(&f.redisURL, "redis-url", "", "share the rate limit, task polling and finished tasks with the other processes of this API key through this Redis: redis://, rediss:// or unix:// (env "+envRedisURL+", which keeps a password out of the process list; off by default)")
	fs.BoolVar(&f.simulate, "simulate", false, "answer from a built-in simulated upstream: no key or network needed (same as --base-url "+simulateBaseURL+")")
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
	if err := cfg.checkTransportLimits(); err != nil {
		return err
	}
	if cfg.maxPollInterval < cfg.pollInterval {
		return fmt.Errorf("--max-poll-interval %s is shorter than --poll-interval %s", cfg.maxPollInterval, cfg.pollInterval)
	}
	return nil
}

// checkTransportLimits refuses limits of the transports that cannot be served with, and
// allowed origins that are patterns.
func (cfg config) checkTransportLimits() error {
	if cfg.maxConnections <= 0 || cfg.maxSSESessions <= 0 || cfg.maxSSESessionsPerClient <= 0 || cfg.maxCalls <= 0 || cfg.maxCallsPerClient <= 0 {
		return errors.New("--max-connections, --max-sse-sessions, --max-sse-sessions-per-client, --max-calls and --max-calls-per-client must be positive")
	}
	// Origins are checked here, so that a pattern is refused whatever the transport.
	if _, err := httpguard.New(httpguard.Config{AllowedOrigins: cfg.allowedOrigins}); err != nil {
		return err
	}
	if cfg.maxStdioCalls < 1 || cfg.maxStdioCalls > maxStdioCallsLimit {
		return fmt.Errorf("--max-stdio-calls %d: want a number from 1 to %d", cfg.maxStdioCalls, maxStdioCallsLimit)
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

// defaultCommandTimeout is how long `wait` (and `create --wait`) waits by default: generation
// usually takes 1-5 minutes and can take 10.
const defaultCommandTimeout = 15 * time.Minute

// command is a command given instead of serving: its name, arguments and flags.
type command struct {
	name    string
	args    []string
	timeout time.Duration // wait, create --wait
	wait    bool          // create
}

// defineFlags defines the command's own flags on fs, and reports whether c names a command.
func (c *command) defineFlags(fs *flag.FlagSet) bool {
	switch c.name {
	case "get":
	case "wait":
		fs.DurationVar(&c.timeout, "timeout", defaultCommandTimeout, "how long to wait for the task to end")
	case "create":
		fs.BoolVar(&c.wait, "wait", false, "wait for the new task to end, as wait does")
		fs.DurationVar(&c.timeout, "timeout", defaultCommandTimeout, "with --wait: how long to wait for the task to end")
	default:
		return false
	}
	return true
}

// check refuses arguments the command cannot run with, before anything is built or sent.
func (c *command) check() error {
	switch {
	case (c.name == "get" || c.name == "wait") && len(c.args) != 1:
		return fmt.Errorf("%s takes one task id, not %d arguments (run %s %s --help)", c.name, len(c.args), serverName, c.name)
	case c.name == "create" && len(c.args) == 0:
		return fmt.Errorf("create needs the task's arguments, e.g. model=wan2.5-t2v-preview prompt=\"a red fox\" (run %s create --help)", serverName)
	case c.timeout < 0 || (c.name == "wait" && c.timeout == 0):
		return fmt.Errorf("--timeout %s: want a positive duration", c.timeout)
	case c.name == "create":
		return nil
	}
	if _, err := api.ValidateTaskID(c.args[0]); err != nil {
		var e *api.Error
		reason := err.Error()
		if errors.As(err, &e) {
			reason = strings.TrimPrefix(e.Message, "task_id ")
		}
		return fmt.Errorf("%s: the task id %s (run %s %s --help)", c.name, reason, serverName, c.name)
	}
	return nil
}

// helpRequest is the error of a command line that asks for help: the help of command, or the
// server's when command is "".
type helpRequest struct{ command string }

func (helpRequest) Error() string { return flag.ErrHelp.Error() }
func (helpRequest) Unwrap() error { return flag.ErrHelp }

// parseCommandLine parses args with fs, the server's flags, and returns the command they name,
// or nil to serve. The server's flags may come before the command and, after it, among its
// arguments, so "--simulate wait ID" and "wait ID --simulate" are the same; the command's own
// flags (--timeout, --wait) come after its name. "--" ends the flags. A request for help is a
// helpRequest; other errors are worded for the person who typed the line.
func parseCommandLine(fs *flag.FlagSet, args []string) (*command, error) {
	var refused error
	if err := parseFlags(fs, args, &refused); err != nil {
		return nil, commandLineError(err, refused, "")
	}
	if fs.NArg() == 0 {
		return nil, nil
	}
	cmd := &command{name: fs.Arg(0)}
	if !cmd.defineFlags(fs) {
		return nil, fmt.Errorf("unexpected argument %q: the commands are get, wait and create (run %s --help)", cmd.name, serverName)
	}
	rest := fs.Args()[1:]
	for len(rest) > 0 {
		if err := parseFlags(fs, rest, &refused); err != nil {
			return nil, commandLineError(err, refused, cmd.name)
		}
		consumed := len(rest) - fs.NArg()
		if consumed > 0 && rest[consumed-1] == "--" {
			cmd.args = append(cmd.args, fs.Args()...)
			break
		}
		if fs.NArg() == 0 {
			break
		}
		cmd.args = append(cmd.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	return cmd, cmd.check()
}

// parseFlags parses args with fs, every flag of which reports a value it refuses in *refused,
// worded by refusedValue.
func parseFlags(fs *flag.FlagSet, args []string, refused *error) error {
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *refusedValue, refusedBool:
			return
		}
		v := &refusedValue{Value: f.Value, name: f.Name, refused: refused}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = refusedBool{v}
		} else {
			f.Value = v
		}
	})
	return fs.Parse(args)
}

// refusedValue wraps a flag's value to word a value it refuses for a person: the flag's name
// and the form it wants, where the flag package says `invalid value "soon" for flag
// -poll-interval: parse error`. The flag package keeps only the text of Set's error, so the
// worded one is also left in *refused.
type refusedValue struct {
	flag.Value
	name    string
	refused *error
}

func (v *refusedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		*v.refused = fmt.Errorf("--%s: want %s, not %q", v.name, valueForm(v.Value), s)
		return *v.refused
	}
	return nil
}

// refusedBool is a refusedValue of a boolean flag, which takes no separate value.
type refusedBool struct{ *refusedValue }

func (refusedBool) IsBoolFlag() bool { return true }

// valueForm describes the values a flag takes, by the type of its value.
func valueForm(v flag.Value) string {
	g, _ := v.(flag.Getter)
	if g == nil {
		return "a valid value"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "a duration such as 1s or 500ms"
	case float64:
		return "a number such as 10"
	case bool:
		return "true or false"
	}
	return "a valid value"
}

// commandLineError words an error of fs.Parse: a help request as a helpRequest for command, a
// value refused as refused says, and anything else (an unknown flag, a missing value) with the
// command that lists the flags.
func commandLineError(err, refused error, command string) error {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return helpRequest{command: command}
	case refused != nil:
		return refused
	}
	helpCommand := serverName + " --help"
	if command != "" {
		helpCommand = serverName + " " + command + " --help"
	}
	return fmt.Errorf("%w; run %s to see the flags", err, helpCommand)
}
