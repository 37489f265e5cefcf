package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

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
