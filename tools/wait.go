package tools

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/delivery"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// waitForVideoTaskDescription tells the model how the tool behaves, with the server's default
// budget in seconds.
const waitForVideoTaskDescription = "Wait for a Bailian (Wan) video-generation task to finish and return its result " +
	"with the video URL. The task_id comes from the response that submitted the task. Generation usually takes " +
	"1-5 minutes, sometimes 10. One call waits at most timeout_seconds (default %d); if the task is still running " +
	"then, the result has done=false: call wait_for_video_task again with the same task_id. FAILED, CANCELED and " +
	"UNKNOWN (wrong id, or older than 24 hours) end the wait. Video URLs expire 24 hours after the task ends."

func waitForVideoTaskTool(defaultTimeout time.Duration) mcp.Tool {
	secs := int(defaultTimeout.Round(time.Second) / time.Second)
	return mcp.Tool{
		Name:            WaitForVideoTaskName,
		Title:           "Wait for video task",
		Description:     fmt.Sprintf(waitForVideoTaskDescription, secs),
		RawInputSchema:  schema.WaitForVideoTaskInputSchema(secs),
		RawOutputSchema: schema.TaskResultSchema(),
		Annotations:     queryAnnotations("Wait for video task"),
	}
}

// progressLead is the least time between a progress notification and the next poll, which may
// end the wait: a tenth of the first poll interval, at most 250 ms.
func (h *handlers) progressLead() time.Duration {
	return min(250*time.Millisecond, h.pollInterval/10)
}

// backoffFactor is how much the pause between polls grows after each poll.
const backoffFactor = 1.5

// waitForVideoTask is wait_for_video_task.
func (h *handlers) waitForVideoTask() toolFunc[schema.WaitForVideoTaskInput, schema.TaskResult] {
	return toolFunc[schema.WaitForVideoTaskInput, schema.TaskResult]{
		op:    opQuery,
		input: waitInput,
		call: func(ctx context.Context, req mcp.CallToolRequest, in schema.WaitForVideoTaskInput) (schema.TaskResult, error) {
			p := h.progressNotifier(ctx, req, in.TaskID)
			r, err := h.wait(ctx, in, p.send)
			// The result must not overtake the progress notifications sent before it.
			p.flush(ctx)
			return r, err
		},
		render: toolResult,
		task:   func(in schema.WaitForVideoTaskInput) string { return in.TaskID },
	}
}

// wait polls the task until it ends, its budget (in.TimeoutSeconds, else the server's
// default) runs out, the caller goes away or the server stops. progress hears of each poll
// the wait sees while another is still to come.
func (h *handlers) wait(ctx context.Context, in schema.WaitForVideoTaskInput, progress func(ctx context.Context, polls int, message string)) (schema.TaskResult, error) {
	budget := h.waitTimeout
	if in.TimeoutSeconds > 0 {
		budget = time.Duration(in.TimeoutSeconds) * time.Second
	}
	w := &waiter{h: h, taskID: in.TaskID, started: time.Now(), progress: progress}
	w.deadline = w.started.Add(budget)
	r, err := w.run(ctx)
	if err != nil {
		return schema.TaskResult{}, err
	}
	return h.withSaveHint(r), nil
}

// waiter is one wait in progress.
type waiter struct {
	h        *handlers
	taskID   string
	started  time.Time
	deadline time.Time
	progress func(ctx context.Context, polls int, message string)

	polls   int       // answers of the shared poll loop this call has seen (not one in flight)
	last    *api.Task // the latest status seen, nil until a poll succeeds
	lastErr error     // the latest transient failure, nil after a success
}

// run follows the task's shared poll loop until there is something to return. The
// observation that sees a terminal status ends the wait; a progress notification goes out
// only when another poll will come within the budget, so that none can trail the result.
// When the server stops, the wait answers at once with what it has seen, or, having seen
// nothing yet, with the next observation.
func (w *waiter) run(ctx context.Context) (schema.TaskResult, error) {
	cached, loop := w.h.hub.subscribe(w.taskID, api.CallerOf(ctx))
	if cached != nil {
		return w.finished(taskResult(w.taskID, cached)), nil
	}
	defer w.h.hub.unsubscribe(loop, api.CallerOf(ctx))
	budget := time.NewTimer(time.Until(w.deadline))
	defer budget.Stop()
	seen := 0
	stopping, stopped := w.h.stopping, false
	for {
		obs, seq, nextPoll, changed := loop.state()
		if seq > seen {
			seen = seq
			if r, done, err := w.observe(obs); done {
				return r, err
			}
			if r, done, err := w.beforeNextPoll(ctx, nextPoll, stopped); done {
				return r, err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return w.cancelled(ctx)
		case <-stopping:
			if w.polls > 0 {
				return w.stopped()
			}
			// Nothing seen yet: the next observation, however it ends, is the answer.
			stopping, stopped = nil, true
		case <-budget.C:
			// An answer may have come just as the budget ended, unseen yet: it is the wait's
			// latest, and counts among its polls.
			if obs, seq, _, _ := loop.state(); seq > seen {
				if r, done, err := w.observe(obs); done {
					return r, err
				}
			}
			return w.outOfBudget()
		}
	}
}

// observe takes one new observation of the loop; done says it ends the wait, with r or err.
func (w *waiter) observe(obs observation) (r schema.TaskResult, done bool, err error) {
	w.polls++
	switch {
	case obs.err == nil:
		w.last, w.lastErr = obs.task, nil
		if obs.task.Status.Terminal() {
			return w.finished(taskResult(w.taskID, obs.task)), true, nil
		}
	case obs.final():
		return schema.TaskResult{}, true, obs.err
	default:
		w.lastErr = obs.err
	}
	return schema.TaskResult{}, false, nil
}

// beforeNextPoll ends the wait when the server is stopping or the next poll would come too
// late, and otherwise tells the caller's progress what the wait has seen.
func (w *waiter) beforeNextPoll(ctx context.Context, nextPoll time.Time, stopped bool) (r schema.TaskResult, done bool, err error) {
	switch {
	case stopped:
		r, err = w.stopped()
		return r, true, err
	case nextPoll.After(w.deadline):
		// Nothing new can come within the budget: say so now.
		r, err = w.outOfBudget()
		return r, true, err
	}
	// A notification must stay well ahead of the result: none when the next poll, which may
	// end the wait, is about to start (a caller joining a loop late).
	if time.Until(nextPoll) >= w.h.progressLead() {
		w.progress(ctx, w.polls, w.progressMessage())
	}
	return schema.TaskResult{}, false, nil
}

func (w *waiter) waited() float64 {
	return math.Round(time.Since(w.started).Seconds()*10) / 10
}

// finished completes a result with the wait's own counters.
func (w *waiter) finished(r schema.TaskResult) schema.TaskResult {
	polls, waited := w.polls, w.waited()
	r.Polls, r.WaitedSeconds = &polls, &waited
	return r
}

// ended is the error of a wait that ended without an answer about its task.
func (w *waiter) ended(reason endReason) error {
	return &callEnded{waiting: true, reason: reason, after: time.Since(w.started)}
}

// outOfBudget answers when the budget ends first: the latest status with done=false and the
// advice to call again; an error only when the upstream never answered.
func (w *waiter) outOfBudget() (schema.TaskResult, error) {
	switch {
	case w.last == nil && w.lastErr == nil:
		return schema.TaskResult{}, w.ended(endNoAnswer)
	case w.last == nil:
		return schema.TaskResult{}, w.lastErr
	}
	r := taskResult(w.taskID, w.last)
	r.Summary = fmt.Sprintf("The task is still %s after %.0f s of waiting (%d polls). Call wait_for_video_task again with the same task_id to keep waiting.",
		r.TaskStatus, w.waited(), w.polls)
	if w.lastErr != nil {
		r.Summary += " (The last query failed: " + truncate(w.lastErr.Error(), 200) + ".)"
	}
	return w.finished(r), nil
}

// cancelled answers a wait whose caller went away (the caller will most likely not read it),
// or that a stopping server could wait for no longer.
func (w *waiter) cancelled(ctx context.Context) (schema.TaskResult, error) {
	if errors.Is(context.Cause(ctx), errShutdown) {
		return w.stopped()
	}
	return schema.TaskResult{}, w.ended(endCancelled)
}

// stopped answers a wait cut short because the server is stopping: the latest status with
// done=false when there is one, and in every case the advice to call again.
func (w *waiter) stopped() (schema.TaskResult, error) {
	if w.last == nil {
		return schema.TaskResult{}, w.ended(endShutdown)
	}
	r := taskResult(w.taskID, w.last)
	r.Summary = fmt.Sprintf("The task was still %s when the wait stopped after %.0f s (%d polls). %s", r.TaskStatus, w.waited(), w.polls, waitStoppedAdvice)
	return w.finished(r), nil
}

func (w *waiter) progressMessage() string {
	if w.lastErr != nil && w.last == nil {
		return fmt.Sprintf("upstream not answering (%s); waited %.0f s", truncate(w.lastErr.Error(), 120), w.waited())
	}
	return fmt.Sprintf("%s; waited %.0f s", w.last.Status, w.waited())
}

// progressLost counts progress notifications that never reached the transport's writer: the
// session's queue stayed full, or the call answered before the transport wrote them.
var progressLost = expvar.NewInt("progress_notifications_lost")

// How long a progress notification may wait for room in a full session queue, and how long a
// finished wait lets the transport write the notifications it queued before answering.
const (
	progressQueueTimeout = time.Second
	progressWriteTimeout = 2 * time.Second
)

// progressNotifier sends one call's notifications/progress, and makes sure they are written
// before the call's result. A nil progressNotifier sends nothing: the request carried no
// progress token.
type progressNotifier struct {
	srv    *server.MCPServer
	token  mcp.ProgressToken
	taskID string
	logger *slog.Logger
	// written tracks what the Streamable HTTP response carrying this call has written: its
	// transport drops a notification still on its way to the writer when the call answers.
	// Nil on the other transports, which write notifications for as long as the session
	// lives.
	written *delivery.Tracker
}

func (h *handlers) progressNotifier(ctx context.Context, req mcp.CallToolRequest, taskID string) *progressNotifier {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	return &progressNotifier{
		srv:     srv,
		token:   req.Params.Meta.ProgressToken,
		taskID:  taskID,
		logger:  h.logger,
		written: delivery.FromContext(ctx),
	}
}

// send queues one notification. When the session's queue is full it waits for room, at most
// progressQueueTimeout; a notification that cannot be queued is counted as lost.
func (p *progressNotifier) send(ctx context.Context, polls int, message string) {
	if p == nil {
		return
	}
	params := map[string]any{"progressToken": p.token, "progress": polls, "message": message}
	err := p.srv.SendNotificationToClient(ctx, "notifications/progress", params)
	if errors.Is(err, server.ErrNotificationChannelBlocked) {
		err = p.sendWhenRoom(ctx, params)
	}
	switch {
	case err == nil:
		p.written.Queued()
		p.logger.DebugContext(ctx, "progress sent", "task_id", p.taskID, "progress", polls)
	case ctx.Err() != nil:
		// The caller went away: there is nobody to tell.
	default:
		p.lost(ctx, 1, err.Error())
	}
}

// sendWhenRoom queues a notification on the session's queue, waiting for room.
func (p *progressNotifier) sendWhenRoom(ctx context.Context, params map[string]any) error {
	session := server.ClientSessionFromContext(ctx)
	if session == nil {
		return server.ErrNotificationNotInitialized
	}
	timer := time.NewTimer(progressQueueTimeout)
	defer timer.Stop()
	select {
	case session.NotificationChannel() <- mcp.JSONRPCNotification{
		JSONRPC:      mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: "notifications/progress", Params: mcp.NotificationParams{AdditionalFields: params}},
	}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("the session's notification queue stayed full for %s", progressQueueTimeout)
	}
}

// flush returns once the notifications sent so far have been written to the response that
// will carry the result, at most progressWriteTimeout; those still unwritten then are
// counted as lost.
func (p *progressNotifier) flush(ctx context.Context) {
	if p == nil {
		return
	}
	if n := p.written.Wait(ctx, progressWriteTimeout); n > 0 && ctx.Err() == nil {
		p.lost(ctx, n, fmt.Sprintf("not written within %s of the result", progressWriteTimeout))
	}
}

func (p *progressNotifier) lost(ctx context.Context, n int, reason string) {
	progressLost.Add(int64(n))
	p.logger.WarnContext(ctx, "progress notification lost", "task_id", p.taskID, "count", n, "reason", reason)
}
