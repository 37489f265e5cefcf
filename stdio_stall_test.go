package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// TestStdioStalledStdoutStops serves stdio to a client that sends requests and never reads a
// byte of stdout (a pipe without a buffer: the first write waits). Past the stall timeout the
// client counts as gone and the server stops: whether or not its input then ends, and even
// with the front itself waiting to write a refusal, so that it cannot see the end of input.
func TestStdioStalledStdoutStops(t *testing.T) {
	t.Parallel()
	const stallTimeout = 200 * time.Millisecond
	// limit only keeps a failing test from hanging: the server should return about
	// stallTimeout plus a stop's 5 s after its first write, and without the stall timeout it
	// never did.
	const limit = 30 * time.Second
	tests := []struct {
		name       string
		maxCalls   int
		closeInput bool
	}{
		{"input stays open", 1000, false},
		{"input ends", 1000, true},
		// Past --max-stdio-calls the front answers itself, and waits on stdout.
		{"input ends behind a refusal", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &logBuffer{}
			logger := slog.New(slog.NewTextHandler(log, nil))
			srv := tools.NewServer(serverName, "test", tools.Deps{Logger: slog.New(slog.DiscardHandler)})
			stdin, input := io.Pipe()
			stdout, output := io.Pipe()
			t.Cleanup(func() {
				// Lets the writes still waiting end.
				stdout.CloseWithError(errors.New("test over"))
				input.Close()
			})
			go func() {
				lines := []string{`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stalled","version":"0"}}}`}
				for i := 1; i <= 5; i++ {
					lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, i))
				}
				for _, l := range lines {
					if _, err := io.WriteString(input, l+"\n"); err != nil {
						return
					}
				}
				if tt.closeInput {
					input.Close()
				}
			}()
			served := make(chan error, 1)
			go func() {
				served <- serveStdioStalling(context.Background(), srv, tt.maxCalls, stdin, output, stallTimeout, logger)
			}()
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("serveStdio = %v, want nil", err)
				}
			case <-time.After(limit):
				t.Fatalf("serveStdio still serving %s after its client stopped reading stdout; log:\n%s", limit, log.String())
			}
		})
	}
}
