package coord

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leases: one process polls a task at a time. A lease is a key holding its holder's instance
// id with a time to live (SET NX PX); the holder renews it around every poll, and when the
// holder dies the key lapses and another process takes it. One script claims, renews or
// reports the time left, in one step, so a follower knows exactly when to try again.
//
// This is the SET NX PX lock rather than a lock library such as bsm/redislock: that one
// retries on a schedule of its own and hides the time left, and a follower here wants to sleep
// exactly until the lease can lapse, or until the holder publishes news.
var claimScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return -1
end
return redis.call('PTTL', KEYS[1])
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim takes or renews this process's lease on task id for ttl. It returns true when this
// process holds it; otherwise how long the holder's lease still runs (0 when Redis did not
// say). With Redis down it returns ErrDown.
func (s *Store) Claim(ctx context.Context, id string, ttl time.Duration) (bool, time.Duration, error) {
	var left int64
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		left, err = claimScript.Run(ctx, s.rdb, []string{s.key("lease", id)}, s.instance, max(ttl.Milliseconds(), 1)).Int64()
		return err
	})
	if err != nil {
		return false, 0, err
	}
	if left < 0 {
		return true, 0, nil
	}
	return false, time.Duration(left) * time.Millisecond, nil
}

// Release gives up this process's lease on id, if it holds it.
func (s *Store) Release(ctx context.Context, id string) {
	_ = s.do(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, s.rdb, []string{s.key("lease", id)}, s.instance).Err()
	})
}

// Publish sends news of task id to the other processes that follow it. With keep > 0 the news
// is also kept as the task's latest, for keep, so that a process that starts to follow the
// task has it at once.
func (s *Store) Publish(ctx context.Context, id string, news []byte, keep time.Duration) error {
	msg := s.instance + "\n" + string(news)
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if keep > 0 {
				p.Set(ctx, s.key("latest", id), news, keep)
			}
			p.Publish(ctx, s.key("task", id), msg)
			return nil
		})
		return err
	})
}

// Latest returns the latest news of task id that a process kept, if any.
func (s *Store) Latest(ctx context.Context, id string) ([]byte, bool) {
	return s.get(ctx, s.key("latest", id))
}

// Remember keeps a finished task, encoded, for ttl: any process answers it from there.
func (s *Store) Remember(ctx context.Context, id string, task []byte, ttl time.Duration) {
	_ = s.do(ctx, func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.key("finished", id), task, ttl).Err()
	})
}

// Recall returns a finished task that some process remembered, if any.
func (s *Store) Recall(ctx context.Context, id string) ([]byte, bool) {
	return s.get(ctx, s.key("finished", id))
}

func (s *Store) get(ctx context.Context, key string) ([]byte, bool) {
	var b []byte
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		b, err = s.rdb.Get(ctx, key).Bytes()
		return err
	})
	return b, err == nil
}

// Listen delivers the news that other processes publish, task by task, to deliver until the
// Store is closed. deliver must not block for long: messages wait for it in a bounded buffer,
// and past it they are dropped (a follower that misses news takes the lease when it lapses).
// While Redis is down nothing arrives; the subscription is renewed when Redis is back.
func (s *Store) Listen(deliver func(id string, news []byte)) {
	ps := s.rdb.PSubscribe(context.Background(), s.prefix+"task:*")
	ch := ps.Channel(redis.WithChannelSize(maxDeliverer), redis.WithChannelSendTimeout(time.Second))
	taskPrefix := s.prefix + "task:"
	s.stopped.Add(1)
	go func() {
		defer s.stopped.Done()
		defer ps.Close()
		for {
			select {
			case <-s.stop:
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				from, news, found := strings.Cut(m.Payload, "\n")
				if !found || from == s.instance {
					continue
				}
				deliver(strings.TrimPrefix(m.Channel, taskPrefix), []byte(news))
			}
		}
	}()
}
