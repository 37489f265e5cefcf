package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// maxErrorText bounds an error result's text; the contract promises under 1,000 characters.
const maxErrorText = 990

// taskResult projects an upstream task into the contract's result object. id is the id the
// caller asked for: the upstream's echo of it is not trusted to be present.
func taskResult(id string, t *api.Task) schema.TaskResult {
	r := schema.TaskResult{
		TaskID:        id,
		TaskStatus:    string(t.Status),
		Done:          t.Status.Terminal(),
		SubmitTime:    t.SubmitTime,
		ScheduledTime: t.ScheduledTime,
		EndTime:       t.EndTime,
		OrigPrompt:    t.OrigPrompt,
		ActualPrompt:  t.ActualPrompt,
		RequestID:     t.RequestID,
	}
	if len(t.Usage) > 0 {
		r.Usage = schema.Usage(t.Usage)
	}
	if t.Status == api.StatusSucceeded {
		r.VideoURL = t.VideoURL
		if exp, ok := t.VideoURLExpiry(); ok {
			r.VideoURLExpiresAt = exp.Format(time.RFC3339)
		}
	}
	if (t.Status == api.StatusFailed || t.Status == api.StatusUnknown) && (t.Code != "" || t.Message != "") {
		r.Error = &schema.TaskError{Code: t.Code, Message: t.Message}
	}
	r.Summary = summarize(r)
	return r
}

// summarize says, for the model, what the status means and what to do next.
func summarize(r schema.TaskResult) string {
	switch api.TaskStatus(r.TaskStatus) {
	case api.StatusSucceeded:
		if r.VideoURL == "" {
			return "The task succeeded but the upstream sent no video URL. Query it again with get_video_task; if the URL is still missing, submit the task again."
		}
		expiry := "24 hours after the task ended"
		if r.VideoURLExpiresAt != "" {
			expiry = r.VideoURLExpiresAt
		}
		return fmt.Sprintf("The video is ready: %s. The link expires at %s; download or share it before then.", r.VideoURL, expiry)
	case api.StatusFailed:
		reason := "the upstream gave no reason"
		if r.Error != nil {
			reason = joinNonEmpty(r.Error.Code, r.Error.Message)
		}
		return fmt.Sprintf("The task failed (%s). Polling again will not change this: fix the cause and submit a new task.", reason)
	case api.StatusCanceled:
		return "The task was canceled before it finished. Submit a new task if the video is still wanted."
	case api.StatusUnknown:
		return "The upstream does not know this task: the id is wrong, or older than 24 hours (task ids expire after 24 hours). Check the id, or submit a new task."
	case api.StatusPending:
		return "The task is queued and has not started. Call wait_for_video_task with the same task_id to wait for the video."
	case api.StatusRunning:
		return "The video is being generated (usually 1-5 minutes in all). Call wait_for_video_task with the same task_id to wait for it."
	case api.StatusSuspended:
		return "The task is suspended by the provider and may resume. Call wait_for_video_task with the same task_id to keep waiting."
	default:
		return fmt.Sprintf("The task reports status %s, which is not a final status. Call wait_for_video_task with the same task_id to keep waiting.", r.TaskStatus)
	}
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + ": " + b
}

// toolResult wraps a result for MCP: structuredContent, a text block holding the summary and
// the same JSON (for clients that read only text), and a resource_link to the video.
func toolResult(r schema.TaskResult) *mcp.CallToolResult {
	content := []mcp.Content{mcp.NewTextContent(headline(r) + "\n\n" + marshalText(r))}
	if r.VideoURL != "" {
		content = append(content, mcp.NewResourceLink(r.VideoURL, r.TaskID+".mp4",
			"Generated video of task "+r.TaskID+"; the link expires 24 hours after the task ended.", "video/mp4"))
	}
	return &mcp.CallToolResult{Content: content, StructuredContent: r}
}

// marshalText renders a result as JSON for a text block: without HTML escaping, so that a
// URL keeps its & and can be copied. The results hold strings, numbers and the upstream's
// decoded usage object: nothing in them can fail to encode.
func marshalText(v any) string {
	var body strings.Builder
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("tools: encoding a result: %v", err))
	}
	return strings.TrimSuffix(body.String(), "\n")
}

// headline is the first line of the text block: the status, then the summary.
func headline(r schema.TaskResult) string {
	return fmt.Sprintf("Task %s: %s. %s", r.TaskID, r.TaskStatus, r.Summary)
}

// errorResult explains a failed query: what went wrong, in the upstream's words where it gave
// any, and what to do about it.
func (h *handlers) errorResult(id string, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(truncate(h.describeError(id, err), maxErrorText))
}

func (h *handlers) describeError(id string, err error) string {
	var e *api.Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("Could not query task %s: %s. Try again.", id, truncate(err.Error(), 300))
	}
	said := upstreamSaid(e)
	switch e.Kind {
	case api.KindInvalidTaskID:
		return "Invalid input: " + e.Message + ". Nothing was queried; pass the task id exactly as the submission returned it."
	case api.KindMissingAPIKey:
		return fmt.Sprintf("The server has no API key: %s is not set. Add %s to the \"env\" block of this server's entry in your MCP client configuration (e.g. claude_desktop_config.json), then restart the server.", h.keyVariable, h.keyVariable)
	case api.KindUnauthorized:
		return fmt.Sprintf("The upstream refused the API key%s. Check that %s holds %s, then restart the server; retrying as is will not help.", said, h.keyVariable, keyHint(h.client))
	case api.KindNotFound:
		return fmt.Sprintf("The upstream does not know task %s%s. Check that the id was copied exactly from the submission response; task ids can only be queried for 24 hours.", id, said)
	case api.KindRejected:
		if e.StatusCode >= 300 && e.StatusCode <= 399 {
			return fmt.Sprintf("The upstream answered with a redirect%s. The server's base URL is most likely wrong (for example http:// for an https:// service): fix --base-url or GPTGE_BASE_URL and restart the server.", said)
		}
		return fmt.Sprintf("The upstream refused the query for task %s%s. Check the task id; repeating the same call will not help.", id, said)
	case api.KindRateLimited:
		if e.Held {
			return fmt.Sprintf("The server is pacing its upstream queries (its --max-qps limit, or a pause the upstream asked for with a 429) and could not fit this one in time. Wait %s, then call again with the same task_id; the task itself is unaffected.", retryWait(e))
		}
		return fmt.Sprintf("The upstream is rate limiting task queries%s. Wait %s, then call again with the same task_id; the task itself is unaffected.", said, retryWait(e))
	case api.KindUnavailable:
		return fmt.Sprintf("The upstream could not be reached or failed%s%s. The task itself is unaffected: try again in %s with the same task_id.", said, attempts(e), retryWait(e))
	case api.KindNotATask:
		return fmt.Sprintf("The upstream answered, but not with an Ali Bailian video task%s. Check that %s is a Bailian video task id and that the base URL points at the task API; repeating the same call will not help.", said, id)
	}
	return fmt.Sprintf("Could not query task %s%s. Try again.", id, said)
}

// upstreamSaid quotes what the upstream answered, as " (HTTP 401: InvalidApiKey: message)".
func upstreamSaid(e *api.Error) string {
	detail := truncate(joinNonEmpty(e.Code, e.Message), 400)
	if detail == "" && e.Err != nil {
		detail = truncate(e.Err.Error(), 300)
	}
	switch {
	case e.StatusCode != 0 && detail != "":
		return fmt.Sprintf(" (HTTP %d: %s)", e.StatusCode, detail)
	case e.StatusCode != 0:
		return fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	case detail != "":
		return " (" + detail + ")"
	}
	return ""
}

// retryWait is how long to wait before trying again: what the upstream asked, else a minute.
func retryWait(e *api.Error) string {
	if e.RetryAfter > 0 {
		return e.RetryAfter.Round(time.Second).String()
	}
	return "a minute"
}

func attempts(e *api.Error) string {
	if e.Attempts > 1 {
		return fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return ""
}

// invalidInputResult is the error result for arguments the caller must fix.
func invalidInputResult(err error) *mcp.CallToolResult {
	return mcp.NewToolResultError("Invalid input: " + joinErrors(err) + ". Nothing was queried; fix the argument and call again.")
}
