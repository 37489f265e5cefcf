package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// wireTask is the upstream body: a DashScope task, or one of the error envelopes, or another
// vendor's task, all decoded in one pass. Only output.task_status must have its documented
// type; every other field is read leniently (see text), so that one odd field cannot hide
// a task's status.
type wireTask struct {
	RequestID text            `json:"request_id"`
	Output    *wireOutput     `json:"output"`
	Usage     usage           `json:"usage"`
	Code      text            `json:"code"`
	Message   text            `json:"message"`
	Error     *wireError      `json:"error"`
	Data      json.RawMessage `json:"data"`
	// MiniMax-style task bodies carry these.
	Status   json.RawMessage `json:"status"`
	FileID   json.RawMessage `json:"file_id"`
	BaseResp *wireBaseResp   `json:"base_resp"`
}

type wireOutput struct {
	TaskID        text   `json:"task_id"`
	TaskStatus    string `json:"task_status"`
	SubmitTime    text   `json:"submit_time"`
	ScheduledTime text   `json:"scheduled_time"`
	EndTime       text   `json:"end_time"`
	VideoURL      text   `json:"video_url"`
	OrigPrompt    text   `json:"orig_prompt"`
	ActualPrompt  text   `json:"actual_prompt"`
	Code          text   `json:"code"`
	Message       text   `json:"message"`
}

type wireError struct {
	Message text `json:"message"`
	Type    text `json:"type"`
	Code    text `json:"code"`
}

// UnmarshalJSON reads the OpenAI-style error object, or the bare string some relays send
// in its place.
func (e *wireError) UnmarshalJSON(raw []byte) error {
	type plain wireError
	var p plain
	if json.Unmarshal(raw, &p) == nil {
		*e = wireError(p)
		return nil
	}
	*e = wireError{Message: text(rawString(raw))}
	return nil
}

type wireBaseResp struct {
	StatusMsg text `json:"status_msg"`
}

// UnmarshalJSON reads a base_resp object; anything else in its place is an empty one.
func (b *wireBaseResp) UnmarshalJSON(raw []byte) error {
	type plain wireBaseResp
	var p plain
	if json.Unmarshal(raw, &p) == nil {
		*b = wireBaseResp(p)
	}
	return nil
}

// text is a JSON scalar read as text: a string as itself, a number as its digits, and any
// other value as "", never an error.
type text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *text) UnmarshalJSON(raw []byte) error {
	*t = text(rawString(raw))
	return nil
}

// usage keeps every key of a usage object; a usage that is not an object is dropped.
type usage map[string]any

// UnmarshalJSON implements json.Unmarshaler.
func (u *usage) UnmarshalJSON(raw []byte) error {
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		*u = m
	}
	return nil
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
			return nil, &Error{Kind: KindNotATask, RequestID: string(w.RequestID),
				Message: "the body has no \"output\" object: " + bodySnippet(body)}
		default:
			return nil, &Error{Kind: KindNotATask, RequestID: string(w.RequestID),
				Message: "the body's output has no task_status: " + bodySnippet(body)}
		}
	}
	o := w.Output
	return &Task{
		RequestID:     string(w.RequestID),
		ID:            string(o.TaskID),
		Status:        TaskStatus(o.TaskStatus),
		SubmitTime:    string(o.SubmitTime),
		ScheduledTime: string(o.ScheduledTime),
		EndTime:       string(o.EndTime),
		VideoURL:      string(o.VideoURL),
		OrigPrompt:    string(o.OrigPrompt),
		ActualPrompt:  string(o.ActualPrompt),
		Code:          string(o.Code),
		Message:       string(o.Message),
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
	env := envelope{code: string(w.Code), message: string(w.Message), requestID: string(w.RequestID)}
	if w.Error != nil {
		if env.message == "" {
			env.message = string(w.Error.Message)
		}
		if env.code == "" {
			env.code = string(w.Error.Code)
		}
		if env.code == "" {
			env.code = string(w.Error.Type)
		}
	}
	if w.BaseResp != nil && env.message == "" {
		env.message = string(w.BaseResp.StatusMsg)
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
		env.code, env.message = string(w.Output.Code), string(w.Output.Message)
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
	// Enough bytes for snippetLen runes of any width; a body cut here is marked as cut.
	b, cut := body, false
	if len(b) > snippetLen*utf8.UTFMax {
		b, cut = b[:snippetLen*utf8.UTFMax], true
		// Drop a rune the cut split in two rather than show it as U+FFFD.
		for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case utf8.RuneCountInString(s) > snippetLen:
		s = string([]rune(s)[:snippetLen]) + "…"
	case cut:
		s += "…"
	}
	return s
}
