// Package tools is the MCP face of the server: the get_video_task and wait_for_video_task
// tools, the opt-in create_video_task and download_video, the video-task:// resource, their
// definitions and handlers side by side, and the server that carries them. It is the only
// package that knows both mcp-go and the upstream client; it turns api.Task values into the
// schema.TaskResult of the contract.
//
// Each tool is parse → domain call → render: its arguments are decoded into the contract's
// input type (inputDecoder), a plain function over schema types does the work (query, wait,
// download, create), and toolFunc wraps the two once; describeError alone words a failure for
// the model. The video-task:// resource and download_video call query itself, and the
// Server's Query, Wait, Download and Create make the domain calls for callers outside MCP.
package tools

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/coord"
	"github.com/video-task-mcp/video-task-mcp/internal/download"
	"github.com/video-task-mcp/video-task-mcp/internal/redact"
)

// Names of the tools.
const (
	GetVideoTaskName     = "get_video_task"
	WaitForVideoTaskName = "wait_for_video_task"
)

// Deps is what the tools need: the upstream client, the polling schedule and a logger.
type Deps struct {
	Client *api.Client
	// PollInterval is the first pause between polls of a wait; it grows towards
	// MaxPollInterval.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// WaitTimeout is a wait's budget when the caller sets none.
	WaitTimeout time.Duration
	Logger      *slog.Logger
	// APIKeyVariable names the environment variable that holds the key, for error messages.
	APIKeyVariable string
	// EnableCreate offers create_video_task, which submits billed tasks. Off, the server has
	// only the query tools.
	EnableCreate bool
	// DownloadDir, when set, offers the download_video tool, which saves finished videos
	// there; it must be absolute and exist (see download.PrepareDir). Empty: nothing is ever
	// written to disk.
	DownloadDir string
	// DownloadHTTPClient fetches videos (default: a client of its own, with timeouts and no
	// API key); MaxDownloadBytes bounds one video (default download.DefaultMaxBytes).
	DownloadHTTPClient *http.Client
	MaxDownloadBytes   int64
	// Secrets never appear in a result, in any JSON or URL escaping: the API key and the
	// clients' bearer token.
	Secrets []string
	// Shared, when set, shares the polling of tasks and the memory of finished ones with the
	// other processes of the same API key (see package coord). Nil: this process alone.
	Shared *coord.Store
}

// Defaults of Deps, as the contract gives them.
const (
	DefaultPollInterval    = time.Second
	DefaultMaxPollInterval = 10 * time.Second
	DefaultWaitTimeout     = 45 * time.Second
)

// Instructions tell the client, once, how the tools fit together.
const Instructions = "Follows Alibaba Bailian (Wan) video-generation tasks submitted through api.gpt.ge. " +
	"Use wait_for_video_task to wait for a video and get_video_task for a quick status check. " +
	"Video URLs expire 24 hours after the task ends."

// Server is the MCP server with its tools, and what a transport needs to stop it well.
type Server struct {
	*server.MCPServer
	h        *handlers
	redactor *redact.Redactor
	inflight *callCounter
	stopping chan struct{} // closed by Shutdown
	stopOnce sync.Once
}

// NewServer returns an MCP server named name at version, with the tools deps asks for and with
// what every transport needs: tool and logging capabilities, panic recovery that answers with
// an error result, and cancellation of a session's running calls when the session ends.
func NewServer(name, version string, deps Deps, opts ...server.ServerOption) *Server {
	calls := newSessionCalls()
	inflight := newCallCounter()
	stopping := make(chan struct{})
	redactor := redact.New(deps.Secrets...)
	hooks := &server.Hooks{}
	hooks.AddOnUnregisterSession(calls.onUnregister)
	base := []server.ServerOption{
		server.WithToolCapabilities(false),
		// resources/list names the finished tasks the server remembers, and changes with them.
		server.WithResourceCapabilities(false, true),
		server.WithPaginationLimit(ResourcePageSize),
		server.WithLogging(),
		server.WithInstructions(instructions(deps)),
		server.WithHooks(hooks),
		// Outermost first: recovery sees panics from everything inside it, and its result
		// is redacted too.
		server.WithToolHandlerMiddleware(redactResults(redactor)),
		server.WithResourceHandlerMiddleware(redactResources(redactor)),
		server.WithToolHandlerMiddleware(recoverPanics(deps.logger())),
		server.WithToolHandlerMiddleware(inflight.middleware),
		server.WithToolHandlerMiddleware(calls.middleware),
	}
	s := server.NewMCPServer(name, version, append(base, opts...)...)
	h := register(s, deps, stopping)
	return &Server{MCPServer: s, h: h, redactor: redactor, inflight: inflight, stopping: stopping}
}

// Shutdown stops the tool calls: running waits answer at once with their latest status and
// the advice to call again (a wait that has not polled yet first takes one answer), downloads
// stop, and queries finish. It returns when no call is running, or when ctx ends: then it
// cancels the calls still running, and returns ctx's error. Calls that start after Shutdown
// behave the same way. Shutdown may be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	if err := s.inflight.wait(ctx); err != nil {
		s.inflight.cancelAll()
		return err
	}
	return nil
}

// register adds to s the query tools, the tools deps enable (download_video with a
// DownloadDir, create_video_task with EnableCreate), the video-task:// resource template, and
// a video-task:// resource for each finished task the server remembers. The waits and
// downloads stop early once stopping is closed. It returns the handlers it registered.
func register(s *server.MCPServer, deps Deps, stopping <-chan struct{}) *handlers {
	h := newHandlers(deps, stopping)
	s.AddTool(getVideoTaskTool(), h.getVideoTask().handler(h))
	s.AddTool(waitForVideoTaskTool(h.waitTimeout), h.waitForVideoTask().handler(h))
	if h.downloads != nil {
		s.AddTool(downloadVideoTool(), h.downloadVideo().handler(h))
	}
	s.AddResourceTemplate(taskResourceTemplate(), h.readTaskResource)
	listed := &finishedResources{srv: s, handler: h.readTaskResource}
	h.finished.onAdd, h.finished.onRemove = listed.added, listed.removed
	if h.createEnabled {
		s.AddTool(createVideoTaskTool(), h.createVideoTask().handler(h))
	}
	return h
}

// How many finished tasks are remembered, and for how long. A finished task never changes,
// and its video URL lives 24 hours: a repeated question within the hour costs no request.
const (
	finishedTaskTTL   = time.Hour
	finishedTaskLimit = 4096
)

// handlers holds what the tool handlers share.
type handlers struct {
	client          *api.Client
	hub             pollHub
	finished        *terminalCache // the finished tasks the hub remembers
	pollInterval    time.Duration
	maxPollInterval time.Duration
	waitTimeout     time.Duration
	keyVariable     string
	stopping        <-chan struct{}
	logger          *slog.Logger
	downloads       *download.Downloader // nil: downloads are off
	createEnabled   bool
}

func newHandlers(d Deps, stopping <-chan struct{}) *handlers {
	h := &handlers{
		client:          d.Client,
		pollInterval:    d.PollInterval,
		maxPollInterval: d.MaxPollInterval,
		waitTimeout:     d.WaitTimeout,
		keyVariable:     d.apiKeyVariable(),
		stopping:        stopping,
		createEnabled:   d.EnableCreate,
		logger:          d.logger(),
	}
	if h.pollInterval <= 0 {
		h.pollInterval = DefaultPollInterval
	}
	if h.maxPollInterval < h.pollInterval {
		h.maxPollInterval = max(h.pollInterval, DefaultMaxPollInterval)
	}
	if h.waitTimeout <= 0 {
		h.waitTimeout = DefaultWaitTimeout
	}
	h.finished = newTerminalCache(finishedTaskTTL, finishedTaskLimit)
	if d.Shared != nil {
		h.hub = newSharedHub(d.Client, h.pollInterval, h.maxPollInterval, h.finished, h.logger, d.Shared)
	} else {
		h.hub = newLocalHub(d.Client, h.pollInterval, h.maxPollInterval, h.finished, h.logger, nil)
	}
	if d.DownloadDir != "" {
		h.downloads = download.New(d.DownloadDir, d.DownloadHTTPClient, d.MaxDownloadBytes)
	}
	return h
}

// apiKeyVariable names the key's environment variable for messages, GPTGE_API_KEY unless set.
func (d Deps) apiKeyVariable() string {
	if d.APIKeyVariable == "" {
		return "GPTGE_API_KEY"
	}
	return d.APIKeyVariable
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// queryAnnotations are the hints of the query tools: they only read, never change anything, may be
// repeated freely, and reach an outside service.
func queryAnnotations(title string) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(true),
		DestructiveHint: mcp.ToBoolPtr(false),
		IdempotentHint:  mcp.ToBoolPtr(true),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
}
