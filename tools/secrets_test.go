package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/redact/redacttest"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAPIKeyAppearsNowhere runs in a synctest bubble: its waits on an upstream that never
// answers take their whole budget, which costs no time there.
func TestAPIKeyAppearsNowhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		// An upstream that quotes the key back, as some gateways do.
		f.script("echo", answer{status: http.StatusBadRequest, body: `{"error":{"message":"key ` + testToken + ` has no access to this task","type":"invalid_request_error"}}`})
		f.script("done", taskBody("done", "RUNNING", ""), succeededBody("done"))
		f.script("down", answer{status: http.StatusServiceUnavailable, body: "<html>503 for " + testToken + "</html>"})
		f.script("escaped", answer{status: http.StatusBadRequest, body: `{"code":"InvalidApiKey","message":"key \u0073` + testToken[1:] + ` refused","request_id":"` + strings.ReplaceAll(testToken, "-", `\u002d`) + `"}`})
		f.script("userinfo", taskBody("userinfo", "SUCCEEDED", `"video_url":"https://user:hunter2-password@dashscope-result.example/2.mp4?Signature=s"`))
		f.script("failed", taskBody("failed", "FAILED", `"code":"InvalidApiKey","message":"`+testToken+` is invalid"`))

		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		client, err := api.NewClient(testToken, api.WithBaseURL(f.baseURL()), api.WithHTTPClient(f.httpClient()), api.WithLogger(logger),
			api.WithRetryPolicy(api.RetryPolicy{Retries: 2, BaseDelay: time.Millisecond, MaxRetryAfter: time.Second, CallTimeout: 5 * time.Second}))
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		c := connect(t, tools.Deps{Client: client, PollInterval: 10 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond, Logger: logger})

		var seen strings.Builder
		for _, id := range []string{"echo", "escaped", "done", "down", "userinfo", "failed", "missing"} {
			for _, tool := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
				args := map[string]any{"task_id": id}
				if tool == tools.WaitForVideoTaskName {
					args["timeout_seconds"] = 1
				}
				raw, err := json.Marshal(call(t, context.Background(), c, tool, args))
				if err != nil {
					t.Fatalf("marshal result: %v", err)
				}
				seen.Write(raw)
			}
		}
		if redacttest.Revealed(seen.String(), testToken) {
			t.Errorf("a result contains the API key:\n%s", seen.String())
		}
		if !strings.Contains(seen.String(), "[redacted]") {
			t.Errorf("no result quotes the upstream's redacted message; the test no longer exercises an echoed key")
		}
		log := logs.String()
		if redacttest.Revealed(log, testToken) {
			t.Errorf("the log contains the API key:\n%s", log)
		}
		for _, want := range []string{"task finished", "video_url=https://dashscope-result.oss-cn-beijing.aliyuncs.com/1.mp4?REDACTED", "task query failed"} {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %q:\n%s", want, log)
			}
		}
		if strings.Contains(log, "hunter2-password") || strings.Contains(log, "user:") {
			t.Errorf("the log contains the credentials of a video URL:\n%s", log)
		}
		if !strings.Contains(log, "video_url=https://dashscope-result.example/2.mp4?REDACTED") {
			t.Errorf("the log lacks the video URL without its credentials:\n%s", log)
		}
		if strings.Contains(log, "Signature=") {
			t.Errorf("the log contains a signed URL's signature:\n%s", log)
		}
	})
}

// bearer is the clients' bearer token in the tests of secrets.
const bearer = "client-bearer-token-7c1d"

// echoingDeps is a server's deps, creation on, whose upstream echoes the API key and the
// bearer token when asked about tasks of those ids: as a video URL and a failure's message.
func echoingDeps(t *testing.T) tools.Deps {
	t.Helper()
	f := newFakeUpstream(t)
	f.script(testToken, taskBody(testToken, "SUCCEEDED", `"video_url":"https://h.example/`+testToken+`.mp4"`))
	f.script(bearer, taskBody(bearer, "FAILED", `"code":"X","message":"task `+bearer+` failed"`))
	deps := testDeps(t, f, testToken)
	deps.Secrets = []string{testToken, bearer}
	deps.EnableCreate = true
	return deps
}

// TestSecretsNotEchoed has a client pass the API key and the clients' bearer token where they do
// not belong, as task ids and prompts: no result may give them back, escaped or not.
func TestSecretsNotEchoed(t *testing.T) {
	deps := echoingDeps(t)
	c := connect(t, deps)

	var seen strings.Builder
	for _, id := range []string{testToken, bearer, "\\u0073" + testToken[1:]} {
		for _, tool := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
			raw, err := json.Marshal(call(t, context.Background(), c, tool, map[string]any{"task_id": id}))
			if err != nil {
				t.Fatalf("marshal result: %v", err)
			}
			seen.Write(raw)
		}
		// The resource of the same id, read well or refused. (An id the template cannot match
		// is refused by mcp-go itself, before any handler of ours, quoting the URI.)
		if strings.HasPrefix(id, "\\") {
			continue
		}
		read := mcp.ReadResourceRequest{}
		read.Params.URI = "video-task://" + id
		res, err := c.ReadResource(context.Background(), read)
		if err != nil {
			seen.WriteString(err.Error())
		} else if raw, err := json.Marshal(res); err == nil {
			seen.Write(raw)
		}
	}
	raw, err := json.Marshal(call(t, context.Background(), c, tools.CreateVideoTaskName,
		map[string]any{"model": testToken, "prompt": bearer}))
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	seen.Write(raw)
	for name, secret := range map[string]string{"the API key": testToken, "the bearer token": bearer} {
		if redacttest.Revealed(seen.String(), secret) {
			t.Errorf("a result reveals %s:\n%s", name, seen.String())
		}
	}
	if !strings.Contains(seen.String(), "[redacted]") {
		t.Errorf("no result says [redacted]; the test exercises nothing:\n%s", seen.String())
	}
}
