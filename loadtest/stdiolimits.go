package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// measureStdioLimits runs the stdio limits against the simulator: the peak RSS after one
// 100 MB line, how many of 1,200 outstanding calls a SIGTERM answers, and the latency of ping
// with 2,000 waits outstanding. serverArgs are added to the server's (the -stdio-args flag),
// so that a binary without a flag can be compared with one that has it.
func measureStdioLimits(ctx context.Context, bin string, serverArgs []string) ([]string, error) {
	section("stdio limits (simulator; raw JSON-RPC lines)")
	var failures []string

	// One 100 MB line.
	s, err := startStdioLines(bin, serverArgs...)
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"sim-done","padding":"%s"}}}`+"\n",
		strings.Repeat("x", 100<<20))
	start := time.Now()
	s.send(line)
	answer, ok := s.wait("2", 60*time.Second)
	took := time.Since(start)
	s.send(`{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\n")
	_, pinged := s.wait("3", 10*time.Second)
	mem, err := readMemory(s.cmd.Process.Pid)
	if err != nil {
		s.kill()
		return nil, err
	}
	s.kill()
	fmt.Printf("  100 MB line: peak RSS %s, answered in %s: %s; ping afterwards answered: %v\n",
		mib(mem.hwm), ms(took), truncateAnswer(answer, ok), pinged)

	// SIGTERM with 1,200 calls outstanding.
	const outstanding = 1200
	s, err = startStdioLines(bin, serverArgs...)
	if err != nil {
		return nil, err
	}
	for id := 100; id < 100+outstanding; id++ {
		s.send(waitCall(id))
	}
	s.send(`{"jsonrpc":"2.0","id":99,"method":"ping"}` + "\n")
	_, pinged = s.wait("99", 30*time.Second)
	start = time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	exited := s.exit(10 * time.Second)
	took = time.Since(start)
	answered, again := 0, 0
	for id := 100; id < 100+outstanding; id++ {
		if a, ok := s.answer(fmt.Sprint(id)); ok {
			answered++
			if strings.Contains(a, "again") {
				again++
			}
		}
	}
	fmt.Printf("  SIGTERM with %d calls outstanding (ping before it answered: %v): %d answered (%d with \"call again\"), exit after %s (exited: %v)\n",
		outstanding, pinged, answered, again, ms(took), exited)
	if answered != outstanding {
		failures = append(failures, fmt.Sprintf("SIGTERM answered %d of %d outstanding stdio calls", answered, outstanding))
	}

	// ping with 2,000 waits outstanding.
	const waits, pings = 2000, 50
	s, err = startStdioLines(bin, serverArgs...)
	if err != nil {
		return nil, err
	}
	defer s.kill()
	for id := 100; id < 100+waits; id++ {
		s.send(waitCall(id))
	}
	var rtts []time.Duration
	lost := 0
	for i := range pings {
		id := fmt.Sprint(10000 + i)
		start := time.Now()
		s.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}` + "\n")
		if _, ok := s.wait(id, 15*time.Second); !ok {
			lost++
			continue
		}
		rtts = append(rtts, time.Since(start))
	}
	refused := 0
	for id := 100; id < 100+waits; id++ {
		if a, ok := s.answer(fmt.Sprint(id)); ok && strings.Contains(a, "Server busy") {
			refused++
		}
	}
	if len(rtts) == 0 {
		fmt.Printf("  ping with %d waits outstanding: none of %d answered within 15 s\n", waits, pings)
		return failures, nil
	}
	fmt.Printf("  ping with %d waits sent (%d refused as busy): %d pings, median %s, p95 %s, max %s, unanswered within 15 s: %d\n",
		waits, refused, pings, ms(percentile(rtts, 50)), ms(percentile(rtts, 95)), ms(slices.Max(rtts)), lost)
	return failures, nil
}

func waitCall(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"wait_for_video_task","arguments":{"task_id":"sim-slow","timeout_seconds":60}}}`+"\n", id)
}

func truncateAnswer(a string, ok bool) string {
	if !ok {
		return "no answer"
	}
	if len(a) > 160 {
		return a[:160] + "…"
	}
	return a
}

// stdioLines is a simulated server over stdio whose every output line is kept by id.
type stdioLines struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	answers map[string]string // by id: the result's text, or the error's message
	arrived *sync.Cond
	eof     chan struct{}
}

func startStdioLines(bin string, args ...string) (*stdioLines, error) {
	s := &stdioLines{answers: make(map[string]string), eof: make(chan struct{})}
	s.arrived = sync.NewCond(&s.mu)
	s.cmd = exec.Command(bin, append([]string{"--simulate"}, args...)...)
	s.cmd.Env = serverEnv()
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go s.read(out)
	s.send(initializeRequest)
	if _, ok := s.wait("1", 10*time.Second); !ok {
		s.kill()
		return nil, fmt.Errorf("%s: no answer to initialize", bin)
	}
	s.send(initializedNotification)
	return s, nil
}

func (s *stdioLines) read(out io.Reader) {
	defer close(s.eof)
	r := bufio.NewReaderSize(out, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Result *struct {
					Content []struct {
						Text string `json:"text"`
					} `json:"content"`
				} `json:"result"`
				Error *struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(line, &m) == nil && m.Method == "" && len(m.ID) > 0 {
				text := ""
				switch {
				case m.Error != nil:
					text = "error: " + m.Error.Message
				case m.Result != nil && len(m.Result.Content) > 0:
					text = m.Result.Content[0].Text
				}
				s.mu.Lock()
				s.answers[string(m.ID)] = text
				s.arrived.Broadcast()
				s.mu.Unlock()
			}
		}
		if err != nil {
			s.mu.Lock()
			s.arrived.Broadcast()
			s.mu.Unlock()
			return
		}
	}
}

func (s *stdioLines) send(line string) { _, _ = io.WriteString(s.stdin, line) }

// wait waits up to d for the answer with this id.
func (s *stdioLines) wait(id string, d time.Duration) (string, bool) {
	timer := time.AfterFunc(d, func() {
		s.mu.Lock()
		s.arrived.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if a, ok := s.answers[id]; ok {
			return a, true
		}
		select {
		case <-s.eof:
			return "", false
		default:
		}
		if time.Now().After(deadline) {
			return "", false
		}
		s.arrived.Wait()
	}
}

func (s *stdioLines) answer(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.answers[id]
	return a, ok
}

// exit waits up to d for the process to exit and its output to end, and kills it after.
func (s *stdioLines) exit(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		<-s.eof
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		<-done
		return false
	}
}

func (s *stdioLines) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.stdin.Close()
	<-s.eof
	_ = s.cmd.Wait()
}
