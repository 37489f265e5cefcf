package coord_test

import (
	"context"
	"errors"
	"expvar"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/coord"
	"github.com/video-task-mcp/video-task-mcp/internal/redistest"
)

// These tests run against a real redis-server (the Debian package redis-server): they skip
// without one. Times are asserted only from below, where a slow machine cannot make them fail.
// Each test has a server of its own, and most run in parallel; two run alone: the outage test
// counts the process's outages, and the lease test needs a 300 ms lease to last.

const accountKey = "sk-coord-test-account-key-0123456789"

func open(t *testing.T, srv *redistest.Server, key string) *coord.Store {
	t.Helper()
	s, err := coord.Open(context.Background(), srv.URL(), key, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenRefusesAnUnusableURLWithoutQuotingItsPassword(t *testing.T) {
	for _, raw := range []string{"http://user:hunter2secret@host:6379", "redis://user:hunter2secret@host:6379/notadb",
		"redis://:hunter2/secret@host:6379", "redis://:hunter2#secret@host:6379"} {
		_, err := coord.Open(context.Background(), raw, accountKey, slog.New(slog.DiscardHandler))
		if err == nil {
			t.Errorf("Open(%q) = nil error, want one", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) = %q: the error quotes the password", raw, err)
		}
		if !strings.Contains(err.Error(), "percent-encoded") {
			t.Errorf("Open(%q) = %q: want how to write a password with special characters", raw, err)
		}
	}
}

func TestSharedLimitSpacesRequestsOfAllProcesses(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const perSecond, each = 20, 6 // a slot every 50 ms
	limiters := []api.Limiter{open(t, srv, accountKey).Limiter(perSecond), open(t, srv, accountKey).Limiter(perSecond)}
	var mu sync.Mutex
	var granted []time.Time
	var wg sync.WaitGroup
	for _, l := range limiters {
		for range each {
			wg.Go(func() {
				if err := l.Wait(context.Background(), false); err != nil {
					t.Errorf("Wait = %v, want a turn", err)
					return
				}
				mu.Lock()
				granted = append(granted, time.Now())
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	slices.SortFunc(granted, time.Time.Compare)
	// 12 turns at 20 a second span at least 11 intervals of 50 ms, whichever process takes
	// them: each process alone would have let 6 go in 250 ms.
	if span, least := granted[len(granted)-1].Sub(granted[0]), 11*time.Second/perSecond*9/10; span < least {
		t.Errorf("%d turns of two processes came within %s, want them spread over at least %s", len(granted), span, least)
	}
}

func TestPauseReachesEveryProcess(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, accountKey).Limiter(100), open(t, srv, accountKey).Limiter(100)
	start := time.Now()
	a.Pause(time.Second)
	if err := b.Wait(context.Background(), true); err != nil {
		t.Fatalf("Wait = %v, want a turn after the pause", err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("another process's request went %s after a 1 s pause began", waited)
	}
}

func TestSharedLimitRefusesATurnPastTheDeadline(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, accountKey).Limiter(0.1), open(t, srv, accountKey).Limiter(0.1)
	if err := a.Wait(context.Background(), true); err != nil {
		t.Fatalf("first Wait = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Wait(ctx, true)
	var noTurn *api.NoTurnError
	if !errors.As(err, &noTurn) || noTurn.Wait < 9*time.Second {
		t.Errorf("Wait in another process, 5 s before its deadline = %v, want a *NoTurnError of about 10 s", err)
	}
}

func TestLeaseIsExclusiveAndLapses(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv, accountKey), open(t, srv, accountKey)
	ctx := context.Background()
	if held, _, err := a.Claim(ctx, "t", 300*time.Millisecond); !held || err != nil {
		t.Fatalf("a.Claim = %v, %v; want the lease", held, err)
	}
	held, left, err := b.Claim(ctx, "t", 300*time.Millisecond)
	if held || err != nil || left <= 0 || left > 300*time.Millisecond {
		t.Fatalf("b.Claim while a holds it = %v, %s, %v; want no lease and the time left", held, left, err)
	}
	if held, _, _ := a.Claim(ctx, "t", 300*time.Millisecond); !held {
		t.Errorf("a.Claim again = false, want its lease renewed")
	}
	// a stops renewing, as a killed process would: the lease lapses and b takes it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if held, _, _ := b.Claim(ctx, "t", time.Second); held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b never took the lease a stopped renewing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if held, _, _ := a.Claim(ctx, "t", time.Second); held {
		t.Errorf("a.Claim after b took over = true, want false")
	}
	b.Release(ctx, "t")
	if held, _, _ := a.Claim(ctx, "t", time.Second); !held {
		t.Errorf("a.Claim after b released = false, want the lease")
	}
}

func TestAccountsNeverMeetAndNoKeyIsWritten(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	a, other := open(t, srv, accountKey), open(t, srv, "sk-another-account-key-9876543210")
	if held, _, _ := a.Claim(ctx, "t", time.Minute); !held {
		t.Fatalf("a.Claim = false")
	}
	if held, _, _ := other.Claim(ctx, "t", time.Minute); !held {
		t.Errorf("another account's Claim of the same task id = false, want its own lease")
	}
	a.Remember(ctx, "t", []byte(`{"Status":"SUCCEEDED"}`), time.Minute)
	if _, ok := other.Recall(ctx, "t"); ok {
		t.Errorf("another account recalls a's finished task")
	}
	if err := a.Publish(ctx, "t", []byte(`{"kind":"observed"}`), time.Minute); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	_ = a.Limiter(10).Wait(ctx, true)
	a.Limiter(10).Pause(time.Second)

	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket()})
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	if len(keys) < 5 {
		t.Errorf("Redis holds %q, want the leases, finished task, latest news and rate keys", keys)
	}
	for _, k := range keys {
		v, _ := rdb.Get(ctx, k).Result()
		for _, secret := range []string{accountKey, "sk-another-account-key"} {
			if strings.Contains(k, secret) || strings.Contains(v, secret) {
				t.Errorf("key %q = %q holds an API key", k, v)
			}
		}
		if !strings.HasPrefix(k, "video-task-mcp:") {
			t.Errorf("key %q is outside the server's prefix", k)
		}
	}
}

func TestOutageIsReportedOnceAndEnds(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, accountKey)
	l := s.Limiter(1000)
	ctx := context.Background()
	before := expvar.Get("redis_outages").(*expvar.Int).Value()

	srv.Stop()
	for range 5 {
		if _, _, err := s.Claim(ctx, "t", time.Second); !errors.Is(err, coord.ErrDown) {
			t.Fatalf("Claim with Redis stopped = %v, want ErrDown", err)
		}
		// The limit falls back on the process's own.
		if err := l.Wait(ctx, false); err != nil {
			t.Fatalf("Wait with Redis stopped = %v, want the process's own turn", err)
		}
	}
	if got := expvar.Get("redis_outages").(*expvar.Int).Value() - before; got != 1 {
		t.Errorf("redis_outages grew by %d over one outage, want 1", got)
	}
	if !s.Down() {
		t.Errorf("Down() = false with Redis stopped")
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for s.Down() {
		if time.Now().After(deadline) {
			t.Fatalf("the store still reports Redis down 10 s after it came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if held, _, err := s.Claim(ctx, "t", time.Second); !held || err != nil {
		t.Errorf("Claim after Redis came back = %v, %v; want the lease", held, err)
	}
}
