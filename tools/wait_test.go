package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// A wait's schedule is exact: these tests run in synctest bubbles over the upstream served in
// memory, so a poll due after 9.5 s comes after 9.5 s to the nanosecond, at no cost in time, and
// synctest.Wait tells when every notification sent so far has reached the client.

// progressEvent is one notifications/progress as a client receives it.
type progressEvent struct {
	Token    any
	Progress float64
	Message  string
}

// progressLog collects notifications/progress as a client receives them.
type progressLog struct {
	mu     sync.Mutex
	events []progressEvent
}

func (p *progressLog) attach(c *client.Client) {
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		fields := n.Params.AdditionalFields
		progress, ok := number(fields["progress"])
		if !ok {
			progress = -1 // not a number: no test wants that
		}
		message, _ := fields["message"].(string)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.events = append(p.events, progressEvent{Token: fields["progressToken"], Progress: progress, Message: message})
	})
}

func (p *progressLog) snapshot() []progressEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]progressEvent(nil), p.events...)
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

// numbers reads a result's polls and waited_seconds, -1 for one that is missing.
func numbers(t *testing.T, res *mcp.CallToolResult) (polls int, waited float64) {
	t.Helper()
	got := structured(t, res)
	polls, waited = -1, -1
	if got.Polls != nil {
		polls = *got.Polls
	}
	if got.WaitedSeconds != nil {
		waited = *got.WaitedSeconds
	}
	return polls, waited
}

func TestWaitPollsUntilDoneWithProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "slow-4"
		f.script(id, taskBody(id, "PENDING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
		c := connect(t, bubbleDeps(t, f))
		var progress progressLog
		progress.attach(c)

		start := time.Now()
		res := callWithProgress(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}, "tok-1")
		// Polls at 0, 2, 5 and 9.5 s; the fourth sees the task finish.
		if elapsed := time.Since(start); elapsed != 9500*time.Millisecond {
			t.Errorf("the wait took %s, want 9.5s: the poll that sees SUCCEEDED answers at once", elapsed)
		}
		got := structured(t, res)
		if got.TaskStatus != "SUCCEEDED" || !got.Done || got.VideoURL == "" {
			t.Fatalf("wait_for_video_task(%q) = %+v, want SUCCEEDED with a video", id, got)
		}
		if polls, waited := numbers(t, res); polls != 4 || waited != 9.5 {
			t.Errorf("polls, waited_seconds = %d, %v; want 4, 9.5", polls, waited)
		}
		synctest.Wait() // every notification sent is delivered
		// One notification per unfinished poll, none for the last: it would trail the result.
		want := []progressEvent{
			{Token: "tok-1", Progress: 1, Message: "PENDING; waited 0 s"},
			{Token: "tok-1", Progress: 2, Message: "RUNNING; waited 2 s"},
			{Token: "tok-1", Progress: 3, Message: "RUNNING; waited 5 s"},
		}
		if diff := cmp.Diff(want, progress.snapshot()); diff != "" {
			t.Errorf("progress notifications (-want +got):\n%s", diff)
		}
		// No request after the one that saw the terminal status.
		time.Sleep(time.Hour)
		if n := f.requestsFor(id); n != 4 {
			t.Errorf("upstream got %d requests, want 4", n)
		}
	})
}

func TestWaitWithoutProgressTokenSendsNoProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "slow-2"
		f.script(id, taskBody(id, "RUNNING", ""), succeededBody(id))
		c := connect(t, bubbleDeps(t, f))
		var progress progressLog
		progress.attach(c)
		got := structured(t, call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}))
		if got.TaskStatus != "SUCCEEDED" {
			t.Fatalf("status = %q, want SUCCEEDED", got.TaskStatus)
		}
		synctest.Wait() // a notification sent would be delivered by now
		if events := progress.snapshot(); len(events) != 0 {
			t.Errorf("got progress %v without a progress token", events)
		}
	})
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
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeUpstream(t)
				c := connect(t, bubbleDeps(t, f))
				id := "end-" + tt.status
				f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, tt.status, tt.extra))
				res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id})
				got := structured(t, res)
				if got.TaskStatus != tt.status || !got.Done {
					t.Errorf("wait_for_video_task(%q) = %s done=%v, want %s done=true", id, got.TaskStatus, got.Done, tt.status)
				}
				if tt.status == "FAILED" && (got.Error == nil || got.Error.Code != "InvalidParameter") {
					t.Errorf("error = %+v, want code InvalidParameter", got.Error)
				}
				if polls, waited := numbers(t, res); polls != 2 || waited != 2 {
					t.Errorf("polls, waited_seconds = %d, %v; want 2, 2: the second poll ends the wait", polls, waited)
				}
				time.Sleep(time.Hour)
				if n := f.requestsFor(id); n != 2 {
					t.Errorf("upstream got %d requests, want 2", n)
				}
			})
		})
	}
}

func TestWaitBudgetRunsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "forever"
		f.script(id, taskBody(id, "RUNNING", ""))
		c := connect(t, bubbleDeps(t, f))
		start := time.Now()
		res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 10})
		// Polls at 0, 2, 5 and 9.5 s; the next, at 16.25 s, would come after the budget, so
		// the wait answers with the fourth.
		if elapsed := time.Since(start); elapsed != 9500*time.Millisecond {
			t.Errorf("a 10 s wait took %s, want 9.5s: no poll can come after that within the budget", elapsed)
		}
		got := structured(t, res)
		if got.Done || got.TaskStatus != "RUNNING" {
			t.Errorf("result = %s done=%v, want RUNNING done=false", got.TaskStatus, got.Done)
		}
		if !strings.Contains(got.Summary, "(4 polls). Call wait_for_video_task again with the same task_id") {
			t.Errorf("summary %q does not count 4 polls and tell the caller to call again", got.Summary)
		}
		if !strings.Contains(resultText(res), "Call wait_for_video_task again") {
			t.Errorf("text does not tell the caller to call again: %q", resultText(res))
		}
		if polls, waited := numbers(t, res); polls != 4 || waited != 9.5 {
			t.Errorf("polls, waited_seconds = %d, %v; want 4, 9.5", polls, waited)
		}
		if n := f.requestsFor(id); n != 4 {
			t.Errorf("upstream got %d requests, want 4, one per poll", n)
		}
	})
}

func TestWaitSurvivesTransientFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "flaky"
		down := answer{status: http.StatusServiceUnavailable, body: "<html>503 Service Unavailable</html>"}
		// Four 503s exhaust the first poll's retries; the wait goes on, sees the task run at
		// the second poll, and finish at the third, which retries once.
		f.script(id, down, down, down, down, taskBody(id, "RUNNING", ""), down, succeededBody(id))
		c := connect(t, bubbleDeps(t, f))
		var progress progressLog
		progress.attach(c)
		res := callWithProgress(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}, "tok-flaky")
		if got := structured(t, res); got.TaskStatus != "SUCCEEDED" {
			t.Errorf("status = %q, want SUCCEEDED after transient failures", got.TaskStatus)
		}
		if polls, _ := numbers(t, res); polls != 3 {
			t.Errorf("polls = %d, want 3", polls)
		}
		if n := f.requestsFor(id); n != 7 {
			t.Errorf("upstream got %d requests, want 7: 4 tries, 1, then 2", n)
		}
		synctest.Wait()
		events := progress.snapshot()
		if len(events) != 2 || !strings.HasPrefix(events[0].Message, "upstream not answering (") ||
			!strings.Contains(events[0].Message, "HTTP 503") || events[1].Message != "RUNNING; waited 2 s" {
			t.Errorf("progress = %+v; want the 503 quoted, then RUNNING at 2 s", events)
		}
	})
}

func TestWaitReportsUpstreamThatNeverAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "down"
		f.script(id, answer{status: http.StatusBadGateway, body: "<html><h1>502 Bad Gateway</h1></html>"})
		c := connect(t, bubbleDeps(t, f))
		res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 10})
		text := resultText(res)
		if !res.IsError || !strings.Contains(text, "HTTP 502") || !strings.Contains(text, "502 Bad Gateway") {
			t.Errorf("wait on a dead upstream = isError %v, %q; want an error quoting the 502", res.IsError, text)
		}
		// Polls at about 0, 2, 5 and 9.5 s (each a few retries' milliseconds late), each of
		// 4 tries.
		if n := f.requestsFor(id); n != 16 {
			t.Errorf("upstream got %d requests, want 16: 4 polls of 4 tries", n)
		}
	})
}

func TestWaitStopsOnPermanentFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "vanishing"
		f.script(id, taskBody(id, "RUNNING", ""), answer{status: http.StatusUnauthorized, body: `{"error":{"message":"token revoked","type":"auth_error"}}`})
		c := connect(t, bubbleDeps(t, f))
		start := time.Now()
		res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id})
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("the wait took %s, want 2s: the second poll's 401 ends it", elapsed)
		}
		if text := resultText(res); !res.IsError || !strings.Contains(text, "token revoked") {
			t.Errorf("result = isError %v, %q; want an error quoting the upstream", res.IsError, text)
		}
		time.Sleep(time.Hour)
		if n := f.requestsFor(id); n != 2 {
			t.Errorf("upstream got %d requests, want 2", n)
		}
	})
}

func TestWaitHonoursLongRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "throttled"
		f.script(id, taskBody(id, "RUNNING", ""), answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "600"}, body: `{"code":"Throttling","message":"slow down"}`})
		c := connect(t, bubbleDeps(t, f))
		start := time.Now()
		res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 30})
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("the wait took %s, want 2s: after the 429 no poll can come within the budget", elapsed)
		}
		got := structured(t, res)
		if got.Done || got.TaskStatus != "RUNNING" || !strings.Contains(got.Summary, "slow down") {
			t.Errorf("result = %+v; want the last status, done=false, and the throttling quoted", got)
		}
		if n := f.requestsFor(id); n != 2 {
			t.Errorf("upstream got %d requests, want 2: a 10-minute Retry-After must not be polled through", n)
		}
	})
}

func TestWaitStopsWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "cancel-me"
		f.script(id, taskBody(id, "RUNNING", ""))
		c := connect(t, bubbleDeps(t, f))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := startCall(t, ctx, c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 60}, "")
		time.Sleep(6 * time.Second) // polls at 0, 2 and 5 s
		if n := f.requestsFor(id); n != 3 {
			t.Errorf("upstream got %d requests in the first 6 s, want 3", n)
		}
		cancel()
		// The in-process transport hands the result over even to a caller who left.
		o := <-done
		const want = "The wait for task cancel-me was cancelled after 6 s. Call wait_for_video_task again to resume waiting."
		switch {
		case o.err != nil:
			t.Errorf("cancelled wait: CallTool error %v, want the error result %q", o.err, want)
		case !o.res.IsError || resultText(o.res) != want:
			t.Errorf("cancelled wait = isError %v, %q; want the error result %q", o.res.IsError, resultText(o.res), want)
		}
		time.Sleep(time.Hour)
		if n := f.requestsFor(id); n != 3 {
			t.Errorf("upstream got %d requests after the wait was cancelled", n-3)
		}
	})
}
