package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// heldWait is how long -mode held watches held connections before calling them held forever.
const heldWait = 45 * time.Second

// runHeld opens o.n connections that each declare a request body and never send it, and
// reports the server's memory with them open and how long it took to close each.
func runHeld(ctx context.Context, bin string, o options) error {
	fmt.Printf("\n== %d connections with a declared body that never comes (POST /mcp, Content-Length: 100) ==\n", o.n)
	srv, err := startHTTPServer(bin, nil, "--base-url", "http://127.0.0.1:9/relay")
	if err != nil {
		return err
	}
	defer srv.stop()
	before, err := readMemory(srv.pid())
	if err != nil {
		return err
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.mcpURL, "http://"), "/mcp")
	closedAfter := make([]time.Duration, o.n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		sent := time.Now()
		if _, err := io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(sent.Add(heldWait))
			_, err := io.Copy(io.Discard, c)
			if err != nil && strings.Contains(err.Error(), "timeout") {
				closedAfter[i] = -1
				return
			}
			closedAfter[i] = time.Since(sent)
		}()
	}
	time.Sleep(2 * time.Second) // let the server take them all in
	during, err := readMemory(srv.pid())
	if err != nil {
		return err
	}
	fmt.Printf("  opened in %s; server RSS %s before, %s with them open: %s per 1,000\n",
		ms(time.Since(start)), mib(before.rss), mib(during.rss), mib((during.rss-before.rss)*1000/int64(o.n)))
	wg.Wait()
	closed := closedOnes(closedAfter)
	if len(closed) == 0 {
		fmt.Printf("  closed by the server: 0 of %d within %s\n", o.n, heldWait)
		return nil
	}
	fmt.Printf("  closed by the server: %d of %d within %s; time to close: median %s, max %s\n",
		len(closed), o.n, heldWait, ms(percentile(closed, 50)), ms(closed[len(closed)-1]))
	return nil
}

// runSecondClient has one client hold o.n streams (SSE) or o.n waits (http) while a second
// client, from another loopback address, calls get_video_task, and reports that client's
// latency.
func runSecondClient(ctx context.Context, bin string, o options, kind string) error {
	fmt.Printf("\n== %s: one client holds %d %s; a second client (127.0.0.2) calls get_video_task ==\n",
		kind, o.n, map[string]string{"sse": "SSE streams", "http": "wait_for_video_task calls"}[kind])
	up, err := startUpstream(o.polls)
	if err != nil {
		return err
	}
	defer up.close()
	srv, err := startHTTPServer(bin, nil, "--transport", kind, "--base-url", up.url, "--wait-timeout", "120s")
	if err != nil {
		return err
	}
	defer srv.stop()
	base := srv.mcpURL[:strings.LastIndex(srv.mcpURL, "/")]
	before, _ := readMemory(srv.pid())

	holdCtx, stopHolding := context.WithCancel(ctx)
	defer stopHolding()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.n}}
	var mu sync.Mutex
	statuses := map[string]int{}
	count := func(s string) {
		mu.Lock()
		statuses[s]++
		mu.Unlock()
	}
	var started sync.WaitGroup
	for i := range o.n {
		started.Add(1)
		go func() {
			if kind == "sse" {
				req, _ := http.NewRequestWithContext(holdCtx, http.MethodGet, base+"/sse", nil)
				resp, err := hc.Do(req)
				if err != nil {
					count("error")
					started.Done()
					return
				}
				defer resp.Body.Close()
				count(resp.Status)
				if resp.StatusCode == http.StatusOK {
					_, _ = bufio.NewReader(resp.Body).ReadString('\n')
				}
				started.Done()
				<-holdCtx.Done()
				return
			}
			started.Done()
			c, err := newMCPClient(holdCtx, srv.mcpURL, hc, "")
			if err != nil {
				count("error")
				return
			}
			defer c.Close()
			_, err = c.call(holdCtx, "wait_for_video_task", map[string]any{"task_id": fmt.Sprintf("%swait-%d", runningPrefix, i)}, nil)
			switch {
			case err == nil:
				count("answered")
			case holdCtx.Err() != nil:
			case strings.Contains(err.Error(), "--max-calls"):
				count("refused (call limit)")
			default:
				count("error")
			}
		}()
	}
	started.Wait()
	time.Sleep(3 * time.Second) // let the first client's load settle
	during, _ := readMemory(srv.pid())

	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	hc2 := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	var second *client.Client
	if kind == "sse" {
		second, err = client.NewSSEMCPClient(base+"/sse", transport.WithHTTPClient(hc2))
	} else {
		second, err = client.NewStreamableHttpClient(srv.mcpURL, transport.WithHTTPBasicClient(hc2))
	}
	if err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := second.Start(callCtx); err != nil {
		fmt.Printf("  second client could not connect: %v\n", err)
		return nil
	}
	defer second.Close()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "second-client", Version: "0"}
	if _, err := second.Initialize(callCtx, init); err != nil {
		fmt.Printf("  second client could not initialize: %v\n", err)
		return nil
	}
	var latencies []time.Duration
	failed, firstFailure := 0, ""
	for i := range 20 {
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_video_task"
		req.Params.Arguments = map[string]any{"task_id": fmt.Sprintf("%sget-%d", runningPrefix, i)}
		t0 := time.Now()
		oneCtx, cancelOne := context.WithTimeout(ctx, 30*time.Second)
		res, err := second.CallTool(oneCtx, req)
		cancelOne()
		latencies = append(latencies, time.Since(t0))
		switch {
		case err != nil:
			failed++
			firstFailure = cmp.Or(firstFailure, err.Error())
		case res.IsError:
			failed++
			firstFailure = cmp.Or(firstFailure, resultText(res))
		}
	}
	slices.Sort(latencies)
	mu.Lock()
	fmt.Printf("  first client: %v\n", statuses)
	mu.Unlock()
	fmt.Printf("  server RSS %s before, %s with the first client's load\n", mib(before.rss), mib(during.rss))
	fmt.Printf("  second client's get_video_task (20 calls, distinct RUNNING ids): median %s, p90 %s, max %s; %d failed\n",
		ms(percentile(latencies, 50)), ms(percentile(latencies, 90)), ms(latencies[len(latencies)-1]), failed)
	if firstFailure != "" {
		fmt.Printf("  first failure: %s\n", firstFailure)
	}
	return nil
}

// closedOnes is the times of the connections that the server closed, sorted; closedAfter has a
// negative time for each connection it left open.
func closedOnes(closedAfter []time.Duration) []time.Duration {
	var closed []time.Duration
	for _, d := range closedAfter {
		if d >= 0 {
			closed = append(closed, d)
		}
	}
	slices.Sort(closed)
	return closed
}
