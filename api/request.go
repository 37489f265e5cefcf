package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The one path of every upstream request, queries and submissions alike:
//
//	do:      the first turn under the rate limit, then the call's time budget and the retries
//	         (the only layer that retries), each retry taking a turn of its own
//	send:    build → send → read limited → redact → classify
//
// A query and a submission differ only where the upstream's answer means something else:
// a submission that may have been received is never repeated, and its failures after sending
// have an unknown outcome.

// request is one upstream request as send needs it.
type request struct {
	method string // http.MethodGet queries a task, http.MethodPost submits one
	target string
	body   []byte
	urgent bool // someone waits for this very answer (see Urgent)
	// logAttrs say what the request is about when a retry is logged.
	logAttrs []any
}

// submission reports whether the request creates a task, and so must never be sent twice.
func (r request) submission() bool { return r.method == http.MethodPost }

// do makes the request. It waits for the first turn under the rate limit for as long as ctx
// allows, so that a caller that may wait long (a poll loop, which lasts while anyone follows
// its task) simply waits, and one with a deadline hears at once that no turn comes before it.
// From that turn on the call has its time budget (RetryPolicy.CallTimeout), within which it
// retries what may be retried: a query's transient failures, a submission's failures to
// connect at all.
func (c *Client) do(ctx context.Context, r request) (*Task, error) {
	if c.token == "" {
		return nil, &Error{Kind: KindMissingAPIKey, Message: "no API key is configured"}
	}
	if e := c.awaitTurn(ctx, r.urgent); e != nil {
		return nil, e
	}
	if c.retry.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.retry.CallTimeout)
		defer cancel()
	}
	var last *Error // the previous attempt's failure
	for attempt := 1; ; attempt++ {
		if attempt > 1 && c.awaitTurn(ctx, r.urgent) != nil {
			// No turn for the retry within the budget, or the caller left: what the upstream
			// said last is the news.
			if ctx.Err() != nil {
				return nil, contextError(ctx, last, last.Attempts)
			}
			return nil, last
		}
		task, err, sent := c.send(ctx, r)
		if err == nil {
			return task, nil
		}
		err.Attempts = attempt
		last = err
		if end := c.beforeRetry(ctx, r, err, sent); end != nil {
			return nil, end
		}
	}
}

// beforeRetry waits out the delay before the attempt that follows err, and returns nil; or,
// when no attempt may follow (see retryable), none is left, or the delay would outlast the
// budget, it returns at once the error the call ends with.
func (c *Client) beforeRetry(ctx context.Context, r request, err *Error, sent bool) *Error {
	if !retryable(r, err, sent) || err.Attempts > c.retry.Retries || err.RetryAfter > c.retry.MaxRetryAfter {
		return err
	}
	delay := max(err.RetryAfter, c.backoff(err.Attempts))
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
		return err
	}
	msg := "retrying task query"
	if r.submission() {
		msg = "retrying a submission that could not connect; nothing was sent"
	}
	c.logger.DebugContext(ctx, msg, append(r.logAttrs, "attempt", err.Attempts, "delay", delay, "error", err.Error())...)
	if Sleep(ctx, delay) != nil {
		return contextError(ctx, err, err.Attempts)
	}
	return nil
}

// retryable reports whether another attempt may follow a failed one. A query is retried when
// the failure is transient. A submission is retried only when it could not connect at all, so
// that nothing reached the upstream.
func retryable(r request, err *Error, sent bool) bool {
	if r.submission() {
		return !sent && isDialError(err.Err)
	}
	return err.Transient()
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

// send makes one attempt and classifies its outcome. sent reports whether the request may
// have reached the upstream: once a connection exists, a failure cannot say whether the
// upstream read it. Every string of the task or error it returns has the key redacted.
func (c *Client) send(ctx context.Context, r request) (*Task, *Error, bool) {
	task, e, sent := c.attempt(ctx, r)
	return c.redactTask(task), c.redactError(e), sent
}

func (c *Client) attempt(ctx context.Context, r request) (task *Task, e *Error, sent bool) {
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, r.target, body)
	if err != nil {
		if r.submission() {
			return nil, &Error{Kind: KindInvalidRequest, Err: err}, false
		}
		return nil, &Error{Kind: KindInvalidTaskID, Err: err}, false
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.submission() {
		req.Header.Set("Content-Type", "application/json")
		if c.Provider() == ProviderDashScope {
			// Video synthesis is asynchronous only; without this header DashScope refuses.
			req.Header.Set("X-DashScope-Async", "enable")
		}
		// No Idempotency-Key header: it would let net/http replay the POST on its own after
		// a failure on a reused connection.
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, transportError(ctx, r, err, connected.Load()), connected.Load() || !isConnectError(err)
	}
	defer resp.Body.Close()

	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	raw, err := readLimited(resp)
	if err != nil {
		// Drain nothing more: a body over the limit is never read whole.
		return nil, readError(ctx, r, resp, err), true
	}
	// Quoted in part (a snippet may cut anywhere), a body must not hold the key in any form.
	raw = c.redactor.Bytes(raw)
	if !ok {
		e := statusError(resp, raw)
		if r.submission() {
			e = submitStatusError(resp, e)
		}
		c.rateLimited(e)
		return nil, e, true
	}
	task, derr := decodeTask(raw)
	if r.submission() {
		task, derr = acknowledgement(task, derr, raw)
	}
	if derr != nil {
		derr.StatusCode = resp.StatusCode
		return nil, derr, true
	}
	return task, nil, true
}

// isConnectError reports a failure before any byte of the request was written: a connection
// that could not be opened, or a TLS handshake that failed.
func isConnectError(err error) bool { return isDialError(err) || isTLSError(err) }

// transportError classifies a request that got no answer.
func transportError(ctx context.Context, r request, err error, connected bool) *Error {
	switch {
	case !r.submission() && ctx.Err() != nil:
		return contextError(ctx, nil, 0)
	case !connected && isConnectError(err):
		return &Error{Kind: KindUnavailable, Err: scrubURLError(err)}
	case r.submission():
		// Once connected, the upstream may have read the submission.
		e := &Error{Kind: KindOutcomeUnknown, Err: scrubURLError(err)}
		if ctx.Err() != nil {
			e.Err = fmt.Errorf("%w (%w)", context.Cause(ctx), e.Err)
		}
		return e
	}
	return &Error{Kind: KindUnavailable, Err: scrubURLError(err)}
}

// readError classifies an answer whose body could not be read whole.
func readError(ctx context.Context, r request, resp *http.Response, err error) *Error {
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	switch {
	case r.submission() && ok:
		// A 2xx says the upstream accepted the submission: its task most likely exists,
		// but its id was lost with the body.
		return &Error{Kind: KindOutcomeUnknown, StatusCode: resp.StatusCode, Err: scrubURLError(err)}
	case r.submission():
		e := submitStatusError(resp, statusError(resp, nil))
		e.Err = scrubURLError(err)
		return e
	case errors.Is(err, errBodyTooLarge) && !ok:
		// The status still says what happened: a 503 with a huge gateway page is as
		// transient as one with a small page.
		e := statusError(resp, nil)
		e.Err = err
		return e
	case errors.Is(err, errBodyTooLarge):
		return &Error{Kind: KindNotATask, StatusCode: resp.StatusCode, Err: err}
	case ctx.Err() != nil:
		return contextError(ctx, nil, 0)
	}
	return &Error{Kind: KindUnavailable, StatusCode: resp.StatusCode, Err: scrubURLError(err)}
}

var errBodyTooLarge = fmt.Errorf("body larger than %d bytes", MaxBodySize)

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

// redirectTarget is where a redirect points, without its credentials and query (either may
// carry a secret).
func redirectTarget(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "(no location)"
	}
	loc.User, loc.RawQuery, loc.Fragment = nil, "", ""
	return loc.String()
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
