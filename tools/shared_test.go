package tools_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// callOutcome is what a tool call made on a goroutine of its own returned. The goroutine only
// hands it over: checking it may stop the test, which only the test's goroutine may do.
type callOutcome struct {
	res *mcp.CallToolResult
	err error
}

// status is the task status of a successful call, or the call's error.
func (o callOutcome) status(t *testing.T) string {
	t.Helper()
	if o.err != nil {
		return o.err.Error()
	}
	return structured(t, o.res).TaskStatus
}

func TestConcurrentWaitsOnOneTaskShareOnePollLoop(t *testing.T) {
	f := newFakeUpstream(t)
	id := "popular"
	f.script(id, taskBody(id, "PENDING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
	deps := testDeps(t, f, testToken)
	// A pause long enough for all callers to join before the second poll.
	deps.PollInterval, deps.MaxPollInterval = 300*time.Millisecond, 300*time.Millisecond
	c := connect(t, deps)

	const callers = 100
	var wg sync.WaitGroup
	outcomes := make([]callOutcome, callers)
	for i := range callers {
		wg.Go(func() {
			req := mcp.CallToolRequest{}
			req.Params.Name = tools.WaitForVideoTaskName
			req.Params.Arguments = map[string]any{"task_id": id}
			req.Params.Meta = &mcp.Meta{ProgressToken: fmt.Sprintf("tok-%d", i)}
			outcomes[i].res, outcomes[i].err = c.CallTool(context.Background(), req)
		})
	}
	wg.Wait()
	for i, o := range outcomes {
		if s := o.status(t); s != "SUCCEEDED" {
			t.Errorf("caller %d got %q, want SUCCEEDED", i, s)
		}
	}
	if n := f.requestsFor(id); n != 5 {
		t.Errorf("upstream got %d requests for %d callers, want 5: the polls one caller needs", n, callers)
	}
}

func TestFinishedTaskIsRemembered(t *testing.T) {
	f := newFakeUpstream(t)
	c := connect(t, testDeps(t, f, testToken))
	ctx := context.Background()

	f.script("done", taskBody("done", "RUNNING", ""), succeededBody("done"))
	if got := structured(t, call(t, ctx, c, tools.WaitForVideoTaskName, map[string]any{"task_id": "done"})); got.TaskStatus != "SUCCEEDED" {
		t.Fatalf("wait status = %q, want SUCCEEDED", got.TaskStatus)
	}
	for _, tool := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
		got := structured(t, call(t, ctx, c, tool, map[string]any{"task_id": "done"}))
		if got.TaskStatus != "SUCCEEDED" || got.VideoURL == "" {
			t.Errorf("%s after the wait = %+v, want the remembered SUCCEEDED result", tool, got)
		}
	}
	if n := f.requestsFor("done"); n != 2 {
		t.Errorf("upstream got %d requests, want 2: answers after the end come from memory", n)
	}

	tests := []struct {
		id     string
		script []answer
	}{
		{"gone", []answer{taskBody("gone", "UNKNOWN", "")}},
		{"missing", nil}, // the fake answers 404
	}
	for _, tt := range tests {
		if tt.script != nil {
			f.script(tt.id, tt.script...)
		}
		for range 2 {
			call(t, ctx, c, tools.GetVideoTaskName, map[string]any{"task_id": tt.id})
		}
		if n := f.requestsFor(tt.id); n != 2 {
			t.Errorf("upstream got %d requests for %q, want 2: UNKNOWN and errors are not remembered", n, tt.id)
		}
	}
}

func TestGetDuringWaitSharesTheLoop(t *testing.T) {
	f := newFakeUpstream(t)
	id := "watched"
	f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
	deps := testDeps(t, f, testToken)
	deps.PollInterval, deps.MaxPollInterval = 2*time.Second, 2*time.Second
	c := connect(t, deps)

	waitDone := make(chan callOutcome, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.WaitForVideoTaskName
		req.Params.Arguments = map[string]any{"task_id": id}
		res, err := c.CallTool(context.Background(), req)
		waitDone <- callOutcome{res, err}
	}()
	waitForRequests(t, f, id, 1)
	// The wait's first observation is fresh: the get takes it without a request.
	got := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": id}))
	if got.TaskStatus != "RUNNING" {
		t.Errorf("get during the wait = %q, want RUNNING", got.TaskStatus)
	}
	if n := f.requestsFor(id); n != 1 {
		t.Errorf("upstream got %d requests, want 1: the get shares the wait's fresh observation", n)
	}
	if s := (<-waitDone).status(t); s != "SUCCEEDED" {
		t.Errorf("wait = %q, want SUCCEEDED", s)
	}
}

func TestOneCallerLeavingDoesNotStopOthers(t *testing.T) {
	f := newFakeUpstream(t)
	id := "shared"
	f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""),
		taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
	c := connect(t, testDeps(t, f, testToken))

	leaving, leave := context.WithCancel(context.Background())
	results := make(chan callOutcome, 3)
	start := func(ctx context.Context, timeout int) {
		go func() {
			req := mcp.CallToolRequest{}
			req.Params.Name = tools.WaitForVideoTaskName
			req.Params.Arguments = map[string]any{"task_id": id, "timeout_seconds": timeout}
			res, err := c.CallTool(ctx, req)
			results <- callOutcome{res, err}
		}()
	}
	start(leaving, 60)             // cancelled below
	start(context.Background(), 1) // runs out of budget first
	start(context.Background(), 60)
	waitForRequests(t, f, id, 2)
	leave()
	got := map[string]int{}
	for range 3 {
		switch o := <-results; {
		case o.err != nil:
			got["error"]++
		case o.res.IsError:
			got["cancelled"]++
		default:
			got[o.status(t)]++
		}
	}
	if got["SUCCEEDED"] < 1 {
		t.Errorf("outcomes %v: the caller that stayed did not see the task finish", got)
	}
	if n := f.requestsFor(id); n != 6 {
		t.Errorf("upstream got %d requests, want 6", n)
	}
}

func TestPollingStopsWhenNobodyWaits(t *testing.T) {
	f := newFakeUpstream(t)
	id := "abandoned"
	f.script(id, taskBody(id, "RUNNING", ""))
	c := connect(t, testDeps(t, f, testToken))
	res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 1})
	if got := structured(t, res); got.Done {
		t.Fatalf("wait = %+v, want done=false", got)
	}
	after := f.requestsFor(id)
	time.Sleep(300 * time.Millisecond)
	if n := f.requestsFor(id); n != after {
		t.Errorf("upstream got %d requests after the only caller left", n-after)
	}
}

// waitForRequests blocks until the upstream has seen n requests for id.
func waitForRequests(t *testing.T, f *fakeUpstream, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.requestsFor(id) < n {
		if time.Now().After(deadline) {
			t.Fatalf("upstream saw %d requests for %q, want %d", f.requestsFor(id), id, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestGetDuringRateLimitPauseAnswersPromptly(t *testing.T) {
	f := newFakeUpstream(t)
	id := "throttled-shared"
	f.script(id, taskBody(id, "RUNNING", ""),
		answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "30"}, body: `{"code":"Throttling","message":"slow down"}`},
		taskBody(id, "RUNNING", ""))
	deps := testDeps(t, f, testToken)
	client, err := api.NewClient(testToken, api.WithBaseURL(f.baseURL()), api.WithRateLimit(100),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 15 * time.Second}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	deps.Client = client
	c := connect(t, deps)

	waitCtx, stopWait := context.WithCancel(context.Background())
	defer stopWait()
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.WaitForVideoTaskName
		req.Params.Arguments = map[string]any{"task_id": id, "timeout_seconds": 60}
		_, _ = c.CallTool(waitCtx, req)
	}()
	waitForRequests(t, f, id, 2) // RUNNING, then the 429 that pauses everyone for 30 s
	time.Sleep(50 * time.Millisecond)

	start := time.Now()
	res := call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": id})
	elapsed := time.Since(start)
	if text := resultText(res); !res.IsError || !strings.Contains(text, "slow down") {
		t.Errorf("get during the pause = isError %v, %q; want the latest answer, the 429, quoted", res.IsError, text)
	}
	// The pause is 30 s and a get may take 15 s; an answer within 5 s shows it did not wait.
	if elapsed > 5*time.Second {
		t.Errorf("get during a rate-limit pause took %s, want an answer at once", elapsed)
	}
	if n := f.requestsFor(id); n != 2 {
		t.Errorf("upstream got %d requests, want 2: nothing may be sent during the pause", n)
	}
}
