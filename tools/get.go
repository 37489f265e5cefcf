package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/schema"
)

const getVideoTaskDescription = "Check a Bailian (Wan) video-generation task once and return its status; " +
	"when it has SUCCEEDED, the video URL. The task_id comes from the response that submitted the task. " +
	"For a quick look only: to wait for the video, use wait_for_video_task. " +
	"Video URLs expire 24 hours after the task ends; download or share the video before then."

func getVideoTaskTool() mcp.Tool {
	return mcp.Tool{
		Name:            GetVideoTaskName,
		Title:           "Get video task",
		Description:     getVideoTaskDescription,
		RawInputSchema:  schema.GetVideoTaskInputSchema(),
		RawOutputSchema: schema.TaskResultSchema(),
		Annotations:     queryAnnotations("Get video task"),
	}
}

// getVideoTask answers get_video_task: one query, its result.
func (h *handlers) getVideoTask(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	in, err := parseGetInput(req.GetRawArguments())
	if err != nil {
		return invalidInputResult(err), nil
	}
	task, err := h.client.GetTask(ctx, in.TaskID)
	if err != nil {
		return h.errorResult(in.TaskID, err), nil
	}
	return toolResult(taskResult(in.TaskID, task)), nil
}

// parseGetInput reads get_video_task's arguments.
func parseGetInput(raw any) (schema.GetVideoTaskInput, error) {
	args, err := argumentsObject(raw, "task_id")
	if err != nil {
		return schema.GetVideoTaskInput{}, err
	}
	id, err := taskIDArgument(args)
	return schema.GetVideoTaskInput{TaskID: id}, err
}
