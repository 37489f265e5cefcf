package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// TestGetTaskErrorEnvelopes runs 4xx answers in each of the upstream's three envelopes (the
// OpenAI-style {"error":{…}}, DashScope's {"code","message","request_id"} and the relay's
// {"code","message","data"}): the upstream's code and message are kept, the status decides the
// kind, nothing is retried.
func TestGetTaskErrorEnvelopes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   api.Error
	}{
		// 400
		{
			name: "400 openai", status: 400,
			body: `{"error":{"message":"The task_id parameter is invalid.","type":"invalid_request_error","code":"InvalidParameter"}}`,
			want: api.Error{Kind: api.KindRejected, Code: "InvalidParameter", Message: "The task_id parameter is invalid."},
		},
		{
			name: "400 dashscope", status: 400,
			body: `{"code":"InvalidParameter","message":"The task_id parameter is invalid.","request_id":"req-400"}`,
			want: api.Error{Kind: api.KindRejected, Code: "InvalidParameter", Message: "The task_id parameter is invalid.", RequestID: "req-400"},
		},
		{
			name: "400 relay task_not_exist", status: 400,
			body: `{"code":"task_not_exist","message":"task_not_exist","data":null}`,
			want: api.Error{Kind: api.KindNotFound, Code: "task_not_exist", Message: "task_not_exist"},
		},
		{
			name: "400 relay other code", status: 400,
			body: `{"code":"invalid_request","message":"task id is malformed","data":null}`,
			want: api.Error{Kind: api.KindRejected, Code: "invalid_request", Message: "task id is malformed"},
		},
		{
			name: "400 openai task_not_exist", status: 400,
			body: `{"error":{"message":"task_not_exist","type":"new_api_error","code":"task_not_exist"}}`,
			want: api.Error{Kind: api.KindNotFound, Code: "task_not_exist", Message: "task_not_exist"},
		},
		{
			name: "400 dashscope task not exist in message", status: 400,
			body: `{"code":"InvalidParameter","message":"Task not exist.","request_id":"req-400b"}`,
			want: api.Error{Kind: api.KindNotFound, Code: "InvalidParameter", Message: "Task not exist.", RequestID: "req-400b"},
		},
		// 401
		{
			name: "401 openai", status: 401,
			body: `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "invalid_api_key", Message: "Incorrect API key provided."},
		},
		{
			name: "401 dashscope", status: 401,
			body: `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"req-401"}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "InvalidApiKey", Message: "Invalid API-key provided.", RequestID: "req-401"},
		},
		{
			name: "401 relay", status: 401,
			body: `{"code":"invalid_token","message":"无效的令牌","data":null}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "invalid_token", Message: "无效的令牌"},
		},
		// 403
		{
			name: "403 openai", status: 403,
			body: `{"error":{"message":"You are not allowed to access this task.","type":"access_denied","code":null}}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "access_denied", Message: "You are not allowed to access this task."},
		},
		{
			name: "403 dashscope", status: 403,
			body: `{"code":"AccessDenied","message":"Access denied.","request_id":"req-403"}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "AccessDenied", Message: "Access denied.", RequestID: "req-403"},
		},
		{
			name: "403 relay", status: 403,
			body: `{"code":"insufficient_quota","message":"quota exhausted","data":null}`,
			want: api.Error{Kind: api.KindUnauthorized, Code: "insufficient_quota", Message: "quota exhausted"},
		},
		// 404
		{
			name: "404 openai", status: 404,
			body: `{"error":{"message":"Not found.","type":"invalid_request_error","code":404}}`,
			want: api.Error{Kind: api.KindNotFound, Code: "404", Message: "Not found."},
		},
		{
			name: "404 dashscope", status: 404,
			body: `{"code":"ModelNotFound","message":"Model not found.","request_id":"req-404"}`,
			want: api.Error{Kind: api.KindNotFound, Code: "ModelNotFound", Message: "Model not found.", RequestID: "req-404"},
		},
		{
			name: "404 relay", status: 404,
			body: `{"code":"task_not_exist","message":"task_not_exist","data":null}`,
			want: api.Error{Kind: api.KindNotFound, Code: "task_not_exist", Message: "task_not_exist"},
		},
		// Other 4xx and odd bodies.
		{
			name: "404 plain text", status: 404, body: "404 page not found\n",
			want: api.Error{Kind: api.KindNotFound, Message: "404 page not found"},
		},
		{
			name: "400 empty body", status: 400, body: "",
			want: api.Error{Kind: api.KindRejected},
		},
		{
			name: "405", status: 405, body: `{"code":"MethodNotAllowed","message":"use GET","request_id":"req-405"}`,
			want: api.Error{Kind: api.KindRejected, Code: "MethodNotAllowed", Message: "use GET", RequestID: "req-405"},
		},
		{
			name: "409", status: 409, body: `{"error":{"message":"conflict","type":"conflict"}}`,
			want: api.Error{Kind: api.KindRejected, Code: "conflict", Message: "conflict"},
		},
		{
			name: "413 html", status: 413, body: "<html>\n<body>Request Entity Too Large</body>\n</html>\n",
			want: api.Error{Kind: api.KindRejected, Message: "<html> <body>Request Entity Too Large</body> </html>"},
		},
		{
			name: "422", status: 422, body: `{"code":"InvalidParameter","message":"bad","data":null}`,
			want: api.Error{Kind: api.KindRejected, Code: "InvalidParameter", Message: "bad"},
		},
		{
			name: "451 with a string error", status: 451, body: `{"error":"unavailable for legal reasons"}`,
			want: api.Error{Kind: api.KindRejected, Message: "unavailable for legal reasons"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, replyJSON(tt.status, tt.body))
			_, err := f.client(t).GetTask(context.Background(), taskID)
			want := tt.want
			want.StatusCode, want.Attempts = tt.status, 1
			checkError(t, f, err, wantErr{err: want, requests: 1})
			if err != nil && want.Message != "" && !strings.Contains(err.Error(), want.Message) {
				t.Errorf("GetTask error %q does not quote the upstream message %q", err, want.Message)
			}
		})
	}
}

// TestGetTaskNotATask runs 2xx bodies that are not a Bailian task: none is retried, none
// invents a status.
func TestGetTaskNotATask(t *testing.T) {
	tests := []struct {
		name            string
		contentType     string
		body            string
		want            api.Error
		messageContains string
	}{
		{
			name: "truncated JSON",
			body: `{"request_id":"r","output":{"task_id":"t","task_sta`,
			want: api.Error{Kind: api.KindNotATask}, messageContains: `the body is not valid JSON (truncated?): {"request_id":"r","output":{"task_id":"t","task_sta`,
		},
		{
			name: "HTML", contentType: "text/html",
			body: "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>Portal</body></html>",
			want: api.Error{Kind: api.KindNotATask}, messageContains: "the body is HTML or XML, not JSON (a gateway page?): <!DOCTYPE html> <html><head><title>Welcome</title>",
		},
		{
			name: "empty", body: "",
			want: api.Error{Kind: api.KindNotATask, Message: "the body is empty"},
		},
		{
			name: "white space only", body: " \n\t ",
			want: api.Error{Kind: api.KindNotATask, Message: "the body is empty"},
		},
		{
			name: "JSON array", body: `[{"task_status":"SUCCEEDED"}]`,
			want: api.Error{Kind: api.KindNotATask, Message: `the body is JSON but not a task object: [{"task_status":"SUCCEEDED"}]`},
		},
		{
			name: "JSON string", body: `"SUCCEEDED"`,
			want: api.Error{Kind: api.KindNotATask, Message: `the body is JSON but not a task object: "SUCCEEDED"`},
		},
		{
			name: "task_status of the wrong type", body: `{"output":{"task_id":"t","task_status":5}}`,
			want: api.Error{Kind: api.KindNotATask, Message: `the body is JSON but not a task object: {"output":{"task_id":"t","task_status":5}}`},
		},
		{
			name: "null", body: `null`,
			want: api.Error{Kind: api.KindNotATask, Message: `the body has no "output" object: null`},
		},
		{
			name: "missing output", body: `{"request_id":"r-1"}`,
			want: api.Error{Kind: api.KindNotATask, RequestID: "r-1", Message: `the body has no "output" object: {"request_id":"r-1"}`},
		},
		{
			name: "output null", body: `{"request_id":"r-1","output":null}`,
			want: api.Error{Kind: api.KindNotATask, RequestID: "r-1", Message: `the body has no "output" object: {"request_id":"r-1","output":null}`},
		},
		{
			name: "output without task_status", body: `{"request_id":"r-2","output":{"task_id":"t"}}`,
			want: api.Error{Kind: api.KindNotATask, RequestID: "r-2", Message: `the body's output has no task_status: {"request_id":"r-2","output":{"task_id":"t"}}`},
		},
		{
			name: "output with an empty task_status", body: `{"request_id":"r-3","output":{"task_id":"t","task_status":""}}`,
			want: api.Error{Kind: api.KindNotATask, RequestID: "r-3", Message: `the body's output has no task_status: {"request_id":"r-3","output":{"task_id":"t","task_status":""}}`},
		},
		{
			name: "another vendor: code and data", body: `{"code":0,"data":{"task_id":"x","status":"success"}}`,
			want: api.Error{Kind: api.KindNotATask, Code: "0", Message: "the body is another vendor's task, not an Ali Bailian video task"},
		},
		{
			name: "another vendor: status, file_id, base_resp", body: `{"status":"Success","file_id":"1","base_resp":{"status_code":0,"status_msg":"success"}}`,
			want: api.Error{Kind: api.KindNotATask, Message: "the body is another vendor's task, not an Ali Bailian video task (its message: success)"},
		},
		{
			name: "relay task_not_exist at 200", body: `{"code":"task_not_exist","message":"task_not_exist","data":null}`,
			want: api.Error{Kind: api.KindNotFound, Code: "task_not_exist", Message: "task_not_exist"},
		},
		{
			name: "dashscope error at 200", body: `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"req-200"}`,
			want: api.Error{Kind: api.KindRejected, Code: "InvalidApiKey", Message: "Invalid API-key provided.", RequestID: "req-200"},
		},
		{
			name: "bare string error at 200", body: `{"error":"invalid token"}`,
			want: api.Error{Kind: api.KindRejected, Message: "invalid token"},
		},
		{
			name: "openai error at 200", body: `{"error":{"message":"model overloaded","type":"server_error","code":"overloaded"}}`,
			want: api.Error{Kind: api.KindRejected, Code: "overloaded", Message: "model overloaded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			f := newUpstream(t, reply(http.StatusOK, ct, tt.body))
			_, err := f.client(t).GetTask(context.Background(), taskID)
			want := tt.want
			want.StatusCode, want.Attempts = http.StatusOK, 1
			checkError(t, f, err, wantErr{err: want, messageContains: tt.messageContains, requests: 1})
		})
	}
}

// TestGetTaskNeverEchoesToken runs upstreams that quote the API key back: no error string
// may repeat it.
func TestGetTaskNeverEchoesToken(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     api.Error
		requests int64
	}{
		{
			name: "401 openai quoting the key", status: 401,
			body: `{"error":{"message":"Incorrect API key provided: ` + testToken + `.","type":"invalid_request_error","code":"invalid_api_key"}}`,
			want: api.Error{Kind: api.KindUnauthorized, StatusCode: 401, Code: "invalid_api_key",
				Message: "Incorrect API key provided: [redacted].", Attempts: 1},
			requests: 1,
		},
		{
			name: "403 dashscope with the key as request id", status: 403,
			body: `{"code":"AccessDenied","message":"Bearer ` + testToken + ` denied","request_id":"` + testToken + `"}`,
			want: api.Error{Kind: api.KindUnauthorized, StatusCode: 403, Code: "AccessDenied",
				Message: "Bearer [redacted] denied", RequestID: "[redacted]", Attempts: 1},
			requests: 1,
		},
		{
			name: "503 html echoing the headers", status: 503,
			body: "<html><body><pre>Authorization: Bearer " + testToken + "</pre></body></html>",
			want: api.Error{Kind: api.KindUnavailable, StatusCode: 503,
				Message: "<html><body><pre>Authorization: Bearer [redacted]</pre></body></html>", Attempts: 4},
			requests: 4,
		},
		{
			name: "200 relay envelope quoting the key", status: 200,
			body: `{"code":"invalid_key","message":"key ` + testToken + ` is disabled","data":null}`,
			want: api.Error{Kind: api.KindRejected, StatusCode: 200, Code: "invalid_key",
				Message: "key [redacted] is disabled", Attempts: 1},
			requests: 1,
		},
		{
			name: "200 not JSON quoting the key near the snippet's end", status: 200,
			body: strings.Repeat("x", 190) + testToken,
			want: api.Error{Kind: api.KindNotATask, StatusCode: 200, Attempts: 1,
				Message: "the body is not valid JSON (truncated?): " + strings.Repeat("x", 190) + "[redacted]"},
			requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newUpstream(t, replyJSON(tt.status, tt.body))
			_, err := f.client(t).GetTask(context.Background(), taskID)
			checkError(t, f, err, wantErr{err: tt.want, requests: tt.requests})
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *api.Error
		want string
	}{
		{&api.Error{Kind: api.KindNotFound}, "api: task not found"},
		{&api.Error{Kind: api.KindNotFound, StatusCode: 404}, "api: task not found (HTTP 404)"},
		{&api.Error{Kind: api.KindNotFound, StatusCode: 400, Code: "task_not_exist", Message: "task_not_exist"},
			"api: task not found (HTTP 400): task_not_exist"},
		{&api.Error{Kind: api.KindUnauthorized, StatusCode: 401, Code: "InvalidApiKey", Message: "Invalid API-key provided."},
			"api: unauthorized (HTTP 401): InvalidApiKey: Invalid API-key provided."},
		{&api.Error{Kind: api.KindRejected, Code: "InvalidParameter"}, "api: request rejected: InvalidParameter"},
		{&api.Error{Kind: api.KindUnavailable, Err: errors.New("GET request: dial tcp: connection refused")},
			"api: upstream unavailable: GET request: dial tcp: connection refused"},
		{&api.Error{Kind: api.KindRateLimited, StatusCode: 429, Message: "slow down", RetryAfter: 42*time.Second + 400*time.Millisecond},
			"api: rate limited (HTTP 429): slow down (retry after 42s)"},
		{&api.Error{Kind: api.KindMissingAPIKey, Message: "no API key is configured"}, "api: missing API key: no API key is configured"},
		{&api.Error{Kind: api.KindNotATask, Message: "the body is empty"}, "api: not a task: the body is empty"},
		{&api.Error{Kind: api.KindInvalidTaskID, Message: "task_id is empty"}, "api: invalid task id: task_id is empty"},
		{&api.Error{Kind: 42}, "api: ErrorKind(42)"},
		{&api.Error{}, "api: ErrorKind(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorIsAndTransient(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		kind      api.ErrorKind
		transient bool
	}{
		{api.KindInvalidTaskID, false},
		{api.KindMissingAPIKey, false},
		{api.KindUnauthorized, false},
		{api.KindNotFound, false},
		{api.KindRejected, false},
		{api.KindRateLimited, true},
		{api.KindUnavailable, true},
		{api.KindNotATask, false},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			e := &api.Error{Kind: tt.kind, StatusCode: 500, Code: "c", Message: "m", Err: cause}
			if got := e.Transient(); got != tt.transient {
				t.Errorf("Error{Kind: %v}.Transient() = %v, want %v", tt.kind, got, tt.transient)
			}
			wrapped := fmt.Errorf("querying: %w", e)
			for kind, sentinel := range sentinels {
				if got := errors.Is(wrapped, sentinel); got != (kind == tt.kind) {
					t.Errorf("errors.Is(%v, %v sentinel) = %v, want %v", wrapped, kind, got, !got)
				}
			}
			if !errors.Is(wrapped, cause) {
				t.Errorf("errors.Is(%v, cause) = false, want true", wrapped)
			}
			var got *api.Error
			if !errors.As(wrapped, &got) || got != e {
				t.Errorf("errors.As(%v) = %v, want %v", wrapped, got, e)
			}
		})
	}
	if len(sentinels) != len(tests) {
		t.Errorf("%d sentinels, %d kinds tested", len(sentinels), len(tests))
	}
	// A target with more than a kind is not a sentinel.
	e := &api.Error{Kind: api.KindNotFound, StatusCode: 404}
	if errors.Is(e, &api.Error{Kind: api.KindNotFound, StatusCode: 400}) {
		t.Errorf("errors.Is(%v, Error{NotFound, 400}) = true, want false", e)
	}
}
