package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// serve runs handler behind Track and returns what it wrote.
func serve(t *testing.T, handler func(http.ResponseWriter, *http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Track(http.HandlerFunc(handler)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", nil))
	return rec
}

func TestWaitReturnsOnceQueuedEventsAreWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		serve(t, func(w http.ResponseWriter, r *http.Request) {
			tr := FromContext(r.Context())
			if tr == nil {
				t.Fatal("FromContext = nil inside Track")
			}
			if _, ok := w.(http.Flusher); !ok {
				t.Error("the tracked writer is not an http.Flusher: transports would not stream")
			}
			tr.Queued()
			tr.Queued()
			// Another goroutine writes the events, the second split across writes.
			go func() {
				time.Sleep(time.Second)
				_, _ = w.Write([]byte("event: message\ndata: {\"a\":1}\n\n"))
				_, _ = w.Write([]byte("event: message\ndata: {\"b\":2}\n"))
				time.Sleep(time.Second)
				_, _ = w.Write([]byte("\n"))
			}()
			start := time.Now()
			if n := tr.Wait(r.Context(), time.Minute); n != 0 {
				t.Errorf("Wait = %d unwritten, want 0", n)
			}
			if got := time.Since(start); got != 2*time.Second {
				t.Errorf("Wait returned after %v, want 2s (when the second event ended)", got)
			}
		})
	})
}

func TestWaitGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		serve(t, func(w http.ResponseWriter, r *http.Request) {
			tr := FromContext(r.Context())
			tr.Queued()
			tr.Queued()
			_, _ = w.Write([]byte("data: {}\n\n"))
			if n := tr.Wait(r.Context(), 3*time.Second); n != 1 {
				t.Errorf("Wait after its timeout = %d unwritten, want 1", n)
			}
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			if n := tr.Wait(ctx, time.Hour); n != 1 {
				t.Errorf("Wait with an ended context = %d unwritten, want 1", n)
			}
		})
	})
}

func TestNilTrackerHasNothingToWaitFor(t *testing.T) {
	var tr *Tracker // outside Track
	tr.Queued()
	if n := tr.Wait(context.Background(), time.Hour); n != 0 {
		t.Errorf("nil Tracker Wait = %d, want 0", n)
	}
	if FromContext(context.Background()) != nil {
		t.Error("FromContext(Background) != nil")
	}
}

func TestLinesAreNotEvents(t *testing.T) {
	serve(t, func(w http.ResponseWriter, r *http.Request) {
		tr := FromContext(r.Context())
		tr.Queued()
		// A JSON response ends with one newline; an event needs an empty line.
		_, _ = w.Write([]byte("{\"jsonrpc\":\"2.0\"}\n"))
		_, _ = w.Write([]byte("{\"jsonrpc\":\"2.0\"}\n"))
		if n := tr.Wait(r.Context(), 0); n != 1 {
			t.Errorf("Wait after two JSON lines = %d unwritten, want 1", n)
		}
	})
}
