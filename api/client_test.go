package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// succeededBody is a SUCCEEDED answer as the upstream sends it: a signed OSS video URL whose
// Expires is end_time + 24 h, prompts, usage and request_id.
const succeededBody = `{"request_id":"7f3c1a2e-5b1d-9a4e-8c7b-0d6e5f4a3b2c",
 "output":{"task_id":"0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c","task_status":"SUCCEEDED",
           "submit_time":"2025-10-26 12:50:16.723",
           "scheduled_time":"2025-10-26 12:50:16.772","end_time":"2025-10-26 12:52:20.355",
           "video_url":"https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D",
           "orig_prompt":"a cat runs across a meadow","actual_prompt":"A fluffy ginger cat sprints across a sunlit meadow."},
 "usage":{"video_count":1,"video_ratio":"832*480","video_duration":5}}`

const succeededURL = "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D"

func TestGetTaskSuccess(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *api.Task
	}{
		{
			name: "succeeded example",
			body: succeededBody,
			want: &api.Task{
				RequestID:     "7f3c1a2e-5b1d-9a4e-8c7b-0d6e5f4a3b2c",
				ID:            taskID,
				Status:        api.StatusSucceeded,
				SubmitTime:    "2025-10-26 12:50:16.723",
				ScheduledTime: "2025-10-26 12:50:16.772",
				EndTime:       "2025-10-26 12:52:20.355",
				VideoURL:      succeededURL,
				OrigPrompt:    "a cat runs across a meadow",
				ActualPrompt:  "A fluffy ginger cat sprints across a sunlit meadow.",
				Usage:         map[string]any{"video_count": 1.0, "video_ratio": "832*480", "video_duration": 5.0},
			},
		},
		{
			name: "pending",
			body: `{"request_id":"r1","output":{"task_id":"t1","task_status":"PENDING","submit_time":"2025-10-26 12:50:16.723"}}`,
			want: &api.Task{RequestID: "r1", ID: "t1", Status: api.StatusPending, SubmitTime: "2025-10-26 12:50:16.723"},
		},
		{
			name: "running",
			body: `{"request_id":"r2","output":{"task_id":"t2","task_status":"RUNNING","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772"}}`,
			want: &api.Task{RequestID: "r2", ID: "t2", Status: api.StatusRunning,
				SubmitTime: "2025-10-26 12:50:16.723", ScheduledTime: "2025-10-26 12:50:16.772"},
		},
		{
			name: "suspended",
			body: `{"request_id":"r3","output":{"task_id":"t3","task_status":"SUSPENDED"}}`,
			want: &api.Task{RequestID: "r3", ID: "t3", Status: api.StatusSuspended},
		},
		{
			name: "failed with code and message",
			body: `{"request_id":"r4","output":{"task_id":"t4","task_status":"FAILED","submit_time":"2025-10-26 12:50:16.723","end_time":"2025-10-26 12:50:19.001","code":"DataInspectionFailed","message":"Input data may contain inappropriate content."}}`,
			want: &api.Task{RequestID: "r4", ID: "t4", Status: api.StatusFailed,
				SubmitTime: "2025-10-26 12:50:16.723", EndTime: "2025-10-26 12:50:19.001",
				Code: "DataInspectionFailed", Message: "Input data may contain inappropriate content."},
		},
		{
			name: "canceled",
			body: `{"request_id":"r5","output":{"task_id":"t5","task_status":"CANCELED"}}`,
			want: &api.Task{RequestID: "r5", ID: "t5", Status: api.StatusCanceled},
		},
		{
			name: "unknown",
			body: `{"request_id":"r6","output":{"task_id":"t6","task_status":"UNKNOWN"}}`,
			want: &api.Task{RequestID: "r6", ID: "t6", Status: api.StatusUnknown},
		},
		{
			name: "unknown with a reason",
			body: `{"request_id":"r6b","output":{"task_id":"t6","task_status":"UNKNOWN","code":"TaskExpired","message":"the task is older than 24 hours"}}`,
			want: &api.Task{RequestID: "r6b", ID: "t6", Status: api.StatusUnknown,
				Code: "TaskExpired", Message: "the task is older than 24 hours"},
		},
		{
			name: "a status nobody documented passes through",
			body: `{"request_id":"r7","output":{"task_id":"t7","task_status":"QUEUED_FOR_REVIEW"}}`,
			want: &api.Task{RequestID: "r7", ID: "t7", Status: "QUEUED_FOR_REVIEW"},
		},
		{
			name: "newer model usage keys are kept",
			body: `{"request_id":"r8","output":{"task_id":"t8","task_status":"SUCCEEDED","video_url":"https://x.example/v.mp4"},
			        "usage":{"duration":10,"size":"1280*720","SR":720,"input_video_duration":3.5,"output_video_duration":10,"video_count":1,"some_future_key":{"nested":[1,"two"]}}}`,
			want: &api.Task{RequestID: "r8", ID: "t8", Status: api.StatusSucceeded, VideoURL: "https://x.example/v.mp4",
				Usage: map[string]any{"duration": 10.0, "size": "1280*720", "SR": 720.0, "input_video_duration": 3.5,
					"output_video_duration": 10.0, "video_count": 1.0,
					"some_future_key": map[string]any{"nested": []any{1.0, "two"}}}},
		},
		{
			name: "task_metrics is tolerated",
			body: `{"request_id":"r9","output":{"task_id":"t9","task_status":"RUNNING","task_metrics":{"TOTAL":4,"SUCCEEDED":1,"FAILED":0}}}`,
			want: &api.Task{RequestID: "r9", ID: "t9", Status: api.StatusRunning},
		},
		{
			name: "unknown top-level and output fields are ignored",
			body: `{"request_id":"r10","extra":[1,2],"output":{"task_id":"t10","task_status":"PENDING","new_field":{"a":null}}}`,
			want: &api.Task{RequestID: "r10", ID: "t10", Status: api.StatusPending},
		},
		{
			// Only task_status must have its documented type: odd values elsewhere are
			// read as text or dropped, never a reason to lose the status.
			name: "odd types outside task_status",
			body: `{"request_id":12345,"error":"","message":null,"code":{"a":1},"usage":"n/a","base_resp":"x",
			        "output":{"task_id":987,"task_status":"FAILED","code":500,"message":["x"],"submit_time":null,"video_url":false}}`,
			want: &api.Task{RequestID: "12345", ID: "987", Status: api.StatusFailed, Code: "500"},
		},
		{
			name: "invalid UTF-8 in a string field becomes U+FFFD",
			body: "{\"request_id\":\"r11\",\"output\":{\"task_id\":\"t11\",\"task_status\":\"FAILED\",\"code\":\"InvalidParameter\",\"message\":\"bad \xff\xfe bytes\"}}",
			want: &api.Task{RequestID: "r11", ID: "t11", Status: api.StatusFailed,
				Code: "InvalidParameter", Message: "bad \uFFFD\uFFFD bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, replyJSON(http.StatusOK, tt.body))
			got, err := f.client(t).GetTask(context.Background(), taskID)
			if err != nil {
				t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GetTask(%q) mismatch (-want +got):\n%s", taskID, diff)
			}
			for _, s := range []string{got.RequestID, got.ID, string(got.Status), got.Code, got.Message, got.VideoURL} {
				if !utf8.ValidString(s) {
					t.Errorf("GetTask(%q) returned invalid UTF-8 %q", taskID, s)
				}
			}
			if n := f.requests.Load(); n != 1 {
				t.Errorf("upstream got %d requests, want 1", n)
			}
		})
	}
}

func TestGetTaskSucceededExpiry(t *testing.T) {
	f := newUpstream(t, replyJSON(http.StatusOK, succeededBody))
	task, err := f.client(t).GetTask(context.Background(), taskID)
	if err != nil {
		t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
	}
	if !task.Status.Terminal() {
		t.Errorf("GetTask(%q).Status.Terminal() = false, want true", taskID)
	}
	got, ok := task.VideoURLExpiry()
	want := time.Date(2025, 10, 27, 4, 52, 11, 0, time.UTC)
	if !ok || !got.Equal(want) {
		t.Errorf("VideoURLExpiry() = %v, %v, want %v, true", got, ok, want)
	}
	// The upstream reports end_time in UTC+8 (Beijing) without a zone, and signs the video URL
	// to expire 24 h after it.
	end, err := time.ParseInLocation("2006-01-02 15:04:05.000", task.EndTime, time.FixedZone("CST", 8*3600))
	if err != nil {
		t.Fatalf("parsing end_time %q: %v", task.EndTime, err)
	}
	if d := got.Sub(end.Add(24 * time.Hour)); d < -time.Minute || d > time.Minute {
		t.Errorf("expiry %v is %v away from end_time + 24h %v", got, d, end.Add(24*time.Hour))
	}
}

func TestGetTaskRequest(t *testing.T) {
	tests := []struct {
		name      string
		opts      []api.Option
		userAgent string
	}{
		{name: "default user agent", userAgent: "video-task-mcp"},
		{name: "WithUserAgent", opts: []api.Option{api.WithUserAgent("video-task-mcp/1.2.3 (test)")}, userAgent: "video-task-mcp/1.2.3 (test)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got http.Header
			var method, path string
			f := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				got, method, path = r.Header.Clone(), r.Method, r.URL.EscapedPath()
				replyJSON(http.StatusOK, succeededBody)(w, r)
			})
			if _, err := f.client(t, tt.opts...).GetTask(context.Background(), taskID); err != nil {
				t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
			}
			if method != http.MethodGet {
				t.Errorf("method = %q, want GET", method)
			}
			if want := prefix + "/task/" + taskID; path != want {
				t.Errorf("path = %q, want %q", path, want)
			}
			for header, want := range map[string]string{
				"Authorization": "Bearer " + testToken,
				"User-Agent":    tt.userAgent,
				"Accept":        "application/json",
			} {
				if v := got.Values(header); len(v) != 1 || v[0] != want {
					t.Errorf("header %s = %q, want [%q]", header, v, want)
				}
			}
		})
	}
}

// TestGetTaskPath checks that a valid id, trimmed, reaches the upstream as the last path
// segment under the base URL's prefix.
func TestGetTaskPath(t *testing.T) {
	long := strings.Repeat("a1-_.:", 21) + "xy" // 128 characters
	tests := []struct {
		id   string
		want string
	}{
		{id: taskID, want: taskID},
		{id: "  " + taskID + "\t\n", want: taskID},
		{id: "ns:task:42", want: "ns:task:42"},
		{id: "a.b.c", want: "a.b.c"},
		{id: "a..b", want: "a..b"},
		{id: "...", want: "..."},
		{id: ".hidden", want: ".hidden"},
		{id: "UPPER_lower-09", want: "UPPER_lower-09"},
		{id: long, want: long},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			var path string
			f := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.EscapedPath()
				replyJSON(http.StatusOK, `{"output":{"task_id":"x","task_status":"RUNNING"}}`)(w, r)
			})
			if _, err := f.client(t).GetTask(context.Background(), tt.id); err != nil {
				t.Fatalf("GetTask(%q) error = %v, want nil", tt.id, err)
			}
			if want := prefix + "/task/" + tt.want; path != want {
				t.Errorf("GetTask(%q) requested %q, want %q", tt.id, path, want)
			}
		})
	}
}

func TestGetTaskInvalidID(t *testing.T) {
	for _, id := range invalidTaskIDs {
		t.Run(id, func(t *testing.T) {
			f := newUpstream(t, replyJSON(http.StatusOK, succeededBody))
			_, err := f.client(t).GetTask(context.Background(), id)
			checkError(t, f, err, wantErr{
				err:             api.Error{Kind: api.KindInvalidTaskID},
				messageContains: "task_id",
				requests:        0,
			})
		})
	}
}

func TestGetTaskMissingAPIKey(t *testing.T) {
	f := newUpstream(t, replyJSON(http.StatusOK, succeededBody))
	c, err := api.NewClient("", api.WithBaseURL(f.baseURL()), api.WithRetryPolicy(fastRetry))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if c.HasToken() {
		t.Errorf("HasToken() = true, want false")
	}
	_, err = c.GetTask(context.Background(), taskID)
	checkError(t, f, err, wantErr{
		err:      api.Error{Kind: api.KindMissingAPIKey, Message: "no API key is configured"},
		requests: 0,
	})
}

func TestNewClientDefaults(t *testing.T) {
	c, err := api.NewClient(testToken)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if got := c.BaseURL(); got != api.DefaultBaseURL {
		t.Errorf("BaseURL() = %q, want %q", got, api.DefaultBaseURL)
	}
	if !c.HasToken() {
		t.Errorf("HasToken() = false, want true")
	}
	if got, err := c.TaskURL("abc"); err != nil || got != "https://api.gpt.ge/task/abc" {
		t.Errorf("TaskURL(%q) = %q, %v, want %q", "abc", got, err, "https://api.gpt.ge/task/abc")
	}
	if got, err := c.TaskURL(".."); !errors.Is(err, api.ErrInvalidTaskID) {
		t.Errorf("TaskURL(%q) = %q, %v, want an invalid-id error", "..", got, err)
	}
}

func TestDefaultRetryPolicy(t *testing.T) {
	want := api.RetryPolicy{
		Retries:       3,
		BaseDelay:     200 * time.Millisecond,
		MaxRetryAfter: 10 * time.Second,
		CallTimeout:   15 * time.Second,
	}
	if diff := cmp.Diff(want, api.DefaultRetryPolicy); diff != "" {
		t.Errorf("DefaultRetryPolicy mismatch (-want +got):\n%s", diff)
	}
}

// TestDefaultPolicyBacksOff runs the default policy for real: one 503, then success after a
// backoff of at least half of the 200 ms base delay.
func TestDefaultPolicyBacksOff(t *testing.T) {
	f := newUpstream(t, sequence(
		reply(http.StatusServiceUnavailable, "text/html", "<html>busy</html>"),
		replyJSON(http.StatusOK, succeededBody),
	))
	c, err := api.NewClient(testToken, api.WithBaseURL(f.baseURL()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	start := time.Now()
	task, err := c.GetTask(context.Background(), taskID)
	if err != nil {
		t.Fatalf("GetTask(%q) error = %v, want nil", taskID, err)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("GetTask(%q) retried after %v, want at least 100ms", taskID, elapsed)
	}
	if task.Status != api.StatusSucceeded {
		t.Errorf("GetTask(%q).Status = %q, want %q", taskID, task.Status, api.StatusSucceeded)
	}
	if n := f.requests.Load(); n != 2 {
		t.Errorf("upstream got %d requests, want 2", n)
	}
}

func TestWithBaseURL(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr bool
		// base and task are what BaseURL() and TaskURL("t:1") return when accepted.
		base, task string
	}{
		{raw: "https://api.gpt.ge", base: "https://api.gpt.ge", task: "https://api.gpt.ge/task/t:1"},
		{raw: "https://api.gpt.ge/", base: "https://api.gpt.ge", task: "https://api.gpt.ge/task/t:1"},
		{raw: "http://127.0.0.1:8080/prefix", base: "http://127.0.0.1:8080/prefix", task: "http://127.0.0.1:8080/prefix/task/t:1"},
		{raw: "http://127.0.0.1:8080/prefix/", base: "http://127.0.0.1:8080/prefix", task: "http://127.0.0.1:8080/prefix/task/t:1"},
		{raw: "http://relay.example/v1//", base: "http://relay.example/v1", task: "http://relay.example/v1/task/t:1"},
		{raw: "HTTPS://API.gpt.ge/x", base: "https://API.gpt.ge/x", task: "https://API.gpt.ge/x/task/t:1"},
		{raw: "http://h.example/a%20b", base: "http://h.example/a%20b", task: "http://h.example/a%20b/task/t:1"},
		{raw: "http://[::1]:9/p", base: "http://[::1]:9/p", task: "http://[::1]:9/p/task/t:1"},
		{raw: "", wantErr: true},
		{raw: "/", wantErr: true},
		{raw: "api.gpt.ge", wantErr: true},
		{raw: "/v1/task", wantErr: true},
		{raw: "//api.gpt.ge", wantErr: true},
		{raw: "ftp://api.gpt.ge", wantErr: true},
		{raw: "file:///etc/passwd", wantErr: true},
		{raw: "ws://api.gpt.ge", wantErr: true},
		{raw: "http:api.gpt.ge", wantErr: true},
		{raw: "http://", wantErr: true},
		{raw: "https://api.gpt.ge?key=1", wantErr: true},
		{raw: "https://api.gpt.ge/v1?x", wantErr: true},
		{raw: "https://api.gpt.ge#frag", wantErr: true},
		{raw: "https://user:pass@api.gpt.ge", wantErr: true},
		{raw: "https://user@api.gpt.ge", wantErr: true},
		{raw: " https://api.gpt.ge", wantErr: true},
		{raw: "https://api.gpt.ge/%zz", wantErr: true},
		{raw: "http://a b.example", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c, err := api.NewClient(testToken, api.WithBaseURL(tt.raw))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewClient(WithBaseURL(%q)) = %q, want an error", tt.raw, c.BaseURL())
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("NewClient(WithBaseURL(%q)) error %q contains the API key", tt.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient(WithBaseURL(%q)) error = %v, want nil", tt.raw, err)
			}
			if got := c.BaseURL(); got != tt.base {
				t.Errorf("WithBaseURL(%q): BaseURL() = %q, want %q", tt.raw, got, tt.base)
			}
			got, err := c.TaskURL("t:1")
			if err != nil || got != tt.task {
				t.Errorf("WithBaseURL(%q): TaskURL(%q) = %q, want %q", tt.raw, "t:1", got, tt.task)
			}
			if u, err := url.Parse(got); err != nil || !strings.HasSuffix(u.Path, "/task/t:1") {
				t.Errorf("url.Parse(%q) = %v, %v; want a path ending in /task/t:1", got, u, err)
			}
		})
	}
}

// TestRedirectNotFollowed checks that the default HTTP client does not carry the bearer
// token to wherever a redirect points.
func TestRedirectNotFollowed(t *testing.T) {
	elsewhere := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed: elsewhere got %s with Authorization %q", r.URL, r.Header.Get("Authorization"))
	})
	f := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.baseURL()+"/task/stolen", http.StatusFound)
	})
	_, err := f.client(t).GetTask(context.Background(), taskID)
	checkError(t, f, err, wantErr{
		err:             api.Error{Kind: api.KindRejected, StatusCode: http.StatusFound, Attempts: 1},
		messageContains: "check the base URL setting",
		requests:        1,
	})
	if n := elsewhere.requests.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}
