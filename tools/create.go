package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// CreateVideoTaskName is the name of the submission tool, offered only when Deps.EnableCreate
// is set.
const CreateVideoTaskName = "create_video_task"

const createVideoTaskDescription = "Submit a new Wan video task, billed to the user. Every call creates another task: " +
	"never call again to retry; if the outcome is unknown, check before resubmitting. t2v models take size, " +
	"i2v models img_url (required) and resolution. Then call wait_for_video_task with the task_id. " +
	"Video URLs expire 24 hours after the task ends."

// createInstructions is added to the server's instructions when the tool is offered.
const createInstructions = " create_video_task submits a new, billed task: call it once per video, then wait_for_video_task with its task_id."

// instructions are the server's instructions for deps: Instructions, naming DashScope when the
// client talks to it, and saying how create_video_task fits in when it is offered.
func instructions(d Deps) string {
	s := Instructions
	if d.Client != nil && d.Client.Provider() == api.ProviderDashScope {
		s = strings.Replace(s, "submitted through api.gpt.ge", "on Alibaba Cloud Model Studio (DashScope)", 1)
	}
	if d.EnableCreate {
		s += createInstructions
	}
	if d.DownloadDir != "" {
		s += " download_video saves a SUCCEEDED video on the user's machine before its URL expires."
	}
	return s
}

// keyHint says what kind of key the provider of c wants, for error messages.
func keyHint(c *api.Client) string {
	if c != nil && c.Provider() == api.ProviderDashScope {
		return "a valid DashScope API key of the region the server uses (--region; a key works in its own region only)"
	}
	return "a valid api.gpt.ge key with access to video tasks"
}

// createAnnotations: the tool changes the world (a new task, billed), removes nothing, and two
// identical calls make two tasks.
func createAnnotations() mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		Title:           "Create video task",
		ReadOnlyHint:    mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(false),
		IdempotentHint:  mcp.ToBoolPtr(false),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
}

func createVideoTaskTool() mcp.Tool {
	return mcp.Tool{
		Name:            CreateVideoTaskName,
		Title:           "Create video task",
		Description:     createVideoTaskDescription,
		RawInputSchema:  schema.CreateVideoTaskInputSchema(),
		RawOutputSchema: schema.CreateVideoTaskResultSchema(),
		Annotations:     createAnnotations(),
	}
}

// creator submits tasks for create_video_task.
type creator struct {
	client      *api.Client
	keyVariable string
	logger      *slog.Logger
}

func newCreator(d Deps) *creator {
	return &creator{client: d.Client, keyVariable: d.apiKeyVariable(), logger: d.logger()}
}

// createVideoTask answers create_video_task: it validates everything against the chosen model,
// submits once, and returns the new task id with the next step.
func (c *creator) createVideoTask(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	in, err := createInput.decode(req.GetRawArguments())
	if err != nil {
		return mcp.NewToolResultError(truncate("Invalid input: "+joinErrors(err)+
			". Nothing was submitted; fix the arguments and call again.", maxErrorText)), nil
	}
	m, _ := schema.LookupVideoModel(in.Model)
	areq := api.CreateRequest{
		Kind:           api.TextToVideo,
		Model:          in.Model,
		Prompt:         in.Prompt,
		NegativePrompt: in.NegativePrompt,
		ImgURL:         in.ImgURL,
		AudioURL:       in.AudioURL,
		Size:           in.Size,
		Resolution:     in.Resolution,
		Duration:       in.Duration,
		Seed:           in.Seed,
		PromptExtend:   in.PromptExtend,
	}
	if m.ImageToVideo {
		areq.Kind = api.ImageToVideo
	}
	task, err := c.client.CreateTask(ctx, areq)
	if err != nil {
		var e *api.Error
		if errors.As(err, &e) && e.Kind == api.KindOutcomeUnknown {
			c.logger.WarnContext(ctx, "submission outcome unknown: the task may exist", "model", in.Model,
				"provider", c.client.Provider(), "error", err.Error())
		} else {
			c.logger.InfoContext(ctx, "submission failed; no task was created", "model", in.Model,
				"provider", c.client.Provider(), "error", err.Error())
		}
		return mcp.NewToolResultError(truncate(c.describeError(err), maxErrorText)), nil
	}
	c.logger.InfoContext(ctx, "submitted video task", "task_id", task.ID, "model", in.Model,
		"provider", c.client.Provider(), "task_status", task.Status)
	return createResult(in, task), nil
}

// createResult wraps a new task for MCP: structuredContent and a text block with the same
// JSON after a one-line summary.
func createResult(in schema.CreateVideoTaskInput, t *api.Task) *mcp.CallToolResult {
	r := schema.CreateVideoTaskResult{
		TaskID:     t.ID,
		TaskStatus: string(t.Status),
		Model:      in.Model,
		RequestID:  t.RequestID,
	}
	shape := in.Size
	if shape == "" {
		shape = in.Resolution
	}
	what := fmt.Sprintf("%s, %s, %d s", in.Model, shape, in.Duration)
	switch {
	case t.Status.Terminal():
		r.Summary = fmt.Sprintf("Task %s was created (%s) but already reports %s. Call get_video_task with task_id %s for the details; do not resubmit before reading them.",
			t.ID, what, t.Status, t.ID)
	default:
		r.Summary = fmt.Sprintf("Task %s was created (%s) and is %s. Call wait_for_video_task with task_id %s to wait for the video (usually 1-5 minutes); do not submit it again.",
			t.ID, what, t.Status, t.ID)
	}
	text := r.Summary + "\n\n" + marshalText(r)
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: r}
}

// describeError explains a failed submission: whether a task can exist, what the upstream
// said, and what to do next.
func (c *creator) describeError(err error) string {
	var e *api.Error
	if !errors.As(err, &e) {
		return "The submission failed (" + truncate(err.Error(), 300) + "); no task was created. Try again."
	}
	said := upstreamSaid(e)
	switch e.Kind {
	case api.KindInvalidRequest:
		return "Invalid input: " + joinNonEmpty(e.Message, errText(e.Err)) + ". Nothing was submitted; fix the arguments and call again."
	case api.KindMissingAPIKey:
		return fmt.Sprintf("The server has no API key: %s is not set, so nothing was submitted. Add %s to the \"env\" block of this server's entry in your MCP client configuration, then restart the server.", c.keyVariable, c.keyVariable)
	case api.KindUnauthorized:
		return fmt.Sprintf("The upstream refused the API key%s; no task was created. Check that %s holds %s, then restart the server; retrying as is will not help.", said, c.keyVariable, keyHint(c.client))
	case api.KindRejected:
		return fmt.Sprintf("The upstream refused the submission%s; no task was created. Fix what it names and call create_video_task again.", said)
	case api.KindRateLimited:
		wait := "a minute"
		if e.RetryAfter > 0 {
			wait = e.RetryAfter.Round(time.Second).String()
		}
		return fmt.Sprintf("The upstream is rate limiting submissions%s; no task was created. Wait %s, then call create_video_task again.", said, wait)
	case api.KindUnavailable:
		return fmt.Sprintf("Could not reach the upstream%s%s: nothing was sent, so no task was created. Try again in a minute.", said, attempts(e))
	case api.KindOutcomeUnknown:
		return fmt.Sprintf("The outcome of the submission is unknown%s: the upstream may have received it, so the task may exist and be billed. "+
			"Do not call create_video_task again to retry: that would create a second task. Ask the user to check the task list in %s first; "+
			"if the task exists, follow its task_id with wait_for_video_task.", said, c.console())
	}
	return fmt.Sprintf("The submission failed%s. Check the provider console before trying again.", said)
}

// console names where the user can see their recent tasks.
func (c *creator) console() string {
	if c.client.Provider() == api.ProviderDashScope {
		return "the Model Studio (Bailian) console"
	}
	return "their api.gpt.ge console (usage logs)"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// joinErrors renders errors.Join's lines as one sentence-like list.
func joinErrors(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
