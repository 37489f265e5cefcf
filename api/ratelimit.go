package api

import (
	"context"
	"errors"
	"sync"
	"time"
)

// rateLimiter spaces requests evenly: at most one per interval, process-wide. A caller that
// arrives early waits for its slot instead of failing, so under pressure polls are spaced out
// rather than refused. A 429 pauses everyone, not only the caller that saw it.
type rateLimiter struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // the earliest time the next request may start
}

func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{interval: time.Duration(float64(time.Second) / perSecond)}
}

// wait blocks until the caller's slot, or until ctx ends. When the slot comes after ctx's
// deadline it returns at once, with errSlotTooLate and how long the caller would have had to
// wait. A caller that leaves gives its slot back when nobody has queued behind it.
func (l *rateLimiter) wait(ctx context.Context) (time.Duration, error) {
	l.mu.Lock()
	now := time.Now()
	slot := l.next
	if slot.Before(now) {
		slot = now
	}
	if deadline, ok := ctx.Deadline(); ok && slot.After(deadline) {
		l.mu.Unlock()
		return slot.Sub(now), errSlotTooLate
	}
	l.next = slot.Add(l.interval)
	l.mu.Unlock()

	delay := time.Until(slot)
	if delay <= 0 {
		return 0, nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, nil
	case <-ctx.Done():
		l.mu.Lock()
		if l.next.Equal(slot.Add(l.interval)) {
			l.next = slot
		}
		l.mu.Unlock()
		return 0, ctx.Err()
	}
}

var errSlotTooLate = errors.New("rate limit: no request slot before the deadline")

// pause holds every request back until at least now+d.
func (l *rateLimiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.next) {
		l.next = until
	}
}
