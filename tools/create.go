package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// createVideoTask is create_video_task.
func (h *handlers) createVideoTask() toolFunc[schema.CreateVideoTaskInput, schema.CreateVideoTaskResult] {
	return toolFunc[schema.CreateVideoTaskInput, schema.CreateVideoTaskResult]{
		op:    opSubmit,
		input: createInput,
		call: func(ctx context.Context, _ mcp.CallToolRequest, in schema.CreateVideoTaskInput) (schema.CreateVideoTaskResult, error) {
			return h.create(ctx, in)
		},
		render: func(r schema.CreateVideoTaskResult) *mcp.CallToolResult {
			text := r.Summary + "\n\n" + marshalText(r)
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: r}
		},
	}
}

// create submits in, already validated, once, and returns the new task with the next step.
func (h *handlers) create(ctx context.Context, in schema.CreateVideoTaskInput) (schema.CreateVideoTaskResult, error) {
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
	// A submission is sent within one call budget or not at all: a caller whose host gave up
	// on the call must not find a task created long after.
	if budget := h.client.CallBudget(); budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	task, err := h.client.CreateTask(ctx, areq)
	if err != nil {
		var e *api.Error
		if errors.As(err, &e) && e.Kind == api.KindOutcomeUnknown {
			h.logger.WarnContext(ctx, "submission outcome unknown: the task may exist", "model", in.Model,
				"provider", h.client.Provider(), "error", err.Error())
		} else {
			h.logger.InfoContext(ctx, "submission failed; no task was created", "model", in.Model,
				"provider", h.client.Provider(), "error", err.Error())
		}
		return schema.CreateVideoTaskResult{}, err
	}
	h.logger.InfoContext(ctx, "submitted video task", "task_id", task.ID, "model", in.Model,
		"provider", h.client.Provider(), "task_status", task.Status)
	return createResult(in, task), nil
}

// createResult is the result of a new task, with a one-line summary of what was asked for and
// what to do next.
func createResult(in schema.CreateVideoTaskInput, t *api.Task) schema.CreateVideoTaskResult {
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
	return r
}
