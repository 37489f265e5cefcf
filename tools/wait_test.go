package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// progressLog collects notifications/progress as a client receives them.
type progressLog struct {
	mu     sync.Mutex
	events []map[string]any
}

func (p *progressLog) attach(c *client.Client) {
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.events = append(p.events, n.Params.AdditionalFields)
	})
}

func (p *progressLog) snapshot() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.events...)
}

// number reads a JSON number however the transport decoded it.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// callWithProgress calls a tool with a progress token.
func callWithProgress(t *testing.T, ctx context.Context, c *client.Client, name string, args map[string]any, token string) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("CallTool(%q) error: %v", name, err)
	}
	return res
}

func TestWaitPollsUntilDoneWithProgress(t *testing.T) {
	f := newFakeUpstream(t)
	id := "slow-4"
	f.script(id, taskBody(id, "PENDING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
	c := connect(t, testDeps(t, f, testToken))
	var progress progressLog
	progress.attach(c)

	res := callWithProgress(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}, "tok-1")
	got := structured(t, res)
	if got.TaskStatus != "SUCCEEDED" || !got.Done || got.VideoURL == "" {
		t.Fatalf("wait_for_video_task(%q) = %+v, want SUCCEEDED with a video", id, got)
	}
	if got.Polls == nil || *got.Polls != 4 {
		t.Errorf("polls = %v, want 4", got.Polls)
	}
	if got.WaitedSeconds == nil {
		t.Errorf("waited_seconds missing")
	}
	// No request after the one that saw the terminal status.
	time.Sleep(150 * time.Millisecond)
	if n := f.requestsFor(id); n != 4 {
		t.Errorf("upstream got %d requests, want 4", n)
	}

	events := progress.snapshot()
	wantStatuses := []string{"PENDING", "RUNNING", "RUNNING"}
	if len(events) != len(wantStatuses) {
		t.Fatalf("got %d progress notifications %v, want %d (one per unfinished poll)", len(events), events, len(wantStatuses))
	}
	last := 0.0
	for i, e := range events {
		if e["progressToken"] != "tok-1" {
			t.Errorf("notification %d token = %v, want tok-1", i, e["progressToken"])
		}
		p, ok := number(e["progress"])
		if !ok || p <= last {
			t.Errorf("notification %d progress = %v, not above %v", i, e["progress"], last)
		}
		last = p
		if msg, _ := e["message"].(string); !strings.Contains(msg, wantStatuses[i]) || !strings.Contains(msg, "waited") {
			t.Errorf("notification %d message = %q, want the status %s and the time waited", i, msg, wantStatuses[i])
		}
	}
}

func TestWaitWithoutProgressTokenSendsNoProgress(t *testing.T) {
	f := newFakeUpstream(t)
	id := "slow-2"
	f.script(id, taskBody(id, "RUNNING", ""), succeededBody(id))
	c := connect(t, testDeps(t, f, testToken))
	var progress progressLog
	progress.attach(c)
	got := structured(t, call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}))
	if got.TaskStatus != "SUCCEEDED" {
		t.Fatalf("status = %q, want SUCCEEDED", got.TaskStatus)
	}
	if events := progress.snapshot(); len(events) != 0 {
		t.Errorf("got progress %v without a progress token", events)
	}
}

func TestWaitEndsOnTerminalStatuses(t *testing.T) {
	tests := []struct {
		status string
		extra  string
	}{
		{"FAILED", `"code":"InvalidParameter","message":"The size is not supported."`},
		{"CANCELED", ""},
		{"UNKNOWN", ""},
	}
	f := newFakeUpstream(t)
	c := connect(t, testDeps(t, f, testToken))
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			id := "end-" + tt.status
			f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, tt.status, tt.extra))
			got := structured(t, call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}))
			if got.TaskStatus != tt.status || !got.Done {
				t.Errorf("wait_for_video_task(%q) = %s done=%v, want %s done=true", id, got.TaskStatus, got.Done, tt.status)
			}
			if tt.status == "FAILED" && (got.Error == nil || got.Error.Code != "InvalidParameter") {
				t.Errorf("error = %+v, want code InvalidParameter", got.Error)
			}
			if n := f.requestsFor(id); n != 2 {
				t.Errorf("upstream got %d requests, want 2", n)
			}
		})
	}
}

func TestWaitBudgetRunsOut(t *testing.T) {
	f := newFakeUpstream(t)
	id := "forever"
	f.script(id, taskBody(id, "RUNNING", ""))
	c := connect(t, testDeps(t, f, testToken))
	start := time.Now()
	res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 1})
	elapsed := time.Since(start)
	got := structured(t, res)
	if got.Done || got.TaskStatus != "RUNNING" {
		t.Errorf("result = %s done=%v, want RUNNING done=false", got.TaskStatus, got.Done)
	}
	if !strings.Contains(got.Summary, "Call wait_for_video_task again with the same task_id") {
		t.Errorf("summary %q does not tell the caller to call again", got.Summary)
	}
	if !strings.Contains(resultText(res), "Call wait_for_video_task again") {
		t.Errorf("text does not tell the caller to call again: %q", resultText(res))
	}
	// With polls every 20 ms growing to 80 ms, one second holds at most about 20 polls.
	if got.Polls == nil || *got.Polls < 2 || *got.Polls > 25 {
		t.Errorf("polls = %v, want between 2 and 25", got.Polls)
	}
	if n := f.requestsFor(id); got.Polls != nil && n != *got.Polls {
		t.Errorf("upstream got %d requests, result says %d polls", n, *got.Polls)
	}
	// The budget is kept: generous bound for a loaded machine.
	if elapsed > 3*time.Second {
		t.Errorf("a 1 s wait took %s", elapsed)
	}
}

func TestWaitSurvivesTransientFailures(t *testing.T) {
	f := newFakeUpstream(t)
	id := "flaky"
	down := answer{status: http.StatusServiceUnavailable, body: "<html>503 Service Unavailable</html>"}
	// Four 503s exhaust one query's retries; the wait goes on and sees the task finish.
	f.script(id, down, down, down, down, taskBody(id, "RUNNING", ""), down, succeededBody(id))
	c := connect(t, testDeps(t, f, testToken))
	got := structured(t, call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}))
	if got.TaskStatus != "SUCCEEDED" {
		t.Errorf("status = %q, want SUCCEEDED after transient failures", got.TaskStatus)
	}
}

func TestWaitReportsUpstreamThatNeverAnswers(t *testing.T) {
	f := newFakeUpstream(t)
	id := "down"
	f.script(id, answer{status: http.StatusBadGateway, body: "<html><h1>502 Bad Gateway</h1></html>"})
	c := connect(t, testDeps(t, f, testToken))
	res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 1})
	text := resultText(res)
	if !res.IsError || !strings.Contains(text, "HTTP 502") || !strings.Contains(text, "502 Bad Gateway") {
		t.Errorf("wait on a dead upstream = isError %v, %q; want an error quoting the 502", res.IsError, text)
	}
	if n := f.requestsFor(id); n < 4 {
		t.Errorf("upstream got %d requests, want the wait to keep trying", n)
	}
}

func TestWaitStopsOnPermanentFailure(t *testing.T) {
	f := newFakeUpstream(t)
	id := "vanishing"
	f.script(id, taskBody(id, "RUNNING", ""), answer{status: http.StatusUnauthorized, body: `{"error":{"message":"token revoked","type":"auth_error"}}`})
	c := connect(t, testDeps(t, f, testToken))
	res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id})
	if text := resultText(res); !res.IsError || !strings.Contains(text, "token revoked") {
		t.Errorf("result = isError %v, %q; want an error quoting the upstream", res.IsError, text)
	}
	if n := f.requestsFor(id); n != 2 {
		t.Errorf("upstream got %d requests, want 2", n)
	}
}

func TestWaitHonoursLongRetryAfter(t *testing.T) {
	f := newFakeUpstream(t)
	id := "throttled"
	f.script(id, taskBody(id, "RUNNING", ""), answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "600"}, body: `{"code":"Throttling","message":"slow down"}`})
	c := connect(t, testDeps(t, f, testToken))
	got := structured(t, call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 30}))
	if got.Done || got.TaskStatus != "RUNNING" || !strings.Contains(got.Summary, "slow down") {
		t.Errorf("result = %+v; want the last status, done=false, and the throttling quoted", got)
	}
	if n := f.requestsFor(id); n != 2 {
		t.Errorf("upstream got %d requests, want 2: a 10-minute Retry-After must not be polled through", n)
	}
}

func TestWaitStopsWhenCancelled(t *testing.T) {
	f := newFakeUpstream(t)
	id := "cancel-me"
	f.script(id, taskBody(id, "RUNNING", ""))
	c := connect(t, testDeps(t, f, testToken))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.WaitForVideoTaskName
		req.Params.Arguments = map[string]any{"task_id": id, "timeout_seconds": 60}
		_, _ = c.CallTool(ctx, req)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for f.requestsFor(id) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	time.Sleep(50 * time.Millisecond)
	after := f.requestsFor(id)
	time.Sleep(300 * time.Millisecond)
	if n := f.requestsFor(id); n != after {
		t.Errorf("upstream got %d more requests after the wait was cancelled", n-after)
	}
}
