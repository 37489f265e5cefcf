// Package api is the client of the upstream task API: GET {base}/task/{task_id} on the
// api.gpt.ge aggregator, which passes Alibaba Bailian (DashScope) task bodies through, or
// GET {base}/api/v1/tasks/{task_id} on DashScope itself (see Provider); and, for CreateTask,
// their submission endpoints. It uses the standard library only and knows nothing of MCP.
package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	// CallTimeout bounds one GetTask call, retries included.
	CallTimeout time.Duration
}

// DefaultRetryPolicy is the contract's: 3 retries from about 200 ms, Retry-After up to 10 s,
// and a call that gives up within 15 s.
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
	if c.token == "" {
		return nil, &Error{Kind: KindMissingAPIKey, Message: "no API key is configured"}
	}
	if c.retry.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.retry.CallTimeout)
		defer cancel()
	}
	target := c.taskURL(id)
	var last *Error // the previous attempt's failure
	for attempt := 1; ; attempt++ {
		task, err := c.getOnce(ctx, target)
		if err == nil {
			return task, nil
		}
		if err.Held && last != nil {
			// A retry the rate limit held back: what the upstream said last is the news.
			return nil, last
		}
		err.Attempts = attempt
		last = err
		// A query the rate limit held back is not retried here: its turn would come too
		// late for this call anyway. The caller decides when to ask again.
		if !err.Transient() || err.Held || attempt > c.retry.Retries {
			return nil, err
		}
		if err.RetryAfter > c.retry.MaxRetryAfter {
			return nil, err
		}
		delay := max(err.RetryAfter, c.backoff(attempt))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return nil, err
		}
		c.logger.DebugContext(ctx, "retrying task query",
			"task_id", id, "attempt", attempt, "delay", delay, "error", err.Error())
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, contextError(ctx, err, attempt)
		case <-timer.C:
		}
	}
}

// backoff is the jittered exponential delay before retry number attempt (1-based):
// BaseDelay·2^(attempt-1), scaled by a random factor in [0.5, 1.5).
func (c *Client) backoff(attempt int) time.Duration {
	// Past 2^20 the delay is longer than any call may take; stop before the shift overflows.
	d := c.retry.BaseDelay << min(attempt-1, 20)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// contextError reports a call ended by its context. When the caller cancelled, the
// context's own error is kept so that errors.Is(err, context.Canceled) holds.
func contextError(ctx context.Context, last *Error, attempts int) *Error {
	e := &Error{Kind: KindUnavailable, Attempts: attempts, Err: ctx.Err()}
	if last != nil {
		e.StatusCode, e.Code, e.Message, e.RequestID = last.StatusCode, last.Code, last.Message, last.RequestID
		e.RetryAfter = last.RetryAfter
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && last.Kind == KindRateLimited {
			e.Kind = KindRateLimited
		}
	}
	return e
}

// awaitTurn waits for the rate limit to let a request go. It returns nil when it may, an
// *Error with Held set when no turn comes before ctx's deadline (nothing was sent), or the
// error of a cancelled ctx.
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
		return &Error{Kind: KindRateLimited, RetryAfter: wait, Held: true,
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

// getOnce makes one request and classifies its outcome.
func (c *Client) getOnce(ctx context.Context, target string) (*Task, *Error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &Error{Kind: KindInvalidTaskID, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	if e := c.awaitTurn(ctx, isUrgent(ctx)); e != nil {
		return nil, e
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx, nil, 0)
		}
		return nil, &Error{Kind: KindUnavailable, Err: scrubURLError(err)}
	}
	defer resp.Body.Close()

	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	body, err := readLimited(resp)
	if err != nil {
		// Drain nothing more: a body over the limit is never read whole.
		switch {
		case errors.Is(err, errBodyTooLarge) && !ok:
			// The status still says what happened: a 503 with a huge gateway page
			// is as transient as one with a small page.
			e := statusError(resp, nil)
			e.Err = err
			return nil, e
		case errors.Is(err, errBodyTooLarge):
			return nil, &Error{Kind: KindNotATask, StatusCode: resp.StatusCode, Err: err}
		case ctx.Err() != nil:
			return nil, contextError(ctx, nil, 0)
		}
		return nil, &Error{Kind: KindUnavailable, StatusCode: resp.StatusCode, Err: scrubURLError(err)}
	}
	body = c.redact(body)

	if !ok {
		e := statusError(resp, body)
		c.rateLimited(e)
		return nil, e
	}
	task, derr := decodeTask(body)
	if derr != nil {
		derr.StatusCode = resp.StatusCode
		return nil, derr
	}
	return task, nil
}

var errBodyTooLarge = fmt.Errorf("body larger than %d bytes", MaxBodySize)

// minRedactLen is the shortest API key that redact removes from bodies: a shorter one cannot
// be a real key, and replacing it would mangle ordinary words.
const minRedactLen = 8

// redact replaces the API key wherever a body echoes it (some relays quote the key they
// refused), so that no message built from the body can repeat it.
func (c *Client) redact(body []byte) []byte {
	if len(c.token) < minRedactLen || !bytes.Contains(body, []byte(c.token)) {
		return body
	}
	return bytes.ReplaceAll(body, []byte(c.token), []byte("[redacted]"))
}

// readLimited reads the body, refusing one over MaxBodySize without reading it all.
func readLimited(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > MaxBodySize {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > MaxBodySize {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// statusError turns a non-2xx answer into an *Error, keeping the upstream's message.
func statusError(resp *http.Response, body []byte) *Error {
	env := decodeEnvelope(body)
	e := &Error{StatusCode: resp.StatusCode, Code: env.code, Message: env.message, RequestID: env.requestID}
	if e.Message == "" && e.Code == "" {
		e.Message = bodySnippet(body)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e.Kind = KindUnauthorized
	case code == http.StatusNotFound:
		e.Kind = KindNotFound
	case code == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusInternalServerError || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		e.Kind = KindUnavailable
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusBadRequest && isTaskNotExist(env.code, env.message):
		e.Kind = KindNotFound
	case code >= 300 && code <= 399:
		// Redirects are not followed (they would carry the key elsewhere): the base URL
		// is most likely wrong, such as http:// for an https:// service.
		e.Kind = KindRejected
		e.Code, e.Message = "", fmt.Sprintf("the upstream redirected to %q; redirects are not followed: check the base URL setting (--base-url or GPTGE_BASE_URL)", redirectTarget(resp))
	default:
		e.Kind = KindRejected
	}
	return e
}

// redirectTarget is where a redirect points, without its query (it may carry a signature).
func redirectTarget(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "(no location)"
	}
	loc.RawQuery, loc.Fragment = "", ""
	return loc.Redacted()
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Cap absurd values so the multiplication cannot overflow; anything this long
		// is refused as too long anyway.
		return time.Duration(min(secs, 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			// Round up: an HTTP date has whole seconds, and waiting less than it says
			// would retry before the upstream allows.
			return min(d+time.Second-1, 7*24*time.Hour).Truncate(time.Second)
		}
	}
	return 0
}

// scrubURLError drops the request URL from a *url.Error: the message stays useful and short,
// and never depends on what the URL carries.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request: %w", strings.ToUpper(ue.Op), ue.Err)
	}
	return err
}
