// Package api is the client of the upstream task API: GET {base}/task/{task_id} on the
// api.gpt.ge aggregator, which passes Alibaba Bailian (DashScope) task bodies through, or
// GET {base}/api/v1/tasks/{task_id} on DashScope itself (see Provider); and, for CreateTask,
// their submission endpoints. It uses the standard library only and knows nothing of MCP.
package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/video-task-mcp/video-task-mcp/internal/redact"
)

// DefaultBaseURL is the aggregator's public endpoint.
const DefaultBaseURL = "https://api.gpt.ge"

// MaxBodySize is the largest upstream body read. A task body is a few KiB.
const MaxBodySize = 1 << 20

// RetryPolicy says how GetTask retries transient failures, and bounds the time of a GetTask or
// CreateTask call (a submission is never retried once it may have been sent).
type RetryPolicy struct {
	// Retries is how many times a transient failure is retried after the first attempt.
	Retries int
	// BaseDelay is the first backoff; each retry doubles it, with jitter.
	BaseDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured by waiting; a longer one ends the
	// call at once with the wait in the error.
	MaxRetryAfter time.Duration
	// CallTimeout is the time budget of one GetTask or CreateTask call from its first turn
	// under the rate limit: every attempt, every backoff and every later turn. The wait for
	// the first turn is bounded by the caller's context alone. Zero means no bound. Callers
	// that wait for a call read it from Client.CallBudget rather than keeping a copy.
	CallTimeout time.Duration
}

// DefaultRetryPolicy is the contract's: 3 retries from about 200 ms, Retry-After up to 10 s,
// and a call that gives up within 15 s of its first turn under the rate limit.
var DefaultRetryPolicy = RetryPolicy{
	Retries:       3,
	BaseDelay:     200 * time.Millisecond,
	MaxRetryAfter: 10 * time.Second,
	CallTimeout:   15 * time.Second,
}

// Client queries tasks. It is safe for concurrent use; share one per process so that
// connections are reused.
type Client struct {
	baseURL    *url.URL
	token      string
	httpClient *http.Client
	userAgent  string
	retry      RetryPolicy
	limiter    Limiter  // nil: no limit
	provider   Provider // "": ProviderGPTGE
	logger     *slog.Logger
	redactor   *redact.Redactor // removes token from what the upstream says
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the upstream base URL (default DefaultBaseURL). It must be absolute http
// or https; a path prefix is kept.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil {
			// url.Parse's error quotes the URL whole, credentials and all: leave it out.
			return errors.New("api: the base URL cannot be parsed; want an absolute http or https URL")
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("api: base URL %q: want an absolute http or https URL", u.Redacted())
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("api: base URL %q: must not carry a query, fragment or credentials", u.Redacted())
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient replaces the default HTTP client (see NewHTTPClient).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		c.httpClient = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		c.retry = p
		return nil
	}
}

// WithRateLimit limits the requests of this client, retries included, to perSecond; callers
// beyond it wait for their turn. A 429 answer holds every caller back for its Retry-After (at
// most maxRateLimitPause), or a second when it gives none. Zero or less means no limit.
func WithRateLimit(perSecond float64) Option {
	return func(c *Client) error {
		c.limiter = nil
		if perSecond > 0 {
			c.limiter = NewLimiter(perSecond)
		}
		return nil
	}
}

// WithLimiter has every request of this client, retries included, take its turn from l, and
// every 429 pause l, as WithRateLimit does with a limiter of its own. Clients that share l
// share its limit. Nil means no limit.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error {
		c.limiter = l
		return nil
	}
}

// maxRateLimitPause bounds how long one 429 holds every caller back.
const maxRateLimitPause = time.Minute

// WithLogger sets where retries are logged, at debug level. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		c.logger = l
		return nil
	}
}

// NewClient returns a client that authenticates with token. An empty token is allowed: every
// GetTask then fails with KindMissingAPIKey, so that a server can start without one and say
// what is missing.
func NewClient(token string, opts ...Option) (*Client, error) {
	c := &Client{
		token:      token,
		redactor:   redact.New(token),
		httpClient: NewHTTPClient(),
		userAgent:  "video-task-mcp",
		retry:      DefaultRetryPolicy,
		logger:     slog.New(slog.DiscardHandler),
	}
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewHTTPClient returns the HTTP client the API client uses by default: proxies from the
// environment, bounded connect, TLS and header waits, a 10 s cap on one attempt, and
// keep-alive connections kept for reuse.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 8 * time.Second,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		},
		// A redirect would carry the bearer token to wherever it points; the task API
		// never redirects, so refuse to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// BaseURL returns the upstream base URL.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// CallBudget is the time budget of one GetTask or CreateTask call from its first turn under
// the rate limit (RetryPolicy.CallTimeout). A caller that waits for another's answer, or bounds
// the wait for a turn of its own, waits this long. Zero means no bound.
func (c *Client) CallBudget() time.Duration { return c.retry.CallTimeout }

// HasToken reports whether an API key is configured.
func (c *Client) HasToken() bool { return c.token != "" }

// TaskURL returns the query URL of a task id, validated (see ValidateTaskID) and its path
// segment escaped: {base}/task/{id} on the aggregator, {base}/api/v1/tasks/{id} on DashScope.
func (c *Client) TaskURL(taskID string) (string, error) {
	id, err := ValidateTaskID(taskID)
	if err != nil {
		return "", err
	}
	return c.taskURL(id), nil
}

// taskURL is TaskURL for an id already validated.
func (c *Client) taskURL(id string) string {
	u := *c.baseURL
	u.Path = c.baseURL.Path + c.queryPath() + id
	u.RawPath = c.baseURL.EscapedPath() + c.queryPath() + url.PathEscape(id)
	return u.String()
}

// GetTask queries one task. The id is validated first (see ValidateTaskID). Transient
// failures are retried as RetryPolicy says; every failure is an *Error.
func (c *Client) GetTask(ctx context.Context, taskID string) (*Task, error) {
	id, err := ValidateTaskID(taskID)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, request{method: http.MethodGet, target: c.taskURL(id), urgent: isUrgent(ctx), logAttrs: []any{"task_id", id}})
}

// awaitTurn waits for the rate limit to let a request go. It returns nil when it may; an
// *Error of KindRateLimited when no turn comes before ctx's deadline, so that nothing was
// sent; or the error of a cancelled ctx.
func (c *Client) awaitTurn(ctx context.Context, urgent bool) *Error {
	if c.limiter == nil {
		return nil
	}
	err := c.limiter.Wait(ctx, urgent)
	var noTurn *NoTurnError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &noTurn), errors.Is(err, context.DeadlineExceeded):
		var wait time.Duration
		if noTurn != nil {
			wait = noTurn.Wait
		}
		return &Error{Kind: KindRateLimited, RetryAfter: wait,
			Message: "too many upstream requests at once: the server's --max-qps limit, or a 429 the upstream sent, holds requests back; nothing was sent"}
	}
	return contextError(ctx, nil, 0)
}

// rateLimited pauses the rate limit after the upstream answered e with 429: for its
// Retry-After, at most maxRateLimitPause, or a second when it gave none.
func (c *Client) rateLimited(e *Error) {
	if e.Kind == KindRateLimited && c.limiter != nil {
		c.limiter.Pause(min(cmp.Or(e.RetryAfter, time.Second), maxRateLimitPause))
	}
}
