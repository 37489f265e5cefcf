package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
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

// getVideoTask answers get_video_task: the task's status as of now. A finished task is
// answered from memory; a task that others are waiting on shares their poll loop, taking its
// latest observation when that is fresh and asking for one now otherwise.
func (h *handlers) getVideoTask(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	in, err := getInput.decode(req.GetRawArguments())
	if err != nil {
		return h.errorResult(opQuery, "", err), nil
	}
	cached, loop := h.hub.subscribe(in.TaskID)
	if cached != nil {
		return toolResult(taskResult(in.TaskID, cached)), nil
	}
	defer h.hub.unsubscribe(loop)
	obs, seq, nextPoll, changed := loop.state()
	if seq == 0 || time.Since(obs.at) > h.pollInterval {
		if seq > 0 && time.Now().Before(nextPoll) {
			// The loop is pausing: ask for its next poll now. (When a poll is under
			// way, its answer is fresh enough.)
			loop.pollNow()
		}
		// A get waits as long as one upstream call may take, and no longer.
		budget := h.client.CallBudget()
		if budget <= 0 {
			budget = api.DefaultRetryPolicy.CallTimeout
		}
		timer := time.NewTimer(budget)
		defer timer.Stop()
		select {
		case <-changed:
			obs, _, _, _ = loop.state()
		case <-timer.C:
			if seq == 0 {
				return mcp.NewToolResultError(fmt.Sprintf("No answer about task %s within %s: the upstream is slow, or the server is pacing its queries to stay under its rate limit. Call get_video_task again in a moment; the task itself is unaffected.", in.TaskID, budget)), nil
			}
			// Keep the latest observation: older, but all there is.
		case <-ctx.Done():
			// A stopping server lets a query finish, and cancels it only when it can wait
			// no longer.
			if errors.Is(context.Cause(ctx), errShutdown) {
				return mcp.NewToolResultError("The server is shutting down, so task " + in.TaskID + " was not queried. Call get_video_task again once the server is back."), nil
			}
			return mcp.NewToolResultError("The query of task " + in.TaskID + " was cancelled. Call get_video_task again if the status is still wanted."), nil
		}
	}
	if obs.err != nil {
		return h.errorResult(opQuery, in.TaskID, obs.err), nil
	}
	return toolResult(taskResult(in.TaskID, obs.task)), nil
}
