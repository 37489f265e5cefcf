package simulate_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// TestAPIClientReadsEveryStory runs the server's own upstream client against the simulator,
// in process as --simulate does: every story must come out as the status or the kind of error
// it is meant to show.
func TestAPIClientReadsEveryStory(t *testing.T) {
	tests := []struct {
		id       string
		queries  int
		status   api.TaskStatus // when the last query succeeds
		kind     api.ErrorKind  // when it fails
		attempts int            // requests of the last query, retries included
	}{
		{id: simulate.IDDone, queries: 1, status: api.StatusSucceeded, attempts: 1},
		{id: simulate.IDSuccess, queries: 1, status: api.StatusPending, attempts: 1},
		{id: simulate.IDSuccess, queries: 2, status: api.StatusRunning, attempts: 1},
		{id: simulate.IDSuccess, queries: 5, status: api.StatusSucceeded, attempts: 1},
		{id: simulate.IDFail, queries: 5, status: api.StatusFailed, attempts: 1},
		{id: simulate.IDUnknown, queries: 1, status: api.StatusUnknown, attempts: 1},
		{id: simulate.IDCancel, queries: 1, status: api.StatusCanceled, attempts: 1},
		// The 429 is retried after its Retry-After of 1 s; the retry finds the task queued.
		{id: simulate.IDThrottle, queries: 1, status: api.StatusPending},
		{id: simulate.IDDown, queries: 1, kind: api.KindUnavailable, attempts: 4},
		{id: simulate.IDMissing, queries: 1, kind: api.KindNotFound, attempts: 1},
		{id: "anything-else", queries: 1, kind: api.KindNotFound, attempts: 1},
		{id: simulate.IDSlow, queries: 3, status: api.StatusRunning, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			client, err := api.NewClient("sk-whatever",
				api.WithBaseURL(simulate.BaseURL),
				api.WithHTTPClient(&http.Client{Transport: simulate.Transport(simulate.NewHandler(simulate.Options{}))}),
				api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 5 * time.Second}),
			)
			if err != nil {
				t.Fatalf("api.NewClient: %v", err)
			}
			var task *api.Task
			start := time.Now()
			for range tt.queries {
				start = time.Now()
				task, err = client.GetTask(context.Background(), tt.id)
			}
			if tt.kind != 0 {
				var e *api.Error
				if !errors.As(err, &e) || e.Kind != tt.kind || e.Attempts != tt.attempts {
					t.Fatalf("GetTask(%q) = %v, %v; want an error of kind %s after %d attempts", tt.id, task, err, tt.kind, tt.attempts)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetTask(%q): %v", tt.id, err)
			}
			if task.Status != tt.status || task.ID != tt.id || task.RequestID == "" {
				t.Errorf("GetTask(%q) = status %s, id %q, request id %q; want %s, the id and a request id", tt.id, task.Status, task.ID, task.RequestID, tt.status)
			}
			switch task.Status {
			case api.StatusSucceeded:
				exp, ok := task.VideoURLExpiry()
				end, err := time.ParseInLocation(simulate.UpstreamTimeLayout, task.EndTime, time.FixedZone("", 8*3600))
				if !ok || err != nil || !exp.Equal(end.Add(24*time.Hour).Truncate(time.Second)) {
					t.Errorf("video URL expiry %s (%v) for end_time %q: want end_time + 24 h", exp, ok, task.EndTime)
				}
				if task.OrigPrompt == "" || task.Usage["video_duration"] != 5.0 {
					t.Errorf("prompt %q, usage %v: want both", task.OrigPrompt, task.Usage)
				}
			case api.StatusFailed:
				if task.Code != "DataInspectionFailed" || task.Message == "" {
					t.Errorf("FAILED task: code %q, message %q; want DataInspectionFailed and a message", task.Code, task.Message)
				}
			}
			if tt.id == simulate.IDThrottle {
				if d := time.Since(start); d < 900*time.Millisecond {
					t.Errorf("GetTask(%q) took %s; want the Retry-After of 1 s honoured", tt.id, d)
				}
			}
		})
	}
}
