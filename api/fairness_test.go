package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// queueFor is queue for a caller, with a deadline when it is not 0: the turn is recorded as
// caller/name, or as name for no caller.
func queueFor(wg *sync.WaitGroup, l api.Limiter, rec *turns, caller, name string, urgent bool, deadline time.Duration) {
	who := name
	if caller != "" {
		who = caller + "/" + name
	}
	wg.Go(func() {
		ctx := api.ForCaller(context.Background(), caller)
		if deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, deadline)
			defer cancel()
		}
		if err := l.Wait(ctx, urgent); err != nil {
			rec.add(who + ": " + err.Error())
			return
		}
		rec.add(who)
	})
	synctest.Wait()
}

// find returns the turn recorded for who, or its refusal, and whether there was one.
func find(list []turn, who string) (turn, bool) {
	for _, g := range list {
		if g.who == who || strings.HasPrefix(g.who, who+": ") {
			return g, true
		}
	}
	return turn{}, false
}

func TestLimiterServesAnotherCallerBetweenOneCallersQueuedQueries(t *testing.T) {
	for _, urgent := range []bool{true, false} {
		t.Run(fmt.Sprint("urgent=", urgent), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := api.NewLimiter(10) // a turn every 100 ms
				rec := &turns{start: time.Now()}
				var wg sync.WaitGroup
				for i := range 200 {
					queueFor(&wg, l, rec, "A", fmt.Sprint(i), urgent, 0)
				}
				queueFor(&wg, l, rec, "B", "0", urgent, 0)
				wg.Wait()
				// A/0 goes at once and A/1 has the next turn; B's one query comes
				// right after it, not after A's 198 others.
				got, ok := find(rec.get(), "B/0")
				if want := (turn{"B/0", 200 * time.Millisecond}); !ok || got != want {
					t.Errorf("B's turn = %v, want %v", got, want)
				}
				if n := len(rec.get()); n != 201 {
					t.Errorf("%d turns granted, want 201", n)
				}
			})
		})
	}
}

func TestLimiterGivesANewCallerATurnBeforeItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(10)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 200 {
			queueFor(&wg, l, rec, "A", fmt.Sprint(i), true, 0)
		}
		// 20 s of A's queries queue; B's deadline is 5 s away, and its turn, second in
		// the rotation, comes long before.
		queueFor(&wg, l, rec, "B", "0", true, 5*time.Second)
		wg.Wait()
		got, ok := find(rec.get(), "B/0")
		if want := (turn{"B/0", 200 * time.Millisecond}); !ok || got != want {
			t.Errorf("B's turn = %v, want %v", got, want)
		}
	})
}

func TestLimiterTakesTurnsRoundRobinBetweenCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(10)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 4 {
			queueFor(&wg, l, rec, "A", fmt.Sprint(i), false, 0)
		}
		for i := range 2 {
			queueFor(&wg, l, rec, "B", fmt.Sprint(i), false, 0)
		}
		queueFor(&wg, l, rec, "C", "0", false, 0)
		wg.Wait()
		var got []string
		for _, g := range rec.get() {
			got = append(got, g.who)
		}
		// A/0 went at once; then one turn each, in the order the callers came.
		want := []string{"A/0", "A/1", "B/0", "C/0", "A/2", "B/1", "A/3"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order of turns (-want +got):\n%s", diff)
		}
	})
}

func TestLimiterKeepsUrgencyAndRoutineShareAcrossCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := api.NewLimiter(10)
		rec := &turns{start: time.Now()}
		var wg sync.WaitGroup
		for i := range 4 {
			queueFor(&wg, l, rec, "A", fmt.Sprint("r", i), false, 0)
		}
		queueFor(&wg, l, rec, "B", "r0", false, 0)
		for i := range 3 {
			queueFor(&wg, l, rec, "A", fmt.Sprint("u", i), true, 0)
		}
		queueFor(&wg, l, rec, "B", "u0", true, 0)
		wg.Wait()
		var got []string
		for _, g := range rec.get() {
			got = append(got, g.who)
		}
		// Urgent turns first, two routine ones for each while both kinds queue; within
		// each kind, the callers take turns.
		want := []string{"A/r0", "A/u0", "A/r1", "B/r0", "B/u0", "A/r2", "A/r3", "A/u1", "A/u2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order of turns (-want +got):\n%s", diff)
		}
	})
}
