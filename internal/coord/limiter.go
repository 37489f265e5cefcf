package coord

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// The shared rate limit is GCRA kept as one "theoretical arrival time" in Redis: each request
// takes the next free slot, at least one interval after the previous slot and no earlier than
// a pause a 429 set, in one script run (one atomic step per request). Redis's own clock is
// used, so the processes need not agree on the time. A request whose slot is further away
// than it may wait takes none and is told the wait.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
local wait = slot - now
if wait > maxWait then
	return {0, string.format('%.0f', wait)}
end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.ceil((wait + interval) / 1000) + 1000)
return {1, string.format('%.0f', wait)}
`)

var pauseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untilT = now + tonumber(ARGV[1])
if untilT > tonumber(redis.call('GET', KEYS[1]) or '0') then
	redis.call('SET', KEYS[1], string.format('%.0f', untilT), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
`)

// routineHorizon is how far ahead a routine request may take a shared slot. Urgent requests
// take any slot before their deadline; routine ones, while the shared queue is longer than
// this, wait in their own process and try again, so an urgent request arriving anywhere
// waits behind at most this much of other processes' routine work.
const routineHorizon = time.Second

// minRequestTime is the least time a request needs once its slot comes: a slot later than
// this before the caller's deadline is refused, as the in-process limiter does.
const minRequestTime = 2 * time.Second

// Limiter returns the rate limit of perSecond requests per second that every process using
// this Store shares, as an api.Limiter.
//
// Each request first takes a turn from the process's own limiter at the same rate (api's
// in-process policy, so that within a process urgent first polls still pass routine ones,
// routine ones keep their share, and the process's clients take turns), then a slot from
// Redis. Across processes, urgency is kept only as routineHorizon allows: routine requests do
// not queue more than that ahead in Redis, urgent ones do. A 429 pauses every process. With
// Redis down, the process's own turn is all there is: each process keeps to perSecond on its
// own.
func (s *Store) Limiter(perSecond float64) api.Limiter {
	return &sharedLimiter{
		store:    s,
		local:    api.NewLimiter(perSecond),
		interval: time.Duration(float64(time.Second) / perSecond),
	}
}

type sharedLimiter struct {
	store    *Store
	local    api.Limiter
	interval time.Duration
}

func (l *sharedLimiter) Wait(ctx context.Context, urgent bool) error {
	for {
		if err := l.local.Wait(ctx, urgent); err != nil {
			return err
		}
		maxWait := time.Duration(1<<62 - 1)
		if deadline, ok := ctx.Deadline(); ok {
			maxWait = time.Until(deadline) - minRequestTime
		}
		limit := maxWait
		if !urgent {
			limit = min(limit, routineHorizon)
		}
		ok, wait, err := l.reserve(ctx, max(limit, 0))
		switch {
		case err != nil:
			return nil // Redis is down: this process's own turn is the limit
		case ok:
			return sleep(ctx, wait)
		case wait > maxWait:
			return &api.NoTurnError{Wait: wait}
		}
		// A routine request behind a long shared queue: let it shorten, then queue again.
		if err := sleep(ctx, wait-routineHorizon); err != nil {
			return err
		}
	}
}

func (l *sharedLimiter) reserve(ctx context.Context, maxWait time.Duration) (bool, time.Duration, error) {
	var res []any
	err := l.store.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = reserveScript.Run(ctx, l.store.rdb,
			[]string{l.store.key("rate", "next"), l.store.key("rate", "pause")},
			l.interval.Microseconds(), maxWait.Microseconds()).Slice()
		return err
	})
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, errors.New("coord: unexpected reply to the rate-limit script")
	}
	granted, _ := res[0].(int64)
	wait, err := parseMicros(res[1])
	if err != nil {
		return false, 0, err
	}
	return granted == 1, wait, nil
}

func (l *sharedLimiter) Pause(d time.Duration) {
	l.local.Pause(d)
	_ = l.store.do(context.Background(), func(ctx context.Context) error {
		return pauseScript.Run(ctx, l.store.rdb, []string{l.store.key("rate", "pause")}, d.Microseconds()).Err()
	})
}

func parseMicros(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, errors.New("coord: unexpected wait in the rate-limit reply")
	}
	d, err := time.ParseDuration(s + "us")
	if err != nil {
		return 0, err
	}
	return d, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
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
