package api_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// contractValid says whether the task id rule accepts id: 1–128 characters of A–Z a–z 0–9 -
// _ . : after trimming surrounding ASCII white space, and not "." or "..".
func contractValid(id string) bool {
	id = strings.Trim(id, " \t\n\v\f\r")
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func FuzzValidateTaskID(f *testing.F) {
	for _, id := range invalidTaskIDs {
		f.Add(id)
	}
	for _, id := range []string{taskID, "  abc  ", "a:b", "a..b", "...", ".a", strings.Repeat("Z", 128), "\u00a0x\u3000"} {
		f.Add(id)
	}
	c, err := api.NewClient(testToken, api.WithBaseURL("http://127.0.0.1:1"+prefix))
	if err != nil {
		f.Fatalf("NewClient: %v", err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, err := api.ValidateTaskID(in)
		if want := contractValid(in); (err == nil) != want {
			t.Fatalf("ValidateTaskID(%q) = %q, %v; the contract says valid = %v", in, id, err, want)
		}
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != api.KindInvalidTaskID || id != "" {
				t.Fatalf("ValidateTaskID(%q) = %q, %v, want \"\" and an *api.Error of kind %v", in, id, err, api.KindInvalidTaskID)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("ValidateTaskID(%q) error %q is not valid UTF-8", in, err)
			}
			return
		}
		if want := strings.Trim(in, " \t\n\v\f\r"); id != want {
			t.Fatalf("ValidateTaskID(%q) = %q, want %q", in, id, want)
		}
		raw, err := c.TaskURL(id)
		if err != nil {
			t.Fatalf("TaskURL(%q) refused an id ValidateTaskID accepted: %v", id, err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("TaskURL(%q) = %q, which does not parse: %v", id, raw, err)
		}
		want := prefix + "/task/" + id
		if u.Path != want || u.EscapedPath() != want || u.Host != "127.0.0.1:1" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("TaskURL(%q) = %q: host %q path %q escaped %q query %q fragment %q, want path %q on the base host",
				id, raw, u.Host, u.Path, u.EscapedPath(), u.RawQuery, u.Fragment, want)
		}
	})
}

// decodeSeeds are bodies from the tests: tasks, error envelopes, other vendors, junk.
var decodeSeeds = []string{
	succeededBody,
	`{"request_id":"r1","output":{"task_id":"t1","task_status":"PENDING"}}`,
	`{"request_id":"r4","output":{"task_id":"t4","task_status":"FAILED","code":"DataInspectionFailed","message":"m"}}`,
	`{"request_id":"r6","output":{"task_id":"t6","task_status":"UNKNOWN"}}`,
	`{"request_id":"r7","output":{"task_id":"t7","task_status":"QUEUED_FOR_REVIEW"}}`,
	`{"output":{"task_id":"t8","task_status":"SUCCEEDED"},"usage":{"duration":10,"size":"1280*720","SR":720,"input_video_duration":3.5}}`,
	`{"output":{"task_id":"t9","task_status":"RUNNING","task_metrics":{"TOTAL":4,"SUCCEEDED":1,"FAILED":0}}}`,
	"{\"output\":{\"task_id\":\"t\",\"task_status\":\"FAILED\",\"message\":\"bad \xff\xfe\"}}",
	`{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}`,
	`{"error":{"message":"x","type":"t","code":null}}`,
	`{"error":{"message":"x","type":"t","code":404}}`,
	`{"error":"plain string"}`,
	`{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r"}`,
	`{"code":"task_not_exist","message":"task_not_exist","data":null}`,
	`{"code":0,"data":{"task_id":"x","status":"success"}}`,
	`{"status":"Success","file_id":"1","base_resp":{"status_code":0,"status_msg":"success"}}`,
	`{"request_id":"r-1"}`,
	`{"request_id":"r-2","output":{"task_id":"t"}}`,
	`{"output":{"task_status":5}}`,
	`{"request_id":"r","output":{"task_id":"t","task_sta`,
	"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>",
	"",
	"null",
	"[]",
	`"x"`,
	"\xff\xfe\xfd",
	`{"request_id":12345,"error":"","usage":"n/a","base_resp":"x","output":{"task_id":987,"task_status":"FAILED","code":500}}`,
	`{"output":{"task_status":"RUNNING"},"error":{"message":["x"]}}`,
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		task, err := api.DecodeTask(body)
		if (task == nil) == (err == nil) {
			t.Fatalf("DecodeTask(%q) = %v, %v, want exactly one of a task and an error", body, task, err)
		}
		// A body is a task exactly when a plain JSON reading finds a non-empty string in
		// output.task_status: no other field can make it fail.
		var plain struct {
			Output *struct {
				TaskStatus string `json:"task_status"`
			} `json:"output"`
		}
		status := ""
		if json.Unmarshal(body, &plain) == nil && plain.Output != nil {
			status = plain.Output.TaskStatus
		}
		if err != nil {
			if status != "" {
				t.Fatalf("DecodeTask(%q) = %v, want a task with status %q", body, err, status)
			}
			switch err.Kind {
			case api.KindNotFound, api.KindRejected, api.KindNotATask:
			default:
				t.Fatalf("DecodeTask(%q) error kind = %v, want not found, rejected or not a task", body, err.Kind)
			}
			if msg := err.Error(); !utf8.ValidString(msg) {
				t.Fatalf("DecodeTask(%q) error %q is not valid UTF-8", body, msg)
			}
			if err.Kind == api.KindNotATask && err.Message == "" {
				t.Fatalf("DecodeTask(%q) = %v, want a message saying what the body is", body, err)
			}
			return
		}
		if task.Status == "" || string(task.Status) != status {
			t.Fatalf("DecodeTask(%q).Status = %q, want output.task_status %q", body, task.Status, status)
		}
		for _, s := range []string{task.RequestID, task.ID, string(task.Status), task.SubmitTime, task.ScheduledTime,
			task.EndTime, task.VideoURL, task.OrigPrompt, task.ActualPrompt, task.Code, task.Message} {
			if !utf8.ValidString(s) {
				t.Fatalf("DecodeTask(%q) = %+v, which holds invalid UTF-8 %q", body, task, s)
			}
		}
		again, _ := api.DecodeTask(body)
		if diff := cmp.Diff(task, again); diff != "" {
			t.Fatalf("DecodeTask(%q) is not deterministic (-first +second):\n%s", body, diff)
		}
	})
}
