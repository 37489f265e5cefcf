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
	"strings"
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
//   - KindRateLimited with no StatusCode: no turn under the rate limit came before ctx's
//     deadline, nothing was sent;
//   - KindUnauthorized, KindRejected (4xx), KindRateLimited (429): the upstream refused the
//     submission, so no task was created;
//   - KindOutcomeUnknown: the submission may have been received and no answer says whether a
//     task was created (a timeout or reset after sending, a 5xx, a 2xx that is not a task, the
//     caller cancelling mid-request). Do not resubmit blindly: look for the task first.
func (c *Client) CreateTask(ctx context.Context, req CreateRequest) (*Task, error) {
	if err := checkCreateRequest(req); err != nil {
		return nil, err
	}
	body, err := encodeCreateBody(req)
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Err: err}
	}
	// A submission always has someone waiting for its answer.
	return c.do(ctx, request{method: http.MethodPost, target: c.SubmitURL(req.Kind), body: body, urgent: true,
		logAttrs: []any{"model", req.Model}})
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

// acknowledgement checks a 2xx answer to a submission: it must be a task with an id. The
// error it returns has no status code yet.
func acknowledgement(t *Task, derr *Error, raw []byte) (*Task, *Error) {
	switch {
	case derr != nil && (derr.Kind == KindRejected || derr.Kind == KindNotFound):
		// A 2xx carrying an error envelope and no task: a refusal in a relay's style.
		derr.Kind = KindRejected
		return nil, derr
	case derr != nil:
		return nil, &Error{Kind: KindOutcomeUnknown, RequestID: derr.RequestID,
			Message: "the upstream accepted the submission but its answer is not a task: " + bodySnippet(raw)}
	case t.ID == "":
		return nil, &Error{Kind: KindOutcomeUnknown, RequestID: t.RequestID,
			Message: "the upstream accepted the submission but its answer has no task_id: " + bodySnippet(raw)}
	}
	return t, nil
}

// submitStatusError reclassifies e, a non-2xx answer to a submission. 4xx answers are
// refusals: nothing was created. A 5xx may come after the task was created (a gateway that
// timed out waiting, a service that failed after accepting), so its outcome is unknown.
func submitStatusError(resp *http.Response, e *Error) *Error {
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
