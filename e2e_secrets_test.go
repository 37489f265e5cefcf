package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/internal/redact/redacttest"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// TestE2EAuthTokenNeverLogged has an authorized client pass MCP_AUTH_TOKEN, and the API key,
// where they do not belong, as task ids that the upstream quotes back: the server's log, at
// debug level, must not reveal either, in any escaping.
func TestE2EAuthTokenNeverLogged(t *testing.T) {
	t.Parallel()
	const token = "e2e-client-token-5f2c-0a1b"
	up := newUpstream(t)
	srv := startServer(t, "http", up, serverOpts{env: []string{"MCP_AUTH_TOKEN=" + token}, args: []string{"--log-level", "debug"}})
	tr, err := transport.NewStreamableHTTP(srv.url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatalf("creating the transport: %v", err)
	}
	c := client.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("starting the client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	for _, id := range []string{token, testAPIKey} {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.GetVideoTaskName
		req.Params.Arguments = map[string]any{"task_id": id}
		if _, err := c.CallTool(ctx, req); err != nil {
			t.Fatalf("get_video_task: %v", err)
		}
	}
	if up.count(token) == 0 {
		t.Fatalf("the upstream was never asked about the task; the test exercises nothing")
	}
	log := srv.proc.stderr.String()
	for name, secret := range map[string]string{"MCP_AUTH_TOKEN": token, "the API key": testAPIKey} {
		if redacttest.Revealed(log, secret) {
			t.Errorf("the log reveals %s:\n%s", name, log)
		}
	}
}

// TestCLIKeyNeverPrinted runs get, wait and create --wait against an upstream that quotes the
// key back in every string, JSON-escaped: neither stdout nor stderr may reveal it.
func TestCLIKeyNeverPrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	const key = "sk-cli/0123456789abcdef"
	escaped := `\u0073k-cli\/0123456789abcdef`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			io.WriteString(w, `{"request_id":"`+escaped+`","output":{"task_id":"t-1","task_status":"PENDING"}}`)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/refused") {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+escaped+`","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, `{"request_id":"`+escaped+`","output":{"task_id":"t-1","task_status":"FAILED",`+
			`"orig_prompt":"`+escaped+`","code":"`+escaped+`","message":"key `+escaped+` has no quota"}}`)
	}))
	t.Cleanup(up.Close)
	bin := serverBinary(t)
	env := newCLIEnv(t, "GPTGE_API_KEY="+key, "GPTGE_BASE_URL="+up.URL)
	for _, args := range [][]string{
		{"get", "refused"},
		{"get", "t-1"},
		{"wait", "t-1", "--timeout", "5s"},
		{"--enable-create", "create", "--wait", "--timeout", "5s", "model=wan2.5-t2v-preview", "prompt=a red fox"},
	} {
		r := env.run(t, bin, args...)
		if redacttest.Revealed(r.stdout+r.stderr, key) {
			t.Errorf("%v reveals the key (exit %d):\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, "[redacted]") {
			t.Errorf("%v does not say [redacted]; the test exercises nothing:\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
		}
	}
}
