package api

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Limiter is the rate-limit policy of one upstream account: every request a Client sends,
// retries included, takes a turn from it first, and an answer of 429 pauses it. NewLimiter is
// the policy of one process; an implementation shared by several processes can stand in for
// it (see WithLimiter).
type Limiter interface {
	// Wait blocks until a request may be sent, or until ctx ends. Urgent requests (see
	// Urgent) go before routine ones as far as the limiter can order them. When no turn can
	// come early enough before ctx's deadline for a request to finish, Wait returns a
	// *NoTurnError at once rather than wait in vain.
	Wait(ctx context.Context, urgent bool) error
	// Pause holds every request back for at least d: the upstream answered 429.
	Pause(d time.Duration)
}

// NoTurnError is a Limiter's answer when no turn comes in time: nothing was sent.
type NoTurnError struct {
	// Wait is how long the request would have had to wait for its turn; 0 when unknown.
	Wait time.Duration
}

func (e *NoTurnError) Error() string {
	return fmt.Sprintf("rate limit: no turn before the deadline (the next is %s away)", e.Wait.Round(time.Millisecond))
}

// NewLimiter returns the in-process Limiter: at most perSecond requests a second (at least one
// an hour), released evenly, and shared fairly between callers (see ForCaller).
//
// It keeps its own queues rather than golang.org/x/time/rate, whose reservations are served
// in the order they were made: the policy here needs what that cannot give, namely urgent
// callers passing queued routine ones (with a share kept for the routine ones), callers taking
// turns with each other, a turn that comes too late refused at once rather than reserved, a
// turn granted to a caller that left handed on, and a 429 that moves every queued turn back.
func NewLimiter(perSecond float64) Limiter {
	return newRateLimiter(perSecond)
}

// rateLimiter releases requests evenly: at most one per interval, process-wide. A caller that
// arrives early queues for its turn instead of failing, so under pressure polls are spaced out
// rather than refused. Callers marked urgent (see Urgent) go before the others, but when both
// queue, routine callers still get routineShare of every routineShare+1 turns: a stream of
// urgent queries cannot starve the polls of running waits. Within each kind, the callers on
// whose behalf requests are made (see ForCaller) take turns, so a caller's only request waits
// for at most one of each other caller's of its kind, however many they have queued. A 429
// pauses everyone, not only the caller that saw it.
type rateLimiter struct {
	interval time.Duration

	mu      sync.Mutex
	next    time.Time    // the earliest time the next request may start
	queues  [2]fairQueue // urgent requests first, then the others
	release *time.Timer  // armed while anyone queues
	owed    int          // routine turns owed since the last urgent one
	sent    time.Time    // when the last request left wait to be sent
}

// routineShare is how many turns in a row routine callers get, when both kinds queue, for
// each urgent one.
const routineShare = 2

type rateLimitWaiter struct {
	caller string
	turn   chan struct{} // closed when the request may go
}

const (
	urgentQueue = iota
	backgroundQueue
)

// minRequestTime is the least time a request needs once its turn comes. A turn later than
// this before the caller's deadline is refused at once: granting it would only send a request
// that cannot finish, and the poll would be made again.
const minRequestTime = 2 * time.Second

// maxInterval bounds the spacing, so that a tiny rate cannot overflow it.
const maxInterval = time.Hour

func newRateLimiter(perSecond float64) *rateLimiter {
	interval := maxInterval
	if perSecond > 1/maxInterval.Seconds() {
		interval = time.Duration(float64(time.Second) / perSecond)
	}
	return &rateLimiter{interval: interval}
}

// Wait blocks until the caller's turn, or until ctx ends. When the turn would come too close
// to ctx's deadline it returns a *NoTurnError at once.
func (l *rateLimiter) Wait(ctx context.Context, urgent bool) error {
	queue := backgroundQueue
	if urgent {
		queue = urgentQueue
	}
	caller := CallerOf(ctx)
	l.mu.Lock()
	now := time.Now()
	if l.queuedLocked() == 0 && !now.Before(l.next) {
		l.next = now.Add(l.interval)
		l.mu.Unlock()
		return l.space(ctx)
	}
	// How many turns go before this request's: urgent requests pass routine ones, but give
	// them routineShare turns of every routineShare+1 while both queue. Requests that come
	// later may still pass it (urgent ones, and other callers' first), so this is the least
	// wait.
	ahead := l.queues[queue].ahead(caller)
	switch {
	case !urgent:
		ahead += l.queues[urgentQueue].n
	case l.queues[backgroundQueue].n > 0:
		ahead = (ahead+1)*(routineShare+1) - 1
	}
	turn := l.next
	if turn.Before(now) {
		turn = now
	}
	turn = turn.Add(time.Duration(ahead) * l.interval)
	if deadline, ok := ctx.Deadline(); ok && turn.Add(minRequestTime).After(deadline) {
		l.mu.Unlock()
		return &NoTurnError{Wait: turn.Sub(now)}
	}
	w := &rateLimitWaiter{caller: caller, turn: make(chan struct{})}
	l.queues[queue].push(w)
	l.armLocked(now)
	l.mu.Unlock()

	select {
	case <-w.turn:
		return l.space(ctx)
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.queues[queue].remove(w) {
			// The turn was granted as the caller left: hand it on rather than waste it.
			now := time.Now()
			l.next = now
			if l.queuedLocked() > 0 {
				// Bring the pending release forward. A release already under way (Stop
				// reports false) waits for this lock and will see the new l.next itself.
				if l.release != nil && l.release.Stop() {
					l.release = nil
				}
				l.armLocked(now)
			}
		}
		return ctx.Err()
	}
}

// space keeps the requests themselves an interval apart. Turns are released on time, but a
// caller that wakes late would send together with the next one; this holds it back instead.
func (l *rateLimiter) space(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.sent.Add(l.interval)
	if at.Before(now) {
		at = now
	}
	l.sent = at
	l.mu.Unlock()
	return Sleep(ctx, at.Sub(now))
}

// Sleep waits d, or until ctx ends, and then says which: nil, or ctx's error. A Limiter
// outside this package may use it to hold a caller back.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// armLocked makes sure the release timer runs while anyone queues.
func (l *rateLimiter) armLocked(now time.Time) {
	if l.release == nil {
		l.release = time.AfterFunc(max(l.next.Sub(now), 0), l.releaseNext)
	}
}

// queuedLocked is how many requests wait for their turn.
func (l *rateLimiter) queuedLocked() int {
	return l.queues[urgentQueue].n + l.queues[backgroundQueue].n
}

// releaseNext lets the next queued request go, urgent ones first, and re-arms itself while
// others queue.
func (l *rateLimiter) releaseNext() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.release = nil
	now := time.Now()
	if now.Before(l.next) { // a pause moved the next turn further out
		l.armLocked(now)
		return
	}
	q := urgentQueue
	switch {
	case l.queues[urgentQueue].n == 0:
		q = backgroundQueue
	case l.queues[backgroundQueue].n > 0 && l.owed > 0:
		// Urgent requests had their turn: routine ones get theirs.
		q = backgroundQueue
	}
	if w := l.queues[q].pop(); w != nil {
		close(w.turn)
		l.next = now.Add(l.interval)
		l.countTurnLocked(q)
	}
	if l.queuedLocked() > 0 {
		l.armLocked(now)
	}
}

// countTurnLocked tracks the mix of turns: after an urgent one, routineShare routine ones.
func (l *rateLimiter) countTurnLocked(q int) {
	switch {
	case q == urgentQueue && l.queues[backgroundQueue].n > 0:
		l.owed = routineShare
	case q == urgentQueue:
		l.owed = 0
	case l.owed > 0:
		l.owed--
	}
}

// fairQueue holds the requests of one urgency that wait for a turn, in a queue per caller.
// The callers take turns: pop serves the caller at the head of the rotation and moves it to
// the back while it has more.
type fairQueue struct {
	rotation []*callerQueue // callers with requests waiting; the first is served next
	n        int            // requests waiting, in all
}

// callerQueue is one caller's waiting requests, oldest first.
type callerQueue struct {
	caller  string
	waiters []*rateLimitWaiter
}

// find returns caller's place in the rotation, or -1.
func (q *fairQueue) find(caller string) int {
	return slices.IndexFunc(q.rotation, func(c *callerQueue) bool { return c.caller == caller })
}

// ahead is how many turns go before a request of caller's pushed now. If caller has k
// requests queued, each caller ahead of it in the rotation is served up to k+1 times first,
// and each behind it up to k times. A caller with nothing queued joins at the back.
func (q *fairQueue) ahead(caller string) int {
	i := q.find(caller)
	if i < 0 {
		return len(q.rotation)
	}
	mine := len(q.rotation[i].waiters)
	ahead := mine
	for j, c := range q.rotation {
		switch {
		case j < i:
			ahead += min(len(c.waiters), mine+1)
		case j > i:
			ahead += min(len(c.waiters), mine)
		}
	}
	return ahead
}

func (q *fairQueue) push(w *rateLimitWaiter) {
	q.n++
	if i := q.find(w.caller); i >= 0 {
		q.rotation[i].waiters = append(q.rotation[i].waiters, w)
		return
	}
	q.rotation = append(q.rotation, &callerQueue{caller: w.caller, waiters: []*rateLimitWaiter{w}})
}

// pop takes the next request in the rotation, or returns nil when none waits.
func (q *fairQueue) pop() *rateLimitWaiter {
	if q.n == 0 {
		return nil
	}
	c := q.rotation[0]
	w := c.waiters[0]
	c.waiters = c.waiters[1:]
	q.rotation = q.rotation[1:]
	if len(c.waiters) > 0 {
		q.rotation = append(q.rotation, c)
	}
	q.n--
	return w
}

// remove takes w out of the queue, reporting whether it was there.
func (q *fairQueue) remove(w *rateLimitWaiter) bool {
	i := q.find(w.caller)
	if i < 0 {
		return false
	}
	c := q.rotation[i]
	k := slices.Index(c.waiters, w)
	if k < 0 {
		return false
	}
	c.waiters = slices.Delete(c.waiters, k, k+1)
	if len(c.waiters) == 0 {
		q.rotation = slices.Delete(q.rotation, i, i+1)
	}
	q.n--
	return true
}

// Pause holds every request back until at least now+d.
func (l *rateLimiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.next) {
		l.next = until
	}
}

type urgentKey struct{}

// Urgent marks ctx's requests as made for a caller who is waiting for this very answer, such
// as the first query of a task. Under the rate limit they go before the routine polls of
// tasks that are already being followed.
func Urgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

func isUrgent(ctx context.Context) bool {
	urgent, _ := ctx.Value(urgentKey{}).(bool)
	return urgent
}

type callerKey struct{}

// ForCaller marks ctx's requests as made on behalf of caller: one client of the server, such
// as an HTTP session or a remote address. The in-process Limiter takes turns round-robin
// between callers within each urgency, so that one caller's many queued requests cannot hold
// back another's. Requests with no caller are those of one caller, "".
func ForCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// CallerOf returns the caller ForCaller gave ctx, or "" when none.
func CallerOf(ctx context.Context) string {
	caller, _ := ctx.Value(callerKey{}).(string)
	return caller
}
