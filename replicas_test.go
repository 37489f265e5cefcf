package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/internal/redistest"
)

// Replicas that share one Redis, end to end: real server processes over Streamable HTTP, a
// real redis-server (skipped without the Debian package redis-server), the fake upstream.

// replicaPolling is slower than fastPolling: a lease lasts two poll intervals, and a machine
// under load must be able to renew it in time for the poll counts below to hold.
var replicaPolling = []string{"--poll-interval", "500ms", "--max-poll-interval", "500ms"}

// startReplicas starts n servers that share redisURL, and connects a client to each.
func startReplicas(t *testing.T, n int, up *upstream, redisURL string) ([]*testServer, []*conn) {
	t.Helper()
	servers := make([]*testServer, n)
	conns := make([]*conn, n)
	for i := range n {
		servers[i] = startServer(t, "http", up, serverOpts{args: replicaPolling, env: []string{"REDIS_URL=" + redisURL}})
		conns[i] = servers[i].connect(t)
	}
	return servers, conns
}

// waitOn starts a wait_for_video_task call with a budget of secs and returns where the task
// status it ends with arrives (RUNNING when the budget ran out first), or its error.
func waitOn(t *testing.T, c *conn, id string, secs int) <-chan string {
	out := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := c.callTool(ctx, "wait_for_video_task", map[string]any{"task_id": id, "timeout_seconds": secs}, nil)
		switch {
		case err != nil:
			out <- "error: " + err.Error()
		case res.IsError:
			out <- "error result: " + fmt.Sprint(res.Content)
		default:
			var got taskResult
			remarshal(t, res.StructuredContent, &got)
			out <- got.TaskStatus
		}
	}()
	return out
}

// mostPolls is the most polls one loop can make in d at a fixed interval, plus one for a
// lease that changes hands. A slow machine only makes fewer.
func mostPolls(d time.Duration) int {
	return int(d/replicaInterval) + 2
}

// replicaInterval is the poll interval of replicaPolling.
const replicaInterval = 500 * time.Millisecond

func TestE2EReplicasShareOnePollLoop(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	up := newUpstream(t)
	_, conns := startReplicas(t, 3, up, redis.URL())

	// Three waits on each replica, on a task that never ends, for 3 s.
	const id = "forever-replicas"
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		for j := range 3 {
			wg.Go(func() {
				if got := <-waitOn(t, c, id, 3); got != "RUNNING" {
					t.Errorf("wait %d on replica %d = %s, want RUNNING when its budget ends", j, i, got)
				}
			})
		}
	}
	wg.Wait()
	// Three processes on their own would poll three times as often.
	if n, most := up.count(id), mostPolls(time.Since(start)); n > most {
		t.Errorf("upstream got %d polls of %s from 3 replicas in %s, want at most %d: one loop's", n, id, time.Since(start).Round(time.Millisecond), most)
	}

	// A task one replica saw finish costs the others nothing.
	const done = "done-replicas"
	if got := <-waitOn(t, conns[0], done, 10); got != "SUCCEEDED" {
		t.Fatalf("wait on replica 0 = %s, want SUCCEEDED", got)
	}
	for i, c := range conns[1:] {
		got := mustSucceed(t, fmt.Sprintf("get_video_task on replica %d", i+1), decodeResult(t, c.mustCall(t, "get_video_task", map[string]any{"task_id": done})))
		if got.TaskStatus != "SUCCEEDED" || got.VideoURL == "" {
			t.Errorf("get_video_task on replica %d = %s %q, want SUCCEEDED with its video", i+1, got.TaskStatus, got.VideoURL)
		}
	}
	if n := up.count(done); n != 1 {
		t.Errorf("upstream got %d requests for %s, want 1: the other replicas remember it", n, done)
	}
	up.checkNoStray(t)
}

func TestE2EReplicaKilledMidWait(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	up := newUpstream(t)
	servers, conns := startReplicas(t, 3, up, redis.URL())

	const id = "forever-killed"
	start := time.Now()
	// Replica 0 starts first, so it holds the task's lease.
	first := waitOn(t, conns[0], id, 6)
	for up.count(id) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	var others []<-chan string
	for _, c := range conns[1:] {
		others = append(others, waitOn(t, c, id, 6))
	}
	for up.count(id) < 4 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := servers[0].proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-servers[0].proc.exited
	atKill := up.count(id)
	if got := <-first; got == "RUNNING" {
		t.Errorf("the wait on the killed replica = %s, want it to fail", got)
	}
	for i, out := range others {
		if got := <-out; got != "RUNNING" {
			t.Errorf("wait on replica %d after replica 0 was killed = %s, want RUNNING when its budget ends", i+1, got)
		}
	}
	// Another replica took the lease over and went on polling, as one loop.
	if n, most := up.count(id), mostPolls(time.Since(start)); n > most || n < atKill+2 {
		t.Errorf("upstream got %d polls of %s in %s, %d of them by the time of the kill; want at least 2 more after it, and at most %d in all",
			n, id, time.Since(start).Round(time.Millisecond), atKill, most)
	}
}

func TestE2EReplicasCarryOnWithoutRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	up := newUpstream(t)
	servers, conns := startReplicas(t, 2, up, redis.URL())

	const id = "forever-outage"
	var outs []<-chan string
	for _, c := range conns {
		outs = append(outs, waitOn(t, c, id, 4))
	}
	for up.count(id) < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	redis.Stop()
	time.Sleep(time.Second)
	redis.Start()
	for i, out := range outs {
		if got := <-out; got != "RUNNING" {
			t.Errorf("wait on replica %d through a Redis outage = %s, want RUNNING when its budget ends", i, got)
		}
	}
	for i, s := range servers {
		log := s.proc.stderr.String()
		if n := strings.Count(log, "redis is unreachable"); n != 1 {
			t.Errorf("replica %d logged the outage %d times, want once; stderr:\n%s", i, n, log)
		}
	}
	// Coordination resumes: a new task is polled by one loop again.
	const after = "forever-after-outage"
	start := time.Now()
	outs = outs[:0]
	for _, c := range conns {
		outs = append(outs, waitOn(t, c, after, 2))
	}
	for i, out := range outs {
		if got := <-out; got != "RUNNING" {
			t.Errorf("wait on replica %d after the outage = %s, want RUNNING when its budget ends", i, got)
		}
	}
	if n, most := up.count(after), mostPolls(time.Since(start)); n > most {
		t.Errorf("upstream got %d polls of %s in %s after Redis came back, want at most %d", n, after, time.Since(start).Round(time.Millisecond), most)
	}
}
