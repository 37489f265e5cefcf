package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// submission is one POST the submission upstream received.
type submission struct {
	path   string
	header http.Header
	body   map[string]any
}

// submitUpstream answers submissions on both providers' endpoints under upstreamPrefix with
// answer, and records them.
type submitUpstream struct {
	server *httptest.Server
	done   chan struct{}

	mu     sync.Mutex
	answer func(w http.ResponseWriter, r *http.Request)
	got    []submission
}

func newSubmitUpstream(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *submitUpstream {
	t.Helper()
	u := &submitUpstream{answer: answer, done: make(chan struct{})}
	u.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		u.mu.Lock()
		u.got = append(u.got, submission{path: r.Method + " " + r.URL.Path, header: r.Header.Clone(), body: body})
		u.mu.Unlock()
		u.answer(w, r)
	}))
	t.Cleanup(func() {
		close(u.done)
		u.server.Close()
	})
	return u
}

func (u *submitUpstream) submissions() []submission {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.got)
}

// deps returns tools.Deps with create_video_task enabled, for a client of u.
func (u *submitUpstream) deps(t *testing.T, provider api.Provider, token string, opts ...api.Option) tools.Deps {
	t.Helper()
	all := append([]api.Option{api.WithBaseURL(u.server.URL + upstreamPrefix), api.WithProvider(provider),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 5 * time.Second})}, opts...)
	c, err := api.NewClient(token, all...)
	if err != nil {
		t.Fatalf("api.NewClient: %v", err)
	}
	variable := "GPTGE_API_KEY"
	if provider == api.ProviderDashScope {
		variable = "DASHSCOPE_API_KEY"
	}
	return tools.Deps{Client: c, PollInterval: 20 * time.Millisecond, MaxPollInterval: 80 * time.Millisecond,
		WaitTimeout: 5 * time.Second, APIKeyVariable: variable, EnableCreate: true}
}

func answerJSON(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const acceptedBody = `{"output":{"task_status":"PENDING","task_id":"0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"},"request_id":"req-created"}`

// listed returns the tools/list answer of a server built from deps, and its instructions.
func listed(t *testing.T, deps tools.Deps) (map[string]json.RawMessage, int, string) {
	t.Helper()
	c := connect(t, deps)
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	out := map[string]json.RawMessage{}
	total := 0
	for _, tool := range res.Tools {
		raw, err := json.Marshal(tool)
		if err != nil {
			t.Fatalf("marshal %s: %v", tool.Name, err)
		}
		out[tool.Name] = raw
		total += len(raw)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "instructions", Version: "0"}
	ir, err := c.Initialize(context.Background(), init)
	if err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return out, total, ir.Instructions
}

func TestCreateToolOnlyWhenEnabled(t *testing.T) {
	u := newSubmitUpstream(t, answerJSON(200, acceptedBody))
	deps := u.deps(t, api.ProviderGPTGE, testToken)
	deps.WaitTimeout = 0

	deps.EnableCreate = false
	off, _, instructions := listed(t, deps)
	if names := slices.Sorted(maps.Keys(off)); !slices.Equal(names, []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName}) {
		t.Errorf("without EnableCreate, tools/list = %v, want only the two query tools", names)
	}
	if strings.Contains(instructions, tools.CreateVideoTaskName) {
		t.Errorf("without EnableCreate, the instructions mention %s: %s", tools.CreateVideoTaskName, instructions)
	}
	// Calling it anyway is refused by the protocol, and nothing is sent.
	c := connect(t, deps)
	req := mcp.CallToolRequest{}
	req.Params.Name = tools.CreateVideoTaskName
	req.Params.Arguments = map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a cat"}
	if res, err := c.CallTool(context.Background(), req); err == nil && !res.IsError {
		t.Errorf("calling %s without EnableCreate succeeded: %s", tools.CreateVideoTaskName, resultText(res))
	}
	if n := len(u.submissions()); n != 0 {
		t.Errorf("upstream got %d submissions, want none", n)
	}

	deps.EnableCreate = true
	on, total, instructions := listed(t, deps)
	if names := slices.Sorted(maps.Keys(on)); len(names) != 3 || !slices.Contains(names, tools.CreateVideoTaskName) {
		t.Fatalf("with EnableCreate, tools/list = %v, want the query tools and %s", names, tools.CreateVideoTaskName)
	}
	if !strings.Contains(instructions, tools.CreateVideoTaskName) {
		t.Errorf("with EnableCreate, the instructions do not mention %s: %s", tools.CreateVideoTaskName, instructions)
	}
	for _, name := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
		if !bytes.Equal(off[name], on[name]) {
			t.Errorf("%s changed when create was enabled", name)
		}
	}
	var def struct {
		Title       string          `json:"title"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"inputSchema"`
		Output      json.RawMessage `json:"outputSchema"`
		Annotations map[string]any  `json:"annotations"`
	}
	if err := json.Unmarshal(on[tools.CreateVideoTaskName], &def); err != nil {
		t.Fatal(err)
	}
	wantHints := map[string]any{"title": "Create video task", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}
	if diff := cmp.Diff(wantHints, def.Annotations); diff != "" {
		t.Errorf("annotations mismatch (-want +got):\n%s", diff)
	}
	if def.Title == "" || len(def.Output) == 0 {
		t.Errorf("title %q, outputSchema %s: want both", def.Title, def.Output)
	}
	if bytes.Contains(def.InputSchema, []byte(`"null"`)) {
		t.Errorf("inputSchema has a null type union: %s", def.InputSchema)
	}
	for _, phrase := range []string{"task_id", "wait_for_video_task", "24 hours", "billed", "never call again"} {
		if !strings.Contains(def.Description, phrase) {
			t.Errorf("description does not mention %q: %s", phrase, def.Description)
		}
	}
	if total >= 6400 {
		t.Errorf("tools/list with three tools totals %d bytes, want under 6400", total)
	}
	t.Logf("tools/list with three tools: %d bytes (create_video_task %d)", total, len(on[tools.CreateVideoTaskName]))
}

func TestCreateToolMatchesSnapshot(t *testing.T) {
	u := newSubmitUpstream(t, answerJSON(200, acceptedBody))
	defs, _, _ := listed(t, u.deps(t, api.ProviderGPTGE, testToken))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, defs[tools.CreateVideoTaskName], "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", tools.CreateVideoTaskName+".json")
	if os.Getenv(updateGoldenEnv) != "" {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read snapshot (run with %s=1 to create it): %v", updateGoldenEnv, err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("definition of %s drifted from %s (-want +got); rerun with %s=1 if deliberate:\n%s",
			tools.CreateVideoTaskName, path, updateGoldenEnv, diff)
	}
}

// createResult decodes a successful create_video_task result, checking it against its schema.
func createResultOf(t *testing.T, res *mcp.CallToolResult) schema.CreateVideoTaskResult {
	t.Helper()
	if res.IsError {
		t.Fatalf("result is an error: %s", resultText(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var instance any
	if err := json.Unmarshal(raw, &instance); err != nil {
		t.Fatal(err)
	}
	resolved, err := schema.CreateVideoTaskResultJSONSchema().Resolve(&jsonschema.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := resolved.Validate(instance); err != nil {
		t.Errorf("structuredContent %s does not validate: %v", raw, err)
	}
	var r schema.CreateVideoTaskResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCreateVideoTaskSubmits(t *testing.T) {
	tests := []struct {
		name     string
		provider api.Provider
		args     map[string]any
		path     string
		body     string
	}{
		{"gptge t2v with defaults", api.ProviderGPTGE,
			map[string]any{"model": "wan2.5-t2v-preview", "prompt": "A red fox at sunrise"},
			"POST /relay/task/bailian/text2video",
			`{"model":"wan2.5-t2v-preview","input":{"prompt":"A red fox at sunrise"},"parameters":{"size":"1920*1080","duration":5}}`},
		{"gptge i2v, numbers and booleans quoted", api.ProviderGPTGE,
			map[string]any{"model": "wanx2.1-i2v-turbo", "prompt": "It blinks", "img_url": "https://example.com/fox.png?a=1&b=2",
				"resolution": "480p", "duration": "3", "seed": 7.0, "prompt_extend": "false", "negative_prompt": "blur"},
			"POST /relay/task/bailian/image2video",
			`{"model":"wanx2.1-i2v-turbo","input":{"prompt":"It blinks","negative_prompt":"blur","img_url":"https://example.com/fox.png?a=1&b=2"},` +
				`"parameters":{"resolution":"480P","duration":3,"prompt_extend":false,"seed":7}}`},
		{"dashscope t2v with audio", api.ProviderDashScope,
			map[string]any{"model": "wan2.5-t2v-preview", "prompt": "A drummer", "audio_url": "https://example.com/beat.mp3", "size": "832*480", "duration": 10, "seed": 0},
			"POST /relay/api/v1/services/aigc/video-generation/video-synthesis",
			`{"model":"wan2.5-t2v-preview","input":{"prompt":"A drummer","audio_url":"https://example.com/beat.mp3"},"parameters":{"size":"832*480","duration":10,"seed":0}}`},
		{"dashscope i2v", api.ProviderDashScope,
			map[string]any{"model": "wan2.2-i2v-plus", "prompt": "Waves", "img_url": "https://example.com/sea.jpg"},
			"POST /relay/api/v1/services/aigc/video-generation/video-synthesis",
			`{"model":"wan2.2-i2v-plus","input":{"prompt":"Waves","img_url":"https://example.com/sea.jpg"},"parameters":{"resolution":"1080P","duration":5}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSubmitUpstream(t, answerJSON(200, acceptedBody))
			c := connect(t, u.deps(t, tt.provider, testToken))
			res := call(t, context.Background(), c, tools.CreateVideoTaskName, tt.args)
			r := createResultOf(t, res)
			want := schema.CreateVideoTaskResult{TaskID: taskIDCreated, TaskStatus: "PENDING", Model: tt.args["model"].(string), RequestID: "req-created"}
			got := r
			got.Summary = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			for _, phrase := range []string{"wait_for_video_task", taskIDCreated, "do not submit it again"} {
				if !strings.Contains(r.Summary, phrase) {
					t.Errorf("summary %q lacks %q", r.Summary, phrase)
				}
			}
			if text := resultText(res); !strings.Contains(text, r.Summary) || !strings.Contains(text, `"task_id":"`+taskIDCreated+`"`) {
				t.Errorf("text block %q lacks the summary or the JSON", text)
			}
			subs := u.submissions()
			if len(subs) != 1 {
				t.Fatalf("upstream got %d submissions, want 1", len(subs))
			}
			if subs[0].path != tt.path {
				t.Errorf("submission went to %s, want %s", subs[0].path, tt.path)
			}
			wantAsync := ""
			if tt.provider == api.ProviderDashScope {
				wantAsync = "enable"
			}
			if got := subs[0].header.Get("X-DashScope-Async"); got != wantAsync {
				t.Errorf("X-DashScope-Async = %q, want %q", got, wantAsync)
			}
			if got := subs[0].header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q", got)
			}
			var wantBody map[string]any
			if err := json.Unmarshal([]byte(tt.body), &wantBody); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBody, subs[0].body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const taskIDCreated = "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"

func TestCreateVideoTaskInvalidInputSendsNothing(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"no arguments", nil, []string{"prompt is required", "model is required"}},
		{"unknown argument", map[string]any{"model": "wan2.5-t2v-preview", "prompt": "p", "watermark": true},
			[]string{`unknown argument "watermark"`, "model, prompt, negative_prompt"}},
		{"wrong types", map[string]any{"model": 3.0, "prompt": []any{"a"}, "duration": "five", "seed": 1.5, "prompt_extend": "maybe"},
			[]string{"model must be a string, not a number", "prompt must be a string, not an array", `duration must be a whole number, not "five"`,
				"seed must be a whole number, not 1.5", `prompt_extend must be true or false, not "maybe"`}},
		{"unknown model", map[string]any{"model": "sora-2", "prompt": "p"}, []string{`model "sora-2" is not supported`, "wanx2.1-t2v-turbo"}},
		{"t2v with an image", map[string]any{"model": "wan2.2-t2v-plus", "prompt": "p", "img_url": "https://e.example/a.png"}, []string{"img_url is for image-to-video models"}},
		{"i2v without an image", map[string]any{"model": "wan2.5-i2v-preview", "prompt": "p"}, []string{"img_url is required for wan2.5-i2v-preview"}},
		{"size the model lacks", map[string]any{"model": "wanx2.1-t2v-plus", "prompt": "p", "size": "1920*1080"},
			[]string{`size "1920*1080" is not offered by wanx2.1-t2v-plus; allowed: 1280*720, 720*1280, 960*960, 1088*832, 832*1088`}},
		{"duration the model lacks", map[string]any{"model": "wan2.2-t2v-plus", "prompt": "p", "duration": 10}, []string{"allowed: 5 seconds"}},
		{"negative duration", map[string]any{"model": "wan2.2-t2v-plus", "prompt": "p", "duration": -5}, []string{"duration must be a positive number"}},
		{"audio on a model without it", map[string]any{"model": "wanx2.1-i2v-plus", "prompt": "p", "img_url": "https://e.example/a.png", "audio_url": "https://e.example/a.mp3"},
			[]string{"audio_url is not supported by wanx2.1-i2v-plus"}},
		{"huge seed", map[string]any{"model": "wan2.5-t2v-preview", "prompt": "p", "seed": 1e300}, []string{"seed 1e+300 is out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSubmitUpstream(t, answerJSON(200, acceptedBody))
			c := connect(t, u.deps(t, api.ProviderGPTGE, testToken))
			res := call(t, context.Background(), c, tools.CreateVideoTaskName, tt.args)
			text := resultText(res)
			if !res.IsError {
				t.Fatalf("result is not an error: %s", text)
			}
			for _, want := range append(tt.want, "Invalid input: ", "Nothing was submitted") {
				if !strings.Contains(text, want) {
					t.Errorf("error %q lacks %q", text, want)
				}
			}
			if len(text) >= 1000 {
				t.Errorf("error is %d characters, want under 1000", len(text))
			}
			if n := len(u.submissions()); n != 0 {
				t.Errorf("upstream got %d submissions for invalid input, want none", n)
			}
		})
	}
}

func TestCreateVideoTaskErrors(t *testing.T) {
	tests := []struct {
		name     string
		provider api.Provider
		answer   func(u *submitUpstream) func(http.ResponseWriter, *http.Request)
		client   *http.Client
		want     []string
		not      []string
	}{
		{"401 quoted, variable named", api.ProviderDashScope,
			func(*submitUpstream) func(http.ResponseWriter, *http.Request) {
				return answerJSON(401, `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r"}`)
			},
			nil, []string{"(HTTP 401: InvalidApiKey: Invalid API-key provided.)", "no task was created", "DASHSCOPE_API_KEY", "region"}, []string{"unknown"}},
		{"400 quoted", api.ProviderGPTGE,
			func(*submitUpstream) func(http.ResponseWriter, *http.Request) {
				return answerJSON(400, `{"code":"InvalidParameter","message":"url error, please check url!","request_id":"r"}`)
			},
			nil, []string{"refused the submission (HTTP 400: InvalidParameter: url error, please check url!)", "no task was created"}, nil},
		{"key echoed back is redacted", api.ProviderGPTGE,
			func(*submitUpstream) func(http.ResponseWriter, *http.Request) {
				return answerJSON(400, `{"error":{"message":"key `+testToken+` lacks video access","type":"invalid_request_error"}}`)
			},
			nil, []string{"[redacted]"}, nil},
		{"429 says when", api.ProviderGPTGE,
			func(*submitUpstream) func(http.ResponseWriter, *http.Request) {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "20")
					answerJSON(429, `{"code":"Throttling","message":"Requests throttling triggered.","request_id":"r"}`)(w, r)
				}
			},
			nil, []string{"rate limiting submissions", "no task was created", "Wait 20s"}, nil},
		{"500: outcome unknown", api.ProviderDashScope,
			func(*submitUpstream) func(http.ResponseWriter, *http.Request) {
				return answerJSON(500, `{"code":"InternalError","message":"An internal error has occured","request_id":"r"}`)
			},
			nil, []string{"outcome of the submission is unknown", "HTTP 500", "may exist", "Do not call create_video_task again", "Model Studio"}, []string{"no task was created"}},
		{"timeout: outcome unknown", api.ProviderGPTGE,
			func(u *submitUpstream) func(http.ResponseWriter, *http.Request) {
				return func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-u.done:
					}
				}
			},
			&http.Client{Timeout: 200 * time.Millisecond}, []string{"outcome of the submission is unknown", "Do not call create_video_task again", "api.gpt.ge console"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u *submitUpstream
			u = newSubmitUpstream(t, func(w http.ResponseWriter, r *http.Request) { tt.answer(u)(w, r) })
			var opts []api.Option
			if tt.client != nil {
				opts = append(opts, api.WithHTTPClient(tt.client))
			}
			c := connect(t, u.deps(t, tt.provider, testToken, opts...))
			res := call(t, context.Background(), c, tools.CreateVideoTaskName, map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a cat"})
			text := resultText(res)
			if !res.IsError {
				t.Fatalf("result is not an error: %s", text)
			}
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("error %q lacks %q", text, want)
				}
			}
			for _, not := range append(tt.not, testToken) {
				if strings.Contains(text, not) {
					t.Errorf("error %q contains %q", text, not)
				}
			}
			if len(text) >= 1000 {
				t.Errorf("error is %d characters, want under 1000", len(text))
			}
			if n := len(u.submissions()); n != 1 {
				t.Errorf("upstream got %d submissions, want exactly 1", n)
			}
		})
	}
}

func TestCreateVideoTaskMissingKey(t *testing.T) {
	u := newSubmitUpstream(t, answerJSON(200, acceptedBody))
	c := connect(t, u.deps(t, api.ProviderDashScope, ""))
	res := call(t, context.Background(), c, tools.CreateVideoTaskName, map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a cat"})
	if text := resultText(res); !res.IsError || !strings.Contains(text, "DASHSCOPE_API_KEY is not set") || !strings.Contains(text, "nothing was submitted") {
		t.Errorf("result = %v %q, want an error naming DASHSCOPE_API_KEY", res.IsError, text)
	}
	if n := len(u.submissions()); n != 0 {
		t.Errorf("upstream got %d submissions, want none", n)
	}
}

func TestCreateVideoTaskUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := api.NewClient(testToken, api.WithBaseURL("http://"+addr),
		api.WithRetryPolicy(api.RetryPolicy{Retries: 2, BaseDelay: time.Millisecond, CallTimeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, tools.Deps{Client: client, EnableCreate: true})
	res := call(t, context.Background(), c, tools.CreateVideoTaskName, map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a cat"})
	text := resultText(res)
	for _, want := range []string{"Could not reach the upstream", "connection refused", "after 3 attempts", "nothing was sent, so no task was created"} {
		if !res.IsError || !strings.Contains(text, want) {
			t.Errorf("result %v %q lacks %q", res.IsError, text, want)
		}
	}
}

// TestDashScopeQueries: with the dashscope provider the query tools use DashScope's path, name
// DashScope in the instructions, and explain a refused key in DashScope's terms.
func TestDashScopeQueries(t *testing.T) {
	u := newSubmitUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/refused") {
			answerJSON(401, `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r"}`)(w, r)
			return
		}
		answerJSON(200, `{"request_id":"r","output":{"task_id":"t-1","task_status":"RUNNING"}}`)(w, r)
	})
	deps := u.deps(t, api.ProviderDashScope, testToken)
	deps.EnableCreate = false
	_, _, instructions := listed(t, deps)
	if strings.Contains(instructions, "api.gpt.ge") || !strings.Contains(instructions, "DashScope") {
		t.Errorf("instructions = %q, want DashScope named instead of api.gpt.ge", instructions)
	}
	c := connect(t, deps)
	r := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "t-1"}))
	if r.TaskStatus != "RUNNING" {
		t.Errorf("get_video_task = %+v, want RUNNING", r)
	}
	res := call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "refused"})
	if text := resultText(res); !res.IsError || !strings.Contains(text, "DASHSCOPE_API_KEY holds a valid DashScope API key") {
		t.Errorf("refused key: %v %q, want the DashScope key explained", res.IsError, text)
	}
	var paths []string
	for _, s := range u.submissions() {
		paths = append(paths, s.path)
	}
	if want := []string{"GET /relay/api/v1/tasks/t-1", "GET /relay/api/v1/tasks/refused"}; !slices.Equal(paths, want) {
		t.Errorf("upstream requests = %q, want %q", paths, want)
	}
}

// TestCreateThenWaitWithSimulator is what a newcomer does with --simulate --enable-create:
// submit, then wait for the video, over an in-process MCP client, on both providers. The
// simulator's tasks take their time by the clock: in a synctest bubble, none of it real.
func TestCreateThenWaitWithSimulator(t *testing.T) {
	for _, provider := range api.Providers() {
		for _, tt := range []struct {
			prompt, status, prefix string
		}{
			{"A red fox trots across a snowy meadow", "SUCCEEDED", simulate.IDSuccess + "-"},
			{"This one should FAIL moderation", "FAILED", simulate.IDFail + "-"},
		} {
			t.Run(string(provider)+"/"+tt.status, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					client, err := api.NewClient("sk-simulated",
						api.WithBaseURL(simulate.BaseURL),
						api.WithProvider(provider),
						api.WithHTTPClient(&http.Client{Transport: simulate.Transport(simulate.NewHandler(simulate.Options{}))}),
					)
					if err != nil {
						t.Fatal(err)
					}
					c := connect(t, tools.Deps{Client: client, PollInterval: 10 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond, EnableCreate: true})
					ctx := context.Background()
					created := createResultOf(t, call(t, ctx, c, tools.CreateVideoTaskName, map[string]any{
						"model": "wan2.5-i2v-preview", "prompt": tt.prompt, "img_url": "https://example.com/fox.png", "resolution": "720P",
					}))
					if !strings.HasPrefix(created.TaskID, tt.prefix) || created.TaskStatus != "PENDING" {
						t.Fatalf("created %+v, want a PENDING task with an id starting %q", created, tt.prefix)
					}
					done := structured(t, call(t, ctx, c, tools.WaitForVideoTaskName, map[string]any{"task_id": created.TaskID, "timeout_seconds": 10}))
					if done.TaskStatus != tt.status || !done.Done || done.TaskID != created.TaskID {
						t.Fatalf("wait = %+v, want %s", done, tt.status)
					}
					if tt.status == "SUCCEEDED" && done.VideoURL == "" {
						t.Errorf("SUCCEEDED without a video URL: %+v", done)
					}
				})
			})
		}
	}
}

// TestCreateVideoTaskNotSentPastItsBudget: a submission that cannot get a turn under the rate
// limit within one call budget is refused at once and never sent, however long the server
// runs after: a host that gave up on the call must not find a task created later.
func TestCreateVideoTaskNotSentPastItsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		posts := 0
		upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				posts++
				mu.Unlock()
				answerJSON(200, acceptedBody)(w, r)
				return
			}
			answerJSON(200, `{"request_id":"r","output":{"task_id":"t-1","task_status":"RUNNING"}}`)(w, r)
		})
		client, err := api.NewClient(testToken,
			api.WithBaseURL("http://upstream.test"+upstreamPrefix),
			api.WithHTTPClient(&http.Client{Transport: simulate.Transport(upstream)}),
			api.WithRateLimit(0.025), // one request every 40 s
			api.WithRetryPolicy(api.RetryPolicy{Retries: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second, CallTimeout: 15 * time.Second}))
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		c := connect(t, tools.Deps{Client: client, EnableCreate: true})
		ctx := context.Background()
		// A query takes the turn: the next comes in 40 s, past the submission's 15 s.
		if _, err := client.GetTask(ctx, "t-1"); err != nil {
			t.Fatalf("GetTask: %v", err)
		}

		start := time.Now()
		res := call(t, ctx, c, tools.CreateVideoTaskName, map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a cat"})
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("create_video_task took %s to answer, want an answer at once", elapsed)
		}
		if text := resultText(res); !res.IsError || !strings.Contains(text, "could not send the submission in time; no task was created") {
			t.Errorf("create_video_task = isError %v, %q; want the submission refused, nothing created", res.IsError, text)
		}
		time.Sleep(time.Hour)
		mu.Lock()
		defer mu.Unlock()
		if posts != 0 {
			t.Errorf("upstream got %d submissions within the hour after create_video_task answered, want none", posts)
		}
	})
}
