package tools_test

import (
	"context"
	"encoding/json"
	"expvar"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// queueSession is a client session whose notification queue holds one notification, as a
// busy client's queue would be: full.
type queueSession struct {
	queue chan mcp.JSONRPCNotification
}

func (s *queueSession) SessionID() string { return "queue-session" }
func (s *queueSession) Initialize()       {}
func (s *queueSession) Initialized() bool { return true }
func (s *queueSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return s.queue
}

// waitCall is a JSON-RPC wait_for_video_task call of id with a progress token.
func waitCall(t *testing.T, id string) []byte {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 7, "method": "tools/call",
		"params": map[string]any{
			"name": "wait_for_video_task", "arguments": map[string]any{"task_id": id},
			"_meta": map[string]any{"progressToken": "full-queue"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// callOnSession runs one call through the server's own message handling, on session.
func callOnSession(s *tools.Server, session server.ClientSession, call []byte) mcp.JSONRPCMessage {
	return s.HandleMessage(s.WithContext(context.Background(), session), call)
}

// progressLost reads the server's count of lost progress notifications; 0 before the server
// publishes it.
func progressLost() int64 {
	if v, ok := expvar.Get("progress_notifications_lost").(*expvar.Int); ok {
		return v.Value()
	}
	return 0
}

// TestProgressWaitsForRoomInAFullQueue: a notification sent while the session's queue is
// full goes out once the transport makes room, rather than being dropped.
func TestProgressWaitsForRoomInAFullQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		f.script("full-1", taskBody("full-1", "RUNNING", ""), succeededBody("full-1"))
		s := tools.NewServer("video-task-mcp", "test", bubbleDeps(t, f))
		session := &queueSession{queue: make(chan mcp.JSONRPCNotification, 1)}
		session.queue <- mcp.JSONRPCNotification{Notification: mcp.Notification{Method: "notifications/message"}}

		lostBefore := progressLost()
		call := waitCall(t, "full-1")
		answered, ended := make(chan mcp.JSONRPCMessage, 1), make(chan struct{})
		go func() {
			defer close(ended)
			answered <- callOnSession(s, session, call)
		}()
		t.Cleanup(func() { <-ended }) // see startCall
		// The wait sees the task running at 0 s and waits for room for its progress. The
		// transport makes room just before that wait would give up.
		time.Sleep(999 * time.Millisecond)
		if n := len(session.queue); n != 1 {
			t.Fatalf("the queue holds %d notifications, want the 1 queued first", n)
		}
		first := <-session.queue
		synctest.Wait() // the wait has had its room
		var progress mcp.JSONRPCNotification
		select {
		case progress = <-session.queue:
		default:
			t.Fatal("no progress notification in the queue once there was room for it")
		}
		if first.Method != "notifications/message" || progress.Method != "notifications/progress" ||
			progress.Params.AdditionalFields["progressToken"] != "full-queue" {
			t.Errorf("notifications = %+v, %+v; want the one queued first, then the progress of token full-queue", first, progress)
		}
		if res := <-answered; !isResult(res) {
			t.Fatalf("tools/call answered %#v, want a result", res)
		}
		if n := progressLost() - lostBefore; n != 0 {
			t.Errorf("progress_notifications_lost grew by %d, want 0", n)
		}
	})
}

// TestProgressLossIsCounted: a notification that cannot be queued at all is counted in
// expvar and logged, never dropped silently; the wait still answers.
func TestProgressLossIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		f.script("full-2", taskBody("full-2", "RUNNING", ""), succeededBody("full-2"))
		deps := bubbleDeps(t, f)
		logs := &syncBuffer{}
		deps.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s := tools.NewServer("video-task-mcp", "test", deps)
		// Full, and nobody ever reads it.
		session := &queueSession{queue: make(chan mcp.JSONRPCNotification, 1)}
		session.queue <- mcp.JSONRPCNotification{Notification: mcp.Notification{Method: "notifications/message"}}

		lostBefore := progressLost()
		start := time.Now()
		if res := callOnSession(s, session, waitCall(t, "full-2")); !isResult(res) {
			t.Fatalf("tools/call answered %#v, want a result", res)
		}
		// The progress of the poll at 0 s gives up after a second; the poll at 2 s ends the wait.
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("the wait took %s, want 2s", elapsed)
		}
		if n := progressLost() - lostBefore; n != 1 {
			t.Errorf("progress_notifications_lost grew by %d, want 1", n)
		}
		if got := logs.String(); !strings.Contains(got, "progress notification lost") || !strings.Contains(got, "task_id=full-2") {
			t.Errorf("log = %q, want a warning that names the task", got)
		}
	})
}

// isResult reports whether a JSON-RPC message is a successful response.
func isResult(m mcp.JSONRPCMessage) bool {
	_, ok := m.(mcp.JSONRPCResponse)
	return ok
}
