package simulate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/simulate"
)

const token = "sk-any-token"

// upstream is one way of reaching a simulated upstream: over a real socket, or in process.
type upstream struct {
	baseURL string
	client  *http.Client
}

// upstreams returns the same simulator configuration reached both ways, each with its own
// state.
func upstreams(t *testing.T, opts simulate.Options) map[string]upstream {
	t.Helper()
	srv := httptest.NewServer(simulate.NewHandler(opts))
	t.Cleanup(srv.Close)
	return map[string]upstream{
		"httptest":  {baseURL: srv.URL, client: srv.Client()},
		"transport": {baseURL: simulate.BaseURL, client: &http.Client{Transport: simulate.Transport(simulate.NewHandler(opts))}},
	}
}

// answer is one decoded upstream reply.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   taskBody
}

type taskBody struct {
	RequestID string `json:"request_id"`
	Output    *struct {
		TaskID        string `json:"task_id"`
		TaskStatus    string `json:"task_status"`
		SubmitTime    string `json:"submit_time"`
		ScheduledTime string `json:"scheduled_time"`
		EndTime       string `json:"end_time"`
		VideoURL      string `json:"video_url"`
		OrigPrompt    string `json:"orig_prompt"`
		ActualPrompt  string `json:"actual_prompt"`
		Code          string `json:"code"`
		Message       string `json:"message"`
	} `json:"output"`
	Usage map[string]any `json:"usage"`
	// Error envelopes.
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (u upstream) get(t *testing.T, id, authorization string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u.baseURL+"/task/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("GET /task/%s: %v", id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /task/%s: reading body: %v", id, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("GET /task/%s: decoding %s: %v", id, raw, err)
		}
	}
	return a
}

func (u upstream) query(t *testing.T, id string) answer {
	t.Helper()
	return u.get(t, id, "Bearer "+token)
}

// outcome is an answer in one word: the task status, or "HTTP <code>" for anything else.
func (a answer) outcome() string {
	if a.status == http.StatusOK && a.body.Output != nil {
		return a.body.Output.TaskStatus
	}
	return "HTTP " + strconv.Itoa(a.status)
}

func TestStorySequences(t *testing.T) {
	tests := []struct {
		id   string
		opts simulate.Options
		want []string
	}{
		{simulate.IDDone, simulate.Options{}, []string{"SUCCEEDED", "SUCCEEDED"}},
		{simulate.IDSuccess, simulate.Options{}, []string{"PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED", "SUCCEEDED"}},
		{simulate.IDSuccess, simulate.Options{PendingPolls: 2, RunningPolls: 1}, []string{"PENDING", "PENDING", "RUNNING", "SUCCEEDED"}},
		{simulate.IDFail, simulate.Options{}, []string{"PENDING", "RUNNING", "RUNNING", "RUNNING", "FAILED", "FAILED"}},
		{simulate.IDUnknown, simulate.Options{}, []string{"UNKNOWN", "UNKNOWN"}},
		{simulate.IDCancel, simulate.Options{}, []string{"CANCELED", "CANCELED"}},
		{simulate.IDThrottle, simulate.Options{}, []string{"HTTP 429", "PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"}},
		{simulate.IDDown, simulate.Options{}, []string{"HTTP 503", "HTTP 503", "HTTP 503"}},
		{simulate.IDMissing, simulate.Options{}, []string{"HTTP 404", "HTTP 404"}},
		{simulate.IDSlow, simulate.Options{}, []string{"RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING"}},
		{"sim-success-42", simulate.Options{RunningPolls: 1}, []string{"PENDING", "RUNNING", "SUCCEEDED"}},
		{"sim-fail_7", simulate.Options{RunningPolls: 1}, []string{"PENDING", "RUNNING", "FAILED"}},
		{"sim-done.a:b", simulate.Options{}, []string{"SUCCEEDED"}},
		{"sim-slow:x", simulate.Options{}, []string{"RUNNING", "RUNNING"}},
		// Ids that only look like a story are unknown to the relay.
		{"sim-successful", simulate.Options{}, []string{"HTTP 404"}},
		{"sim-success-", simulate.Options{}, []string{"HTTP 404"}},
		{"SIM-SUCCESS", simulate.Options{}, []string{"HTTP 404"}},
		{"0c4f6b9e-7a51-4d2f-9d6b-3f2a1e8c5b71", simulate.Options{}, []string{"HTTP 404"}},
	}
	for _, tt := range tests {
		for way, u := range upstreams(t, tt.opts) {
			t.Run(fmt.Sprintf("%s/pending=%d,running=%d/%s", tt.id, tt.opts.PendingPolls, tt.opts.RunningPolls, way), func(t *testing.T) {
				var got []string
				for range tt.want {
					got = append(got, u.query(t, tt.id).outcome())
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("statuses of %q, query after query (-want +got):\n%s", tt.id, diff)
				}
			})
		}
	}
}

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	cst         = time.FixedZone("UTC+8", 8*3600)
)

// parseUpstreamTime reads one of the body's times, which are UTC+8 without a zone.
func parseUpstreamTime(t *testing.T, name, v string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05.000", v, cst)
	if err != nil {
		t.Fatalf("%s %q is not in the upstream format: %v", name, v, err)
	}
	return tm
}

func TestSucceededBody(t *testing.T) {
	// A fixed clock that advances a second per query, so every time in the body is known.
	start := time.Date(2025, 10, 26, 4, 50, 0, 0, time.UTC)
	for _, way := range []string{"httptest", "transport"} {
		u := upstreams(t, simulate.Options{Now: steppingClock(start, time.Second)})[way]
		t.Run(way, func(t *testing.T) {
			var last answer
			for range 5 {
				last = u.query(t, simulate.IDSuccess)
			}
			if last.status != http.StatusOK || last.header.Get("Content-Type") != "application/json" {
				t.Fatalf("answer = HTTP %d %q, want 200 application/json", last.status, last.header.Get("Content-Type"))
			}
			// The keys, in the upstream's order.
			wantPrefix := `{"request_id":"`
			keys := []string{`"output":{"task_id":"sim-success","task_status":"SUCCEEDED","submit_time":`, `"scheduled_time":`, `"end_time":`,
				`"video_url":"https://`, `"orig_prompt":`, `"actual_prompt":`, `"usage":{"video_count":1,"video_ratio":"832*480","video_duration":5}}`}
			if !bytes.HasPrefix(last.raw, []byte(wantPrefix)) {
				t.Errorf("body %s does not start with %s", last.raw, wantPrefix)
			}
			pos := 0
			for _, k := range keys {
				i := bytes.Index(last.raw[pos:], []byte(k))
				if i < 0 {
					t.Fatalf("body %s lacks %s after byte %d", last.raw, k, pos)
				}
				pos += i + len(k)
			}
			if got := last.header.Get("Content-Length"); got != strconv.Itoa(len(last.raw)) {
				t.Errorf("Content-Length = %q, want %d", got, len(last.raw))
			}

			o := last.body.Output
			if !uuidPattern.MatchString(last.body.RequestID) {
				t.Errorf("request_id = %q, want a UUID", last.body.RequestID)
			}
			submit := parseUpstreamTime(t, "submit_time", o.SubmitTime)
			scheduled := parseUpstreamTime(t, "scheduled_time", o.ScheduledTime)
			end := parseUpstreamTime(t, "end_time", o.EndTime)
			// Query 1 at start (PENDING), query 2 at start+1s (RUNNING), query 5 at start+4s.
			if want := start.Add(-1247 * time.Millisecond); !submit.Equal(want) {
				t.Errorf("submit_time = %s, want %s", o.SubmitTime, want.In(cst).Format(simulate.UpstreamTimeLayout))
			}
			if want := start.Add(time.Second); !scheduled.Equal(want) {
				t.Errorf("scheduled_time = %s, want %s", o.ScheduledTime, want.In(cst).Format(simulate.UpstreamTimeLayout))
			}
			if want := start.Add(4 * time.Second); !end.Equal(want) {
				t.Errorf("end_time = %s, want %s", o.EndTime, want.In(cst).Format(simulate.UpstreamTimeLayout))
			}
			if want := "2025-10-26 12:50:04.000"; o.EndTime != want {
				t.Errorf("end_time = %q, want %q (UTC+8)", o.EndTime, want)
			}

			v, err := url.Parse(o.VideoURL)
			if err != nil {
				t.Fatalf("video_url %q: %v", o.VideoURL, err)
			}
			q := v.Query()
			if got, want := q.Get("Expires"), strconv.FormatInt(end.Add(24*time.Hour).Unix(), 10); got != want {
				t.Errorf("video_url Expires = %q, want %s (end_time + 24 h)", got, want)
			}
			if q.Get("OSSAccessKeyId") == "" || q.Get("Signature") == "" {
				t.Errorf("video_url %q lacks OSSAccessKeyId or Signature", o.VideoURL)
			}
			if v.Scheme != "https" || !strings.HasSuffix(v.Host, ".invalid") || !strings.HasSuffix(v.Path, ".mp4") {
				t.Errorf("video_url %q: want an https .mp4 URL on a .invalid host", o.VideoURL)
			}
			if o.OrigPrompt == "" || o.ActualPrompt == "" {
				t.Errorf("prompts missing: orig %q, actual %q", o.OrigPrompt, o.ActualPrompt)
			}

			// Later queries see the same finished task, under a new request id.
			again := u.query(t, simulate.IDSuccess)
			if again.body.Output.EndTime != o.EndTime || again.body.Output.VideoURL != o.VideoURL {
				t.Errorf("a finished task changed: end_time %q → %q, video_url %q → %q",
					o.EndTime, again.body.Output.EndTime, o.VideoURL, again.body.Output.VideoURL)
			}
			if again.body.RequestID == last.body.RequestID {
				t.Errorf("two answers share request_id %q", last.body.RequestID)
			}
		})
	}
}

// steppingClock returns a clock that reads start, then start+step, start+2·step, …
func steppingClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	next := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := next
		next = next.Add(step)
		return now
	}
}

func TestBodiesOfEachStatus(t *testing.T) {
	tests := []struct {
		id      string
		queries int
		// check inspects the last answer.
		check func(t *testing.T, a answer)
	}{
		{simulate.IDSuccess, 1, func(t *testing.T, a answer) {
			o := a.body.Output
			if o.SubmitTime == "" || o.ScheduledTime != "" || o.EndTime != "" || o.VideoURL != "" || a.body.Usage != nil {
				t.Errorf("PENDING body %s: want submit_time only", a.raw)
			}
		}},
		{simulate.IDSuccess, 2, func(t *testing.T, a answer) {
			o := a.body.Output
			if o.SubmitTime == "" || o.ScheduledTime == "" || o.EndTime != "" || o.VideoURL != "" {
				t.Errorf("RUNNING body %s: want submit_time and scheduled_time only", a.raw)
			}
		}},
		{simulate.IDFail, 5, func(t *testing.T, a answer) {
			o := a.body.Output
			if o.Code != "DataInspectionFailed" || o.Message == "" || o.EndTime == "" || o.VideoURL != "" {
				t.Errorf("FAILED body %s: want code DataInspectionFailed, a message, an end_time and no video", a.raw)
			}
		}},
		{simulate.IDUnknown, 1, func(t *testing.T, a answer) {
			want := `{"request_id":"` + a.body.RequestID + `","output":{"task_id":"sim-unknown","task_status":"UNKNOWN"}}`
			if string(a.raw) != want || a.status != http.StatusOK {
				t.Errorf("UNKNOWN answer = HTTP %d %s, want 200 %s", a.status, a.raw, want)
			}
		}},
		{simulate.IDCancel, 1, func(t *testing.T, a answer) {
			o := a.body.Output
			if o.SubmitTime == "" || o.EndTime == "" || o.VideoURL != "" {
				t.Errorf("CANCELED body %s: want submit_time, end_time and no video", a.raw)
			}
		}},
		{simulate.IDDone, 1, func(t *testing.T, a answer) {
			o := a.body.Output
			end := parseUpstreamTime(t, "end_time", o.EndTime)
			if time.Since(end) < time.Minute || time.Since(end) > 10*time.Minute {
				t.Errorf("end_time %s: want a task that ended minutes ago", o.EndTime)
			}
			v, _ := url.Parse(o.VideoURL)
			if got, want := v.Query().Get("Expires"), strconv.FormatInt(end.Add(24*time.Hour).Unix(), 10); got != want {
				t.Errorf("Expires = %s, want %s", got, want)
			}
		}},
		{simulate.IDThrottle, 1, func(t *testing.T, a answer) {
			if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" ||
				a.body.Code != "Throttling" || a.body.Message == "" || !uuidPattern.MatchString(a.body.RequestID) {
				t.Errorf("throttled answer = HTTP %d, Retry-After %q, %s; want 429, 1 and a DashScope envelope",
					a.status, a.header.Get("Retry-After"), a.raw)
			}
		}},
		{simulate.IDDown, 1, func(t *testing.T, a answer) {
			if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
				!bytes.Contains(a.raw, []byte("<h1>503 Service Temporarily Unavailable</h1>")) {
				t.Errorf("down answer = HTTP %d %q %s, want a 503 gateway page", a.status, a.header.Get("Content-Type"), a.raw)
			}
		}},
		{simulate.IDMissing, 1, func(t *testing.T, a answer) {
			if want := `{"code":"task_not_exist","message":"task_not_exist","data":null}`; a.status != http.StatusNotFound || string(a.raw) != want {
				t.Errorf("missing answer = HTTP %d %s, want 404 %s", a.status, a.raw, want)
			}
		}},
		{"no-such-task", 1, func(t *testing.T, a answer) {
			if a.status != http.StatusNotFound || a.body.Code != "task_not_exist" {
				t.Errorf("unknown id answer = HTTP %d %s, want 404 task_not_exist", a.status, a.raw)
			}
		}},
	}
	for _, tt := range tests {
		for way, u := range upstreams(t, simulate.Options{}) {
			t.Run(fmt.Sprintf("%s#%d/%s", tt.id, tt.queries, way), func(t *testing.T) {
				var a answer
				for range tt.queries {
					a = u.query(t, tt.id)
				}
				if a.body.Output != nil && a.body.Output.TaskID != tt.id {
					t.Errorf("output.task_id = %q, want %q", a.body.Output.TaskID, tt.id)
				}
				tt.check(t, a)
			})
		}
	}
}

func TestAuthorization(t *testing.T) {
	tests := []struct {
		header string
		want   int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer    ", http.StatusUnauthorized},
		{"Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"sk-just-the-key", http.StatusUnauthorized},
		{"Bearer x", http.StatusOK},
		{"bearer sk-lower-case-scheme", http.StatusOK},
	}
	for way, u := range upstreams(t, simulate.Options{}) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%q", way, tt.header), func(t *testing.T) {
				a := u.get(t, simulate.IDDone, tt.header)
				if a.status != tt.want {
					t.Fatalf("Authorization %q: HTTP %d, want %d", tt.header, a.status, tt.want)
				}
				if tt.want == http.StatusUnauthorized && (a.body.Code != "InvalidApiKey" || a.body.Message == "" || a.body.RequestID == "") {
					t.Errorf("401 body %s: want the DashScope envelope with InvalidApiKey", a.raw)
				}
			})
		}
		t.Run(way+"/refused queries do not advance a story", func(t *testing.T) {
			for range 3 {
				u.get(t, simulate.IDSuccess, "")
			}
			if got := u.query(t, simulate.IDSuccess).outcome(); got != "PENDING" {
				t.Errorf("first authorized query = %s, want PENDING", got)
			}
		})
	}
}

func TestOtherRoutes(t *testing.T) {
	for way, u := range upstreams(t, simulate.Options{}) {
		t.Run(way, func(t *testing.T) {
			for _, tt := range []struct {
				method, path string
				want         int
			}{
				{http.MethodPost, "/task/sim-done", http.StatusMethodNotAllowed},
				{http.MethodGet, "/tasks/sim-done", http.StatusNotFound},
				{http.MethodGet, "/api/v2/tasks/sim-done", http.StatusNotFound},
				{http.MethodGet, "/task/bailian/text2video", http.StatusMethodNotAllowed},
				{http.MethodGet, "/task/", http.StatusNotFound},
			} {
				req, _ := http.NewRequest(tt.method, u.baseURL+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := u.client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", tt.method, tt.path, err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("%s %s = HTTP %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
				}
			}
		})
	}
}

func TestStoriesAreListed(t *testing.T) {
	stories := simulate.Stories()
	ids := simulate.TaskIDs()
	if len(stories) != len(ids) || len(ids) < 9 {
		t.Fatalf("Stories() has %d entries, TaskIDs() %d; want the same, at least 9", len(stories), len(ids))
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	seen := map[string]bool{}
	for i, s := range stories {
		if s.TaskID != ids[i] {
			t.Errorf("Stories()[%d].TaskID = %q, TaskIDs()[%d] = %q", i, s.TaskID, i, ids[i])
		}
		if !valid.MatchString(s.TaskID) || seen[s.TaskID] {
			t.Errorf("story id %q is not a valid, unique task id", s.TaskID)
		}
		seen[s.TaskID] = true
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("story %q: description %q, want one non-empty line", s.TaskID, s.Description)
		}
	}
	// Every documented story answers as a story, not as an unknown id (sim-missing aside).
	u := upstreams(t, simulate.Options{})["transport"]
	for _, id := range ids {
		a := u.query(t, id)
		if id != simulate.IDMissing && a.status == http.StatusNotFound {
			t.Errorf("story %q answered 404 like an unknown id", id)
		}
	}
}

func TestConcurrentTasks(t *testing.T) {
	const tasks, queries = 64, 5
	for way, u := range upstreams(t, simulate.Options{}) {
		t.Run(way+"/distinct ids", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan string, tasks)
			for i := range tasks {
				wg.Go(func() {
					id := fmt.Sprintf("%s-%d", simulate.IDSuccess, i)
					var got []string
					for range queries {
						got = append(got, u.query(t, id).outcome())
					}
					if want := []string{"PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"}; !cmp.Equal(want, got) {
						errs <- fmt.Sprintf("%s: %v, want %v", id, got, want)
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
		t.Run(way+"/one id", func(t *testing.T) {
			// Many callers of one id share its story: exactly one query sees PENDING and
			// exactly three see RUNNING, whoever makes them.
			const callers = 32
			var mu sync.Mutex
			counts := map[string]int{}
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					got := u.query(t, "sim-success-shared").outcome()
					mu.Lock()
					counts[got]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if want := map[string]int{"PENDING": 1, "RUNNING": 3, "SUCCEEDED": callers - 4}; !cmp.Equal(want, counts) {
				t.Errorf("outcomes of %d concurrent queries = %v, want %v", callers, counts, want)
			}
		})
	}
}

func TestEvictionForgetsTheOldest(t *testing.T) {
	for way, u := range upstreams(t, simulate.Options{MaxTasks: 3}) {
		t.Run(way, func(t *testing.T) {
			for _, id := range []string{"sim-success-a", "sim-success-b", "sim-success-c"} {
				u.query(t, id) // PENDING
			}
			// A fourth id pushes out the oldest, a.
			u.query(t, "sim-success-d")
			for _, tt := range []struct{ id, want string }{
				{"sim-success-b", "RUNNING"}, // remembered
				{"sim-success-a", "PENDING"}, // forgotten: starts again, and pushes out b
				{"sim-success-d", "RUNNING"},
				{"sim-success-b", "PENDING"}, // pushes out c
				{"sim-success-c", "PENDING"}, // pushes out d
				{"sim-success-d", "PENDING"},
			} {
				if got := u.query(t, tt.id).outcome(); got != tt.want {
					t.Errorf("query of %s = %s, want %s", tt.id, got, tt.want)
				}
			}
		})
	}
}

func TestDebugLog(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u := upstream{baseURL: simulate.BaseURL, client: &http.Client{Transport: simulate.Transport(simulate.NewHandler(simulate.Options{Logger: logger}))}}
	u.query(t, simulate.IDSlow)
	u.query(t, simulate.IDSlow)
	u.query(t, "nope")
	log := buf.String()
	for _, want := range []string{
		`msg="simulated upstream answered" task_id=sim-slow query=1 http_status=200 task_status=RUNNING`,
		`task_id=sim-slow query=2 http_status=200 task_status=RUNNING`,
		`task_id=nope query=0 http_status=404 task_status=""`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("debug log lacks %q:\n%s", want, log)
		}
	}
}

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
