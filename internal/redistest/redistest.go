// Package redistest runs a real redis-server for tests: on a unix socket in the test's
// temporary directory, with nothing saved to disk, stopped when the test ends. Tests that use
// it skip, saying so, where redis-server is not installed.
package redistest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is one redis-server process; Stop and Start take it down and up again on the same
// socket, as a restart would, with its data gone.
type Server struct {
	t      testing.TB
	bin    string
	dir    string
	socket string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a redis-server for t, or skips t when there is none.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: install the Debian package redis-server to run this test")
	}
	// A short directory: a unix socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{t: t, bin: bin, dir: dir, socket: filepath.Join(dir, "redis.sock")}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's address as a unix:// URL.
func (s *Server) URL() string { return "unix://" + s.socket }

// Socket is the path of the server's socket.
func (s *Server) Socket() string { return s.socket }

// Start starts the server again after Stop, and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", "0", "--unixsocket", s.socket, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "warning")
	s.exited = make(chan struct{})
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("redistest: starting redis-server: %v", err)
	}
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.ping() {
			return
		}
		select {
		case <-s.exited:
			s.t.Fatalf("redistest: redis-server exited at start")
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.t.Fatalf("redistest: redis-server did not answer within 10 s")
}

// Stop kills the server and waits until it has exited; its data is gone.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
	_ = os.Remove(s.socket)
}

// ping reports whether the server answers PING.
func (s *Server) ping() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.socket)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
