package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// TaskResourceTemplate is the URI template of a task's resource. Expanded by RFC 6570 rules, a
// ':' in a task id is written %3A.
const TaskResourceTemplate = "video-task://{task_id}"

// taskResourceScheme starts every task resource URI.
const taskResourceScheme = "video-task://"

func taskResourceTemplate() mcp.ResourceTemplate {
	return mcp.NewResourceTemplate(TaskResourceTemplate, "video_task",
		mcp.WithTemplateTitle("Video task"),
		mcp.WithTemplateDescription("The current status of a Bailian (Wan) video-generation task, as get_video_task "+
			"returns it (JSON): status, and when it has SUCCEEDED the video URL, which expires 24 hours after the task ends."),
		mcp.WithTemplateMIMEType("application/json"),
	)
}

// readTaskResource answers resources/read of video-task://{task_id} with the task's result as
// get_video_task finds it: through the same shared poll loop and memory of finished tasks, so a
// read costs at most the request a call would. A read that cannot learn the status fails with
// the message get_video_task would give.
func (h *handlers) readTaskResource(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	id, err := taskIDFromResource(req)
	if err != nil {
		return nil, err
	}
	r, err := h.query(ctx, id)
	if err != nil {
		return nil, errors.New(h.errorText(reader{}, opQuery, id, err))
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{
		URI:      req.Params.URI,
		MIMEType: "application/json",
		Text:     marshalText(r),
	}}, nil
}

// taskIDFromResource reads and checks the task id of a video-task:// URI.
func taskIDFromResource(req mcp.ReadResourceRequest) (string, error) {
	uri := req.Params.URI
	var raw string
	switch v := req.Params.Arguments["task_id"].(type) {
	case []string:
		if len(v) == 1 {
			raw = v[0]
		}
	case string:
		raw = v
	}
	if raw == "" {
		// The template matched, so the URI has the scheme; decode what follows it.
		rest, ok := strings.CutPrefix(uri, taskResourceScheme)
		if !ok {
			return "", fmt.Errorf("invalid resource URI %q: want %s", truncate(uri, 80), TaskResourceTemplate)
		}
		decoded, err := url.PathUnescape(rest)
		if err != nil {
			return "", fmt.Errorf("invalid resource URI %q: %v", truncate(uri, 80), err)
		}
		raw = decoded
	}
	id, err := checkTaskID(raw)
	if err != nil {
		return "", fmt.Errorf("invalid task id in %s: %v; use %s with the id from the submission response (a ':' written %%3A)",
			truncate(uri, 80), err, TaskResourceTemplate)
	}
	return id, nil
}
