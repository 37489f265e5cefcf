package api

import (
	"context"
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

// wait blocks until the caller's slot, or until ctx ends. A cancelled caller gives its slot
// back when nobody has queued behind it.
func (l *rateLimiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	slot := l.next
	if slot.Before(now) {
		slot = now
	}
	l.next = slot.Add(l.interval)
	l.mu.Unlock()

	delay := time.Until(slot)
	if delay <= 0 {
		return nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		if l.next.Equal(slot.Add(l.interval)) {
			l.next = slot
		}
		l.mu.Unlock()
		return ctx.Err()
	}
}

// pause holds every request back until at least now+d.
func (l *rateLimiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.next) {
		l.next = until
	}
}
