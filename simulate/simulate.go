// Package simulate is a stand-in for the upstream task API: an http.Handler that answers
// GET /task/{task_id} with realistic Alibaba Bailian (DashScope) task bodies, so that the server
// can be tried, demonstrated and tested without an account or a network. The task id chooses
// what happens (see Stories). It also takes submissions, on the aggregator's endpoints and on
// DashScope's, and serves DashScope's query path: a submitted task follows the sim-success
// story under a fresh id, or sim-fail when its prompt contains FailKeyword.
//
// It uses the standard library only and knows nothing of MCP.
package simulate

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BaseURL is the base URL to give the API client together with Transport. The .invalid
// top-level domain never resolves, so a request that misses the Transport fails at once instead
// of reaching anything real.
const BaseURL = "http://simulated.invalid"

// The story task ids. An id that adds a suffix after '-', '_', '.' or ':' tells the same story as
// a distinct task with its own progress: "sim-success-1" and "sim-success-2" advance
// independently, which is what concurrent tests need.
//
// Progress counts the queries of each id: a task moves on one step per query, whatever the time
// between them. With the defaults (1 query PENDING, then 3 RUNNING) and the server's default 1 s
// polling, a wait for sim-success ends within about 10 s.
const (
	// IDDone is a task that SUCCEEDED before the first query: the video URL at once.
	IDDone = "sim-done"
	// IDSuccess is a task that is PENDING, then RUNNING, then SUCCEEDED with a video URL.
	IDSuccess = "sim-success"
	// IDFail is a task that is PENDING, then RUNNING, then FAILED with code DataInspectionFailed.
	IDFail = "sim-fail"
	// IDUnknown is a task the provider no longer knows (expired or never existed): UNKNOWN at
	// once, with HTTP 200, as DashScope answers.
	IDUnknown = "sim-unknown"
	// IDCancel is a task that was canceled while queued: CANCELED at once.
	IDCancel = "sim-cancel"
	// IDThrottle answers its first query with HTTP 429 Throttling and Retry-After: 1, then
	// tells the sim-success story.
	IDThrottle = "sim-throttle"
	// IDDown always answers HTTP 503 with a gateway's HTML page.
	IDDown = "sim-down"
	// IDMissing is unknown to the relay: HTTP 404 with its envelope
	// {"code":"task_not_exist","message":"task_not_exist","data":null}. Every id that names no
	// story is answered the same way.
	IDMissing = "sim-missing"
	// IDSlow never finishes: RUNNING at every query.
	IDSlow = "sim-slow"
)

// Story is one scripted behaviour of the simulated upstream.
type Story struct {
	// TaskID selects the story.
	TaskID string
	// Description says what the upstream answers, in a line fit for a README table.
	Description string
}

// Stories lists every story, in the order a demo would show them.
func Stories() []Story {
	out := make([]Story, len(stories))
	for i, s := range stories {
		out[i] = Story{TaskID: s.id, Description: s.description}
	}
	return out
}

// TaskIDs lists the task id of every story, in the order of Stories.
func TaskIDs() []string {
	ids := make([]string, len(stories))
	for i, s := range stories {
		ids[i] = s.id
	}
	return ids
}

// Options tune the simulated upstream. The zero value is ready to use.
type Options struct {
	// PendingPolls is how many queries a progressing task answers PENDING (default 1).
	PendingPolls int
	// RunningPolls is how many queries it then answers RUNNING before it ends (default 3).
	RunningPolls int
	// MaxTasks bounds how many task ids are remembered (default 10,000). Beyond it the id
	// first seen longest ago is forgotten, and its story starts again at its next query.
	MaxTasks int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one debug line per answered query (default: nothing is logged).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultPendingPolls = 1
	DefaultRunningPolls = 3
	DefaultMaxTasks     = 10_000
)

// NewHandler returns the simulated upstream. It serves GET /task/{task_id}, DashScope's
// GET /api/v1/tasks/{task_id}, and the submissions of both (see serveSubmit); it requires an
// Authorization: Bearer header with any non-empty token, and is safe for concurrent use.
func NewHandler(opts Options) http.Handler {
	h := &handler{
		pending:  positiveOr(opts.PendingPolls, DefaultPendingPolls),
		running:  positiveOr(opts.RunningPolls, DefaultRunningPolls),
		maxTasks: positiveOr(opts.MaxTasks, DefaultMaxTasks),
		now:      opts.Now,
		logger:   opts.Logger,
		tasks:    make(map[string]*list.Element),
		order:    list.New(),
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /task/{task_id}", h.serveTask)
	h.routeSubmissions(mux)
	h.mux = mux
	return h
}

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// handler is the simulated upstream and the state of every task it was asked about.
type handler struct {
	mux      *http.ServeMux
	pending  int
	running  int
	maxTasks int
	now      func() time.Time
	logger   *slog.Logger

	mu    sync.Mutex
	tasks map[string]*list.Element // of *task, keyed by task id
	order *list.List               // of *task, first seen first
}

// task is what the simulator remembers of one task id.
type task struct {
	id        string
	story     *story
	queries   int
	firstSeen time.Time
	// submitted, scheduled and ended are set as the story reaches them, then never change.
	submitted time.Time
	scheduled time.Time
	ended     time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// reply is one answer: an HTTP status, headers and a body.
type reply struct {
	status      int
	header      map[string]string
	contentType string
	body        []byte
	taskStatus  string // for the log
}

func (h *handler) serveTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("task_id")
	var rep reply
	query := 0
	if !authorized(r.Header.Get("Authorization")) {
		rep = jsonReply(http.StatusUnauthorized, envelope{Code: "InvalidApiKey", Message: "No API-key provided.", RequestID: newRequestID()})
	} else if s := storyOf(id); s == nil {
		rep = notFound()
	} else {
		rep, query = h.answer(id, s)
	}
	h.logger.DebugContext(r.Context(), "simulated upstream answered",
		"task_id", id, "query", query, "http_status", rep.status, "task_status", rep.taskStatus)
	writeReply(w, rep)
}

// authorized accepts "Bearer <token>" with any non-empty token: the simulator checks that a
// key is sent, not which.
func authorized(header string) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// answer advances id's story by one query and renders the answer. It returns the query's
// number (1 for the first).
func (h *handler) answer(id string, s *story) (reply, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	t := h.lookup(id, s, now)
	t.queries++
	return s.answer(h, t, now), t.queries
}

// lookup returns the state of id, remembering it if new and forgetting the oldest id when
// there are too many. The caller holds h.mu.
func (h *handler) lookup(id string, s *story, now time.Time) *task {
	if e, ok := h.tasks[id]; ok {
		return e.Value.(*task)
	}
	for h.order.Len() >= h.maxTasks {
		oldest := h.order.Front()
		h.order.Remove(oldest)
		delete(h.tasks, oldest.Value.(*task).id)
	}
	t := &task{id: id, story: s, firstSeen: now}
	h.tasks[id] = h.order.PushBack(t)
	return t
}

// story is a Story with its behaviour.
type story struct {
	id          string
	description string
	answer      func(h *handler, t *task, now time.Time) reply
}

var stories = []*story{
	{IDDone, "SUCCEEDED at the first query, with a signed video URL (expires 24 h after end_time), prompts and usage.",
		func(h *handler, t *task, now time.Time) reply {
			if t.ended.IsZero() {
				t.ended = now.Add(-3*time.Minute - 12*time.Second - 509*time.Millisecond)
				t.scheduled = t.ended.Add(-2*time.Minute - 3*time.Second - 583*time.Millisecond)
				t.submitted = t.scheduled.Add(-49 * time.Millisecond)
			}
			return succeeded(t)
		}},
	{IDSuccess, "PENDING at the first query, RUNNING for the next 3, then SUCCEEDED with a signed video URL, prompts and usage.",
		func(h *handler, t *task, now time.Time) reply { return h.progress(t, t.queries, now, succeeded) }},
	{IDFail, "PENDING, RUNNING, then FAILED with code DataInspectionFailed: a finished task, not an error.",
		func(h *handler, t *task, now time.Time) reply { return h.progress(t, t.queries, now, failed) }},
	{IDUnknown, "UNKNOWN at once (HTTP 200): the provider does not know the task, or it is older than 24 hours.",
		func(h *handler, t *task, now time.Time) reply {
			return taskReply(body{Output: output{TaskID: t.id, TaskStatus: "UNKNOWN"}})
		}},
	{IDCancel, "CANCELED at once: the task was canceled while it was queued.",
		func(h *handler, t *task, now time.Time) reply {
			if t.ended.IsZero() {
				t.submitted = now.Add(-41*time.Second - 206*time.Millisecond)
				t.ended = now.Add(-12*time.Second - 837*time.Millisecond)
			}
			return taskReply(body{Output: output{TaskID: t.id, TaskStatus: "CANCELED",
				SubmitTime: upstreamTime(t.submitted), EndTime: upstreamTime(t.ended)}})
		}},
	{IDThrottle, "HTTP 429 Throttling with Retry-After: 1 at the first query, then the sim-success story.",
		func(h *handler, t *task, now time.Time) reply {
			if t.queries == 1 {
				rep := jsonReply(http.StatusTooManyRequests, envelope{Code: "Throttling",
					Message: "Requests rate limit exceeded, please try again later.", RequestID: newRequestID()})
				rep.header = map[string]string{"Retry-After": "1"}
				return rep
			}
			return h.progress(t, t.queries-1, now, succeeded)
		}},
	{IDDown, "HTTP 503 with a gateway's HTML page at every query: the upstream is down.",
		func(h *handler, t *task, now time.Time) reply {
			return reply{status: http.StatusServiceUnavailable, contentType: "text/html", body: []byte(gatewayPage)}
		}},
	{IDMissing, "HTTP 404 {\"code\":\"task_not_exist\",…} from the relay; every id that names no story gets the same.",
		func(h *handler, t *task, now time.Time) reply { return notFound() }},
	{IDSlow, "RUNNING at every query: never finishes, so a wait runs out of budget (or is cancelled).",
		func(h *handler, t *task, now time.Time) reply {
			if t.submitted.IsZero() {
				t.submitted = now.Add(-1*time.Second - 318*time.Millisecond)
				t.scheduled = t.submitted.Add(52 * time.Millisecond)
			}
			return running(t)
		}},
}

// storyOf returns the story id tells: its own, or that of the story id it extends with a
// separator and a suffix. Nil when id names no story.
func storyOf(id string) *story {
	for _, s := range stories {
		rest, ok := strings.CutPrefix(id, s.id)
		if ok && (rest == "" || len(rest) > 1 && strings.ContainsRune("-_.:", rune(rest[0]))) {
			return s
		}
	}
	return nil
}

// progress tells a queued-running-finished story at query n: PENDING, then RUNNING, then what
// end renders.
func (h *handler) progress(t *task, n int, now time.Time, end func(*task) reply) reply {
	if t.submitted.IsZero() {
		// The task was submitted shortly before anyone asked about it.
		t.submitted = now.Add(-1*time.Second - 247*time.Millisecond)
	}
	switch {
	case n <= h.pending:
		return taskReply(body{Output: output{TaskID: t.id, TaskStatus: "PENDING", SubmitTime: upstreamTime(t.submitted)}})
	case n <= h.pending+h.running:
		if t.scheduled.IsZero() {
			t.scheduled = now
		}
		return running(t)
	}
	if t.scheduled.IsZero() {
		t.scheduled = t.submitted.Add(49 * time.Millisecond)
	}
	if t.ended.IsZero() {
		t.ended = now
	}
	return end(t)
}

func running(t *task) reply {
	return taskReply(body{Output: output{TaskID: t.id, TaskStatus: "RUNNING",
		SubmitTime: upstreamTime(t.submitted), ScheduledTime: upstreamTime(t.scheduled)}})
}

func succeeded(t *task) reply {
	return taskReply(body{
		Output: output{
			TaskID: t.id, TaskStatus: "SUCCEEDED",
			SubmitTime: upstreamTime(t.submitted), ScheduledTime: upstreamTime(t.scheduled), EndTime: upstreamTime(t.ended),
			VideoURL:     videoURL(t.id, t.ended),
			OrigPrompt:   origPrompt,
			ActualPrompt: actualPrompt,
		},
		Usage: &usage{VideoCount: 1, VideoRatio: "832*480", VideoDuration: 5},
	})
}

func failed(t *task) reply {
	return taskReply(body{Output: output{
		TaskID: t.id, TaskStatus: "FAILED",
		SubmitTime: upstreamTime(t.submitted), ScheduledTime: upstreamTime(t.scheduled), EndTime: upstreamTime(t.ended),
		Code:    "DataInspectionFailed",
		Message: "Output data may contain inappropriate content.",
	}})
}

// notFound is the relay's answer for a task id it does not know.
func notFound() reply {
	return reply{status: http.StatusNotFound, contentType: "application/json",
		body: []byte(`{"code":"task_not_exist","message":"task_not_exist","data":null}`)}
}

const (
	origPrompt   = "A red fox trots across a snowy meadow at sunrise, its breath steaming in the cold air."
	actualPrompt = "A red fox with a thick winter coat trots steadily across a snow-covered meadow at sunrise. " +
		"Golden light grazes the snow and its breath steams in the cold air. Low tracking shot, shallow depth of field, " +
		"soft warm tones, realistic style."
	gatewayPage = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n" +
		"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

// body is a DashScope task body, its keys in the upstream's order.
type body struct {
	RequestID string `json:"request_id"`
	Output    output `json:"output"`
	Usage     *usage `json:"usage,omitempty"`
}

type output struct {
	TaskID        string `json:"task_id"`
	TaskStatus    string `json:"task_status"`
	SubmitTime    string `json:"submit_time,omitempty"`
	ScheduledTime string `json:"scheduled_time,omitempty"`
	EndTime       string `json:"end_time,omitempty"`
	VideoURL      string `json:"video_url,omitempty"`
	OrigPrompt    string `json:"orig_prompt,omitempty"`
	ActualPrompt  string `json:"actual_prompt,omitempty"`
	Code          string `json:"code,omitempty"`
	Message       string `json:"message,omitempty"`
}

// envelope is DashScope's flat error body.
type envelope struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

type usage struct {
	VideoCount    int    `json:"video_count"`
	VideoRatio    string `json:"video_ratio"`
	VideoDuration int    `json:"video_duration"`
}

func taskReply(b body) reply {
	b.RequestID = newRequestID()
	rep := jsonReply(http.StatusOK, b)
	rep.taskStatus = b.Output.TaskStatus
	return rep
}

func jsonReply(status int, v any) reply {
	data, err := json.Marshal(v)
	if err != nil {
		// Only strings and numbers go in: nothing here can fail to encode.
		panic(fmt.Sprintf("simulate: encoding body: %v", err))
	}
	return reply{status: status, contentType: "application/json", body: data}
}

// upstreamZone is the zone of the upstream's times (China Standard Time): they carry none.
var upstreamZone = time.FixedZone("CST", 8*60*60)

// UpstreamTimeLayout is the layout of the upstream's submit_time, scheduled_time and end_time,
// read in UTC+8.
const UpstreamTimeLayout = "2006-01-02 15:04:05.000"

func upstreamTime(t time.Time) string {
	return t.In(upstreamZone).Format(UpstreamTimeLayout)
}

// videoURL is a signed-looking object-store URL that expires 24 hours after the task ended, as
// the provider's do. Its host is under .invalid, so nobody mistakes it for a real video.
func videoURL(id string, ended time.Time) string {
	expires := strconv.FormatInt(ended.Add(24*time.Hour).Unix(), 10)
	sum := sha256.Sum256([]byte(id))
	object := fmt.Sprintf("1d/%s/%s/%x-%x-%x-%x-%x.mp4", hex.EncodeToString(sum[:1]), ended.In(upstreamZone).Format("20060102"),
		sum[1:5], sum[5:7], sum[7:9], sum[9:11], sum[11:17])
	mac := hmac.New(sha1.New, []byte("simulated-secret"))
	mac.Write([]byte("GET\n\n\n" + expires + "\n/dashscope-result/" + object))
	q := "Expires=" + expires + "&OSSAccessKeyId=LTAI5tSiMuLaTeD0000000000&Signature=" +
		url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return "https://dashscope-result-bj.oss-cn-beijing.simulated.invalid/" + object + "?" + q
}

// newRequestID is a fresh UUID, as the provider's request ids are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
