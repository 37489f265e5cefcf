// Package coord lets several server processes that use one upstream account share, through
// Redis, what would otherwise be each process's own: the rate limit, the polling of each task
// (one process polls it under a lease and publishes what it sees) and the memory of finished
// tasks. It knows nothing of MCP.
//
// Redis trouble never becomes a caller's trouble: every operation is bounded in time, and
// once one fails the Store reports Redis as down (a warning logged once, the expvar counter
// redis_outages increased) and answers every operation at once with ErrDown, without touching
// the network, until a background probe finds Redis again. Callers then carry on as a process
// on its own would.
package coord

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrDown is the answer of every operation while Redis is unreachable.
var ErrDown = errors.New("coord: redis is unreachable")

// outages counts the times Redis became unreachable; redisUp is 1 while it is reachable.
var (
	outages = expvar.NewInt("redis_outages")
	redisUp = expvar.NewInt("redis_up")
)

// Bounds on the time of Redis work. An operation that takes longer counts as an outage: the
// request it serves goes on without Redis rather than wait.
//
// A Redis answers in well under a millisecond; the bound is generous because a process
// starved of CPU (two cores serving thousands of waits) reads late, and a false outage costs
// the coordination of every task until the probe ends it.
const (
	opTimeout    = 2 * time.Second
	dialTimeout  = time.Second
	probeEvery   = 500 * time.Millisecond
	ioTimeout    = opTimeout
	poolSize     = 32
	maxDeliverer = 256 // messages buffered between Redis and the listener
)

// Store is this process's connection to the Redis that the processes of one upstream account
// share. Its keys and channels all start with a prefix derived from a hash of the account's
// API key, so processes of different accounts never meet; the key itself is never written.
type Store struct {
	rdb      *redis.Client
	prefix   string // "video-task-mcp:<hash of the API key>:"
	instance string // this process, among those that share the prefix
	addr     string // where Redis is, for logs: host:port or a socket path, never credentials
	logger   *slog.Logger

	down    atomic.Bool
	stop    chan struct{}
	stopped sync.WaitGroup
}

// Open connects to the Redis at rawURL (redis://, rediss:// or unix://, a password in the URL
// if needed) for the processes that use accountKey. Only a URL that cannot be used is an
// error, and the error never quotes its password: a Redis that does not answer yet is an
// outage like any other, and coordination starts when it answers.
func Open(ctx context.Context, rawURL, accountKey string, logger *slog.Logger) (*Store, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url %s: want redis://[user:password@]host:port[/db], rediss://… or unix:///path/to/socket, with characters such as / ? # @ %% in the password percent-encoded (/ is %%2F)", redactURL(rawURL))
	}
	opts.DialTimeout = dialTimeout
	opts.DialerRetries = 1
	opts.ReadTimeout, opts.WriteTimeout = ioTimeout, ioTimeout
	opts.PoolTimeout = opTimeout
	opts.PoolSize = poolSize
	// One retry, at once: after Redis restarts, a pooled connection fails once before a new
	// one is dialled, and that is no outage. A second failure is: the caller goes on without.
	opts.MaxRetries = 1
	opts.MinRetryBackoff, opts.MaxRetryBackoff = -1, -1
	opts.ContextTimeoutEnabled = true
	opts.DisableIdentity = true
	redis.SetLogger(redisLogger{logger})
	s := &Store{
		rdb:      redis.NewClient(opts),
		prefix:   "video-task-mcp:" + accountHash(accountKey) + ":",
		instance: newInstanceID(),
		addr:     opts.Addr,
		logger:   logger,
		stop:     make(chan struct{}),
	}
	pingCtx, cancel := context.WithTimeout(ctx, dialTimeout+opTimeout)
	defer cancel()
	if err := s.rdb.Ping(pingCtx).Err(); err != nil {
		s.fail(err)
		return s, nil
	}
	redisUp.Set(1)
	return s, nil
}

// Close stops the Store's background work and closes its connections. A nil Store has none.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	close(s.stop)
	err := s.rdb.Close()
	s.stopped.Wait()
	return err
}

// Addr is where Redis is, as host:port or a socket path; it carries no credentials.
func (s *Store) Addr() string { return s.addr }

// Instance identifies this process among those that share the store.
func (s *Store) Instance() string { return s.instance }

// Down reports whether Redis is taken to be unreachable.
func (s *Store) Down() bool { return s.down.Load() }

// do runs op against Redis within opTimeout, unless Redis is down. A failure that is Redis's
// (not redis.Nil, not the caller's own context ending) starts an outage.
func (s *Store) do(ctx context.Context, op func(ctx context.Context) error) error {
	if s.down.Load() {
		return ErrDown
	}
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := op(opCtx)
	if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
		s.fail(err)
		return fmt.Errorf("%w: %w", ErrDown, err)
	}
	return err
}

// fail starts an outage, once: a warning, the counter, and a probe that ends it.
func (s *Store) fail(err error) {
	if !s.down.CompareAndSwap(false, true) {
		return
	}
	outages.Add(1)
	redisUp.Set(0)
	s.logger.Warn("redis is unreachable: carrying on without it (each process polls and limits on its own) until it is back",
		"redis", s.addr, "error", err.Error())
	s.stopped.Add(1)
	go s.probe()
}

// probe pings Redis until it answers, then ends the outage.
func (s *Store) probe() {
	defer s.stopped.Done()
	ticker := time.NewTicker(probeEvery)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := s.rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.down.Store(false)
			redisUp.Set(1)
			s.logger.Info("redis is reachable again: coordination resumes", "redis", s.addr)
			return
		}
	}
}

// key is the name of one of this account's keys.
func (s *Store) key(kind, id string) string { return s.prefix + kind + ":" + id }

// accountHash names an account without revealing its key: the start of a SHA-256 of it.
func accountHash(key string) string {
	sum := sha256.Sum256([]byte("video-task-mcp account\x00" + key))
	return hex.EncodeToString(sum[:12])
}

func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Password is the password a Redis URL carries, "" when none: a secret for the logs to hide.
func Password(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// redactURL shows a Redis URL without its password, or nothing of it when it does not parse.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return fmt.Sprintf("%q", u.Redacted())
}

// redisLogger sends the Redis client's own messages to the debug log: an outage is reported
// once by the Store, not at every failed dial.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.logger.DebugContext(ctx, "redis client: "+strings.TrimSpace(fmt.Sprintf(format, v...)))
}
