package coord

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// The shared rate limit is GCRA kept as one "theoretical arrival time" in Redis: a request may
// go when that time has come and no 429 pause runs, and going moves it one interval past now,
// all in one script run (one atomic step). A request that may not go yet takes nothing and is
// told how long to wait; it asks again then. Granting only what may go now, rather than
// reserving a later slot and sleeping until it, keeps a process that wakes late from sending
// together with the next slot's request: the interval is counted from when a request really
// went. Redis's own clock is used, so the processes need not agree on the time.
//
// Urgent requests come first across processes as far as one key allows: an urgent request
// told to wait marks that it waits, and while the mark lasts routine requests wait an
// interval more, so the next free turn goes to the urgent one.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local urgent = ARGV[2] == '1'
local at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
local wait = at - now
if not urgent and redis.call('EXISTS', KEYS[3]) == 1 then
	wait = math.max(wait, interval)
end
if wait > 0 then
	if urgent then
		redis.call('SET', KEYS[3], '1', 'PX', math.ceil((wait + interval) / 1000))
	end
	return {0, string.format('%.0f', wait)}
end
redis.call('SET', KEYS[1], string.format('%.0f', now + interval), 'PX', math.ceil(interval / 1000) + 1000)
if urgent then
	redis.call('DEL', KEYS[3])
end
return {1, '0'}
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

// minRequestTime is the least time a request needs once its slot comes: a slot later than
// this before the caller's deadline is refused, as the in-process limiter does.
const minRequestTime = 2 * time.Second

// Limiter returns the rate limit of perSecond requests per second that every process using
// this Store shares, as an api.Limiter.
//
// Each request first takes a turn from the process's own limiter at the same rate (api's
// in-process policy: within a process urgent first polls pass routine ones, which keep their
// share, and the process's clients take turns), then asks Redis whether it may go. Across
// processes, an urgent request that has to wait goes before the routine requests of other
// processes that ask meanwhile. A 429 pauses every process. With Redis down, the process's
// own turn is all there is: each process keeps to perSecond on its own.
func (s *Store) Limiter(perSecond float64) api.Limiter {
	return &sharedLimiter{
		store:    s,
		local:    api.NewLimiter(perSecond),
		alone:    api.NewLimiter(perSecond),
		interval: time.Duration(float64(time.Second) / perSecond),
	}
}

type sharedLimiter struct {
	store *Store
	local api.Limiter // orders this process's requests
	// alone paces the requests that Redis could not: callers that had their local turn and
	// were waiting for a shared one when Redis went away would otherwise all go at once.
	alone    api.Limiter
	interval time.Duration
}

func (l *sharedLimiter) Wait(ctx context.Context, urgent bool) error {
	if err := l.local.Wait(ctx, urgent); err != nil {
		return err
	}
	for {
		ok, wait, err := l.allow(ctx, urgent)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return l.alone.Wait(ctx, urgent) // Redis is down: the process limits itself
		case ok:
			return nil
		}
		if deadline, has := ctx.Deadline(); has && time.Until(deadline)-wait < minRequestTime {
			return &api.NoTurnError{Wait: wait}
		}
		// Every process's waiting callers ask again: at most once an interval each.
		if err := api.Sleep(ctx, max(wait, l.interval)); err != nil {
			return err
		}
	}
}

// allow is one step of the shared limit: whether a request may go now, and if not, how long
// until it may.
func (l *sharedLimiter) allow(ctx context.Context, urgent bool) (bool, time.Duration, error) {
	flag := "0"
	if urgent {
		flag = "1"
	}
	var res []any
	err := l.store.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = allowScript.Run(ctx, l.store.rdb,
			[]string{l.store.key("rate", "next"), l.store.key("rate", "pause"), l.store.key("rate", "urgent")},
			l.interval.Microseconds(), flag).Slice()
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
