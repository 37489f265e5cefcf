//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestE2EStdioStopWithStdoutUnread runs the server over stdio for a client that sends many
// requests and never reads the answers: once the 64 KiB pipe of its stdout is full, every
// write of the server waits. SIGTERM must still end the process within the time a stop takes,
// and a second SIGTERM at once. (The end of input while stdout is blocked is noticed only
// once a write has waited 30 s: TestStdioStalledStdoutStops has that, with a shorter wait.)
func TestE2EStdioStopWithStdoutUnread(t *testing.T) {
	t.Parallel()
	// limit only keeps a failing test from hanging: a stop takes about 5 s, and before the
	// stop gave up on a blocked stdout the process never exited.
	const limit = 15 * time.Second
	stops := []struct {
		name string
		stop func(p *process) error
		// killed: the process ends by the signal itself, not by a stop of its own.
		killed bool
	}{
		{"SIGTERM", func(p *process) error { return p.cmd.Process.Signal(syscall.SIGTERM) }, false},
		{"SIGTERM twice", func(p *process) error {
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				return err
			}
			// The second comes once the first has started the stop.
			deadline := time.Now().Add(limit)
			for !strings.Contains(p.stderr.String(), "shutting down") {
				if time.Now().After(deadline) {
					return fmt.Errorf("no \"shutting down\" logged %s after the first SIGTERM", limit)
				}
				time.Sleep(10 * time.Millisecond)
			}
			return p.cmd.Process.Signal(syscall.SIGTERM)
		}, true},
	}
	for _, tc := range stops {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, stdout := startStalledStdio(t, "--simulate")
			go func() {
				lines := []string{
					`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stalled","version":"0"}}}`,
					`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
				}
				for i := 1; i <= 2000; i++ {
					lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, i))
				}
				for _, l := range lines {
					if _, err := io.WriteString(p.stdin, l+"\n"); err != nil {
						return
					}
				}
			}()
			waitPipeFull(t, stdout, limit)
			start := time.Now()
			if err := tc.stop(p); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !p.waitExit(limit) {
				t.Fatalf("server still running %s after %s with its stdout unread; stderr:\n%s", limit, tc.name, p.stderr)
			}
			t.Logf("exited %v after %s: %v", time.Since(start).Round(time.Millisecond), tc.name, p.waitErr)
			var exit *exec.ExitError
			killed := errors.As(p.waitErr, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM
			switch {
			case tc.killed && !killed:
				t.Errorf("after %s the server exited with %v, want it ended by the second SIGTERM; stderr:\n%s", tc.name, p.waitErr, p.stderr)
			case !tc.killed && p.waitErr != nil:
				t.Errorf("after %s the server exited with %v, want a clean stop; stderr:\n%s", tc.name, p.waitErr, p.stderr)
			}
		})
	}
}

// startStalledStdio runs the server over stdio with args, its stdout a pipe that the test
// never reads, which it returns.
func startStalledStdio(t *testing.T, args ...string) (*process, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	p := &process{stderr: &logBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(serverBinary(t), args...)
	p.cmd.Env = serverEnv()
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = w
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("StdinPipe: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	w.Close()
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p, r
}

// waitPipeFull returns once the pipe r reads from is full: it holds more than half of its
// capacity and has not grown for 200 ms (a pipe takes a write in pages, so that a full one
// may hold a few KiB less than its capacity).
func waitPipeFull(t *testing.T, r *os.File, limit time.Duration) {
	t.Helper()
	size, err := fcntl(r, syscall.F_GETPIPE_SZ)
	if err != nil {
		t.Fatalf("F_GETPIPE_SZ: %v", err)
	}
	deadline := time.Now().Add(limit)
	var last int32
	steady := 0
	for steady < 10 {
		var n int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, r.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
			t.Fatalf("FIONREAD: %v", errno)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's stdout holds %d bytes after %s, want its pipe (%d bytes) full", n, limit, size)
		}
		if n == last && int(n) > size/2 {
			steady++
		} else {
			steady = 0
		}
		last = n
		time.Sleep(20 * time.Millisecond)
	}
}

func fcntl(f *os.File, cmd int) (int, error) {
	v, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), uintptr(cmd), 0)
	if errno != 0 {
		return 0, errors.New(errno.Error())
	}
	return int(v), nil
}
