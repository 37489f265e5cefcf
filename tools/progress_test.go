package tools_test

import (
	"context"
	"encoding/json"
	"expvar"
	"log/slog"
	"strings"
	"testing"
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

// callWaitOnSession runs one wait_for_video_task call with a progress token through the
// server's own message handling, on session.
func callWaitOnSession(t *testing.T, s *tools.Server, session server.ClientSession, id string) mcp.JSONRPCMessage {
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
	return s.HandleMessage(s.WithContext(context.Background(), session), raw)
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
	f := newFakeUpstream(t)
	f.script("full-1", taskBody("full-1", "RUNNING", ""), succeededBody("full-1"))
	s := tools.NewServer("video-task-mcp", "test", testDeps(t, f, testToken))
	session := &queueSession{queue: make(chan mcp.JSONRPCNotification, 1)}
	session.queue <- mcp.JSONRPCNotification{Notification: mcp.Notification{Method: "notifications/message"}}

	// The transport makes room only once the wait has seen the task running and sent its
	// progress: the second poll comes after that notification.
	received := make(chan []mcp.JSONRPCNotification, 1)
	go func() {
		for f.requestsFor("full-1") < 2 {
			time.Sleep(2 * time.Millisecond)
		}
		var got []mcp.JSONRPCNotification
		for n := range session.queue {
			got = append(got, n)
			if n.Method == "notifications/progress" {
				break
			}
		}
		received <- got
	}()
	lostBefore := progressLost()
	res := callWaitOnSession(t, s, session, "full-1")
	if _, ok := res.(mcp.JSONRPCResponse); !ok {
		t.Fatalf("tools/call answered %#v, want a result", res)
	}
	select {
	case got := <-received:
		last := got[len(got)-1]
		if last.Method != "notifications/progress" || last.Params.AdditionalFields["progressToken"] != "full-queue" {
			t.Errorf("notifications = %+v, want the progress of token full-queue after the one queued first", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the progress notification never reached the session's queue")
	}
	if n := progressLost() - lostBefore; n != 0 {
		t.Errorf("progress_notifications_lost grew by %d, want 0", n)
	}
}

// TestProgressLossIsCounted: a notification that cannot be queued at all is counted in
// expvar and logged, never dropped silently; the wait still answers.
func TestProgressLossIsCounted(t *testing.T) {
	f := newFakeUpstream(t)
	f.script("full-2", taskBody("full-2", "RUNNING", ""), succeededBody("full-2"))
	deps := testDeps(t, f, testToken)
	logs := &syncBuffer{}
	deps.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := tools.NewServer("video-task-mcp", "test", deps)
	// Full, and nobody ever reads it.
	session := &queueSession{queue: make(chan mcp.JSONRPCNotification, 1)}
	session.queue <- mcp.JSONRPCNotification{Notification: mcp.Notification{Method: "notifications/message"}}

	lostBefore := progressLost()
	res := callWaitOnSession(t, s, session, "full-2")
	if _, ok := res.(mcp.JSONRPCResponse); !ok {
		t.Fatalf("tools/call answered %#v, want a result", res)
	}
	if n := progressLost() - lostBefore; n != 1 {
		t.Errorf("progress_notifications_lost grew by %d, want 1", n)
	}
	if got := logs.String(); !strings.Contains(got, "progress notification lost") || !strings.Contains(got, "task_id=full-2") {
		t.Errorf("log = %q, want a warning that names the task", got)
	}
}
