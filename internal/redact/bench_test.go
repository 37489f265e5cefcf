package redact_test

import (
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/internal/redact"
)

// taskBody is a finished task as the upstream sends it: a signed URL full of % escapes, a
// prompt with a JSON escape.
const taskBody = `{"request_id":"7f3c1a2e","output":{"task_id":"0385dc79-5ff8","task_status":"SUCCEEDED","video_url":"https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/84/20251026/f3/0385dc79.mp4?Expires=1761540731&OSSAccessKeyId=LTAI5tExampleKeyId&Signature=b2Fk%2BZm9v%3D","orig_prompt":"a cat runs across a meadow \u00e9"}}`

// BenchmarkStringTaskBody is the cost, per upstream body, of redacting the key in every
// escaping; BenchmarkReplaceAllTaskBody is the plain replacement it took the place of.
func BenchmarkStringTaskBody(b *testing.B) {
	body := taskBody
	r := redact.New(key)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.String(body)
	}
}

func BenchmarkReplaceAllTaskBody(b *testing.B) {
	body := taskBody
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		strings.ReplaceAll(body, key, redact.Placeholder)
	}
}

// BenchmarkStringEscapes1MiB is a worst case: a body of the largest size read, all escapes.
func BenchmarkStringEscapes1MiB(b *testing.B) {
	body := strings.Repeat(`\u00e9%2F\\`, 1<<20/14)
	r := redact.New(key)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.String(body)
	}
}
