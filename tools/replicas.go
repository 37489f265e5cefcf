package tools

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/coord"
)

// sharedHub is the pollHub of one of several processes that share an upstream account through
// Redis (see package coord). Each process keeps its own loops and subscribers, as localHub
// does, but only the process that holds a task's lease polls it: it publishes every
// observation, and the loops of the other processes hand those to their subscribers as if they
// had polled themselves. A process whose caller wants a fresh answer asks the holder to poll.
// Finished tasks are remembered in Redis as well as in the process. While Redis is down, every
// loop polls on its own, as localHub's do, and coordination resumes when it is back.
type sharedHub struct {
	*localHub
	store *coord.Store
	// renewalDue, when set, runs in a lease's renewal goroutine before each renewal, with the
	// channel that stopping the lease closes. It is a test seam, nil otherwise: a test holds a
	// renewal under way with it, as a slow Redis would, to check that a lease is released
	// only after its renewals end.
	renewalDue func(stopping <-chan struct{})
}

// leaseSlack is how long after a lease may have lapsed a follower tries to take it: enough for
// the holder's renewal to land first when it is alive.
const leaseSlack = 20 * time.Millisecond

// newSharedHub returns the sharedHub over store; the other arguments are newLocalHub's.
func newSharedHub(client *api.Client, pollInterval, maxPollInterval time.Duration, finished *terminalCache, logger *slog.Logger,
	store *coord.Store) *sharedHub {
	h := &sharedHub{store: store}
	h.localHub = newLocalHub(client, pollInterval, maxPollInterval, finished, logger, h.remember)
	store.Listen(h.deliver)
	return h
}

func (h *sharedHub) subscribe(id, caller string) (*api.Task, *pollLoop) {
	if task, ok := h.finished.get(id); ok {
		return task, nil
	}
	h.mu.Lock()
	_, following := h.loops[id]
	h.mu.Unlock()
	if !following {
		if task := h.recall(context.Background(), id); task != nil {
			return task, nil
		}
	}
	return h.join(id, caller, h.run)
}

// recall returns a finished task another process remembered, and remembers it here too.
func (h *sharedHub) recall(ctx context.Context, id string) *api.Task {
	b, ok := h.store.Recall(ctx, id)
	if !ok {
		return nil
	}
	var task api.Task
	if json.Unmarshal(b, &task) != nil || !task.Status.Terminal() {
		return nil
	}
	h.finished.put(id, &task)
	return &task
}

// deliver hands news from another process to this process's loop of the task, if any. A loop
// that cannot take it now misses it, and catches up when the holder's lease lapses.
func (h *sharedHub) deliver(id string, b []byte) {
	h.mu.Lock()
	loop := h.loops[id]
	h.mu.Unlock()
	if loop == nil {
		return
	}
	select {
	case loop.news <- b:
	default:
	}
}

// run follows one task until it ends or nobody here waits: polling it while this process
// holds its lease, or Redis is down; passing on the holder's observations otherwise.
func (h *sharedHub) run(ctx context.Context, loop *pollLoop) {
	interval := h.pollInterval
	urgent := true
	leading := false
	for {
		lead, left, err := h.store.Claim(ctx, loop.id, h.leaseTTL())
		if ctx.Err() != nil {
			return
		}
		var over bool
		switch {
		case err == nil && !lead:
			leading = false
			interval, over = h.follow(ctx, loop, left, interval)
		case err == nil && !leading && h.recallInto(ctx, loop):
			// Just took the lease over, and its last holder had seen the task end.
			h.store.Release(context.WithoutCancel(ctx), loop.id)
			return
		default:
			leading = err == nil
			interval, urgent, over = h.lead(ctx, loop, leading, urgent, interval)
		}
		if over {
			return
		}
	}
}

// recallInto ends the loop with a finished task another process remembered, if there is one.
func (h *sharedHub) recallInto(ctx context.Context, loop *pollLoop) bool {
	task := h.recall(ctx, loop.id)
	if task == nil {
		return false
	}
	h.finish(loop, observation{task: task, at: time.Now()})
	return true
}

// lead polls the task and waits out the pauses, as localHub.run does, renewing the lease and
// sharing what each poll found while this process holds it (leading; otherwise Redis is
// down). It returns the pause reached, whether the next poll is urgent, and true when the
// loop is over. It returns early, to claim the lease again, when the lease was lost, when a
// caller asks for a poll now, and after each poll while Redis is down.
func (h *sharedHub) lead(ctx context.Context, loop *pollLoop, leading, urgent bool, interval time.Duration) (time.Duration, bool, bool) {
	lease := h.hold(ctx, loop.id, leading)
	defer lease.stop()
	for {
		r := h.poll(ctx, loop, urgent, interval)
		if leading && ctx.Err() == nil {
			h.share(ctx, loop.id, r)
		}
		if r.done {
			if leading {
				lease.stop() // first: a renewal after the release would take the lease again
				h.store.Release(context.WithoutCancel(ctx), loop.id)
			}
			return interval, false, true
		}
		urgent = false
		next := h.nextInterval(interval)
		switch h.pause(ctx, loop, lease, r.pause) {
		case pauseOver:
			if leading {
				lease.stop() // first: a renewal after the release would take the lease again
				h.store.Release(context.WithoutCancel(ctx), loop.id)
			}
			return next, false, true
		case pausePoked:
			return next, true, false
		case pauseLost:
			return next, urgent, false
		}
		interval = next
		if !leading {
			return interval, urgent, false // Redis may be back: claim again
		}
	}
}

// pauseEnd is why a holder's pause ended.
type pauseEnd int

const (
	pauseElapsed pauseEnd = iota
	pauseOver             // nobody here waits any more
	pausePoked            // a caller, here or elsewhere, asks for a poll now
	pauseLost             // another process holds the lease
)

// pause waits d between a holder's polls.
func (h *sharedHub) pause(ctx context.Context, loop *pollLoop, lease *heldLease, d time.Duration) pauseEnd {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return pauseOver
		case <-loop.poke:
			return pausePoked
		case b := <-loop.news:
			if n, err := decodeNews(b); err == nil && n.Kind == newsPoke {
				return pausePoked
			}
			// Another process's observation: after an outage two may have polled. The
			// lease decides who goes on; the renewal says so.
		case <-lease.lost:
			return pauseLost
		case <-timer.C:
			return pauseElapsed
		}
	}
}

// follow passes the holder's news to the loop's subscribers until the holder's lease may have
// lapsed (left, as Redis said), and returns the pause the holder polls at. It returns true
// when the loop is over: the task ended, or nobody here waits.
func (h *sharedHub) follow(ctx context.Context, loop *pollLoop, left, interval time.Duration) (time.Duration, bool) {
	if !loop.observed() {
		if b, ok := h.store.Latest(ctx, loop.id); ok {
			var over bool
			if interval, over = h.apply(loop, b, interval); over {
				return interval, true
			}
		}
	}
	timer := time.NewTimer(left + leaseSlack)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return interval, true
		case <-timer.C:
			return interval, false
		case <-loop.poke:
			// A caller here wants a fresh answer: ask the holder.
			_ = h.publish(ctx, loop.id, news{Kind: newsPoke}, 0)
		case b := <-loop.news:
			var over bool
			if interval, over = h.apply(loop, b, interval); over {
				return interval, true
			}
		}
	}
}

// apply hands one piece of the holder's news to the loop's subscribers. It returns the pause
// the holder is at, and true when the news ends the loop.
func (h *sharedHub) apply(loop *pollLoop, b []byte, interval time.Duration) (time.Duration, bool) {
	n, err := decodeNews(b)
	if err != nil {
		h.logger.Debug("unreadable news from another process", "task_id", loop.id, "error", err.Error())
		return interval, false
	}
	switch n.Kind {
	case newsObserved:
		obs := observation{task: n.Task, err: n.Err.error(), at: n.At}
		if obs.task == nil && obs.err == nil {
			return interval, false
		}
		if n.Next.IsZero() {
			h.finish(loop, obs)
			return interval, true
		}
		loop.publish(obs, n.Next)
		return max(h.pollInterval, min(n.Next.Sub(n.At), h.maxPollInterval)), false
	}
	return interval, false
}

// remember keeps a finished task in the store for the other processes. The poll loop calls it
// before its own subscribers have their answer, so that by the time a caller has it, asking any
// process again costs no request.
func (h *sharedHub) remember(ctx context.Context, id string, task *api.Task) {
	if b, err := json.Marshal(task); err == nil {
		h.store.Remember(ctx, id, b, finishedTaskTTL)
	}
}

// share publishes what a poll found to the other processes, and a finished task to the store.
func (h *sharedHub) share(ctx context.Context, id string, r pollResult) {
	n := news{Kind: newsObserved, Task: r.obs.task, Err: wireErrorOf(r.obs.err), At: r.obs.at}
	if r.done {
		// The finished task is already in the store (remember).
		_ = h.publish(ctx, id, n, h.pollInterval)
		return
	}
	n.Next = r.obs.at.Add(r.pause)
	_ = h.publish(ctx, id, n, r.pause+h.leaseTTL())
}

func (h *sharedHub) publish(ctx context.Context, id string, n news, keep time.Duration) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return h.store.Publish(ctx, id, b, keep)
}

// leaseTTL is how long a lease lasts past its last renewal. The holder renews it every half
// pollInterval, so when the holder dies another process takes over within one and a half poll
// intervals, and polls at once.
func (h *sharedHub) leaseTTL() time.Duration { return h.pollInterval * 3 / 2 }

// heldLease renews a lease every half pollInterval until stopped; lost is closed when another
// process holds it.
type heldLease struct {
	lost     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	renewing sync.WaitGroup
}

// stop ends the renewals, and returns once none is under way. It may be called more than once.
func (l *heldLease) stop() {
	l.stopOnce.Do(func() { close(l.done) })
	l.renewing.Wait()
}

// hold keeps this process's lease on id while the returned lease runs; with leading false
// (Redis down) there is nothing to renew.
func (h *sharedHub) hold(ctx context.Context, id string, leading bool) *heldLease {
	l := &heldLease{lost: make(chan struct{}), done: make(chan struct{})}
	if !leading {
		return l
	}
	l.renewing.Go(func() {
		ticker := time.NewTicker(h.pollInterval / 2)
		defer ticker.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			if h.renewalDue != nil {
				h.renewalDue(l.done)
			}
			if lead, _, err := h.store.Claim(ctx, id, h.leaseTTL()); err == nil && !lead {
				close(l.lost)
				return
			}
		}
	})
	return l
}

// news is what one process tells the others about a task, as JSON.
type news struct {
	Kind newsKind   `json:"kind"`
	Task *api.Task  `json:"task,omitempty"`
	Err  *wireError `json:"error,omitempty"`
	At   time.Time  `json:"at,omitzero"`
	// Next is when the holder polls next; zero in an observation that ends the task.
	Next time.Time `json:"next,omitzero"`
}

type newsKind string

const (
	newsObserved newsKind = "observed" // a poll's answer
	newsPoke     newsKind = "poke"     // a caller asks the holder to poll now
)

func decodeNews(b []byte) (news, error) {
	var n news
	if err := json.Unmarshal(b, &n); err != nil {
		return news{}, err
	}
	return n, nil
}

// wireError carries an *api.Error between processes.
type wireError struct {
	Kind       api.ErrorKind `json:"kind"`
	StatusCode int           `json:"status_code,omitempty"`
	Code       string        `json:"code,omitempty"`
	Message    string        `json:"message,omitempty"`
	RequestID  string        `json:"request_id,omitempty"`
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	Attempts   int           `json:"attempts,omitempty"`
	Cause      string        `json:"cause,omitempty"`
}

func wireErrorOf(err error) *wireError {
	if err == nil {
		return nil
	}
	var e *api.Error
	if !errors.As(err, &e) {
		return &wireError{Kind: api.KindUnavailable, Cause: err.Error()}
	}
	w := &wireError{Kind: e.Kind, StatusCode: e.StatusCode, Code: e.Code, Message: e.Message, RequestID: e.RequestID,
		RetryAfter: e.RetryAfter, Attempts: e.Attempts}
	if e.Err != nil {
		w.Cause = e.Err.Error()
	}
	return w
}

func (w *wireError) error() error {
	if w == nil {
		return nil
	}
	e := &api.Error{Kind: w.Kind, StatusCode: w.StatusCode, Code: w.Code, Message: w.Message, RequestID: w.RequestID,
		RetryAfter: w.RetryAfter, Attempts: w.Attempts}
	if w.Cause != "" {
		e.Err = errors.New(w.Cause)
	}
	return e
}
