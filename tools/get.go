package tools

import (
	"context"
	"errors"
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

// getVideoTask is get_video_task: the task's status as of now.
func (h *handlers) getVideoTask() toolFunc[schema.GetVideoTaskInput, schema.TaskResult] {
	return toolFunc[schema.GetVideoTaskInput, schema.TaskResult]{
		op:    opQuery,
		input: getInput,
		call: func(ctx context.Context, _ mcp.CallToolRequest, in schema.GetVideoTaskInput) (schema.TaskResult, error) {
			return h.query(ctx, in.TaskID)
		},
		render: toolResult,
		task:   func(in schema.GetVideoTaskInput) string { return in.TaskID },
	}
}

// query returns task id's status as of now, as get_video_task, download_video and the
// video-task:// resource give it. A finished task is answered from memory; a task that others
// are waiting on shares their poll loop, taking its latest observation when that is fresh and
// asking for one now otherwise.
func (h *handlers) query(ctx context.Context, id string) (schema.TaskResult, error) {
	cached, loop := h.hub.subscribe(id, api.CallerOf(ctx))
	if cached != nil {
		return h.withSaveHint(taskResult(id, cached)), nil
	}
	defer h.hub.unsubscribe(loop, api.CallerOf(ctx))
	obs, err := h.freshObservation(ctx, loop)
	if err != nil {
		return schema.TaskResult{}, err
	}
	if obs.err != nil {
		return schema.TaskResult{}, obs.err
	}
	return h.withSaveHint(taskResult(id, obs.task)), nil
}

// freshObservation is loop's latest observation while it is fresh (see observation.freshUntil),
// and otherwise the next one, waited for one call budget at most (the next poll may first wait
// for its turn under the rate limit). When none comes in that time, it is the older one, if
// there is any.
func (h *handlers) freshObservation(ctx context.Context, loop *pollLoop) (observation, error) {
	obs, seq, nextPoll, changed := loop.state()
	if seq > 0 && !time.Now().After(obs.freshUntil(h.pollInterval)) {
		return obs, nil
	}
	if seq > 0 && time.Now().Before(nextPoll) {
		// The loop is pausing: ask for its next poll now. (When a poll is under way, its
		// answer is fresh enough.)
		loop.pollNow()
	}
	budget := h.client.CallBudget()
	if budget <= 0 {
		budget = api.DefaultRetryPolicy.CallTimeout
	}
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case <-changed:
		obs, _, _, _ = loop.state()
		return obs, nil
	case <-timer.C:
		if seq == 0 {
			return observation{}, &callEnded{reason: endNoAnswer, after: budget}
		}
		return obs, nil // older, but all there is
	case <-ctx.Done():
		// A stopping server lets a query finish, and cancels it only when it can wait no
		// longer.
		if errors.Is(context.Cause(ctx), errShutdown) {
			return observation{}, &callEnded{reason: endShutdown}
		}
		return observation{}, &callEnded{reason: endCancelled}
	}
}
