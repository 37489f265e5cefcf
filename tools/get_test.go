package tools_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

func TestGetVideoTaskResults(t *testing.T) {
	tests := []struct {
		name    string
		answer  answer
		want    schema.TaskResult
		summary string // a phrase the summary must contain
		link    bool
	}{
		{
			name:   "succeeded",
			answer: succeededBody("t-ok"),
			want: schema.TaskResult{
				TaskID: "t-ok", TaskStatus: "SUCCEEDED", Done: true,
				VideoURL:          "https://dashscope-result.oss-cn-beijing.aliyuncs.com/1.mp4?Expires=1761540731&OSSAccessKeyId=LTAI&Signature=abc%3D",
				VideoURLExpiresAt: "2025-10-27T04:52:11Z",
				SubmitTime:        "2025-10-26 12:50:16.723", ScheduledTime: "2025-10-26 12:50:16.772", EndTime: "2025-10-26 12:52:20.355",
				OrigPrompt: "a cat", ActualPrompt: "a small cat",
				Usage:     schema.Usage{"video_count": 1.0, "video_ratio": "832*480", "video_duration": 5.0, "SR": 480.0},
				RequestID: "req-ok",
			},
			summary: "2025-10-27T04:52:11Z",
			link:    true,
		},
		{
			name:    "failed",
			answer:  taskBody("t-fail", "FAILED", `"code":"DataInspectionFailed","message":"Input data may contain inappropriate content."`),
			want:    schema.TaskResult{TaskID: "t-fail", TaskStatus: "FAILED", Done: true, RequestID: "req-t-fail", Error: &schema.TaskError{Code: "DataInspectionFailed", Message: "Input data may contain inappropriate content."}},
			summary: "DataInspectionFailed",
		},
		{
			name:    "canceled",
			answer:  taskBody("t-cancel", "CANCELED", ""),
			want:    schema.TaskResult{TaskID: "t-cancel", TaskStatus: "CANCELED", Done: true, RequestID: "req-t-cancel"},
			summary: "canceled",
		},
		{
			name:    "unknown",
			answer:  taskBody("t-unknown", "UNKNOWN", ""),
			want:    schema.TaskResult{TaskID: "t-unknown", TaskStatus: "UNKNOWN", Done: true, RequestID: "req-t-unknown"},
			summary: "24 hours",
		},
		{
			name:    "running",
			answer:  taskBody("t-run", "RUNNING", `"submit_time":"2025-10-26 12:50:16.723"`),
			want:    schema.TaskResult{TaskID: "t-run", TaskStatus: "RUNNING", RequestID: "req-t-run", SubmitTime: "2025-10-26 12:50:16.723"},
			summary: "wait_for_video_task",
		},
		{
			name:    "pending",
			answer:  taskBody("t-pend", "PENDING", ""),
			want:    schema.TaskResult{TaskID: "t-pend", TaskStatus: "PENDING", RequestID: "req-t-pend"},
			summary: "wait_for_video_task",
		},
		{
			name:    "suspended",
			answer:  taskBody("t-susp", "SUSPENDED", ""),
			want:    schema.TaskResult{TaskID: "t-susp", TaskStatus: "SUSPENDED", RequestID: "req-t-susp"},
			summary: "wait_for_video_task",
		},
		{
			name:    "a status nobody knows yet passes through",
			answer:  taskBody("t-new", "ARCHIVING", ""),
			want:    schema.TaskResult{TaskID: "t-new", TaskStatus: "ARCHIVING", RequestID: "req-t-new"},
			summary: "ARCHIVING",
		},
		{
			name:    "a video URL without Expires",
			answer:  taskBody("t-noexp", "SUCCEEDED", `"video_url":"https://example.com/v.mp4"`),
			want:    schema.TaskResult{TaskID: "t-noexp", TaskStatus: "SUCCEEDED", Done: true, RequestID: "req-t-noexp", VideoURL: "https://example.com/v.mp4"},
			summary: "24 hours",
			link:    true,
		},
		{
			name:    "a garbled Expires",
			answer:  taskBody("t-badexp", "SUCCEEDED", `"video_url":"https://example.com/v.mp4?Expires=soon"`),
			want:    schema.TaskResult{TaskID: "t-badexp", TaskStatus: "SUCCEEDED", Done: true, RequestID: "req-t-badexp", VideoURL: "https://example.com/v.mp4?Expires=soon"},
			summary: "24 hours",
			link:    true,
		},
	}
	f := newFakeUpstream(t)
	c := connect(t, testDeps(t, f, testToken))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.script(tt.want.TaskID, tt.answer)
			res := call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "  " + tt.want.TaskID + "\n"})
			got := structured(t, res)
			if !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("summary %q does not contain %q", got.Summary, tt.summary)
			}
			got.Summary = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("get_video_task(%q) result mismatch (-want +got):\n%s", tt.want.TaskID, diff)
			}
			text := resultText(res)
			if !strings.HasPrefix(text, "Task "+tt.want.TaskID+": "+tt.want.TaskStatus) || !strings.Contains(text, `"task_status":"`+tt.want.TaskStatus+`"`) {
				t.Errorf("text block = %q, want a headline and the result JSON", text)
			}
			links := resourceLinks(res)
			switch {
			case tt.link && len(links) != 1:
				t.Errorf("got %d resource links, want 1", len(links))
			case tt.link:
				l := links[0]
				if l.URI != tt.want.VideoURL || l.Name != tt.want.TaskID+".mp4" || l.MIMEType != "video/mp4" {
					t.Errorf("resource link = %+v, want uri %q, name %q, mimeType video/mp4", l, tt.want.VideoURL, tt.want.TaskID+".mp4")
				}
			case len(links) != 0:
				t.Errorf("got resource links %+v for a task without a video", links)
			}
			if n := f.requestsFor(tt.want.TaskID); n != 1 {
				t.Errorf("upstream got %d requests for %q, want 1", n, tt.want.TaskID)
			}
		})
	}
}

func TestGetVideoTaskErrors(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		answers  []answer
		token    string
		contains []string
		requests int
	}{
		{
			name:     "unknown to the relay",
			id:       "nope",
			contains: []string{"does not know task nope", "HTTP 404", "task_not_exist", "24 hours"},
			requests: 1,
		},
		{
			name:     "key refused",
			id:       "t1",
			token:    "sk-wrong-key",
			contains: []string{"refused the API key", "HTTP 401", "InvalidApiKey", "Invalid API-key provided.", "GPTGE_API_KEY"},
			requests: 0, // the fake refuses before counting
		},
		{
			name:     "no key configured",
			id:       "t2",
			token:    "",
			contains: []string{"GPTGE_API_KEY is not set", "env"},
			requests: 0,
		},
		{
			name:     "rejected",
			id:       "t3",
			answers:  []answer{{status: http.StatusBadRequest, body: `{"error":{"message":"invalid task id format","type":"invalid_request_error","code":"InvalidParameter"}}`}},
			contains: []string{"refused the query", "HTTP 400", "InvalidParameter: invalid task id format"},
			requests: 1,
		},
		{
			name:     "gateway down",
			id:       "t4",
			answers:  []answer{{status: http.StatusBadGateway, body: "<html><body><h1>502 Bad Gateway</h1></body></html>"}},
			contains: []string{"could not be reached or failed", "HTTP 502", "502 Bad Gateway", "after 4 attempts", "try again"},
			requests: 4,
		},
		{
			name:     "rate limited for long",
			id:       "t5",
			answers:  []answer{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "120"}, body: `{"code":"Throttling","message":"Requests rate limit exceeded"}`}},
			contains: []string{"rate limiting", "Throttling", "Wait 2m0s"},
			requests: 1,
		},
		{
			name:     "another vendor's task",
			id:       "t6",
			answers:  []answer{{body: `{"status":"Success","file_id":"123","base_resp":{"status_code":0,"status_msg":"success"}}`}},
			contains: []string{"not with an Ali Bailian video task", "another vendor"},
			requests: 1,
		},
		{
			name:     "HTML at 200",
			id:       "t7",
			answers:  []answer{{body: "<!doctype html><title>Login</title>"}},
			contains: []string{"not with an Ali Bailian video task", "HTML"},
			requests: 1,
		},
	}
	f := newFakeUpstream(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.answers != nil {
				f.script(tt.id, tt.answers...)
			}
			token := testToken
			if tt.token != "" || tt.name == "no key configured" {
				token = tt.token
			}
			c := connect(t, testDeps(t, f, token))
			res := call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": tt.id})
			text := resultText(res)
			if !res.IsError {
				t.Fatalf("get_video_task(%q) isError = false, want true; text %q", tt.id, text)
			}
			for _, phrase := range tt.contains {
				if !strings.Contains(text, phrase) {
					t.Errorf("error text %q does not contain %q", text, phrase)
				}
			}
			if len(text) >= 1000 {
				t.Errorf("error text is %d characters, want under 1000", len(text))
			}
			for _, secret := range []string{testToken, "sk-wrong-key"} {
				if strings.Contains(text, secret) {
					t.Errorf("error text echoes the API key: %q", text)
				}
			}
			if n := f.requestsFor(tt.id); n != tt.requests {
				t.Errorf("upstream got %d requests for %q, want %d", n, tt.id, tt.requests)
			}
			// The server keeps serving after any failure.
			f.script("after-"+tt.id, succeededBody("after-"+tt.id))
			if tt.token == "" && tt.name != "no key configured" {
				if got := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "after-" + tt.id})); got.TaskStatus != "SUCCEEDED" {
					t.Errorf("next call status = %q, want SUCCEEDED", got.TaskStatus)
				}
			}
		})
	}
}

func TestInvalidInputMakesNoRequest(t *testing.T) {
	tests := []struct {
		name     string
		tool     string
		args     map[string]any
		contains string
	}{
		{"missing task_id", tools.GetVideoTaskName, map[string]any{}, "task_id is required"},
		{"null task_id", tools.GetVideoTaskName, map[string]any{"task_id": nil}, "task_id is required"},
		{"number task_id", tools.GetVideoTaskName, map[string]any{"task_id": 42}, "must be a string"},
		{"empty", tools.GetVideoTaskName, map[string]any{"task_id": "   "}, "empty"},
		{"slash", tools.GetVideoTaskName, map[string]any{"task_id": "a/b"}, `'/'`},
		{"dot dot", tools.GetVideoTaskName, map[string]any{"task_id": ".."}, "not a task id"},
		{"traversal", tools.WaitForVideoTaskName, map[string]any{"task_id": "../admin"}, `'/'`},
		{"query", tools.GetVideoTaskName, map[string]any{"task_id": "a?b=1"}, `'?'`},
		{"percent", tools.GetVideoTaskName, map[string]any{"task_id": "a%2Fb"}, `'%'`},
		{"unicode", tools.GetVideoTaskName, map[string]any{"task_id": "任务"}, `'任'`},
		{"too long", tools.GetVideoTaskName, map[string]any{"task_id": strings.Repeat("a", 129)}, "at most 128"},
		{"unknown argument", tools.GetVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": 5}, `unknown argument "timeout_seconds"`},
		{"timeout zero", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": 0}, "between 1 and 3600"},
		{"timeout too big", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": 3601}, "between 1 and 3600"},
		{"timeout negative", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": -5}, "between 1 and 3600"},
		{"timeout fraction", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": 2.5}, "whole number"},
		{"timeout text", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": "soon"}, "whole number"},
		{"timeout bool", tools.WaitForVideoTaskName, map[string]any{"task_id": "ok", "timeout_seconds": true}, "whole number"},
	}
	f := newFakeUpstream(t)
	f.script("ok", succeededBody("ok"))
	c := connect(t, testDeps(t, f, testToken))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, context.Background(), c, tt.tool, tt.args)
			text := resultText(res)
			if !res.IsError || !strings.Contains(text, tt.contains) || !strings.Contains(text, "Invalid input") {
				t.Errorf("%s(%v) = isError %v, %q; want an invalid-input error containing %q", tt.tool, tt.args, res.IsError, text, tt.contains)
			}
		})
	}
	if n := f.requestsFor("ok"); n != 0 {
		t.Errorf("upstream got %d requests, want none for invalid input", n)
	}
	// The server still answers.
	if got := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "ok"})); got.TaskStatus != "SUCCEEDED" {
		t.Errorf("status after invalid inputs = %q, want SUCCEEDED", got.TaskStatus)
	}
}
