package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/redact/redacttest"
)

// slashKey has the characters that encoders escape: a JSON encoder may write "/" as "\/",
// a URL encoder writes "/" and "+" as %2F and %2B.
const slashKey = "sk-TEST/4f9c+2e7a1b/never-print-me"

// keyEncodings are the ways an upstream may write the key inside a JSON string.
var keyEncodings = []struct {
	name   string
	encode func(string) string
}{
	{"plain", func(k string) string { return k }},
	{"first character escaped", func(k string) string { return `\u0073` + k[1:] }},
	{"php slashes", func(k string) string { return strings.ReplaceAll(k, "/", `\/`) }},
	{"every character escaped", func(k string) string {
		var b strings.Builder
		for _, r := range k {
			fmt.Fprintf(&b, `\u%04X`, r)
		}
		return b.String()
	}},
	{"url escaped", func(k string) string {
		return strings.NewReplacer("/", "%2F", "+", "%2B", "-", "%2d").Replace(k)
	}},
	{"url escaped twice", func(k string) string {
		return "%2573" + strings.NewReplacer("/", "%252F", "+", "%252B").Replace(k[1:])
	}},
}

// leakyAnswers are upstream answers that carry the key, written %[1]s, in every string the
// client reads: the error envelopes, each field of a task, a body that is not a task, a
// redirect's Location.
var leakyAnswers = []struct {
	name     string
	status   int
	location string
	body     string
}{
	{name: "dashscope envelope", status: 400, body: `{"code":"%[1]s","message":"key %[1]s refused","request_id":"%[1]s"}`},
	{name: "openai envelope", status: 401, body: `{"error":{"message":"Incorrect API key provided: %[1]s","type":"%[1]s","code":"%[1]s"}}`},
	{name: "bare error string", status: 403, body: `{"error":"%[1]s"}`},
	{name: "minimax base_resp", status: 200, body: `{"status":1,"base_resp":{"status_msg":"%[1]s"},"file_id":"x"}`},
	{name: "not found", status: 404, body: `{"code":"task_not_exist","message":"no task for %[1]s"}`},
	{name: "rate limited", status: 429, body: `{"code":"Throttling","message":"%[1]s is over its quota"}`},
	{name: "gateway page", status: 503, body: `<html><pre>Authorization: Bearer %[1]s</pre></html>`},
	{name: "json without envelope", status: 502, body: `{"headers":{"authorization":"Bearer %[1]s"}}`},
	{name: "json that is not a task", status: 200, body: `{"echo":"%[1]s"}`},
	{name: "json key", status: 200, body: `{"%[1]s":1}`},
	{name: "task in every field", status: 200, body: `{"request_id":"%[1]s","output":{"task_id":"%[1]s","task_status":"FAILED",` +
		`"submit_time":"%[1]s","scheduled_time":"%[1]s","end_time":"%[1]s","video_url":"https://h.example/%[1]s.mp4?k=%[1]s",` +
		`"orig_prompt":"%[1]s","actual_prompt":"%[1]s","code":"%[1]s","message":"%[1]s"},` +
		`"usage":{"%[1]s":"%[1]s","nested":{"list":["%[1]s"]}}}`},
	{name: "status", status: 200, body: `{"output":{"task_id":"t","task_status":"%[1]s"}}`},
	{name: "redirect path", status: 302, location: "https://evil.example/%[1]s/x?sig=1"},
	{name: "redirect userinfo", status: 307, location: "https://%[1]s:%[1]s@evil.example/x"},
}

// TestKeyNeverLeaks serves, to queries and submissions alike, answers that quote the key in
// every escaping: neither the task, nor the error, nor the debug log may reveal it, even to a
// reader who undoes JSON and URL escapes.
func TestKeyNeverLeaks(t *testing.T) {
	var (
		mu  sync.Mutex
		ans string // the answer, as "status\nlocation\nbody"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		status, location, body := splitAnswer(ans)
		mu.Unlock()
		if location != "" {
			w.Header().Set("Location", location)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := api.NewClient(slashKey, api.WithBaseURL(srv.URL+prefix), api.WithRetryPolicy(fastRetry), api.WithLogger(logger))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	for _, a := range leakyAnswers {
		for _, enc := range keyEncodings {
			t.Run(a.name+"/"+enc.name, func(t *testing.T) {
				mu.Lock()
				ans = fmt.Sprintf("%d\n%s\n%s", a.status, fmt.Sprintf(a.location, enc.encode(slashKey)), fmt.Sprintf(a.body, enc.encode(slashKey)))
				mu.Unlock()
				logMu.Lock()
				logs.Reset()
				logMu.Unlock()

				out := everything(c)
				logMu.Lock()
				out += logs.String()
				logMu.Unlock()
				if redacttest.Revealed(out, slashKey) {
					t.Errorf("the key can be read from what the client returned or logged:\n%s", out)
				}
			})
		}
	}
}

// everything queries and submits with c, and returns all it answered, as %+v and as JSON.
func everything(c *api.Client) string {
	task, err := c.GetTask(context.Background(), taskID)
	created, cerr := c.CreateTask(context.Background(), api.CreateRequest{Kind: api.TextToVideo, Model: "m", Prompt: "p"})
	var out strings.Builder
	for _, v := range []any{task, err, created, cerr} {
		fmt.Fprintf(&out, "%+v\n", v)
		raw, _ := json.Marshal(v)
		out.Write(raw)
		out.WriteString("\n")
	}
	return out.String()
}

// roundTrip answers every request in memory.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzKeyNeverLeaks answers queries and submissions with any status and a body that embeds
// the key, each byte escaped its own way, in any text, alone or as the message of an error
// envelope: nothing the client returns or logs reveals the key.
func FuzzKeyNeverLeaks(f *testing.F) {
	f.Add(uint16(400), true, `key `, ` refused`, []byte{3, 0, 5, 1})
	f.Add(uint16(200), false, `{"output":{"task_id":"t","task_status":"FAILED","message":"`, `"}}`, []byte{4, 4, 4, 4, 5, 5})
	f.Add(uint16(503), false, `<html>`, `</html>`, []byte{6, 7, 8, 9})
	f.Add(uint16(302), true, ``, ``, []byte{})
	statuses := []int{200, 201, 302, 400, 401, 403, 404, 429, 500, 502, 503}
	f.Fuzz(func(t *testing.T, status uint16, envelope bool, before, after string, choices []byte) {
		body := before + redacttest.Encode(slashKey, choices) + after
		if envelope {
			body = `{"code":"InvalidParameter","message":"` + body + `"}`
		}
		code := statuses[int(status)%len(statuses)]
		var logs bytes.Buffer
		var logMu sync.Mutex
		logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			if code == 302 {
				h.Set("Location", "https://h.example/"+body)
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		})}
		c, err := api.NewClient(slashKey, api.WithBaseURL("https://upstream.example"), api.WithHTTPClient(hc),
			api.WithRetryPolicy(api.RetryPolicy{Retries: 1}), api.WithLogger(logger))
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		out := everything(c)
		logMu.Lock()
		out += logs.String()
		logMu.Unlock()
		if redacttest.Revealed(out, slashKey) {
			t.Fatalf("HTTP %d with body %q: the key can be read from what the client returned or logged:\n%s", code, body, out)
		}
	})
}

func splitAnswer(ans string) (status int, location, body string) {
	parts := strings.SplitN(ans, "\n", 3)
	fmt.Sscan(parts[0], &status)
	return status, parts[1], parts[2]
}

type lockedWriter struct {
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
