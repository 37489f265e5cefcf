package tools

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// observation is what one upstream query of a task found.
type observation struct {
	task *api.Task // nil when err is set
	err  error
	at   time.Time
}

// final reports whether no later query can tell anything new: the task ended, or the
// upstream refused the query for a reason that retrying cannot cure.
func (o observation) final() bool {
	if o.err == nil {
		return o.task.Status.Terminal()
	}
	var e *api.Error
	return !errors.As(o.err, &e) || !e.Transient()
}

// retryAfter is how long the upstream asked us to wait before asking again.
func (o observation) retryAfter() time.Duration {
	var e *api.Error
	if errors.As(o.err, &e) {
		return e.RetryAfter
	}
	return 0
}

// freshUntil is when a newer observation may first be had: a poll interval after this one,
// or later when the upstream asked us to wait longer before asking again.
func (o observation) freshUntil(interval time.Duration) time.Time {
	return o.at.Add(max(interval, o.retryAfter()))
}

// pollHub is the one owner of waiting: every caller interested in a task id subscribes to
// one poll loop for that id, so the upstream sees the requests of one caller however many
// wait, and finished tasks are remembered, so that asking again costs no request. localHub is
// a process on its own.
type pollHub interface {
	// subscribe returns the remembered final state of id when there is one, else the poll
	// loop of id, started if nobody polls it yet. caller is the client the subscriber asks
	// for (see api.ForCaller). Every loop returned must be released with unsubscribe.
	subscribe(id, caller string) (*api.Task, *pollLoop)
	// unsubscribe releases a subscription; the last one stops the loop, in the middle of a
	// request if need be.
	unsubscribe(loop *pollLoop, caller string)
}

// localHub is the pollHub of one process. A loop polls while anyone subscribes and ends with
// its last subscriber.
type localHub struct {
	client          *api.Client
	pollInterval    time.Duration
	maxPollInterval time.Duration
	finished        *terminalCache
	logger          *slog.Logger
	// remember, when not nil, keeps a finished task beyond this process before any
	// subscriber has its answer, so that a caller who asks elsewhere next costs no request.
	remember func(ctx context.Context, id string, task *api.Task)

	mu    sync.Mutex
	loops map[string]*pollLoop
}

// newLocalHub returns a localHub. remember may be nil.
func newLocalHub(client *api.Client, pollInterval, maxPollInterval time.Duration, finished *terminalCache, logger *slog.Logger,
	remember func(ctx context.Context, id string, task *api.Task)) *localHub {
	return &localHub{
		client:          client,
		logger:          logger,
		pollInterval:    pollInterval,
		maxPollInterval: maxPollInterval,
		finished:        finished,
		remember:        remember,
		loops:           make(map[string]*pollLoop),
	}
}

func (h *localHub) subscribe(id, caller string) (*api.Task, *pollLoop) {
	return h.join(id, caller, h.run)
}

// join is subscribe with the poll loop run: the remembered final state of id when there is
// one, else id's loop, started with run if nobody follows id yet.
func (h *localHub) join(id, caller string, run func(context.Context, *pollLoop)) (*api.Task, *pollLoop) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if task, ok := h.finished.get(id); ok {
		return task, nil
	}
	loop := h.loops[id]
	if loop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		loop = newPollLoop(id, cancel)
		h.loops[id] = loop
		loop.joinedBy(caller) // before the first poll, which takes caller's turn
		go run(ctx, loop)
	} else {
		loop.joinedBy(caller)
	}
	loop.subscribers++
	return nil, loop
}

func (h *localHub) unsubscribe(loop *pollLoop, caller string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	loop.leftBy(caller)
	loop.subscribers--
	if loop.subscribers == 0 {
		loop.cancel()
		if h.loops[loop.id] == loop {
			delete(h.loops, loop.id)
		}
	}
}

// run polls one task until it ends or nobody waits. The pause between polls starts at
// pollInterval and grows towards maxPollInterval; a Retry-After stretches it.
func (h *localHub) run(ctx context.Context, loop *pollLoop) {
	interval := h.pollInterval
	// The first poll, and one a caller asks for, has someone waiting on it: under the rate
	// limit it goes before the routine polls of other tasks.
	urgent := true
	for {
		r := h.poll(ctx, loop, urgent, interval)
		if r.done {
			return
		}
		urgent = false
		timer := time.NewTimer(r.pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-loop.poke:
			timer.Stop()
			urgent = true
		case <-timer.C:
		}
		interval = h.nextInterval(interval)
	}
}

// nextInterval is the pause after one of interval: longer by backoffFactor, up to
// maxPollInterval.
func (h *localHub) nextInterval(interval time.Duration) time.Duration {
	return min(time.Duration(float64(interval)*backoffFactor), h.maxPollInterval)
}

// pollResult is what one poll did.
type pollResult struct {
	obs   observation
	pause time.Duration // until the next poll: the interval, or longer when the upstream asked
	done  bool          // the loop is over: the task ended, or the last subscriber left
}

// poll queries the task once and tells the loop's subscribers what it found.
func (h *localHub) poll(ctx context.Context, loop *pollLoop, urgent bool, interval time.Duration) pollResult {
	pollCtx := api.ForCaller(ctx, loop.caller())
	if urgent {
		pollCtx = api.Urgent(pollCtx)
	}
	task, err := h.client.GetTask(pollCtx, loop.id)
	if ctx.Err() != nil {
		return pollResult{done: true} // the last subscriber left
	}
	// A caller that asked for a poll while this one was under way has its answer.
	select {
	case <-loop.poke:
	default:
	}
	obs := observation{task: task, err: err, at: time.Now()}
	r := pollResult{obs: obs, pause: max(interval, obs.retryAfter())}
	h.log(ctx, loop, obs)
	if obs.final() {
		if h.remember != nil && obs.err == nil && obs.task.Status != api.StatusUnknown {
			h.remember(context.WithoutCancel(ctx), loop.id, obs.task)
		}
		h.finish(loop, obs)
		r.done = true
		return r
	}
	loop.publish(obs, obs.at.Add(r.pause))
	return r
}

// finish ends a loop with a final observation: a finished task is remembered, the loop leaves
// the hub, and its subscribers get the observation.
func (h *localHub) finish(loop *pollLoop, obs observation) {
	h.mu.Lock()
	if obs.err == nil && obs.task.Status != api.StatusUnknown {
		h.finished.put(loop.id, obs.task)
	}
	if h.loops[loop.id] == loop {
		delete(h.loops, loop.id)
	}
	h.mu.Unlock()
	loop.publish(obs, time.Time{})
}

// log records one poll: at debug level while the task runs, at info level when it ends. A
// video URL is logged without its query string: the signature is a credential.
func (h *localHub) log(ctx context.Context, loop *pollLoop, obs observation) {
	if obs.err != nil {
		h.logger.WarnContext(ctx, "task query failed", "task_id", loop.id, "error", obs.err.Error())
		return
	}
	attrs := []any{"task_id", loop.id, "status", obs.task.Status}
	if !obs.task.Status.Terminal() {
		h.logger.DebugContext(ctx, "task polled", attrs...)
		return
	}
	if obs.task.VideoURL != "" {
		attrs = append(attrs, "video_url", redactQuery(obs.task.VideoURL))
	}
	if obs.task.Code != "" {
		attrs = append(attrs, "code", obs.task.Code)
	}
	h.logger.InfoContext(ctx, "task finished", attrs...)
}

// redactQuery drops the credentials and the query string of a URL, keeping where it points.
func redactQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.User, u.Fragment = nil, ""
	return u.String()
}

// pollLoop is the shared state of one task's polling.
type pollLoop struct {
	id     string
	cancel context.CancelFunc
	poke   chan struct{} // asks for the next poll now
	news   chan []byte   // what other processes publish about the task (sharedHub)

	subscribers int // guarded by the hub's lock

	mu       sync.Mutex
	callers  []string // whom each subscriber asks for (see api.ForCaller), in the order they came
	latest   observation
	seq      int           // observations published so far
	nextPoll time.Time     // when the next poll starts; zero once the loop has ended
	changed  chan struct{} // closed, and replaced, at every publish
}

func newPollLoop(id string, cancel context.CancelFunc) *pollLoop {
	return &pollLoop{id: id, cancel: cancel, changed: make(chan struct{}), poke: make(chan struct{}, 1),
		news: make(chan []byte, newsBuffer)}
}

func (l *pollLoop) publish(obs observation, nextPoll time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latest, l.nextPoll = obs, nextPoll
	l.seq++
	close(l.changed)
	l.changed = make(chan struct{})
}

// state returns the latest observation, its sequence number (0: none yet), when the next
// poll is due, and a channel closed at the next publish.
func (l *pollLoop) state() (observation, int, time.Time, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest, l.seq, l.nextPoll, l.changed
}

// observed reports whether the loop has published anything yet.
func (l *pollLoop) observed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq > 0
}

// newsBuffer is how much news from other processes a loop holds before it misses some.
const newsBuffer = 16

// joinedBy records a subscriber asking on behalf of caller. The loop's polls take the turns,
// under the rate limit, of the caller that came last of those still subscribed: the one that
// asked last, or else the one that still waits.
func (l *pollLoop) joinedBy(caller string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.callers = append(l.callers, caller)
}

// leftBy undoes joinedBy, for caller's latest subscriber: the latest is also the cheapest to
// remove when thousands of one caller's subscribers leave.
func (l *pollLoop) leftBy(caller string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.callers) - 1; i >= 0; i-- {
		if l.callers[i] == caller {
			l.callers = slices.Delete(l.callers, i, i+1)
			return
		}
	}
}

// caller is whose turns the loop's polls take.
func (l *pollLoop) caller() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.callers) == 0 {
		return ""
	}
	return l.callers[len(l.callers)-1]
}

// pollNow asks the loop to poll without waiting out its pause.
func (l *pollLoop) pollNow() {
	select {
	case l.poke <- struct{}{}:
	default:
	}
}

// terminalCache remembers tasks that finished, for a bounded time and count. A finished task
// never changes, so a repeated question costs no upstream request. UNKNOWN is not kept:
// an id the upstream does not know yet may still appear.
type terminalCache struct {
	ttl     time.Duration
	maxSize int
	// onAdd and onRemove, when set, learn of every task remembered (seq counts them, from 1)
	// and of those forgotten; they run under the cache's lock, so in the order of the changes.
	onAdd    func(id string, task *api.Task, seq int)
	onRemove func(ids ...string)

	mu      sync.Mutex
	entries map[string]cachedTask
	order   []string // insertion order, oldest first, for eviction
	seq     int
}

type cachedTask struct {
	task   *api.Task
	stored time.Time
	expiry *time.Timer // forgets the task after ttl
}

func newTerminalCache(ttl time.Duration, maxSize int) *terminalCache {
	return &terminalCache{ttl: ttl, maxSize: maxSize, entries: make(map[string]cachedTask)}
}

func (c *terminalCache) get(id string) (*api.Task, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || time.Since(e.stored) > c.ttl {
		return nil, false
	}
	return e.task, true
}

func (c *terminalCache) put(id string, task *api.Task) {
	if c.maxSize <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		if time.Since(e.stored) <= c.ttl {
			return // finished tasks never change
		}
		c.forget(id) // its expiry is due: remembered afresh below
		if c.onRemove != nil {
			c.onRemove(id)
		}
	}
	c.seq++
	c.order = append(c.order, id)
	c.entries[id] = cachedTask{task: task, stored: time.Now(), expiry: time.AfterFunc(c.ttl, func() { c.expire(id) })}
	if c.onAdd != nil {
		c.onAdd(id, task, c.seq)
	}
	var dropped []string
	for len(c.entries) > c.maxSize {
		dropped = append(dropped, c.order[0])
		c.forget(c.order[0])
	}
	if len(dropped) > 0 && c.onRemove != nil {
		c.onRemove(dropped...)
	}
}

// expire forgets id once its time is up.
func (c *terminalCache) expire(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || time.Since(e.stored) < c.ttl {
		return
	}
	c.forget(id)
	if c.onRemove != nil {
		c.onRemove(id)
	}
}

// forget drops id; the caller holds c.mu.
func (c *terminalCache) forget(id string) {
	if e, ok := c.entries[id]; ok {
		e.expiry.Stop()
		delete(c.entries, id)
	}
	for i, o := range c.order {
		if o == id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}
