package simulate_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// roundTrip sends a request through Transport(h) under ctx.
func roundTrip(ctx context.Context, h http.Handler, method, body string) (*http.Response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, simulate.BaseURL+"/x?y=1", r)
	if err != nil {
		return nil, err
	}
	return (&http.Client{Transport: simulate.Transport(h)}).Do(req)
}

func TestTransportServesTheHandler(t *testing.T) {
	var gotBody, gotURI, gotHost string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotURI, gotHost = string(b), r.RequestURI, r.Host
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusTeapot)
		w.Header().Set("X-Too-Late", "1") // after WriteHeader: not sent
		_, _ = io.WriteString(w, "short and stout")
	})
	resp, err := roundTrip(context.Background(), h, http.MethodPost, "hello")
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if resp.StatusCode != http.StatusTeapot || resp.Status != "418 I'm a teapot" || string(b) != "short and stout" {
		t.Errorf("response = %q %q, want 418 I'm a teapot, short and stout", resp.Status, b)
	}
	if resp.Header.Get("X-Answer") != "42" || resp.Header.Get("X-Too-Late") != "" {
		t.Errorf("response headers = %v, want X-Answer only", resp.Header)
	}
	if gotBody != "hello" || gotURI != "/x?y=1" || gotHost != "simulated.invalid" {
		t.Errorf("handler saw body %q, RequestURI %q, Host %q; want hello, /x?y=1, simulated.invalid", gotBody, gotURI, gotHost)
	}
}

func TestTransportEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		status  int
		body    string
		wantErr string // in the round trip, or else in reading the body
	}{
		{"nothing written is 200 empty", http.MethodGet, func(http.ResponseWriter, *http.Request) {}, 200, "", ""},
		{"write without header is 200", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }, 200, "hi", ""},
		{"1xx is not the response", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		}, 202, "", ""},
		{"HEAD has no body", http.MethodHead, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ignored") }, 200, "", ""},
		{"panic before the header fails the round trip", http.MethodGet, func(http.ResponseWriter, *http.Request) { panic("boom") }, 0, "", "handler panicked: boom"},
		{"panic after the header fails the body", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "part")
			panic("boom")
		}, 200, "part", "handler panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := roundTrip(context.Background(), tt.handler, tt.method, "")
			if tt.status == 0 {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("round trip error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(b) != tt.body {
				t.Errorf("response = %d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("reading body: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("reading body: error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// blockingHandler writes head (when not empty) then blocks until its request's context ends,
// reporting that on done.
func blockingHandler(head string, done chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if head != "" {
			_, _ = io.WriteString(w, head)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
			done <- r.Context().Err()
		case <-time.After(10 * time.Second):
			done <- errors.New("handler's context never ended")
		}
	}
}

func TestTransportHonoursCancellation(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		var called atomic.Bool
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := roundTrip(ctx, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Store(true) }), http.MethodGet, "")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("round trip error = %v, want context.Canceled", err)
		}
		if called.Load() {
			t.Errorf("the handler ran for a cancelled request")
		}
	})
	t.Run("while waiting for the header", func(t *testing.T) {
		done := make(chan error, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := roundTrip(ctx, blockingHandler("", done), http.MethodGet, "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("round trip error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("round trip took %s after its deadline of 50ms", d)
		}
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("handler's context ended with %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("while reading the body", func(t *testing.T) {
		done := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := roundTrip(ctx, blockingHandler("partial", done), http.MethodGet, "")
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		defer resp.Body.Close()
		buf := make([]byte, len("partial"))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "partial" {
			t.Fatalf("first read = %q, %v; want partial", buf, err)
		}
		cancel()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: error %v, want context.Canceled", err)
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("handler's context ended with %v, want context.Canceled", err)
		}
	})
	t.Run("closing the body early", func(t *testing.T) {
		done := make(chan error, 1)
		resp, err := roundTrip(context.Background(), blockingHandler("partial", done), http.MethodGet, "")
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		resp.Body.Close()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("handler's context ended with %v, want context.Canceled", err)
		}
	})
}
