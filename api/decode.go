package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// wireTask is the upstream body: a DashScope task, or one of the error envelopes, or another
// vendor's task, all decoded in one pass.
type wireTask struct {
	RequestID string          `json:"request_id"`
	Output    *wireOutput     `json:"output"`
	Usage     map[string]any  `json:"usage"`
	Code      json.RawMessage `json:"code"`
	Message   string          `json:"message"`
	Error     *wireError      `json:"error"`
	Data      json.RawMessage `json:"data"`
	// MiniMax-style task bodies carry these.
	Status   json.RawMessage `json:"status"`
	FileID   json.RawMessage `json:"file_id"`
	BaseResp *struct {
		StatusCode json.RawMessage `json:"status_code"`
		StatusMsg  string          `json:"status_msg"`
	} `json:"base_resp"`
}

type wireOutput struct {
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
}

type wireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// envelope is an upstream error, whichever of the three shapes it came in.
type envelope struct {
	code, message, requestID string
}

// decodeTask decodes a 2xx body. Anything that is not a Bailian task is an *Error: an error
// envelope keeps its message; another vendor's task or non-JSON is KindNotATask.
func decodeTask(body []byte) (*Task, *Error) {
	var w wireTask
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &Error{Kind: KindNotATask, Message: describeNonJSON(body), Err: err}
	}
	if w.Output == nil || w.Output.TaskStatus == "" {
		env := w.envelope()
		switch {
		case isTaskNotExist(env.code, env.message):
			return nil, &Error{Kind: KindNotFound, Code: env.code, Message: env.message, RequestID: env.requestID}
		case w.Output == nil && (env.code != "" || env.message != "") && !w.isOtherVendorTask():
			return nil, &Error{Kind: KindRejected, Code: env.code, Message: env.message, RequestID: env.requestID}
		case w.isOtherVendorTask():
			return nil, &Error{Kind: KindNotATask, Code: env.code, RequestID: env.requestID,
				Message: "the body is another vendor's task, not an Ali Bailian video task" + quoteIfSet(env.message)}
		case w.Output == nil:
			return nil, &Error{Kind: KindNotATask, RequestID: w.RequestID,
				Message: "the body has no \"output\" object: " + bodySnippet(body)}
		default:
			return nil, &Error{Kind: KindNotATask, RequestID: w.RequestID,
				Message: "the body's output has no task_status: " + bodySnippet(body)}
		}
	}
	o := w.Output
	return &Task{
		RequestID:     w.RequestID,
		ID:            o.TaskID,
		Status:        TaskStatus(o.TaskStatus),
		SubmitTime:    o.SubmitTime,
		ScheduledTime: o.ScheduledTime,
		EndTime:       o.EndTime,
		VideoURL:      o.VideoURL,
		OrigPrompt:    o.OrigPrompt,
		ActualPrompt:  o.ActualPrompt,
		Code:          o.Code,
		Message:       o.Message,
		Usage:         w.Usage,
	}, nil
}

// isOtherVendorTask reports a body in another vendor's task shape: `code`/`data` with data,
// or `status`/`file_id`/`base_resp`.
func (w *wireTask) isOtherVendorTask() bool {
	hasData := len(w.Data) > 0 && !bytes.Equal(w.Data, []byte("null"))
	return hasData || len(w.FileID) > 0 || (w.BaseResp != nil && len(w.Status) > 0)
}

// envelope extracts the upstream's code and message from any of the three error shapes.
func (w *wireTask) envelope() envelope {
	env := envelope{code: rawString(w.Code), message: w.Message, requestID: w.RequestID}
	if w.Error != nil {
		if env.message == "" {
			env.message = w.Error.Message
		}
		if env.code == "" {
			env.code = rawString(w.Error.Code)
		}
		if env.code == "" {
			env.code = w.Error.Type
		}
	}
	if w.BaseResp != nil && env.message == "" {
		env.message = w.BaseResp.StatusMsg
	}
	return env
}

// decodeEnvelope reads an error body; a body that is not JSON yields an empty envelope.
func decodeEnvelope(body []byte) envelope {
	var w wireTask
	if json.Unmarshal(body, &w) != nil {
		return envelope{}
	}
	env := w.envelope()
	if env.code == "" && env.message == "" && w.Output != nil {
		env.code, env.message = w.Output.Code, w.Output.Message
	}
	return env
}

// isTaskNotExist recognises a relay's or provider's way of saying the task id is unknown.
func isTaskNotExist(code, message string) bool {
	s := strings.ToLower(code + " " + message)
	return strings.Contains(s, "task_not_exist") || strings.Contains(s, "task not exist") ||
		strings.Contains(s, "task not found") || strings.Contains(s, "task_not_found")
}

// rawString renders a JSON scalar (string or number) as text; other values yield "".
func rawString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func quoteIfSet(msg string) string {
	if msg == "" {
		return ""
	}
	return " (its message: " + msg + ")"
}

// describeNonJSON says what a body that failed to decode looks like.
func describeNonJSON(body []byte) string {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return "the body is empty"
	case bytes.HasPrefix(trimmed, []byte("<")):
		return "the body is HTML or XML, not JSON (a gateway page?): " + bodySnippet(body)
	case json.Valid(trimmed):
		return "the body is JSON but not a task object: " + bodySnippet(body)
	default:
		return "the body is not valid JSON (truncated?): " + bodySnippet(body)
	}
}

// snippetLen bounds how much of a body is quoted in an error.
const snippetLen = 200

// bodySnippet returns the start of a body as one line of valid UTF-8, for quoting. HTML tags
// are kept: they tell a reader what kind of page came back.
func bodySnippet(body []byte) string {
	s := strings.ToValidUTF8(string(body[:min(len(body), snippetLen*2)]), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > snippetLen {
		s = string([]rune(s)[:snippetLen]) + "…"
	}
	return s
}
