package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// Limits of the stdio transport.
const (
	// stdioWorkers is how many tool calls run at once over stdio; mcp-go allows at most 100
	// and defaults to 5, too few for an agent that waits on dozens of tasks.
	stdioWorkers = 100
	// defaultMaxStdioCalls is how many requests may await their answer at once (running or
	// queued behind the workers) unless --max-stdio-calls says otherwise.
	defaultMaxStdioCalls = 1000
	// maxStdioCallsLimit is the most --max-stdio-calls accepts: mcp-go's largest queue.
	maxStdioCallsLimit = 10000
	// maxStdioLine bounds one line of input. A request is a few hundred bytes; a longer line
	// is skipped with an error, never held whole in memory.
	maxStdioLine = 1 << 20
	// stdioOwedGrace is how long a stopping server waits, after the tools have stopped, for
	// the answers still on their way (queued calls answer at once then).
	stdioOwedGrace = time.Second
	// stdoutStallTimeout is how long one write to stdout may wait before the client counts
	// as gone: it has stopped reading, and the server stops as at the end of its input.
	stdoutStallTimeout = 30 * time.Second
)

// JSON-RPC error codes of the stdio front.
const (
	codeServerBusy     = -32000
	codeServerStopping = -32001
)

// serveStdio serves one client on stdin and stdout until stdin ends or ctx does.
//
// mcp-go's stdio server does the MCP work; a front of our own stands between it and the
// process's stdin and stdout, and keeps its promises that mcp-go does not:
//   - a line over maxStdioLine is skipped with an error, in bounded memory;
//   - at most maxCalls requests await their answer; past that a request is refused with an
//     error at once, so calls never run on mcp-go's read loop (which it does when its queue is
//     full, leaving ping and cancellations unanswered);
//   - a cancelled request gets no response (cancel.go);
//   - end of input stops the server as SIGTERM does: requests already received are answered
//     (waits at once, with their latest status and the advice to call again), then it returns;
//   - a client that stops reading stdout is gone too: once a write has waited
//     stdoutStallTimeout the server stops, and a stop does not wait on stdout for longer than
//     shutdownGrace (the answers it still owes are then not written).
func serveStdio(ctx context.Context, srv *tools.Server, maxCalls int, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	return serveStdioStalling(ctx, srv, maxCalls, stdin, stdout, stdoutStallTimeout, logger)
}

// serveStdioStalling is serveStdio with the time a write to stdout may wait; tests shorten it.
func serveStdioStalling(ctx context.Context, srv *tools.Server, maxCalls int, stdin io.Reader, stdout io.Writer, stallTimeout time.Duration, logger *slog.Logger) error {
	stalling := newStallWriter(stdout, stallTimeout)
	out := &stdioOut{w: stalling, calls: newPendingCalls()}
	toServer, fromFront := io.Pipe()
	stdio := server.NewStdioServer(srv.MCPServer)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	server.WithWorkerPoolSize(stdioWorkers)(stdio)
	// The front never lets more than maxCalls through, so mcp-go's queue never fills.
	server.WithQueueSize(maxCalls)(stdio)
	listened := make(chan error, 1)
	go func() { listened <- stdio.Listen(context.Background(), toServer, out) }()

	front := &stdioFront{out: out, toServer: fromFront, maxCalls: maxCalls, logger: logger}
	ended := make(chan error, 1)
	go func() { ended <- front.read(stdin) }()

	reason := "signal"
	select {
	case <-ctx.Done():
	case err := <-ended:
		reason = "end of input"
		if err != nil {
			reason = "input failed: " + err.Error()
		}
	case err := <-listened:
		return err
	case <-stalling.stalled:
		reason = fmt.Sprintf("stdout not read for %s", stallTimeout)
	}
	logger.Info("shutting down", "reason", reason, "calls", out.calls.len())
	front.stop()
	stopCtx, cancel := context.WithTimeout(context.Background(), answerGrace)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		logger.Warn("calls still running after the grace period; cancelled them", "grace", answerGrace)
	}
	select {
	case <-out.calls.drained():
	case <-time.After(stdioOwedGrace):
	}
	// Whatever is still owed gets an error, so that no request goes unanswered; anything
	// mcp-go writes after this is dropped. A write to stdout that its reader does not take
	// holds this up: past shutdownGrace the server stops without it.
	closed := make(chan int, 1)
	go func() { closed <- out.close() }()
	select {
	case owed := <-closed:
		if owed > 0 {
			logger.Warn("stopped before answering some requests; told the client so", "requests", owed)
		}
	case <-time.After(shutdownGrace):
		logger.Warn("stdout is not being read; stopped without writing the answers still owed", "requests", out.calls.len())
		return nil
	}
	fromFront.Close()
	select {
	case <-listened:
	case <-time.After(shutdownGrace):
	}
	logger.Info("stopped", "reason", reason)
	return nil
}

// stdioFront reads the client's lines and passes them on to mcp-go.
type stdioFront struct {
	out      *stdioOut
	toServer *io.PipeWriter
	maxCalls int
	logger   *slog.Logger

	mu       sync.Mutex
	stopping bool
}

// stop makes the front refuse every request from now on.
func (f *stdioFront) stop() {
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
}

// read passes on stdin line by line until it ends; it returns nil at the end of input.
func (f *stdioFront) read(stdin io.Reader) error {
	r := bufio.NewReaderSize(stdin, 64<<10)
	for {
		line, tooLong, err := readLine(r, maxStdioLine)
		if tooLong {
			f.logger.Warn("skipped an input line over the size limit", "limit_bytes", maxStdioLine)
			f.out.writeError(requestIDPrefix(line), mcp.INVALID_REQUEST,
				fmt.Sprintf("Message too large: this server reads lines of at most %d bytes over stdio; the line was skipped.", maxStdioLine))
		} else if len(bytes.TrimSpace(line)) > 0 {
			if werr := f.pass(line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pass hands one line to mcp-go, or answers it here when it is a request past the limits.
func (f *stdioFront) pass(line []byte) error {
	m, ok := parseMessage(line)
	switch {
	case !ok:
	case m.isRequest():
		f.mu.Lock()
		stopping := f.stopping
		f.mu.Unlock()
		switch {
		case stopping:
			f.out.writeError(m.ID, codeServerStopping, "The server is shutting down and takes no new requests. Start it again and repeat the request.")
			return nil
		case m.Method != string(mcp.MethodPing) && f.out.calls.len() >= f.maxCalls:
			f.out.writeError(m.ID, codeServerBusy, fmt.Sprintf(
				"Server busy: %d requests are already awaiting their answer over stdio, the most it accepts (--max-stdio-calls). Wait for some to finish, then repeat the request.", f.maxCalls))
			return nil
		}
		f.out.calls.begin(m.ID)
	default:
		if id, ok := cancelledID(line, m); ok && !f.out.calls.cancel(id) {
			return nil // it names no request awaiting its answer, or mcp-go could cancel another (cancel.go)
		}
	}
	line = append(bytes.TrimRight(line, "\r\n"), '\n')
	if _, err := f.toServer.Write(line); err != nil {
		return fmt.Errorf("passing a message to the MCP server: %w", err)
	}
	return nil
}

// readLine reads one line of at most limit bytes. A longer line is read to its end and
// discarded: tooLong is then true and line holds only its start.
func readLine(r *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit {
				tooLong = true
				if len(line) == 0 {
					line = append(line, chunk[:min(len(chunk), idPrefixBytes)]...)
				}
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			line = line[:min(len(line), idPrefixBytes)]
		}
		return line, tooLong, err
	}
}

// idPrefixBytes is how much of an overlong line is kept to find its request id.
const idPrefixBytes = 4 << 10

// requestIDPrefix finds the id of a request from the start of its line: clients write it
// before the parameters. It returns nil when the start holds none.
func requestIDPrefix(start []byte) any {
	dec := json.NewDecoder(bytes.NewReader(start))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		var value any
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		if key == "id" {
			return value
		}
	}
	return nil
}

// stdioOut is stdout as mcp-go sees it. mcp-go writes each message with one Write; responses
// to cancelled requests are dropped here, and after close nothing more goes out.
type stdioOut struct {
	mu     sync.Mutex
	w      io.Writer
	calls  *pendingCalls
	closed bool
}

// Write passes one message on. A response counts as its request's answer under the same lock
// that close takes, so each request is answered exactly once: by its response before close, or
// by close's error.
func (o *stdioOut) Write(p []byte) (int, error) {
	m, ok := parseMessage(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return len(p), nil
	}
	if ok && m.isResponse() && o.calls.finish(m.ID) {
		return len(p), nil
	}
	return o.w.Write(p)
}

// writeError answers the request with this id (nil: unknown) with a JSON-RPC error.
func (o *stdioOut) writeError(id any, code int, text string) {
	line := errorLine(id, code, text)
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		_, _ = o.w.Write(line)
	}
}

// errorLine is the JSON-RPC error answering the request with this id (nil: unknown), as one
// line of output.
func errorLine(id any, code int, text string) []byte {
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		JSONRPC string   `json:"jsonrpc"`
		ID      any      `json:"id"`
		Error   rpcError `json:"error"`
	}{mcp.JSONRPC_VERSION, id, rpcError{code, text}})
	return append(b, '\n')
}

// close answers every request still unanswered with an error, stops all further output, and
// returns how many requests it answered so.
func (o *stdioOut) close() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	owed := o.calls.unanswered()
	for _, key := range owed {
		_, _ = o.w.Write(errorLine(json.RawMessage(key), codeServerStopping, "The server stopped before it could answer this request. Start it again and repeat the request."))
	}
	o.closed = true
	return len(owed)
}

// stallWriter is stdout, telling when one write has waited longer than timeout: the client
// has stopped reading.
type stallWriter struct {
	w       io.Writer
	timeout time.Duration
	once    sync.Once
	stalled chan struct{} // closed when a write has waited timeout
}

func newStallWriter(w io.Writer, timeout time.Duration) *stallWriter {
	return &stallWriter{w: w, timeout: timeout, stalled: make(chan struct{})}
}

func (s *stallWriter) Write(p []byte) (int, error) {
	timer := time.AfterFunc(s.timeout, func() { s.once.Do(func() { close(s.stalled) }) })
	defer timer.Stop()
	return s.w.Write(p)
}
