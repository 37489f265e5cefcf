package httpguard

import (
	"expvar"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connStats counts the connections of every ConnLimit in the process, for /debug/vars.
var connStats = expvar.NewMap("http_connections")

// refuseTime bounds how long a connection over the limit is kept to tell its client so.
const refuseTime = time.Second

// maxRefusing bounds the connections being refused at once; past it, one is closed unanswered.
const maxRefusing = 64

// ConnLimit is a listener that keeps at most max connections open. A connection past the
// limit is answered at once with 503 Service Unavailable and Retry-After, and closed: a flood
// of connections, authenticated or not, cannot use up the process's file descriptors.
type ConnLimit struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{}
	open     atomic.Int64
	refused  atomic.Int64
}

// LimitConnections returns l limited to max open connections.
func LimitConnections(l net.Listener, max int) *ConnLimit {
	return &ConnLimit{
		Listener: l,
		slots:    make(chan struct{}, max),
		refusing: make(chan struct{}, maxRefusing),
	}
}

// Accept returns the next connection within the limit, refusing those past it.
func (l *ConnLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			l.open.Add(1)
			connStats.Add("open", 1)
			return &limitedConn{Conn: c, limit: l}, nil
		default:
		}
		l.refused.Add(1)
		connStats.Add("refused", 1)
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuseConn(c, cap(l.slots))
			}()
		default:
			c.Close()
		}
	}
}

// Open is how many connections are open now.
func (l *ConnLimit) Open() int64 { return l.open.Load() }

// Refused is how many connections were refused for being past the limit.
func (l *ConnLimit) Refused() int64 { return l.refused.Load() }

// refuseConn answers c with a 503 and closes it. The request is read (and dropped) until the
// client closes or refuseTime passes, so that closing with unread input does not reset the
// connection before the client has read the answer.
func refuseConn(c net.Conn, max int) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseTime))
	msg := fmt.Sprintf("Service Unavailable: the server has its limit of %d open connections (--max-connections); retry shortly\n", max)
	_, err := fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	limit *ConnLimit
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.limit.open.Add(-1)
		connStats.Add("open", -1)
		<-c.limit.slots
	})
	return err
}
