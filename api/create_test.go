package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// submitted is one request a submission upstream received.
type submitted struct {
	method, path string
	header       http.Header
	body         []byte
}

// submitUpstream is a real HTTP server standing in for either provider under prefix: it
// records every request that reaches it and answers with h.
type submitUpstream struct {
	srv  *httptest.Server
	done chan struct{}

	mu   sync.Mutex
	reqs []submitted
}

func newSubmitUpstream(t *testing.T, h http.HandlerFunc) *submitUpstream {
	t.Helper()
	u := &submitUpstream{done: make(chan struct{})}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, submitted{method: r.Method, path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body})
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(func() {
		close(u.done)
		u.srv.Close()
	})
	return u
}

func (u *submitUpstream) requests() []submitted {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]submitted(nil), u.reqs...)
}

// client returns a client of u for provider, with fast retries; opts come last and win.
func (u *submitUpstream) client(t *testing.T, provider api.Provider, opts ...api.Option) *api.Client {
	t.Helper()
	all := append([]api.Option{api.WithBaseURL(u.srv.URL + prefix), api.WithProvider(provider), api.WithRetryPolicy(fastRetry)}, opts...)
	c, err := api.NewClient(testToken, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

const acceptedBody = `{"output":{"task_status":"PENDING","task_id":"0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"},"request_id":"4909100c-7b5a-9f92-bfe5-xxxxxx"}`

func int64p(v int64) *int64 { return &v }
func boolp(v bool) *bool    { return &v }

func TestCreateTaskRequest(t *testing.T) {
	t2v := api.CreateRequest{
		Kind: api.TextToVideo, Model: "wan2.5-t2v-preview",
		Prompt: "A kitten runs in the moonlight & rain", NegativePrompt: "blurry",
		AudioURL: "https://example.com/a.mp3?x=1&y=2",
		Size:     "832*480", Duration: 10, Seed: int64p(42), PromptExtend: boolp(false),
	}
	i2v := api.CreateRequest{
		Kind: api.ImageToVideo, Model: "wan2.2-i2v-plus", Prompt: "The cat turns its head",
		ImgURL: "https://example.com/cat.png", Resolution: "480P", Duration: 5,
	}
	minimal := api.CreateRequest{Kind: api.TextToVideo, Model: "wanx2.1-t2v-turbo", Prompt: "a cat"}
	zeros := api.CreateRequest{Kind: api.TextToVideo, Model: "wanx2.1-t2v-turbo", Prompt: "a cat", Seed: int64p(0), PromptExtend: boolp(false)}

	t2vBody := `{"model":"wan2.5-t2v-preview","input":{"prompt":"A kitten runs in the moonlight & rain","negative_prompt":"blurry",` +
		`"audio_url":"https://example.com/a.mp3?x=1&y=2"},"parameters":{"size":"832*480","duration":10,"prompt_extend":false,"seed":42}}`
	i2vBody := `{"model":"wan2.2-i2v-plus","input":{"prompt":"The cat turns its head","img_url":"https://example.com/cat.png"},` +
		`"parameters":{"resolution":"480P","duration":5}}`
	tests := []struct {
		name     string
		provider api.Provider
		req      api.CreateRequest
		path     string
		async    string
		body     string
	}{
		{"gptge text2video", api.ProviderGPTGE, t2v, prefix + "/task/bailian/text2video", "", t2vBody},
		{"gptge image2video", api.ProviderGPTGE, i2v, prefix + "/task/bailian/image2video", "", i2vBody},
		{"dashscope text-to-video", api.ProviderDashScope, t2v, prefix + "/api/v1/services/aigc/video-generation/video-synthesis", "enable", t2vBody},
		{"dashscope image-to-video", api.ProviderDashScope, i2v, prefix + "/api/v1/services/aigc/video-generation/video-synthesis", "enable", i2vBody},
		{"nothing optional", api.ProviderGPTGE, minimal, prefix + "/task/bailian/text2video", "",
			`{"model":"wanx2.1-t2v-turbo","input":{"prompt":"a cat"},"parameters":{}}`},
		{"zero seed and false are sent", api.ProviderGPTGE, zeros, prefix + "/task/bailian/text2video", "",
			`{"model":"wanx2.1-t2v-turbo","input":{"prompt":"a cat"},"parameters":{"prompt_extend":false,"seed":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSubmitUpstream(t, replyJSON(http.StatusOK, acceptedBody))
			task, err := u.client(t, tt.provider).CreateTask(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("CreateTask: %v", err)
			}
			want := &api.Task{ID: taskID, Status: api.StatusPending, RequestID: "4909100c-7b5a-9f92-bfe5-xxxxxx"}
			if diff := cmp.Diff(want, task); diff != "" {
				t.Errorf("CreateTask task mismatch (-want +got):\n%s", diff)
			}
			reqs := u.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != tt.path {
				t.Errorf("request = %s %s, want POST %s", r.method, r.path, tt.path)
			}
			for header, want := range map[string]string{
				"Authorization":     "Bearer " + testToken,
				"Content-Type":      "application/json",
				"Accept":            "application/json",
				"X-DashScope-Async": tt.async,
				"Idempotency-Key":   "",
			} {
				if got := r.header.Get(header); got != want {
					t.Errorf("header %s = %q, want %q", header, got, want)
				}
			}
			var got, wantBody any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body %s is not JSON: %v", r.body, err)
			}
			if err := json.Unmarshal([]byte(tt.body), &wantBody); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBody, got); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s\nraw: %s", diff, r.body)
			}
			if strings.Contains(string(r.body), `\u0026`) {
				t.Errorf("body %s escapes & in URLs and prompts; want them as they are", r.body)
			}
		})
	}
}

// TestCreateTaskNeverRetriesOnceSent runs submissions against upstreams that fail after the
// request reached them: each must see exactly one POST, and the error must say that the
// outcome is unknown.
func TestCreateTaskNeverRetriesOnceSent(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(u *submitUpstream) http.HandlerFunc
		httpClient func(t *testing.T) *http.Client
		status     int
		cause      error // when set, errors.Is must find it
	}{
		{name: "500 InternalError", status: 500, handler: func(*submitUpstream) http.HandlerFunc {
			return replyJSON(500, `{"code":"InternalError","message":"An internal error has occured, please try again later.","request_id":"r-500"}`)
		}},
		{name: "502 gateway page", status: 502, handler: func(*submitUpstream) http.HandlerFunc {
			return reply(502, "text/html", nginxPage(502))
		}},
		{name: "503 with Retry-After", status: 503, handler: func(*submitUpstream) http.HandlerFunc {
			return withRetryAfter("1", reply(503, "text/html", nginxPage(503)))
		}},
		{name: "504 gateway timeout", status: 504, handler: func(*submitUpstream) http.HandlerFunc {
			return reply(504, "text/html", nginxPage(504))
		}},
		{name: "no answer before the timeout", cause: context.DeadlineExceeded, httpClient: shortTimeoutClient,
			handler: func(u *submitUpstream) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-u.done:
					}
				}
			}},
		{name: "reset after the request", handler: func(*submitUpstream) http.HandlerFunc { return hijack(t, "", true) }},
		{name: "closed without an answer", cause: io.EOF, handler: func(*submitUpstream) http.HandlerFunc { return hijack(t, "", false) }},
		{name: "200 cut mid-body", status: 200, cause: io.ErrUnexpectedEOF, handler: func(*submitUpstream) http.HandlerFunc {
			return hijack(t, partialHead+`{"output":{"task_status":"PENDING","task_`, false)
		}},
		{name: "200 HTML", status: 200, handler: func(*submitUpstream) http.HandlerFunc {
			return reply(200, "text/html", "<html><body>OK</body></html>")
		}},
		{name: "200 without task_id", status: 200, handler: func(*submitUpstream) http.HandlerFunc {
			return replyJSON(200, `{"output":{"task_status":"PENDING"},"request_id":"r-1"}`)
		}},
		{name: "200 in another vendor's shape", status: 200, handler: func(*submitUpstream) http.HandlerFunc {
			return replyJSON(200, `{"code":"success","message":"","data":{"task_id":"abc"}}`)
		}},
	}
	for _, provider := range api.Providers() {
		for _, tt := range tests {
			t.Run(string(provider)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var u *submitUpstream
				u = newSubmitUpstream(t, func(w http.ResponseWriter, r *http.Request) { tt.handler(u)(w, r) })
				var opts []api.Option
				if tt.httpClient != nil {
					opts = append(opts, api.WithHTTPClient(tt.httpClient(t)))
				}
				_, err := u.client(t, provider, opts...).CreateTask(context.Background(),
					api.CreateRequest{Kind: api.TextToVideo, Model: "wan2.5-t2v-preview", Prompt: "a cat"})
				var e *api.Error
				if !errors.As(err, &e) {
					t.Fatalf("CreateTask error = %v, want *api.Error", err)
				}
				if e.Kind != api.KindOutcomeUnknown || !errors.Is(err, api.ErrOutcomeUnknown) {
					t.Errorf("CreateTask error kind = %v (%v), want %v", e.Kind, err, api.KindOutcomeUnknown)
				}
				if e.Transient() {
					t.Errorf("an unknown outcome is Transient(); a caller would retry it")
				}
				if e.Attempts != 1 || e.RetryAfter != 0 {
					t.Errorf("Attempts = %d, RetryAfter = %v; want 1 and none", e.Attempts, e.RetryAfter)
				}
				if tt.status != 0 && e.StatusCode != tt.status {
					t.Errorf("StatusCode = %d, want %d", e.StatusCode, tt.status)
				}
				if tt.cause != nil && !errors.Is(err, tt.cause) {
					t.Errorf("CreateTask error = %v, want errors.Is(err, %v)", err, tt.cause)
				}
				if tt.name == "reset after the request" && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
					t.Errorf("CreateTask error = %v, want a connection reset", err)
				}
				if msg := err.Error(); strings.Contains(msg, testToken) || strings.Contains(msg, prefix+"/") {
					t.Errorf("CreateTask error %q contains the key or the request URL", msg)
				}
				if n := len(u.requests()); n != 1 {
					t.Errorf("upstream got %d submissions, want exactly 1", n)
				}
			})
		}
	}
}

// TestCreateTaskRefusals: answers that refuse a submission say so, quote the upstream, and
// are not retried either.
func TestCreateTaskRefusals(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    api.Error
	}{
		{"400 InvalidParameter", replyJSON(400, `{"code":"InvalidParameter","message":"The size is not match the allowed size ","request_id":"r-400"}`),
			api.Error{Kind: api.KindRejected, StatusCode: 400, Code: "InvalidParameter", Message: "The size is not match the allowed size ", RequestID: "r-400"}},
		{"401 InvalidApiKey", replyJSON(401, `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r-401"}`),
			api.Error{Kind: api.KindUnauthorized, StatusCode: 401, Code: "InvalidApiKey", Message: "Invalid API-key provided.", RequestID: "r-401"}},
		{"403 AccessDenied", replyJSON(403, `{"code":"AccessDenied","message":"current user api does not support synchronous calls","request_id":"r-403"}`),
			api.Error{Kind: api.KindUnauthorized, StatusCode: 403, Code: "AccessDenied", Message: "current user api does not support synchronous calls", RequestID: "r-403"}},
		{"404 ModelNotFound", replyJSON(404, `{"code":"ModelNotFound","message":"Model not exist.","request_id":"r-404"}`),
			api.Error{Kind: api.KindRejected, StatusCode: 404, Code: "ModelNotFound", Message: "Model not exist.", RequestID: "r-404"}},
		{"429 Throttling", withRetryAfter("7", replyJSON(429, `{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded","request_id":"r-429"}`)),
			api.Error{Kind: api.KindRateLimited, StatusCode: 429, Code: "Throttling.RateQuota", Message: "Requests rate limit exceeded", RequestID: "r-429", RetryAfter: 7 * time.Second}},
		{"OpenAI-style 400", replyJSON(400, `{"error":{"message":"invalid model","type":"invalid_request_error","code":"model_not_found"}}`),
			api.Error{Kind: api.KindRejected, StatusCode: 400, Code: "model_not_found", Message: "invalid model"}},
		{"200 carrying an error envelope", replyJSON(200, `{"code":"InvalidParameter","message":"prompt is required","request_id":"r-200"}`),
			api.Error{Kind: api.KindRejected, StatusCode: 200, Code: "InvalidParameter", Message: "prompt is required", RequestID: "r-200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSubmitUpstream(t, tt.handler)
			_, err := u.client(t, api.ProviderDashScope).CreateTask(context.Background(),
				api.CreateRequest{Kind: api.ImageToVideo, Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: "https://example.com/i.png"})
			var e *api.Error
			if !errors.As(err, &e) {
				t.Fatalf("CreateTask error = %v, want *api.Error", err)
			}
			want := tt.want
			want.Attempts = 1
			e.Err = nil
			if diff := cmp.Diff(want, *e); diff != "" {
				t.Errorf("CreateTask error mismatch (-want +got):\n%s", diff)
			}
			if n := len(u.requests()); n != 1 {
				t.Errorf("upstream got %d submissions, want 1", n)
			}
		})
	}
}

func TestCreateTaskRetriesOnlyWhenItCouldNotConnect(t *testing.T) {
	closedAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	req := api.CreateRequest{Kind: api.TextToVideo, Model: "wan2.5-t2v-preview", Prompt: "a cat"}

	t.Run("refused every time", func(t *testing.T) {
		c, err := api.NewClient(testToken, api.WithBaseURL("http://"+closedAddr(t)+prefix), api.WithRetryPolicy(fastRetry))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateTask(context.Background(), req)
		var e *api.Error
		if !errors.As(err, &e) || e.Kind != api.KindUnavailable || e.Attempts != fastRetry.Retries+1 {
			t.Fatalf("CreateTask error = %#v, want KindUnavailable after %d attempts", err, fastRetry.Retries+1)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("CreateTask error = %v, want errors.Is(err, ECONNREFUSED)", err)
		}
	})

	t.Run("refused once, then answered", func(t *testing.T) {
		u := newSubmitUpstream(t, replyJSON(http.StatusOK, acceptedBody))
		refused := closedAddr(t)
		var dials atomic.Int64
		var d net.Dialer
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				addr = refused // a real refused connection, the first time only
			}
			return d.DialContext(ctx, network, addr)
		}}
		t.Cleanup(tr.CloseIdleConnections)
		task, err := u.client(t, api.ProviderGPTGE, api.WithHTTPClient(&http.Client{Transport: tr})).CreateTask(context.Background(), req)
		if err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
		if task.ID != taskID {
			t.Errorf("task id = %q, want %q", task.ID, taskID)
		}
		if n, d := len(u.requests()), dials.Load(); n != 1 || d != 2 {
			t.Errorf("upstream got %d submissions after %d dials, want 1 after 2", n, d)
		}
	})
}

func TestCreateTaskRefusedBeforeSending(t *testing.T) {
	valid := api.CreateRequest{Kind: api.TextToVideo, Model: "wan2.5-t2v-preview", Prompt: "a cat"}
	tests := []struct {
		name  string
		token string
		edit  func(*api.CreateRequest)
		kind  api.ErrorKind
	}{
		{"no kind", testToken, func(r *api.CreateRequest) { r.Kind = 0 }, api.KindInvalidRequest},
		{"no model", testToken, func(r *api.CreateRequest) { r.Model = " " }, api.KindInvalidRequest},
		{"no prompt", testToken, func(r *api.CreateRequest) { r.Prompt = "" }, api.KindInvalidRequest},
		{"image-to-video without img_url", testToken, func(r *api.CreateRequest) { r.Kind = api.ImageToVideo }, api.KindInvalidRequest},
		{"text-to-video with img_url", testToken, func(r *api.CreateRequest) { r.ImgURL = "https://example.com/a.png" }, api.KindInvalidRequest},
		{"no API key", "", func(*api.CreateRequest) {}, api.KindMissingAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSubmitUpstream(t, replyJSON(http.StatusOK, acceptedBody))
			c, err := api.NewClient(tt.token, api.WithBaseURL(u.srv.URL+prefix))
			if err != nil {
				t.Fatal(err)
			}
			req := valid
			tt.edit(&req)
			_, err = c.CreateTask(context.Background(), req)
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != tt.kind {
				t.Errorf("CreateTask error = %v, want kind %v", err, tt.kind)
			}
			if n := len(u.requests()); n != 0 {
				t.Errorf("upstream got %d requests, want none", n)
			}
		})
	}
}

func TestCreateTaskCancelledInFlight(t *testing.T) {
	started := make(chan struct{}, 1)
	var u *submitUpstream
	u = newSubmitUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-u.done:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	_, err := u.client(t, api.ProviderGPTGE).CreateTask(ctx, api.CreateRequest{Kind: api.TextToVideo, Model: "m", Prompt: "p"})
	if !errors.Is(err, api.ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Errorf("CreateTask error = %v, want an unknown outcome caused by the cancellation", err)
	}
	if n := len(u.requests()); n != 1 {
		t.Errorf("upstream got %d submissions, want 1", n)
	}
}

// TestCreateTaskRateLimit: submissions share the client's rate limit; a turn that would come
// after the caller's deadline fails at once, with nothing sent.
func TestCreateTaskRateLimit(t *testing.T) {
	u := newSubmitUpstream(t, replyJSON(http.StatusOK, acceptedBody))
	c := u.client(t, api.ProviderGPTGE, api.WithRateLimit(1))
	req := api.CreateRequest{Kind: api.TextToVideo, Model: "wan2.5-t2v-preview", Prompt: "a cat"}
	if _, err := c.CreateTask(context.Background(), req); err != nil {
		t.Fatalf("first CreateTask: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreateTask(ctx, req)
	var e *api.Error
	if !errors.As(err, &e) || e.Kind != api.KindRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("second CreateTask error = %v, want KindRateLimited with the wait", err)
	}
	if elapsed := time.Since(start); elapsed > 150*time.Millisecond {
		t.Errorf("second CreateTask took %v; it should fail at once", elapsed)
	}
	// A query waits for the same limiter: the two share it.
	if _, err := c.GetTask(ctx, taskID); !errors.Is(err, api.ErrRateLimited) {
		t.Errorf("GetTask right after = %v, want rate limited by the shared limiter", err)
	}
	if n := len(u.requests()); n != 1 {
		t.Errorf("upstream got %d requests, want 1", n)
	}
}

func TestDashScopeQuery(t *testing.T) {
	u := newSubmitUpstream(t, replyJSON(http.StatusOK, succeededBody))
	c := u.client(t, api.ProviderDashScope)
	task, err := c.GetTask(context.Background(), taskID)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if task.Status != api.StatusSucceeded || task.VideoURL != succeededURL {
		t.Errorf("GetTask = %s %q, want SUCCEEDED with the URL", task.Status, task.VideoURL)
	}
	reqs := u.requests()
	if len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].path != prefix+"/api/v1/tasks/"+taskID {
		t.Fatalf("requests = %+v, want one GET %s/api/v1/tasks/%s", reqs, prefix, taskID)
	}
	if got := reqs[0].header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if got, err := c.TaskURL("a:b"); err != nil || got != u.srv.URL+prefix+"/api/v1/tasks/a:b" {
		t.Errorf("TaskURL(a:b) = %q, %v", got, err)
	}
	if got, want := c.SubmitURL(api.ImageToVideo), u.srv.URL+prefix+"/api/v1/services/aigc/video-generation/video-synthesis"; got != want {
		t.Errorf("SubmitURL = %q, want %q", got, want)
	}
}

func TestDashScopeBaseURL(t *testing.T) {
	tests := []struct{ region, want, errContains string }{
		{"", "https://dashscope.aliyuncs.com", ""},
		{"beijing", "https://dashscope.aliyuncs.com", ""},
		{"cn-beijing", "https://dashscope.aliyuncs.com", ""},
		{"Singapore", "https://dashscope-intl.aliyuncs.com", ""},
		{"ap-southeast-1", "https://dashscope-intl.aliyuncs.com", ""},
		{"virginia", "https://dashscope-us.aliyuncs.com", ""},
		{"us-east-1", "https://dashscope-us.aliyuncs.com", ""},
		{"https://ws-123.ap-southeast-1.maas.aliyuncs.com", "https://ws-123.ap-southeast-1.maas.aliyuncs.com", ""},
		{"https://dashscope-intl.aliyuncs.com/api/v1/", "https://dashscope-intl.aliyuncs.com", ""},
		{"http://127.0.0.1:8080/proxy", "http://127.0.0.1:8080/proxy", ""},
		{"hangzhou", "", "want beijing, singapore, virginia, or a base URL"},
		{"ftp://example.com", "", "absolute http or https URL"},
	}
	for _, tt := range tests {
		got, err := api.DashScopeBaseURL(tt.region)
		switch {
		case tt.errContains != "":
			if err == nil || !strings.Contains(err.Error(), tt.errContains) {
				t.Errorf("DashScopeBaseURL(%q) = %q, %v; want an error containing %q", tt.region, got, err, tt.errContains)
			}
		case err != nil || got != tt.want:
			t.Errorf("DashScopeBaseURL(%q) = %q, %v; want %q", tt.region, got, err, tt.want)
		}
	}
}

func TestProviders(t *testing.T) {
	for in, want := range map[string]api.Provider{"": api.ProviderGPTGE, "gptge": api.ProviderGPTGE, " DashScope ": api.ProviderDashScope} {
		if got, err := api.ParseProvider(in); err != nil || got != want {
			t.Errorf("ParseProvider(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := api.ParseProvider("openai"); err == nil {
		t.Errorf("ParseProvider(openai) = nil error")
	}
	if _, err := api.NewClient("k", api.WithProvider("openai")); err == nil {
		t.Errorf("NewClient(WithProvider(openai)) = nil error")
	}
	c, err := api.NewClient("k")
	if err != nil {
		t.Fatal(err)
	}
	taskURL, _ := c.TaskURL("x")
	if c.Provider() != api.ProviderGPTGE || taskURL != api.DefaultBaseURL+"/task/x" ||
		c.SubmitURL(api.TextToVideo) != api.DefaultBaseURL+"/task/bailian/text2video" {
		t.Errorf("default client: provider %s, TaskURL %s, SubmitURL %s", c.Provider(), taskURL, c.SubmitURL(api.TextToVideo))
	}
}
