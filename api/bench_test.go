package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// Benchmarks of the upstream client's hot paths. They run only with -bench; see
// BENCHMARKS.md for the figures and scripts/bench.sh for the command.

// benchToken is the API key of the benchmarks' client.
const benchToken = "sk-bench-token-0123456789"

// benchTaskID is the id every benchmark asks for.
const benchTaskID = "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"

// benchBodies are realistic upstream bodies: a running task, a finished one with its signed
// URL, prompts and usage, and a failed one with its code and message.
var benchBodies = []struct{ name, body string }{
	{"running", `{"request_id":"5c1f0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b","output":{"task_id":"` + benchTaskID +
		`","task_status":"RUNNING","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772"}}`},
	{"succeeded", `{"request_id":"7f3c1a2e-5b1d-9a4e-8c7b-0d6e5f4a3b2c","output":{"task_id":"` + benchTaskID +
		`","task_status":"SUCCEEDED","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772",` +
		`"end_time":"2025-10-26 12:52:20.355","video_url":"https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D",` +
		`"orig_prompt":"a cat runs across a meadow","actual_prompt":"A fluffy ginger cat sprints across a sunlit meadow at golden hour."},` +
		`"usage":{"video_count":1,"video_ratio":"832*480","video_duration":5}}`},
	{"failed", `{"request_id":"9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4","output":{"task_id":"` + benchTaskID +
		`","task_status":"FAILED","submit_time":"2025-10-26 12:50:16.723","scheduled_time":"2025-10-26 12:50:16.772",` +
		`"end_time":"2025-10-26 12:50:18.101","code":"DataInspectionFailed","message":"Input data may contain inappropriate content."}}`},
}

// BenchmarkDecodeTask decodes a task body, without any I/O.
func BenchmarkDecodeTask(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			body := []byte(bb.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				task, err := api.DecodeTask(body)
				if err != nil || task == nil {
					b.Fatalf("DecodeTask(%s) = %v, %v", bb.name, task, err)
				}
			}
		})
	}
}

// benchUpstream serves body for every task id on loopback, under a path prefix, keep-alive.
func benchUpstream(b *testing.B, body string) *httptest.Server {
	b.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prefix/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkGetTask is one GetTask call against a loopback upstream: request, response,
// body limit, decoding. No rate limit, so it measures the client alone.
func BenchmarkGetTask(b *testing.B) {
	for _, bb := range benchBodies[:2] {
		b.Run(bb.name, func(b *testing.B) {
			srv := benchUpstream(b, bb.body)
			hc := api.NewHTTPClient()
			b.Cleanup(hc.CloseIdleConnections)
			c, err := api.NewClient(benchToken, api.WithBaseURL(srv.URL+"/prefix"), api.WithHTTPClient(hc))
			if err != nil {
				b.Fatalf("NewClient: %v", err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetTask(ctx, benchTaskID); err != nil {
					b.Fatalf("GetTask(%q) = %v", benchTaskID, err)
				}
			}
		})
	}
}

// BenchmarkDirectGET is a plain keep-alive GET of the same loopback upstream with the same
// transport settings, the body read whole: the floor GetTask is measured against.
func BenchmarkDirectGET(b *testing.B) {
	for _, bb := range benchBodies[:2] {
		b.Run(bb.name, func(b *testing.B) {
			srv := benchUpstream(b, bb.body)
			hc := api.NewHTTPClient()
			b.Cleanup(hc.CloseIdleConnections)
			target := srv.URL + "/prefix/task/" + benchTaskID
			b.ReportAllocs()
			for b.Loop() {
				benchGet(b, hc, target)
			}
		})
	}
}

func benchGet(b *testing.B, hc *http.Client, target string) {
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
