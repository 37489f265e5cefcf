package simulate

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Paths the simulator serves besides the aggregator's GET /task/{task_id}.
const (
	// Text2VideoPath and Image2VideoPath are the aggregator's submission endpoints.
	Text2VideoPath  = "/task/bailian/text2video"
	Image2VideoPath = "/task/bailian/image2video"
	// DashScopeSubmitPath is DashScope's submission endpoint; it requires
	// X-DashScope-Async: enable.
	DashScopeSubmitPath = "/api/v1/services/aigc/video-generation/video-synthesis"
	// DashScopeTasksPath is the prefix of DashScope's query, GET /api/v1/tasks/{task_id}.
	DashScopeTasksPath = "/api/v1/tasks/"
)

// FailKeyword, anywhere in a submitted prompt (any case), makes the new task follow the
// sim-fail story; any other prompt gets a task that follows sim-success.
const FailKeyword = "fail"

// maxSubmissionBody bounds a submission body the simulator reads.
const maxSubmissionBody = 1 << 20

// submission is the part of a DashScope-form body the simulator looks at.
type submission struct {
	Model string `json:"model"`
	Input struct {
		Prompt string `json:"prompt"`
		ImgURL string `json:"img_url"`
	} `json:"input"`
}

// serveSubmit answers a submission on one of the three endpoints, as DashScope does: a new
// PENDING task, or a 400 InvalidParameter naming what is wrong. The new task's id is a story id
// with a fresh suffix ("sim-success-3f2a…"), so queries of it tell that story from the start.
func (h *handler) serveSubmit(w http.ResponseWriter, r *http.Request) {
	rep := h.submit(r)
	h.logger.DebugContext(r.Context(), "simulated upstream answered a submission",
		"path", r.URL.Path, "http_status", rep.status, "task_status", rep.taskStatus)
	writeReply(w, rep)
}

func (h *handler) submit(r *http.Request) reply {
	if rep, refused := refuseSubmission(r); refused {
		return rep
	}
	sub, problem := readSubmission(r)
	if problem == "" {
		problem = submissionProblem(r.URL.Path, sub)
	}
	if problem != "" {
		return jsonReply(http.StatusBadRequest, envelope{Code: "InvalidParameter", Message: problem, RequestID: newRequestID()})
	}
	s := storyOf(IDSuccess)
	if strings.Contains(strings.ToLower(sub.Input.Prompt), FailKeyword) {
		s = storyOf(IDFail)
	}
	id := s.id + "-" + newRequestID()

	h.mu.Lock()
	now := h.now()
	t := h.lookup(id, s, now)
	t.submitted = now
	h.mu.Unlock()
	return taskReply(body{Output: output{TaskID: id, TaskStatus: "PENDING"}})
}

// refuseSubmission answers a submission the upstream refuses before reading it: one without
// a key, or one to DashScope's endpoint without X-DashScope-Async. refused is false for others.
func refuseSubmission(r *http.Request) (rep reply, refused bool) {
	if !authorized(r.Header.Get("Authorization")) {
		return jsonReply(http.StatusUnauthorized, envelope{Code: "InvalidApiKey", Message: "No API-key provided.", RequestID: newRequestID()}), true
	}
	if r.URL.Path == DashScopeSubmitPath && !strings.EqualFold(r.Header.Get("X-DashScope-Async"), "enable") {
		return jsonReply(http.StatusForbidden, envelope{Code: "AccessDenied",
			Message: "current user api does not support synchronous calls", RequestID: newRequestID()}), true
	}
	return reply{}, false
}

// readSubmission reads a submission's body; problem is what is wrong with it, in the
// upstream's words, or "".
func readSubmission(r *http.Request) (sub submission, problem string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxSubmissionBody+1))
	if err != nil || len(raw) > maxSubmissionBody {
		return sub, "The request body is unreadable or too large."
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return sub, "The request body is not valid JSON."
	}
	return sub, ""
}

// submissionProblem says, in the upstream's words, what is wrong with a submission to path, or
// returns "".
func submissionProblem(path string, sub submission) string {
	i2vModel := strings.Contains(sub.Model, "-i2v-")
	switch {
	case sub.Model == "" || (!i2vModel && !strings.Contains(sub.Model, "-t2v-")):
		return "Model not exist."
	case path == Text2VideoPath && i2vModel, path == Image2VideoPath && !i2vModel:
		return "Model " + sub.Model + " is not served on " + path + "."
	case strings.TrimSpace(sub.Input.Prompt) == "":
		return "Field required: input.prompt"
	case i2vModel && strings.TrimSpace(sub.Input.ImgURL) == "":
		return "Field required: input.img_url"
	case !i2vModel && sub.Input.ImgURL != "":
		return "Field not allowed for text-to-video: input.img_url"
	}
	return ""
}

// serveDashScopeTask answers GET /api/v1/tasks/{task_id} as DashScope does: like the
// aggregator, except that an id DashScope does not know is a task with status UNKNOWN (HTTP
// 200), never a 404.
func (h *handler) serveDashScopeTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("task_id")
	if s := storyOf(id); authorized(r.Header.Get("Authorization")) && (s == nil || s.id == IDMissing) {
		rep := taskReply(body{Output: output{TaskID: id, TaskStatus: "UNKNOWN"}})
		h.logger.DebugContext(r.Context(), "simulated upstream answered", "task_id", id,
			"query", 0, "http_status", rep.status, "task_status", rep.taskStatus)
		writeReply(w, rep)
		return
	}
	h.serveTask(w, r)
}

// writeReply sends rep.
func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// routeSubmissions adds the submission endpoints and DashScope's query to mux.
func (h *handler) routeSubmissions(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Text2VideoPath, h.serveSubmit)
	mux.HandleFunc("POST "+Image2VideoPath, h.serveSubmit)
	mux.HandleFunc("POST "+DashScopeSubmitPath, h.serveSubmit)
	mux.HandleFunc("GET "+DashScopeTasksPath+"{task_id}", h.serveDashScopeTask)
}
