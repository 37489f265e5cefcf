package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// VideoKind says what a submission generates from, and so which endpoint the aggregator takes
// it on.
type VideoKind int

// The kinds of submission.
const (
	// TextToVideo generates from a prompt alone; parameters take a size ("1280*720").
	TextToVideo VideoKind = iota + 1
	// ImageToVideo animates a first frame (ImgURL); parameters take a resolution ("720P").
	ImageToVideo
)

// String names the kind as the aggregator's endpoints do.
func (k VideoKind) String() string {
	switch k {
	case TextToVideo:
		return "text2video"
	case ImageToVideo:
		return "image2video"
	}
	return fmt.Sprintf("VideoKind(%d)", int(k))
}

// CreateRequest is one submission. CreateTask checks only what it needs to build the request
// (kind, model, prompt, and img_url for image-to-video); what each model accepts is the
// caller's to check before calling.
type CreateRequest struct {
	Kind           VideoKind
	Model          string
	Prompt         string
	NegativePrompt string
	// ImgURL is the first frame of an image-to-video task; it must be empty for text-to-video.
	ImgURL   string
	AudioURL string
	// Size ("W*H") is for text-to-video, Resolution ("480P", "720P", "1080P") for
	// image-to-video; empty leaves the model's default.
	Size       string
	Resolution string
	// Duration is in seconds; 0 leaves the model's default.
	Duration int
	// Seed and PromptExtend are sent only when set.
	Seed         *int64
	PromptExtend *bool
}

// createBody is a submission in DashScope form, the same on both providers.
type createBody struct {
	Model      string       `json:"model"`
	Input      createInput  `json:"input"`
	Parameters createParams `json:"parameters"`
}

type createInput struct {
	Prompt         string `json:"prompt"`
	NegativePrompt string `json:"negative_prompt,omitempty"`
	ImgURL         string `json:"img_url,omitempty"`
	AudioURL       string `json:"audio_url,omitempty"`
}

type createParams struct {
	Size         string `json:"size,omitempty"`
	Resolution   string `json:"resolution,omitempty"`
	Duration     int    `json:"duration,omitempty"`
	PromptExtend *bool  `json:"prompt_extend,omitempty"`
	Seed         *int64 `json:"seed,omitempty"`
}

// SubmitURL returns the URL a submission of kind is posted to.
func (c *Client) SubmitURL(kind VideoKind) string {
	u := *c.baseURL
	u.Path = c.baseURL.Path + c.submitPath(kind)
	u.RawPath = ""
	return u.String()
}

// CreateTask submits one task and returns it as the upstream acknowledged it: its id and
// status (PENDING), and the request id.
//
// A submission is never repeated once it may have reached the upstream: a duplicate is a
// second billed video. The only retry is of an attempt that could not connect at all (a dial
// error such as a refused connection, before any connection existed), up to RetryPolicy.Retries
// times. Every failure is an *Error:
//   - KindInvalidRequest, KindMissingAPIKey: nothing was sent;
//   - KindUnavailable: the upstream could not be reached, nothing was sent;
//   - KindUnauthorized, KindRejected (4xx), KindRateLimited (429): the upstream refused the
//     submission, so no task was created;
//   - KindOutcomeUnknown: the submission may have been received and no answer says whether a
//     task was created (a timeout or reset after sending, a 5xx, a 2xx that is not a task, the
//     caller cancelling mid-request). Do not resubmit blindly: look for the task first.
func (c *Client) CreateTask(ctx context.Context, req CreateRequest) (*Task, error) {
	if err := checkCreateRequest(req); err != nil {
		return nil, err
	}
	if c.token == "" {
		return nil, &Error{Kind: KindMissingAPIKey, Message: "no API key is configured"}
	}
	body, err := encodeCreateBody(req)
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Err: err}
	}
	if c.retry.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.retry.CallTimeout)
		defer cancel()
	}
	target := c.SubmitURL(req.Kind)
	for attempt := 1; ; attempt++ {
		task, e, sent := c.postOnce(ctx, target, body)
		if e == nil {
			return task, nil
		}
		e.Attempts = attempt
		if sent || !isDialError(e.Err) || attempt > c.retry.Retries {
			return nil, e
		}
		// Nothing reached the upstream: trying again cannot create a second task.
		delay := c.backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return nil, e
		}
		c.logger.DebugContext(ctx, "retrying submission that could not connect; nothing was sent",
			"model", req.Model, "attempt", attempt, "delay", delay, "error", e.Error())
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, contextError(ctx, e, attempt)
		case <-timer.C:
		}
	}
}

// checkCreateRequest refuses a request that cannot be built.
func checkCreateRequest(req CreateRequest) error {
	invalid := func(msg string) error { return &Error{Kind: KindInvalidRequest, Message: msg} }
	switch {
	case req.Kind != TextToVideo && req.Kind != ImageToVideo:
		return invalid(fmt.Sprintf("unknown video kind %d", int(req.Kind)))
	case strings.TrimSpace(req.Model) == "":
		return invalid("model is empty")
	case strings.TrimSpace(req.Prompt) == "":
		return invalid("prompt is empty")
	case req.Kind == ImageToVideo && strings.TrimSpace(req.ImgURL) == "":
		return invalid("img_url is required for image-to-video")
	case req.Kind == TextToVideo && req.ImgURL != "":
		return invalid("img_url is for image-to-video only")
	}
	return nil
}

// encodeCreateBody renders the DashScope-form body, URLs kept as they are (no HTML escaping).
func encodeCreateBody(req CreateRequest) ([]byte, error) {
	b := createBody{
		Model: req.Model,
		Input: createInput{
			Prompt:         req.Prompt,
			NegativePrompt: req.NegativePrompt,
			ImgURL:         req.ImgURL,
			AudioURL:       req.AudioURL,
		},
		Parameters: createParams{
			Size:         req.Size,
			Resolution:   req.Resolution,
			Duration:     req.Duration,
			PromptExtend: req.PromptExtend,
			Seed:         req.Seed,
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// postOnce makes one submission attempt. sent reports whether the request may have reached
// the upstream: once a connection exists, a failure cannot say whether the upstream read it.
func (c *Client) postOnce(ctx context.Context, target string, body []byte) (task *Task, e *Error, sent bool) {
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Err: err}, false
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.Provider() == ProviderDashScope {
		// Video synthesis is asynchronous only; without this header DashScope refuses.
		req.Header.Set("X-DashScope-Async", "enable")
	}
	// No Idempotency-Key header: it would let net/http replay the POST on its own after a
	// failure on a reused connection.

	// A submission always has someone waiting for its answer.
	if e := c.awaitTurn(ctx, true); e != nil {
		return nil, e, false
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		if !connected.Load() && (isDialError(err) || isTLSError(err)) {
			return nil, &Error{Kind: KindUnavailable, Err: scrubURLError(err)}, false
		}
		e := &Error{Kind: KindOutcomeUnknown, Err: scrubURLError(err)}
		if ctx.Err() != nil {
			e.Err = fmt.Errorf("%w (%w)", context.Cause(ctx), e.Err)
		}
		return nil, e, true
	}
	defer resp.Body.Close()

	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	raw, err := readLimited(resp)
	if err != nil {
		if ok {
			// A 2xx says the upstream accepted the submission: its task most likely
			// exists, but its id was lost with the body.
			return nil, &Error{Kind: KindOutcomeUnknown, StatusCode: resp.StatusCode, Err: scrubURLError(err)}, true
		}
		e := submitStatusError(resp, nil)
		e.Err = scrubURLError(err)
		return nil, e, true
	}
	raw = c.redact(raw)
	if !ok {
		e := submitStatusError(resp, raw)
		c.rateLimited(e)
		return nil, e, true
	}
	t, derr := decodeTask(raw)
	switch {
	case derr != nil && (derr.Kind == KindRejected || derr.Kind == KindNotFound):
		// A 2xx carrying an error envelope and no task: a refusal in a relay's style.
		derr.Kind = KindRejected
		derr.StatusCode = resp.StatusCode
		return nil, derr, true
	case derr != nil:
		return nil, &Error{Kind: KindOutcomeUnknown, StatusCode: resp.StatusCode, RequestID: derr.RequestID,
			Message: "the upstream accepted the submission but its answer is not a task: " + bodySnippet(raw)}, true
	case t.ID == "":
		return nil, &Error{Kind: KindOutcomeUnknown, StatusCode: resp.StatusCode, RequestID: t.RequestID,
			Message: "the upstream accepted the submission but its answer has no task_id: " + bodySnippet(raw)}, true
	}
	return t, nil, true
}

// submitStatusError classifies a non-2xx answer to a submission. 4xx answers are refusals:
// nothing was created. A 5xx may come after the task was created (a gateway that timed out
// waiting, a service that failed after accepting), so its outcome is unknown.
func submitStatusError(resp *http.Response, body []byte) *Error {
	e := statusError(resp, body)
	switch {
	case resp.StatusCode >= 500:
		e.Kind = KindOutcomeUnknown
		e.RetryAfter = 0 // not an invitation to submit again
	case e.Kind == KindNotFound:
		// On a submission, 404 is a model or route the upstream does not know, not a task.
		e.Kind = KindRejected
	}
	return e
}

// isDialError reports a failure to open a connection: a refused or unreachable address, a
// name that does not resolve, a dial that timed out. No byte of the request was written, and
// another attempt may succeed.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isTLSError reports a TLS handshake that failed: net/http does it before handing out the
// connection, so no byte of the request was written; trying again would fail the same way.
func isTLSError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	return errors.As(err, &certErr) || errors.As(err, &recordErr) || errors.As(err, &alert)
}
