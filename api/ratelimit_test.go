package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// arrivals is an upstream that records when each request arrived and answers with answer.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) record() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	return len(a.times)
}

func (a *arrivals) snapshot() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.times)
}

func newLimitedClient(t *testing.T, url string, perSecond float64) *api.Client {
	t.Helper()
	c, err := api.NewClient("sk-limit",
		api.WithBaseURL(url),
		api.WithRateLimit(perSecond),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 30 * time.Second}),
	)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

const runningBody = `{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"}}`

func TestRateLimitSpacesRequests(t *testing.T) {
	var seen arrivals
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.record()
		_, _ = w.Write([]byte(runningBody))
	}))
	defer srv.Close()
	const perSecond, calls = 40, 21
	c := newLimitedClient(t, srv.URL, perSecond)

	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			if _, err := c.GetTask(context.Background(), "t"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("GetTask under the limit failed instead of waiting: %v", err)
	}
	times := seen.snapshot()
	if len(times) != calls {
		t.Fatalf("upstream got %d requests, want %d", len(times), calls)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// 21 requests at 40 per second span at least 20 intervals of 25 ms; a slow machine
	// only stretches this, so the lower bound cannot flake.
	if span, least := times[calls-1].Sub(times[0]), 20*time.Second/perSecond*9/10; span < least {
		t.Errorf("%d requests arrived within %s, want them spread over at least %s", calls, span, least)
	}
}

func TestRateLimitedAnswerHoldsEveryCallerBack(t *testing.T) {
	var seen arrivals
	first429 := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.record() == 1 {
			first429 <- time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"Throttling","message":"Requests rate limit exceeded"}`))
			return
		}
		_, _ = w.Write([]byte(runningBody))
	}))
	defer srv.Close()
	c, err := api.NewClient("sk-limit", api.WithBaseURL(srv.URL), api.WithRateLimit(1000),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 0, CallTimeout: 30 * time.Second}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	// Without retries, the first caller returns as soon as it has seen the 429.
	if _, err := c.GetTask(context.Background(), "a"); !errors.Is(err, api.ErrRateLimited) {
		t.Fatalf("GetTask = %v, want a rate-limited error", err)
	}
	throttledAt := <-first429
	// Another caller, on another task, is held back for the Retry-After.
	if _, err := c.GetTask(context.Background(), "b"); err != nil {
		t.Fatalf("GetTask after the pause = %v, want success", err)
	}
	times := seen.snapshot()
	if len(times) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(times))
	}
	if gap := times[1].Sub(throttledAt); gap < 900*time.Millisecond {
		t.Errorf("the next request came %s after a 429 that asked for 1 s", gap)
	}
}

func TestRateLimitWaitHonoursCancellation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(runningBody))
	}))
	defer srv.Close()
	c := newLimitedClient(t, srv.URL, 0.1) // one request per 10 s
	if _, err := c.GetTask(context.Background(), "t"); err != nil {
		t.Fatalf("first GetTask: %v", err)
	}
	// A caller whose turn would come after its deadline learns so at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.GetTask(ctx, "t")
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Kind != api.KindRateLimited || apiErr.RetryAfter < 5*time.Second {
		t.Errorf("GetTask whose slot is past its deadline = %v, want rate limited with the wait", err)
	}
	// A caller that cancels while waiting for its turn returns promptly.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.GetTask(ctx, "t")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("GetTask cancelled while waiting for its slot = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("GetTask waited %s for a slot after its context ended", elapsed)
	}
}

// newOrderedUpstream is an upstream answering RUNNING that records the task ids it is asked
// for, in order of arrival.
func newOrderedUpstream(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, path.Base(r.URL.Path))
		mu.Unlock()
		_, _ = w.Write([]byte(runningBody))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(order)
	}
}

func TestUrgentQueriesGoFirst(t *testing.T) {
	srv, order := newOrderedUpstream(t)
	c := newLimitedClient(t, srv.URL, 5) // one request per 200 ms

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { _, _ = c.GetTask(context.Background(), fmt.Sprintf("routine-%d", i)) })
	}
	time.Sleep(50 * time.Millisecond) // the routine queries are queued; the first one has gone
	wg.Go(func() { _, _ = c.GetTask(api.Urgent(context.Background()), "urgent") })
	wg.Wait()

	got := order()
	if len(got) != 5 {
		t.Fatalf("upstream saw %v, want 5 requests", got)
	}
	if i := slices.Index(got, "urgent"); i > 1 {
		t.Errorf("upstream order %v: the urgent query came after %d queued routine ones, want it next in line", got, i-1)
	}
}

func TestUrgentQueriesCannotStarveRoutineOnes(t *testing.T) {
	srv, order := newOrderedUpstream(t)
	c := newLimitedClient(t, srv.URL, 10) // one request per 100 ms

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() { _, _ = c.GetTask(context.Background(), fmt.Sprintf("routine-%d", i)) })
	}
	time.Sleep(30 * time.Millisecond)
	for i := range 6 {
		wg.Go(func() { _, _ = c.GetTask(api.Urgent(context.Background()), fmt.Sprintf("urgent-%d", i)) })
	}
	wg.Wait()

	// Urgent queries go first, but routine ones keep two of every three turns meanwhile: the
	// last routine query comes before the last urgent one.
	got := order()
	lastRoutine, lastUrgent := -1, -1
	for i, id := range got {
		if strings.HasPrefix(id, "routine-") {
			lastRoutine = i
		} else {
			lastUrgent = i
		}
	}
	if len(got) != 12 || lastRoutine > lastUrgent {
		t.Errorf("upstream order %v: routine queries waited behind every urgent one", got)
	}
}
