package tools

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/coord"
	"github.com/video-task-mcp/video-task-mcp/internal/redistest"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// TestLeaseIsFreeOnceItsHolderSawTheTaskEnd: the process that polled a task to its end
// releases the task's lease, and another process can take it at once. The holder's renewals
// stop first: a renewal under way as the lease was released would take it again, and another
// process would wait for it to lapse (up to 1.5 poll intervals) before polling. Here a renewal
// is held under way (renewalDue) from before the last poll's answer until the lease is
// stopped, so it comes after the release unless the holder waits for it to end. A real
// redis-server; skipped without one.
func TestLeaseIsFreeOnceItsHolderSawTheTaskEnd(t *testing.T) {
	redis := redistest.Start(t)
	open := func() *coord.Store {
		s, err := coord.Open(context.Background(), redis.URL(), "sk-lease", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("coord.Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	const id, pollInterval = "ends-with-a-renewal-under-way", 100 * time.Millisecond

	// The task's only poll is answered once a renewal is under way.
	renewing := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-renewing:
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, `{"request_id":"r","output":{"task_id":%q,"task_status":"SUCCEEDED","video_url":"https://video.example/v.mp4"}}`, id)
	})
	client, err := api.NewClient("sk-lease", api.WithBaseURL("http://upstream.test"),
		api.WithHTTPClient(&http.Client{Transport: simulate.Transport(upstream)}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	h := newSharedHub(client, pollInterval, pollInterval, newTerminalCache(time.Hour, 16), slog.New(slog.DiscardHandler), open())
	var once sync.Once
	h.renewalDue = func(stopping <-chan struct{}) {
		once.Do(func() { close(renewing) })
		<-stopping
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.run(ctx, newPollLoop(id, cancel)) // returns once the task has ended and its lease is let go
	if task, ok := h.finished.get(id); !ok || task.Status != api.StatusSucceeded {
		t.Fatalf("after the loop, the task remembered is %+v, %v; want it SUCCEEDED", task, ok)
	}
	if lead, left, err := open().Claim(ctx, id, time.Minute); err != nil || !lead {
		t.Errorf("another process's Claim after the holder saw the task end = %v, %s left, %v; want the lease free at once", lead, left, err)
	}
}
