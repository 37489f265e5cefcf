package tools

import (
	"fmt"
	"log/slog"
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

// The poll loop's schedule is exact: these tests run in synctest bubbles over an upstream
// served in memory, so a poll due after 2.5 s arrives after 2.5 s to the nanosecond.

// scriptedUpstream answers each task's queries from a script of statuses, the last repeating,
// and records when each query arrived.
type scriptedUpstream struct {
	start  time.Time
	script []string

	mu   sync.Mutex
	seen map[string][]time.Duration
}

func (u *scriptedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := path.Base(r.URL.Path)
	u.mu.Lock()
	u.seen[id] = append(u.seen[id], time.Since(u.start))
	n := len(u.seen[id])
	u.mu.Unlock()
	status := u.script[min(n, len(u.script))-1]
	video := ""
	if status == "SUCCEEDED" {
		video = `,"video_url":"https://video.example/` + id + `.mp4"`
	}
	fmt.Fprintf(w, `{"request_id":"r","output":{"task_id":%q,"task_status":%q%s}}`, id, status, video)
}

func (u *scriptedUpstream) polls(id string) []time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.seen[id])
}

func newTestHub(t *testing.T, script ...string) (*localHub, *scriptedUpstream) {
	t.Helper()
	return newLimitedTestHub(t, 0, script...)
}

// newLimitedTestHub is newTestHub with the rate limit at perSecond (0: none).
func newLimitedTestHub(t *testing.T, perSecond float64, script ...string) (*localHub, *scriptedUpstream) {
	t.Helper()
	up := &scriptedUpstream{start: time.Now(), script: script, seen: map[string][]time.Duration{}}
	c, err := api.NewClient("sk-hub-test", api.WithBaseURL("http://upstream.test"),
		api.WithHTTPClient(&http.Client{Transport: simulate.Transport(up)}), api.WithRateLimit(perSecond))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return newLocalHub(c, time.Second, 4*time.Second, newTerminalCache(time.Hour, 10), slog.New(slog.DiscardHandler), nil), up
}

// follow reads a loop's observations until it ends, returning the statuses seen.
func follow(loop *pollLoop) []string {
	var got []string
	seen := 0
	for {
		obs, seq, next, changed := loop.state()
		if seq > seen {
			seen = seq
			got = append(got, string(obs.task.Status))
			if next.IsZero() {
				return got
			}
		}
		<-changed
	}
}

func TestLocalHubPollsOnceForEverySubscriberOnAGrowingSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, up := newTestHub(t, "PENDING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED")
		var wg sync.WaitGroup
		results := make([][]string, 3)
		for i := range results {
			_, loop := hub.subscribe("t", "")
			wg.Go(func() {
				defer hub.unsubscribe(loop, "")
				results[i] = follow(loop)
			})
		}
		wg.Wait()
		// 1 s, growing by half each time, up to 4 s: 0, 1, 2.5, 4.75, 8.125 (capped), 12.125.
		want := []time.Duration{0, time.Second, 2500 * time.Millisecond, 4750 * time.Millisecond, 8125 * time.Millisecond, 12125 * time.Millisecond}
		if diff := cmp.Diff(want, up.polls("t")); diff != "" {
			t.Errorf("polls of t (-want +got):\n%s", diff)
		}
		for i, got := range results {
			if diff := cmp.Diff([]string{"PENDING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"}, got); diff != "" {
				t.Errorf("subscriber %d saw (-want +got):\n%s", i, diff)
			}
		}
		// The finished task is remembered: no loop, no request.
		task, loop := hub.subscribe("t", "")
		if loop != nil || task == nil || task.Status != api.StatusSucceeded {
			t.Errorf("subscribe after the end = %v, %v; want the remembered SUCCEEDED task", task, loop)
		}
		if n := len(up.polls("t")); n != 6 {
			t.Errorf("upstream got %d polls, want 6", n)
		}
	})
}

func TestLocalHubStopsPollingWithTheLastSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, up := newTestHub(t, "RUNNING")
		_, first := hub.subscribe("t", "")
		_, second := hub.subscribe("t", "")
		time.Sleep(1500 * time.Millisecond) // polls at 0 and 1 s
		hub.unsubscribe(first, "")
		time.Sleep(1100 * time.Millisecond) // the poll at 2.5 s still runs for the second subscriber
		synctest.Wait()                     // and its answer is in
		hub.unsubscribe(second, "")
		time.Sleep(time.Minute)
		want := []time.Duration{0, time.Second, 2500 * time.Millisecond}
		if diff := cmp.Diff(want, up.polls("t")); diff != "" {
			t.Errorf("polls of t (-want +got):\n%s", diff)
		}
	})
}

func TestLocalHubPollsAtOnceWhenPoked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, up := newTestHub(t, "RUNNING")
		_, loop := hub.subscribe("t", "")
		defer hub.unsubscribe(loop, "")
		time.Sleep(300 * time.Millisecond)
		loop.pollNow()
		time.Sleep(100 * time.Millisecond)
		want := []time.Duration{0, 300 * time.Millisecond}
		if diff := cmp.Diff(want, up.polls("t")); diff != "" {
			t.Errorf("polls of t (-want +got):\n%s", diff)
		}
	})
}

func TestLocalHubPollsTakeTheTurnsOfTheirCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, up := newLimitedTestHub(t, 10, "RUNNING") // a turn every 100 ms
		var loops []*pollLoop
		for i := range 200 {
			_, loop := hub.subscribe(fmt.Sprint("a-", i), "A")
			loops = append(loops, loop)
		}
		synctest.Wait() // every first poll of A's is sent or queued
		_, b := hub.subscribe("b", "B")
		time.Sleep(time.Second)
		// One of A's first polls went at once and another had the next turn; B's first poll
		// comes right after it, not after A's 198 others.
		if diff := cmp.Diff([]time.Duration{200 * time.Millisecond}, up.polls("b")); diff != "" {
			t.Errorf("polls of b (-want +got):\n%s", diff)
		}
		hub.unsubscribe(b, "B")
		for _, loop := range loops {
			hub.unsubscribe(loop, "A")
		}
	})
}

func TestPollLoopTakesTheTurnsOfTheCallerThatCameLast(t *testing.T) {
	l := newPollLoop("t", func() {})
	steps := []struct {
		join, leave string
		want        string
	}{
		{join: "A", want: "A"},
		{join: "B", want: "B"},
		{join: "A", want: "A"},
		{leave: "A", want: "B"}, // A's latest left; its first still waits, B came after it
		{leave: "B", want: "A"},
		{leave: "A", want: ""},
	}
	for i, s := range steps {
		if s.join != "" {
			l.joinedBy(s.join)
		} else {
			l.leftBy(s.leave)
		}
		if got := l.caller(); got != s.want {
			t.Errorf("step %d (join %q, leave %q): caller() = %q, want %q", i, s.join, s.leave, got, s.want)
		}
	}
}

// TestLocalHubFirstPollWaitsForItsTurn checks that a loop's poll waits for its turn under the
// rate limit however long that takes, even beyond one call's budget (15 s): its subscribers
// get the upstream's answer when it comes, never an error standing for a request not sent.
func TestLocalHubFirstPollWaitsForItsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, up := newLimitedTestHub(t, 0.025, "SUCCEEDED") // one request per 40 s
		start := time.Now()
		for _, id := range []string{"a", "b"} {
			_, loop := hub.subscribe(id, "")
			obs, _, _, changed := loop.state()
			for obs.task == nil && obs.err == nil {
				<-changed
				obs, _, _, changed = loop.state()
			}
			hub.unsubscribe(loop, "")
			if obs.err != nil || obs.task.Status != api.StatusSucceeded {
				t.Errorf("first observation of %s = %v, %v; want SUCCEEDED", id, obs.task, obs.err)
			}
		}
		if waited := time.Since(start); waited != 40*time.Second {
			t.Errorf("the second task's answer came after %s, want 40s (its turn)", waited)
		}
		if diff := cmp.Diff([]time.Duration{40 * time.Second}, up.polls("b")); diff != "" {
			t.Errorf("polls of b (-want +got):\n%s", diff)
		}
	})
}
