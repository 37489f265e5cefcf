package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// testToken is the API key the tests use; no output may ever contain it.
const testToken = "sk-test-5ecret-token-do-not-echo"

// answer is one scripted upstream reply.
type answer struct {
	status int
	header map[string]string
	body   string
}

// fakeUpstream is a scripted task API under a path prefix, served in memory (see
// simulate.Transport): no socket, so a test may run it inside a synctest bubble, where a wait's
// schedule is exact and takes no time. Each task id has a list of answers served in order; the
// last one repeats.
type fakeUpstream struct {
	handler http.Handler

	mu       sync.Mutex
	scripts  map[string][]answer
	requests map[string]int
}

const upstreamPrefix = "/relay"

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{scripts: map[string][]answer{}, requests: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+upstreamPrefix+"/task/{id}", f.serve)
	f.handler = mux
	return f
}

func (f *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r-401"}`))
		return
	}
	id := r.PathValue("id")
	f.mu.Lock()
	n := f.requests[id]
	f.requests[id] = n + 1
	script := f.scripts[id]
	f.mu.Unlock()
	if len(script) == 0 {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":"task_not_exist","message":"task_not_exist","data":null}`))
		return
	}
	a := script[min(n, len(script)-1)]
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

// script sets the answers for id.
func (f *fakeUpstream) script(id string, answers ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[id] = answers
}

// requestsFor reports how many requests id received.
func (f *fakeUpstream) requestsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[id]
}

// baseURL is where the upstream answers, through httpClient only.
func (f *fakeUpstream) baseURL() string { return "http://upstream.test" + upstreamPrefix }

// httpClient reaches the upstream in memory.
func (f *fakeUpstream) httpClient() *http.Client {
	return &http.Client{Transport: simulate.Transport(f.handler)}
}

// taskBody renders a DashScope task body.
func taskBody(id, status string, extra string) answer {
	output := `"task_id":"` + id + `","task_status":"` + status + `"`
	if extra != "" {
		output += "," + extra
	}
	return answer{body: `{"request_id":"req-` + id + `","output":{` + output + `}}`}
}

// succeededBody is a finished task as the upstream answers it: times, a signed video URL,
// prompts and usage.
func succeededBody(id string) answer {
	return answer{body: `{"request_id":"req-ok","output":{"task_id":"` + id + `","task_status":"SUCCEEDED",` +
		`"submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772","end_time":"2025-10-26 12:52:20.355",` +
		`"video_url":"https://dashscope-result.oss-cn-beijing.aliyuncs.com/1.mp4?Expires=1761540731&OSSAccessKeyId=LTAI&Signature=abc%3D",` +
		`"orig_prompt":"a cat","actual_prompt":"a small cat"},` +
		`"usage":{"video_count":1,"video_ratio":"832*480","video_duration":5,"SR":480}}`}
}

// testDeps returns tools.Deps for a client of f with fast polling.
func testDeps(t *testing.T, f *fakeUpstream, token string) tools.Deps {
	t.Helper()
	c, err := api.NewClient(token,
		api.WithBaseURL(f.baseURL()),
		api.WithHTTPClient(f.httpClient()),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 5 * time.Second}),
	)
	if err != nil {
		t.Fatalf("api.NewClient: %v", err)
	}
	return tools.Deps{
		Client:          c,
		PollInterval:    20 * time.Millisecond,
		MaxPollInterval: 80 * time.Millisecond,
		WaitTimeout:     5 * time.Second,
	}
}

// bubbleDeps is testDeps with polling at a pace whose figures read well: every 2 s at first,
// growing by half each time up to 10 s, so that polls come at 0, 2, 5, 9.5, 16.25, 26.25,
// 36.25 s and so on. It is for tests inside a synctest bubble, where those seconds take no
// time and every poll comes exactly when due.
func bubbleDeps(t *testing.T, f *fakeUpstream) tools.Deps {
	t.Helper()
	deps := testDeps(t, f, testToken)
	deps.PollInterval, deps.MaxPollInterval, deps.WaitTimeout = 2*time.Second, 10*time.Second, 45*time.Second
	return deps
}

// connect starts an in-process MCP client of a server built from deps.
func connect(t *testing.T, deps tools.Deps) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClient(tools.NewServer("video-task-mcp", "test", deps).MCPServer)
	if err != nil {
		t.Fatalf("NewInProcessClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "tools-test", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return c
}

// call invokes a tool and fails the test on a protocol error.
func call(t *testing.T, ctx context.Context, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("CallTool(%q, %v) error: %v", name, args, err)
	}
	return res
}

// callOutcome is what a tool call made on a goroutine of its own returned. The goroutine only
// hands it over: checking it may stop the test, which only the test's goroutine may do.
type callOutcome struct {
	res *mcp.CallToolResult
	err error
}

// status is the task status of a successful call, or the call's error.
func (o callOutcome) status(t *testing.T) string {
	t.Helper()
	if o.err != nil {
		return o.err.Error()
	}
	return structured(t, o.res).TaskStatus
}

// startCall makes a tool call on a goroutine of its own, with progressToken when it is not
// empty, and hands its outcome over on the channel returned. The test does not end before the
// call does: in a synctest bubble, time stops once the test's function returns, and a call
// still waiting for it then would deadlock the bubble.
func startCall(t *testing.T, ctx context.Context, c *client.Client, name string, args map[string]any, progressToken string) <-chan callOutcome {
	t.Helper()
	out := make(chan callOutcome, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.Arguments = args
		if progressToken != "" {
			req.Params.Meta = &mcp.Meta{ProgressToken: progressToken}
		}
		res, err := c.CallTool(ctx, req)
		out <- callOutcome{res, err}
	}()
	t.Cleanup(func() { <-ended })
	return out
}

// structured decodes a result's structuredContent, checking it against the output schema.
func structured(t *testing.T, res *mcp.CallToolResult) schema.TaskResult {
	t.Helper()
	if res.IsError {
		t.Fatalf("result is an error: %s", resultText(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatalf("marshal structuredContent: %v", err)
	}
	var instance any
	if err := json.Unmarshal(raw, &instance); err != nil {
		t.Fatalf("structuredContent is not JSON: %v", err)
	}
	resolved, err := resolvedResultSchema()
	if err != nil {
		t.Fatalf("resolve output schema: %v", err)
	}
	if err := resolved.Validate(instance); err != nil {
		t.Errorf("structuredContent %s does not validate against the output schema: %v", raw, err)
	}
	var r schema.TaskResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("decode structuredContent: %v", err)
	}
	return r
}

// resolvedResultSchema is the output schema, resolved once: the tests check hundreds of results.
var resolvedResultSchema = sync.OnceValues(func() (*jsonschema.Resolved, error) {
	return schema.TaskResultJSONSchema().Resolve(&jsonschema.ResolveOptions{})
})

// resultText joins a result's text blocks.
func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// resourceLinks returns a result's resource_link blocks.
func resourceLinks(res *mcp.CallToolResult) []mcp.ResourceLink {
	var links []mcp.ResourceLink
	for _, c := range res.Content {
		switch l := c.(type) {
		case mcp.ResourceLink:
			links = append(links, l)
		case *mcp.ResourceLink:
			links = append(links, *l)
		}
	}
	return links
}
