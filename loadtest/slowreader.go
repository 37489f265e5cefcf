package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of -mode slow-reader: the requests posted to each stalled session (their answers,
// about 8 KiB each, are far more than the kernel buffers hold), and how long the sessions are
// watched after the last post before calling them held forever.
const (
	slowReaderPosts = 1000
	slowReaderWait  = 60 * time.Second
)

// runSlowReader opens o.n SSE sessions whose clients read the endpoint event and then nothing,
// posts tools/list to each until its answers have filled the buffers, and reports how long
// the server took to close each session, and its goroutines and memory before, while the
// sessions were stalled, and after.
func runSlowReader(ctx context.Context, bin string, o options) error {
	fmt.Printf("\n== sse: %d sessions whose clients stop reading their stream; %d tools/list posted to each ==\n", o.n, slowReaderPosts)
	srv, err := startHTTPServer(bin, nil, "--transport", "sse", "--base-url", "http://127.0.0.1:9/relay")
	if err != nil {
		return err
	}
	defer srv.stop()
	base := srv.mcpURL[:strings.LastIndex(srv.mcpURL, "/")]
	addr := strings.TrimPrefix(base, "http://")
	debug := &http.Client{Timeout: 10 * time.Second}
	memBefore, _ := readMemory(srv.pid())
	gBefore, _ := readGoroutines(ctx, debug, srv.debugURL)

	// The clients' receive buffers are small, as are a slow client's in effect; the server's
	// send buffers are what the kernel gives them.
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	conns := make([]net.Conn, o.n)
	endpoints := make([]string, o.n)
	for i := range o.n {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /sse HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
			return err
		}
		if endpoints[i], err = sseEndpoint(c); err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		conns[i] = c
	}

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	stalled := time.Now()
	closedAfter := make([]time.Duration, o.n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var peakMu sync.Mutex
	var peak goroutineCount
	for i := range o.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			gone := false
			for id := 1; id <= slowReaderPosts && !gone; id++ {
				gone = post(hc, base+endpoints[i], fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, id)) == "gone"
			}
			<-sem
			for !gone && time.Since(stalled) < slowReaderWait {
				time.Sleep(100 * time.Millisecond)
				// Not JSON: a live session answers a parse error and queues nothing.
				gone = post(hc, base+endpoints[i], "x") == "gone"
			}
			closedAfter[i] = -1
			if gone {
				closedAfter[i] = time.Since(stalled)
			}
		}()
	}
	// Sample the goroutines while the sessions are stalled.
	sampled := make(chan struct{})
	allDone := waitGroupDone(&wg)
	go func() {
		defer close(sampled)
		for {
			g, err := readGoroutines(ctx, debug, srv.debugURL)
			if err == nil {
				peakMu.Lock()
				if g.total > peak.total {
					peak = g
				}
				peakMu.Unlock()
			}
			select {
			case <-allDone:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	wg.Wait()
	<-sampled
	memDuring, _ := readMemory(srv.pid())
	hc.CloseIdleConnections()
	time.Sleep(time.Second) // let the server see the posting connections close
	gAfter, _ := readGoroutines(ctx, debug, srv.debugURL)
	memAfter, _ := readMemory(srv.pid())

	closed := closedOnes(closedAfter)
	if len(closed) == 0 {
		fmt.Printf("  sessions closed by the server: 0 of %d within %s of the first post\n", o.n, slowReaderWait)
	} else {
		fmt.Printf("  sessions closed by the server: %d of %d within %s; time from the first post to the close: median %s, max %s\n",
			len(closed), o.n, slowReaderWait, ms(percentile(closed, 50)), ms(closed[len(closed)-1]))
	}
	fmt.Printf("  server goroutines: %s before; at most %s while stalled; %s after\n", gBefore, peak, gAfter)
	fmt.Printf("  server RSS: %s before; %s at the end (peak %s); %s after\n", mib(memBefore.rss), mib(memDuring.rss), mib(memDuring.hwm), mib(memAfter.rss))
	return nil
}

// sseEndpoint reads the head and the endpoint event of an SSE response, a byte at a time so
// that nothing more leaves the socket, and returns the path the event names.
func sseEndpoint(c net.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReaderSize(byteReader{c}, 16)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			return path, nil
		}
	}
}

// byteReader reads at most one byte at a time.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) { return b.r.Read(p[:min(len(p), 1)]) }

// post sends body to an SSE session's message endpoint, and says "gone" when the server no
// longer knows the session.
func post(hc *http.Client, url, body string) string {
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(answer), "Invalid session ID") {
		return "gone"
	}
	return resp.Status
}

// waitGroupDone is closed when wg's count reaches zero.
func waitGroupDone(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}
