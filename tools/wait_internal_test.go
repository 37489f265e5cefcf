package tools

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// oneLoopHub hands every subscriber the same poll loop, which the test publishes on.
type oneLoopHub struct{ loop *pollLoop }

func (h oneLoopHub) subscribe(string, string) (*api.Task, *pollLoop) { return nil, h.loop }
func (h oneLoopHub) unsubscribe(*pollLoop, string)                   {}

// TestWaitTakesTheAnswerThatCameBeforeTheBudgetEnded: an answer the loop published before
// the wait looked at its budget again is part of the wait's result, counted in polls, even
// when the wait finds the budget over and that answer waiting at once (here: its progress
// notification took past the deadline, while the next answer came). Go picks either of two
// ready channels at random, so each round is a fresh draw.
func TestWaitTakesTheAnswerThatCameBeforeTheBudgetEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for round := range 64 {
			loop := newPollLoop("t", func() {})
			h := &handlers{hub: oneLoopHub{loop}, stopping: make(chan struct{})}
			start := time.Now()
			loop.publish(observation{task: &api.Task{ID: "t", Status: api.StatusPending}, at: start}, start.Add(500*time.Millisecond))
			w := &waiter{h: h, taskID: "t", started: start, deadline: start.Add(time.Second),
				progress: func(context.Context, int, string) {
					time.Sleep(2 * time.Second) // a notification stuck in a full queue
					loop.publish(observation{task: &api.Task{ID: "t", Status: api.StatusRunning}, at: time.Now()}, time.Now().Add(time.Second))
				}}
			r, err := w.run(context.Background())
			if err != nil {
				t.Fatalf("round %d: run: %v", round, err)
			}
			if r.Polls == nil || *r.Polls != 2 || r.TaskStatus != "RUNNING" || r.Done {
				t.Fatalf("round %d: result polls %v, %s, done %v; want 2 polls, the RUNNING seen last, not done", round, deref(r.Polls), r.TaskStatus, r.Done)
			}
		}
	})
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
