package tools

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// Benchmarks of the tools' hot paths. They run only with -bench; see BENCHMARKS.md for the
// figures and scripts/bench.sh for the command. This file is in package tools, not
// tools_test, to reach taskResult and toolResult; the goleak check of TestMain (tools_test)
// covers it too, so every benchmark cleans up its servers, clients and poll loops.

const (
	benchToken       = "sk-bench-token-0123456789"
	benchRunningID   = "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"
	benchSucceededID = "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
)

func benchRunningBody(id string) string {
	return `{"request_id":"5c1f0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b","output":{"task_id":"` + id +
		`","task_status":"RUNNING","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772"}}`
}

func benchSucceededBody(id string) string {
	return `{"request_id":"7f3c1a2e-5b1d-9a4e-8c7b-0d6e5f4a3b2c","output":{"task_id":"` + id +
		`","task_status":"SUCCEEDED","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772",` +
		`"end_time":"2025-10-26 12:52:20.355","video_url":"https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D",` +
		`"orig_prompt":"a cat runs across a meadow","actual_prompt":"A fluffy ginger cat sprints across a sunlit meadow at golden hour."},` +
		`"usage":{"video_count":1,"video_ratio":"832*480","video_duration":5}}`
}

// benchTasks are the tasks the bodies above decode to, as GetTask returns them.
func benchTasks() map[string]*api.Task {
	return map[string]*api.Task{
		"running": {
			RequestID: "5c1f0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", ID: benchRunningID, Status: api.StatusRunning,
			SubmitTime: "2025-10-26 12:50:16.723", ScheduledTime: "2025-10-26 12:50:16.772",
		},
		"succeeded": {
			RequestID: "7f3c1a2e-5b1d-9a4e-8c7b-0d6e5f4a3b2c", ID: benchSucceededID, Status: api.StatusSucceeded,
			SubmitTime: "2025-10-26 12:50:16.723", ScheduledTime: "2025-10-26 12:50:16.772", EndTime: "2025-10-26 12:52:20.355",
			VideoURL:     "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D",
			OrigPrompt:   "a cat runs across a meadow",
			ActualPrompt: "A fluffy ginger cat sprints across a sunlit meadow at golden hour.",
			Usage:        map[string]any{"video_count": 1.0, "video_ratio": "832*480", "video_duration": 5.0},
		},
	}
}

// BenchmarkBuildResult projects a task into the contract's result and wraps it for MCP, as
// every tool call does: taskResult, then toolResult (JSON of the result, text, link).
func BenchmarkBuildResult(b *testing.B) {
	tasks := benchTasks()
	for _, name := range []string{"running", "succeeded"} {
		task := tasks[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := toolResult(taskResult(task.ID, task))
				if res == nil || len(res.Content) == 0 {
					b.Fatal("toolResult returned no content")
				}
			}
		})
	}
}

// BenchmarkTaskResult is taskResult alone: the projection and the summary.
func BenchmarkTaskResult(b *testing.B) {
	task := benchTasks()["succeeded"]
	b.ReportAllocs()
	for b.Loop() {
		if r := taskResult(task.ID, task); r.VideoURL == "" {
			b.Fatal("taskResult lost the video URL")
		}
	}
}

// BenchmarkToolResult is toolResult alone: JSON encoding, text and resource link.
func BenchmarkToolResult(b *testing.B) {
	task := benchTasks()["succeeded"]
	r := taskResult(task.ID, task)
	b.ReportAllocs()
	for b.Loop() {
		if res := toolResult(r); len(res.Content) != 2 {
			b.Fatalf("toolResult gave %d content blocks, want 2", len(res.Content))
		}
	}
}

// newBenchUpstream answers RUNNING for benchRunningID and SUCCEEDED for benchSucceededID on
// loopback, keep-alive.
func newBenchUpstream(b *testing.B) *httptest.Server {
	b.Helper()
	running := benchRunningBody(benchRunningID)
	succeeded := benchSucceededBody(benchSucceededID)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prefix/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.PathValue("id") {
		case benchRunningID:
			_, _ = io.WriteString(w, running)
		case benchSucceededID:
			_, _ = io.WriteString(w, succeeded)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"task_not_exist","message":"task_not_exist","data":null}`)
		}
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// benchClient connects an in-process MCP client to a server whose upstream is srv, with no
// rate limit (the benchmark measures the path, not the limiter).
func benchClient(b *testing.B, srv *httptest.Server) *client.Client {
	b.Helper()
	hc := api.NewHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	apiClient, err := api.NewClient(benchToken, api.WithBaseURL(srv.URL+"/prefix"), api.WithHTTPClient(hc))
	if err != nil {
		b.Fatalf("api.NewClient: %v", err)
	}
	c, err := client.NewInProcessClient(NewServer("video-task-mcp", "bench", Deps{Client: apiClient}).MCPServer)
	if err != nil {
		b.Fatalf("NewInProcessClient: %v", err)
	}
	b.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatalf("Start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatalf("Initialize: %v", err)
	}
	return c
}

// BenchmarkCallGetVideoTask is a tools/call of get_video_task through an in-process MCP
// client. "running": the upstream answers RUNNING, which is not remembered, so every call
// starts a poll loop and costs one upstream request on loopback. "cached": the task
// SUCCEEDED before the timer started, so every call is answered from memory.
func BenchmarkCallGetVideoTask(b *testing.B) {
	for _, tc := range []struct {
		name, id, status string
	}{
		{"running", benchRunningID, "RUNNING"},
		{"cached", benchSucceededID, "SUCCEEDED"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newBenchUpstream(b)
			c := benchClient(b, srv)
			ctx := context.Background()
			req := mcp.CallToolRequest{}
			req.Params.Name = GetVideoTaskName
			req.Params.Arguments = map[string]any{"task_id": tc.id}
			check := func() {
				res, err := c.CallTool(ctx, req)
				if err != nil {
					b.Fatalf("CallTool(get_video_task, %s): %v", tc.id, err)
				}
				if res.IsError {
					b.Fatalf("CallTool(get_video_task, %s) is an error result: %v", tc.id, res.Content)
				}
				if got := benchStatus(res); got != tc.status {
					b.Fatalf("CallTool(get_video_task, %s): status %q, want %s", tc.id, got, tc.status)
				}
			}
			check() // warm: connection up; the finished task remembered
			b.ReportAllocs()
			for b.Loop() {
				check()
			}
		})
	}
}

// BenchmarkDirectGET is a plain keep-alive GET of the same loopback upstream, through the
// transport the API client uses: the floor for BenchmarkCallGetVideoTask/running.
func BenchmarkDirectGET(b *testing.B) {
	srv := newBenchUpstream(b)
	hc := api.NewHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	target := srv.URL + "/prefix/task/" + benchRunningID
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+benchToken)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatalf("GET %s: %v", target, err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d, %v", target, resp.StatusCode, err)
		}
	}
}

// benchStatus reads task_status from a result's structuredContent, whatever Go type the
// in-process transport left it as.
func benchStatus(res *mcp.CallToolResult) string {
	switch sc := res.StructuredContent.(type) {
	case schema.TaskResult:
		return sc.TaskStatus
	case *schema.TaskResult:
		return sc.TaskStatus
	case map[string]any:
		s, _ := sc["task_status"].(string)
		return s
	}
	return fmt.Sprintf("%T", res.StructuredContent)
}
