package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// testToken is distinctive so that a test can tell when an error string repeats it.
const testToken = "sk-TEST-4f9c2e7a1b-never-print-me"

// prefix is where the fake upstream is mounted: a client that builds an absolute URL
// instead of joining onto the base URL misses it and fails loudly.
const prefix = "/prefix"

// taskID is a realistic id for tests that do not care which.
const taskID = "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"

// fastRetry is DefaultRetryPolicy with millisecond backoff, so that retries cost nothing.
var fastRetry = api.RetryPolicy{
	Retries:       3,
	BaseDelay:     time.Millisecond,
	MaxRetryAfter: 10 * time.Second,
	CallTimeout:   10 * time.Second,
}

// fakeUpstream is a real HTTP server standing in for the task API under prefix.
type fakeUpstream struct {
	srv *httptest.Server
	// requests counts the requests that reached the task route.
	requests atomic.Int64
	// done is closed when the test ends, so that handlers that block forever return.
	done chan struct{}
}

// newUpstream starts a fake upstream whose task route runs h. Any request outside
// prefix+"/task/" fails the test.
func newUpstream(t *testing.T, h http.HandlerFunc) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc(prefix+"/task/", func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		h(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("upstream got %s %s, outside %s/task/", r.Method, r.URL, prefix)
		http.Error(w, "wrong path", http.StatusTeapot)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.done)
		f.srv.Close()
	})
	return f
}

// baseURL is the base URL a client should be given.
func (f *fakeUpstream) baseURL() string { return f.srv.URL + prefix }

// client returns a client of f with fast retries; opts come after the defaults and win.
func (f *fakeUpstream) client(t *testing.T, opts ...api.Option) *api.Client {
	t.Helper()
	all := append([]api.Option{api.WithBaseURL(f.baseURL()), api.WithRetryPolicy(fastRetry)}, opts...)
	c, err := api.NewClient(testToken, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// block waits until the client gives up on the request or the test ends.
func (f *fakeUpstream) block(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.done:
	}
}

// reply writes a canned answer.
func reply(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// replyJSON writes a JSON body with the given status.
func replyJSON(status int, body string) http.HandlerFunc {
	return reply(status, "application/json", body)
}

// sequence answers the n-th request with handlers[n], repeating the last one after that.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(handlers)-1)
		handlers[i](w, r)
	}
}

var sentinels = map[api.ErrorKind]error{
	api.KindInvalidTaskID: api.ErrInvalidTaskID,
	api.KindMissingAPIKey: api.ErrMissingAPIKey,
	api.KindUnauthorized:  api.ErrUnauthorized,
	api.KindNotFound:      api.ErrNotFound,
	api.KindRejected:      api.ErrRejected,
	api.KindRateLimited:   api.ErrRateLimited,
	api.KindUnavailable:   api.ErrUnavailable,
	api.KindNotATask:      api.ErrNotATask,
}

// wantErr is what a failed GetTask should have returned.
type wantErr struct {
	// err holds the expected fields of the *api.Error; Err is never compared.
	err api.Error
	// messageContains, when set, replaces the exact comparison of Message.
	messageContains string
	// requests is how many requests the upstream should have received.
	requests int64
}

// checkError asserts that err is an *api.Error as want says, that errors.Is matches its
// kind's sentinel and no other, that the upstream got want.requests requests, and that the
// error string does not contain the API key.
func checkError(t *testing.T, f *fakeUpstream, err error, want wantErr) *api.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("GetTask error = nil, want %v", want.err.Kind)
	}
	var got *api.Error
	if !errors.As(err, &got) {
		t.Fatalf("GetTask error = %T %v, want *api.Error", err, err)
	}
	opts := []cmp.Option{cmpopts.IgnoreFields(api.Error{}, "Err")}
	if want.messageContains != "" {
		opts = append(opts, cmpopts.IgnoreFields(api.Error{}, "Message"))
		if !strings.Contains(got.Message, want.messageContains) {
			t.Errorf("GetTask error Message = %q, want it to contain %q", got.Message, want.messageContains)
		}
	}
	if diff := cmp.Diff(want.err, *got, opts...); diff != "" {
		t.Errorf("GetTask error mismatch (-want +got):\n%s\nerror: %v", diff, err)
	}
	for kind, sentinel := range sentinels {
		if is := errors.Is(err, sentinel); is != (kind == want.err.Kind) {
			t.Errorf("errors.Is(%v, %v sentinel) = %v, want %v", err, kind, is, !is)
		}
	}
	if msg := err.Error(); strings.Contains(msg, testToken) {
		t.Errorf("GetTask error %q contains the API key", msg)
	}
	if f != nil {
		if n := f.requests.Load(); n != want.requests {
			t.Errorf("upstream got %d requests, want %d", n, want.requests)
		}
	}
	return got
}
