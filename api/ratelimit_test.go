package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// The limiter's schedule is exact: these tests run in synctest bubbles, where time moves only
// when every goroutine waits, so a turn due at 200 ms is granted at 200 ms to the nanosecond.

// turn is one caller's grant: who, and how long after the start.
type turn struct {
	who string
	at  time.Duration
}

// turns records grants in the order they happen.
type turns struct {
	start time.Time
	mu    sync.Mutex
	list  []turn
}

func (r *turns) add(who string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, turn{who, time.Since(r.start)})
}

func (r *turns) get() []turn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// queue starts a caller waiting for its turn and lets it reach the limiter's queue before
// returning, so that callers queue in the order the test starts them.
func queue(wg *sync.WaitGroup, l api.Limiter, rec *turns, who string, urgent bool) {
	queueFor(wg, l, rec, "", who, urgent, 0)
}

func TestLimiterSpacesTurnsEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(5) // a turn every 200 ms
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 4 {
			queue(&wg, l, rec, fmt.Sprint("r", i), false)
		}
		wg.Wait()
		want := []turn{{"r0", 0}, {"r1", 200 * time.Millisecond}, {"r2", 400 * time.Millisecond}, {"r3", 600 * time.Millisecond}}
		if diff := cmp.Diff(want, rec.get(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
}

func TestLimiterUrgentCallerPassesQueuedRoutineOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(5)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 4 {
			queue(&wg, l, rec, fmt.Sprint("r", i), false)
		}
		time.Sleep(50 * time.Millisecond) // r0 has gone; r1..r3 queue
		queue(&wg, l, rec, "urgent", true)
		wg.Wait()
		want := []turn{{"r0", 0}, {"urgent", 200 * time.Millisecond}, {"r1", 400 * time.Millisecond},
			{"r2", 600 * time.Millisecond}, {"r3", 800 * time.Millisecond}}
		if diff := cmp.Diff(want, rec.get(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
}

func TestLimiterKeepsRoutineShareWhileUrgentCallersQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(10) // a turn every 100 ms
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 6 {
			queue(&wg, l, rec, fmt.Sprint("r", i), false)
		}
		for i := range 4 {
			queue(&wg, l, rec, fmt.Sprint("u", i), true)
		}
		wg.Wait()
		// After r0 (at once), urgent callers go first but routine ones keep two turns of
		// every three while both queue.
		var got []string
		for _, g := range rec.get() {
			got = append(got, g.who)
		}
		want := []string{"r0", "u0", "r1", "r2", "u1", "r3", "r4", "u2", "r5", "u3"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order of turns (-want +got):\n%s", diff)
		}
	})
}

func TestLimiterPauseHoldsEveryCallerBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(100)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		queue(&wg, l, rec, "before", false)
		l.Pause(time.Second)
		queue(&wg, l, rec, "routine", false)
		queue(&wg, l, rec, "urgent", true)
		wg.Wait()
		want := []turn{{"before", 0}, {"urgent", time.Second}, {"routine", time.Second + 10*time.Millisecond}}
		if diff := cmp.Diff(want, rec.get(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
}

func TestLimiterRefusesATurnPastTheDeadlineAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(0.1) // a turn every 10 s
		if err := l.Wait(context.Background(), false); err != nil {
			t.Fatalf("first Wait = %v, want a turn at once", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx, false)
		var noTurn *api.NoTurnError
		if !errors.As(err, &noTurn) || noTurn.Wait != 10*time.Second {
			t.Fatalf("Wait with a 5 s deadline = %v, want a *NoTurnError saying 10s", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Wait refused after %s, want at once", waited)
		}
	})
}

func TestLimiterHandsOnATurnItsCallerLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(1)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		queue(&wg, l, rec, "first", false)
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() {
			rec.add(fmt.Sprint("leaver: ", l.Wait(ctx, false)))
		})
		synctest.Wait()
		queue(&wg, l, rec, "next", false)
		time.Sleep(300 * time.Millisecond)
		cancel()
		wg.Wait()
		// The leaver's turn, due at 1 s, goes to the next caller; the leaver is told at once.
		want := []turn{{"first", 0}, {"leaver: context canceled", 300 * time.Millisecond}, {"next", time.Second}}
		if diff := cmp.Diff(want, rec.get(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
}

// recorder is an upstream, served in memory, that records which task each request asked for
// and when, and answers RUNNING, or 429 to the requests throttle picks.
type recorder struct {
	start    time.Time
	throttle func(n int) bool // n counts requests from 1

	mu   sync.Mutex
	seen []turn
}

func (u *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.seen = append(u.seen, turn{path.Base(r.URL.Path), time.Since(u.start)})
	n := len(u.seen)
	u.mu.Unlock()
	if u.throttle != nil && u.throttle(n) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":"Throttling","message":"Requests rate limit exceeded"}`))
		return
	}
	_, _ = w.Write([]byte(runningBody))
}

func (u *recorder) requests() []turn {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.seen)
}

const runningBody = `{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"}}`

func newLimitedClient(t *testing.T, upstream http.Handler, perSecond float64, retries int) *api.Client {
	t.Helper()
	c, err := api.NewClient("sk-limit",
		api.WithBaseURL("http://upstream.test"),
		api.WithHTTPClient(&http.Client{Transport: simulate.Transport(upstream)}),
		api.WithRateLimit(perSecond),
		api.WithRetryPolicy(api.RetryPolicy{Retries: retries, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 30 * time.Second}),
	)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestRateLimitSpacesRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &recorder{start: time.Now()}
		c := newLimitedClient(t, up, 40, 3) // a request every 25 ms
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				if _, err := c.GetTask(context.Background(), fmt.Sprint("t", i)); err != nil {
					t.Errorf("GetTask under the limit = %v, want it to wait for its turn", err)
				}
			})
			synctest.Wait()
		}
		wg.Wait()
		want := []turn{{"t0", 0}, {"t1", 25 * time.Millisecond}, {"t2", 50 * time.Millisecond}, {"t3", 75 * time.Millisecond}, {"t4", 100 * time.Millisecond}}
		if diff := cmp.Diff(want, up.requests(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("requests at the upstream (-want +got):\n%s", diff)
		}
	})
}

func TestRateLimitedAnswerHoldsEveryCallerBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &recorder{start: time.Now(), throttle: func(n int) bool { return n == 1 }}
		c := newLimitedClient(t, up, 1000, 0)
		// Without retries, the first caller returns as soon as it has seen the 429.
		if _, err := c.GetTask(context.Background(), "a"); !errors.Is(err, api.ErrRateLimited) {
			t.Fatalf("GetTask = %v, want a rate-limited error", err)
		}
		// Another caller, on another task, is held back for the Retry-After.
		if _, err := c.GetTask(context.Background(), "b"); err != nil {
			t.Fatalf("GetTask after the pause = %v, want success", err)
		}
		want := []turn{{"a", 0}, {"b", time.Second}}
		if diff := cmp.Diff(want, up.requests(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("requests at the upstream (-want +got):\n%s", diff)
		}
	})
}

// TestCallBudgetStartsAtTheFirstTurn checks that the wait for a call's first turn is the
// caller's to bound: a caller without a deadline waits for it however long it is, and only what
// follows the turn has the call's budget (30 s here). A retry whose turn would come after the
// budget is not made: the call ends with what the upstream said.
func TestCallBudgetStartsAtTheFirstTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &recorder{start: time.Now(), throttle: func(n int) bool { return n == 3 }}
		c := newLimitedClient(t, up, 0.025, 3) // one request per 40 s
		for _, id := range []string{"a", "b"} {
			if _, err := c.GetTask(context.Background(), id); err != nil {
				t.Fatalf("GetTask(%q) = %v, want it to wait for its turn and succeed", id, err)
			}
		}
		start := time.Now()
		_, err := c.GetTask(context.Background(), "c")
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Attempts != 1 {
			t.Errorf("GetTask whose retry cannot have a turn within the budget = %#v, want the upstream's 429 after 1 attempt", err)
		}
		if waited := time.Since(start); waited != 41*time.Second {
			t.Errorf("GetTask returned after %s, want 41s: its turn, the 429's Retry-After, then at once", waited)
		}
		want := []turn{{"a", 0}, {"b", 40 * time.Second}, {"c", 80 * time.Second}}
		if diff := cmp.Diff(want, up.requests(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("requests at the upstream (-want +got):\n%s", diff)
		}
	})
}

func TestRateLimitWaitHonoursCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &recorder{start: time.Now()}
		c := newLimitedClient(t, up, 0.1, 3) // one request per 10 s
		if _, err := c.GetTask(context.Background(), "t"); err != nil {
			t.Fatalf("first GetTask: %v", err)
		}
		// A caller whose turn would come after its deadline learns so at once, with the wait.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.GetTask(ctx, "t")
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Kind != api.KindRateLimited || apiErr.StatusCode != 0 || apiErr.Attempts != 0 || apiErr.RetryAfter != 10*time.Second {
			t.Errorf("GetTask whose turn is past its deadline = %#v, want rate limited, nothing sent, with a wait of 10s", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("GetTask whose turn is past its deadline returned after %s, want at once", waited)
		}
		// A caller that cancels while waiting for its turn returns when it cancels.
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start = time.Now()
		_, err = c.GetTask(ctx, "t")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetTask cancelled while waiting for its turn = %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited != 100*time.Millisecond {
			t.Errorf("GetTask cancelled after 100ms returned after %s", waited)
		}
		if n := len(up.requests()); n != 1 {
			t.Errorf("upstream got %d requests, want only the first", n)
		}
	})
}

func TestUrgentQueriesGoFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &recorder{start: time.Now()}
		c := newLimitedClient(t, up, 5, 3) // one request per 200 ms
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() { _, _ = c.GetTask(context.Background(), fmt.Sprint("routine-", i)) })
			synctest.Wait()
		}
		time.Sleep(50 * time.Millisecond) // routine-0 has gone; the others queue
		wg.Go(func() { _, _ = c.GetTask(api.Urgent(context.Background()), "urgent") })
		wg.Wait()
		want := []turn{{"routine-0", 0}, {"urgent", 200 * time.Millisecond}, {"routine-1", 400 * time.Millisecond},
			{"routine-2", 600 * time.Millisecond}, {"routine-3", 800 * time.Millisecond}}
		if diff := cmp.Diff(want, up.requests(), cmp.AllowUnexported(turn{})); diff != "" {
			t.Errorf("requests at the upstream (-want +got):\n%s", diff)
		}
	})
}
