package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

const throttled = `{"code":"Throttling","message":"Requests throttling triggered.","request_id":"req-429"}`

// nginxPage is what a gateway in front of the upstream answers.
func nginxPage(status int) string {
	line := http.StatusText(status)
	return "<html>\r\n<head><title>" + strconv.Itoa(status) + " " + line + "</title></head>\r\n<body>\r\n" +
		"<center><h1>" + strconv.Itoa(status) + " " + line + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

func withRetryAfter(v string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", v)
		h(w, r)
	}
}

// TestGetTaskTransientGivesUp runs answers that are retried: 4 requests, then the last error.
func TestGetTaskTransientGivesUp(t *testing.T) {
	tests := []struct {
		name            string
		handler         http.HandlerFunc
		want            api.Error
		messageContains string
	}{
		{
			name:    "429 without Retry-After",
			handler: replyJSON(429, throttled),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429"},
		},
		{
			name:    "429 with a Retry-After date in the past",
			handler: withRetryAfter("Mon, 02 Jan 2006 15:04:05 GMT", replyJSON(429, throttled)),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429"},
		},
		{
			name:    "429 with an unreadable Retry-After",
			handler: withRetryAfter("soon", replyJSON(429, throttled)),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429"},
		},
		{
			name:    "500 html",
			handler: reply(500, "text/html", nginxPage(500)),
			want:    api.Error{Kind: api.KindUnavailable, StatusCode: 500},
			messageContains: "<html> <head><title>500 Internal Server Error</title></head> <body> " +
				"<center><h1>500 Internal Server Error</h1></center> <hr><center>nginx</center> </body> </html>",
		},
		{
			name:            "502 html",
			handler:         reply(502, "text/html", nginxPage(502)),
			want:            api.Error{Kind: api.KindUnavailable, StatusCode: 502},
			messageContains: "<title>502 Bad Gateway</title>",
		},
		{
			name:            "503 html",
			handler:         reply(503, "text/html", nginxPage(503)),
			want:            api.Error{Kind: api.KindUnavailable, StatusCode: 503},
			messageContains: "<title>503 Service Unavailable</title>",
		},
		{
			name:            "504 html",
			handler:         reply(504, "text/html", nginxPage(504)),
			want:            api.Error{Kind: api.KindUnavailable, StatusCode: 504},
			messageContains: "<title>504 Gateway Timeout</title>",
		},
		{
			name:    "500 dashscope",
			handler: replyJSON(500, `{"code":"InternalError","message":"An internal error has occured.","request_id":"req-500"}`),
			want: api.Error{Kind: api.KindUnavailable, StatusCode: 500, Code: "InternalError",
				Message: "An internal error has occured.", RequestID: "req-500"},
		},
		{
			name:    "503 with a body over the size limit",
			handler: reply(503, "text/html", "<html>"+strings.Repeat("x", 2<<20)+"</html>"),
			want:    api.Error{Kind: api.KindUnavailable, StatusCode: 503},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, tt.handler)
			_, err := f.client(t).GetTask(context.Background(), taskID)
			want := tt.want
			want.Attempts = 4
			checkError(t, f, err, wantErr{err: want, messageContains: tt.messageContains, requests: 4})
		})
	}
}

func TestGetTaskTransientThenSuccess(t *testing.T) {
	tests := []struct {
		name  string
		first http.HandlerFunc
	}{
		{name: "429", first: replyJSON(429, throttled)},
		{name: "500", first: reply(500, "text/html", nginxPage(500))},
		{name: "503", first: reply(503, "text/html", nginxPage(503))},
		{name: "504", first: reply(504, "text/html", nginxPage(504))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, sequence(tt.first, tt.first, replyJSON(200, succeededBody)))
			task, err := f.client(t).GetTask(context.Background(), taskID)
			if err != nil {
				t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
			}
			if task.Status != api.StatusSucceeded {
				t.Errorf("GetTask(%q).Status = %q, want %q", taskID, task.Status, api.StatusSucceeded)
			}
			if n := f.requests.Load(); n != 3 {
				t.Errorf("upstream got %d requests, want 3", n)
			}
		})
	}
}

func TestGetTaskRetryPolicyRetries(t *testing.T) {
	for _, retries := range []int{0, 1, 5} {
		t.Run(strconv.Itoa(retries), func(t *testing.T) {
			f := newUpstream(t, replyJSON(503, `{"code":"ServiceUnavailable","message":"busy"}`))
			p := fastRetry
			p.Retries = retries
			_, err := f.client(t, api.WithRetryPolicy(p)).GetTask(context.Background(), taskID)
			checkError(t, f, err, wantErr{
				err: api.Error{Kind: api.KindUnavailable, StatusCode: 503, Code: "ServiceUnavailable",
					Message: "busy", Attempts: retries + 1},
				requests: int64(retries + 1),
			})
		})
	}
}

// TestGetTaskRetryAfterTooLong checks that a wait longer than MaxRetryAfter, or longer than
// what is left of the call, ends the call at once with the wait in the error.
func TestGetTaskRetryAfterTooLong(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		callTimeout time.Duration
		want        api.Error
	}{
		{
			name:    "429 absurd seconds",
			handler: withRetryAfter("999999999", replyJSON(429, throttled)),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429", RetryAfter: 7 * 24 * time.Hour},
		},
		{
			name:    "429 just over the limit",
			handler: withRetryAfter("11", replyJSON(429, throttled)),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429", RetryAfter: 11 * time.Second},
		},
		{
			name:    "429 date a year ahead",
			handler: withRetryAfter(time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat), replyJSON(429, throttled)),
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429", RetryAfter: 7 * 24 * time.Hour},
		},
		{
			name:    "503 asking for a minute",
			handler: withRetryAfter("60", reply(503, "text/html", "<html>maintenance</html>")),
			want: api.Error{Kind: api.KindUnavailable, StatusCode: 503,
				Message: "<html>maintenance</html>", RetryAfter: time.Minute},
		},
		{
			name:        "429 asking for more than the call has left",
			handler:     withRetryAfter("2", replyJSON(429, throttled)),
			callTimeout: 500 * time.Millisecond,
			want: api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling",
				Message: "Requests throttling triggered.", RequestID: "req-429", RetryAfter: 2 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, tt.handler)
			p := fastRetry
			if tt.callTimeout > 0 {
				p.CallTimeout = tt.callTimeout
			}
			start := time.Now()
			_, err := f.client(t, api.WithRetryPolicy(p)).GetTask(context.Background(), taskID)
			elapsed := time.Since(start)
			want := tt.want
			want.Attempts = 1
			got := checkError(t, f, err, wantErr{err: want, requests: 1})
			if got.RetryAfter <= 0 || !strings.Contains(err.Error(), "retry after ") {
				t.Errorf("GetTask error = %q, want it to say when to retry", err)
			}
			// Generous: the call must not have waited out the Retry-After.
			if elapsed > 1500*time.Millisecond {
				t.Errorf("GetTask took %v, want it to end at once", elapsed)
			}
		})
	}
}

// requestTimes records when each request arrived.
type requestTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (rt *requestTimes) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rt.mu.Lock()
		rt.times = append(rt.times, time.Now())
		rt.mu.Unlock()
		h(w, r)
	}
}

func (rt *requestTimes) get() []time.Time {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]time.Time(nil), rt.times...)
}

// TestGetTaskRetryAfterHonoured checks that a short Retry-After is waited out before the
// retry, in seconds and as an HTTP date. It runs in a synctest bubble over the in-memory
// transport, so the retry comes exactly when the upstream asked for it.
func TestGetTaskRetryAfterHonoured(t *testing.T) {
	// retried returns the times of the upstream's two requests: a 429 from first, then a
	// success.
	retried := func(t *testing.T, first http.HandlerFunc) []time.Time {
		t.Helper()
		var rt requestTimes
		c, err := api.NewClient(testToken,
			api.WithBaseURL("http://upstream.test"+prefix),
			api.WithHTTPClient(&http.Client{Transport: simulate.Transport(rt.record(sequence(first, replyJSON(200, succeededBody))))}),
			api.WithRetryPolicy(fastRetry),
		)
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		if _, err := c.GetTask(context.Background(), taskID); err != nil {
			t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
		}
		times := rt.get()
		if len(times) != 2 {
			t.Fatalf("upstream got %d requests, want 2", len(times))
		}
		return times
	}
	t.Run("seconds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			times := retried(t, withRetryAfter("1", replyJSON(429, throttled)))
			if gap := times[1].Sub(times[0]); gap != time.Second {
				t.Errorf("retry came %v after a Retry-After of 1s, want 1s", gap)
			}
		})
	})
	t.Run("HTTP date", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The bubble's clock starts on a whole second, so the date is exactly 2 s away.
			notBefore := time.Now().Add(2 * time.Second)
			times := retried(t, withRetryAfter(notBefore.UTC().Format(http.TimeFormat), replyJSON(429, throttled)))
			if !times[1].Equal(notBefore) {
				t.Errorf("retry came at %v, want it at the Retry-After date %v", times[1], notBefore)
			}
		})
	})
}
