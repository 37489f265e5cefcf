package redact_test

import (
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/internal/redact"
)

func BenchmarkStringTaskBody(b *testing.B) {
	body := `{"request_id":"7f3c1a2e","output":{"task_id":"0385dc79-5ff8","task_status":"SUCCEEDED","video_url":"https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D","orig_prompt":"a cat runs across a meadow \u00e9"}}`
	r := redact.New(key)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.String(body)
	}
}

func BenchmarkStringEscapes1MiB(b *testing.B) {
	body := strings.Repeat(`\u00e9%2F\\`, 1<<20/14)
	r := redact.New(key)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.String(body)
	}
}
