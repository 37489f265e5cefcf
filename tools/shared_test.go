package tools_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// These tests run in synctest bubbles over the upstream served in memory (see bubbleDeps), so
// every caller joins, and every poll comes, exactly when the test says.

func TestConcurrentWaitsOnOneTaskShareOnePollLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "popular"
		f.script(id, taskBody(id, "PENDING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
		c := connect(t, bubbleDeps(t, f))
		var progress progressLog
		progress.attach(c)

		const callers = 100
		start := time.Now()
		outcomes := make([]<-chan callOutcome, callers)
		for i := range outcomes {
			outcomes[i] = startCall(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}, fmt.Sprintf("tok-%d", i))
		}
		for i, out := range outcomes {
			o := <-out
			if s := o.status(t); s != "SUCCEEDED" {
				t.Errorf("caller %d got %q, want SUCCEEDED", i, s)
				continue
			}
			if polls, _ := numbers(t, o.res); polls != 5 {
				t.Errorf("caller %d saw %d polls, want 5", i, polls)
			}
		}
		// Polls at 0, 2, 5, 9.5 and 16.25 s, whoever waits.
		if elapsed := time.Since(start); elapsed != 16250*time.Millisecond {
			t.Errorf("the waits took %s, want 16.25s", elapsed)
		}
		if n := f.requestsFor(id); n != 5 {
			t.Errorf("upstream got %d requests for %d callers, want 5: the polls one caller needs", n, callers)
		}
		// Every caller hears of every unfinished poll, under its own token.
		synctest.Wait()
		perToken := map[any][]float64{}
		for _, e := range progress.snapshot() {
			perToken[e.Token] = append(perToken[e.Token], e.Progress)
		}
		for i := range callers {
			token := fmt.Sprintf("tok-%d", i)
			if diff := cmp.Diff([]float64{1, 2, 3, 4}, perToken[token]); diff != "" {
				t.Errorf("progress of %s (-want +got):\n%s", token, diff)
			}
		}
	})
}

func TestFinishedTaskIsRemembered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		c := connect(t, bubbleDeps(t, f))
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
	})
}

func TestGetDuringWaitSharesTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "watched"
		f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
		c := connect(t, bubbleDeps(t, f))

		wait := startCall(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id}, "")
		time.Sleep(time.Second) // the first poll, at 0 s, is a second old; the next is due at 2 s
		// The wait's observation is fresh: the get takes it without a request.
		got := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": id}))
		if got.TaskStatus != "RUNNING" {
			t.Errorf("get during the wait = %q, want RUNNING", got.TaskStatus)
		}
		if n := f.requestsFor(id); n != 1 {
			t.Errorf("upstream got %d requests, want 1: the get shares the wait's fresh observation", n)
		}
		o := <-wait
		if s := o.status(t); s != "SUCCEEDED" {
			t.Errorf("wait = %q, want SUCCEEDED", s)
		}
		if n := f.requestsFor(id); n != 3 {
			t.Errorf("upstream got %d requests, want 3: the wait's own", n)
		}
	})
}

func TestOneCallerLeavingDoesNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "shared"
		f.script(id, taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""),
			taskBody(id, "RUNNING", ""), taskBody(id, "RUNNING", ""), succeededBody(id))
		c := connect(t, bubbleDeps(t, f))
		wait := func(ctx context.Context, timeout int) <-chan callOutcome {
			return startCall(t, ctx, c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": timeout}, "")
		}

		// Polls come at 0, 2, 5, 9.5, 16.25 and 26.25 s; the sixth sees the task finish.
		leaving, leave := context.WithCancel(context.Background())
		defer leave()
		left := wait(leaving, 60)                   // leaves at 3 s
		outOfTime := wait(context.Background(), 10) // answers after the poll at 9.5 s
		stays := wait(context.Background(), 60)
		time.Sleep(3 * time.Second)
		leave()

		const cancelled = "The wait for task shared was cancelled after 3 s. Call wait_for_video_task again to resume waiting."
		if o := <-left; o.err != nil || resultText(o.res) != cancelled {
			t.Errorf("the caller that left got %v, %q; want %q", o.err, resultText(o.res), cancelled)
		}
		if o := <-outOfTime; o.err != nil {
			t.Errorf("the caller whose budget ran out got %v", o.err)
		} else if got := structured(t, o.res); got.Done || got.TaskStatus != "RUNNING" {
			t.Errorf("the caller whose budget ran out got %s done=%v; want RUNNING, not done", got.TaskStatus, got.Done)
		} else if polls, waited := numbers(t, o.res); polls != 4 || waited != 9.5 {
			t.Errorf("the caller whose budget ran out saw %d polls in %v s; want 4 in 9.5 s", polls, waited)
		}
		if o := <-stays; o.err != nil {
			t.Errorf("the caller that stayed got %v", o.err)
		} else if got := structured(t, o.res); got.TaskStatus != "SUCCEEDED" {
			t.Errorf("the caller that stayed got %s, want SUCCEEDED", got.TaskStatus)
		} else if polls, waited := numbers(t, o.res); polls != 6 || waited != 26.3 {
			t.Errorf("the caller that stayed saw %d polls in %v s; want 6 in 26.3 s (26.25, rounded)", polls, waited)
		}
		if n := f.requestsFor(id); n != 6 {
			t.Errorf("upstream got %d requests, want 6", n)
		}
	})
}

func TestPollingStopsWhenNobodyWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "abandoned"
		f.script(id, taskBody(id, "RUNNING", ""))
		c := connect(t, bubbleDeps(t, f))
		res := call(t, context.Background(), c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 10})
		if got := structured(t, res); got.Done {
			t.Fatalf("wait = %+v, want done=false", got)
		}
		// Polls at 0, 2, 5 and 9.5 s, then none: the only caller left.
		time.Sleep(time.Hour)
		if n := f.requestsFor(id); n != 4 {
			t.Errorf("upstream got %d requests, want 4: none after the only caller left", n)
		}
	})
}

func TestGetDuringRateLimitPauseAnswersPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		id := "throttled-shared"
		f.script(id, taskBody(id, "RUNNING", ""),
			answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "30"}, body: `{"code":"Throttling","message":"slow down"}`},
			taskBody(id, "RUNNING", ""))
		deps := bubbleDeps(t, f)
		client, err := api.NewClient(testToken, api.WithBaseURL(f.baseURL()), api.WithHTTPClient(f.httpClient()), api.WithRateLimit(100),
			api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 15 * time.Second}))
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		deps.Client = client
		c := connect(t, deps)

		waitCtx, stopWait := context.WithCancel(context.Background())
		defer stopWait()
		wait := startCall(t, waitCtx, c, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": 60}, "")
		// RUNNING at 0 s, then at 2 s the 429 that pauses every request until 32 s. At 10 s,
		// well past a poll interval, the pause has 22 s to go.
		time.Sleep(10 * time.Second)

		start := time.Now()
		res := call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": id})
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("get during a rate-limit pause took %s, want an answer at once", elapsed)
		}
		if text := resultText(res); !res.IsError || !strings.Contains(text, "slow down") {
			t.Errorf("get during the pause = isError %v, %q; want the latest answer, the 429, quoted", res.IsError, text)
		}
		if n := f.requestsFor(id); n != 2 {
			t.Errorf("upstream got %d requests, want 2: nothing may be sent during the pause", n)
		}
		stopWait()
		<-wait
	})
}
