package schema_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

func TestSchemasHaveNoNullUnions(t *testing.T) {
	for name, raw := range map[string]json.RawMessage{
		"get input":  schema.GetVideoTaskInputSchema(),
		"wait input": schema.WaitForVideoTaskInputSchema(45),
		"result":     schema.TaskResultSchema(),
	} {
		if bytes.Contains(raw, []byte(`"null"`)) {
			t.Errorf("%s schema has a null type: %s", name, raw)
		}
		if !json.Valid(raw) {
			t.Errorf("%s schema is not JSON", name)
		}
	}
}

func TestInputSchemas(t *testing.T) {
	tests := []struct {
		name  string
		raw   json.RawMessage
		input string
		valid bool
	}{
		{"get: an id", schema.GetVideoTaskInputSchema(), `{"task_id":"0385dc79-5ff8-4d82-bcb6-a1e4e7d7f4b3"}`, true},
		{"get: an id with spaces around", schema.GetVideoTaskInputSchema(), `{"task_id":" abc:1.2_3 \n"}`, true},
		{"get: missing id", schema.GetVideoTaskInputSchema(), `{}`, false},
		{"get: slash", schema.GetVideoTaskInputSchema(), `{"task_id":"a/b"}`, false},
		{"get: too long", schema.GetVideoTaskInputSchema(), `{"task_id":"` + strings.Repeat("a", 129) + `"}`, false},
		{"get: unknown argument", schema.GetVideoTaskInputSchema(), `{"task_id":"a","x":1}`, false},
		{"wait: default timeout", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a"}`, true},
		{"wait: timeout 1", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a","timeout_seconds":1}`, true},
		{"wait: timeout 3600", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a","timeout_seconds":3600}`, true},
		{"wait: timeout 0", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a","timeout_seconds":0}`, false},
		{"wait: timeout 3601", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a","timeout_seconds":3601}`, false},
		{"wait: fractional timeout", schema.WaitForVideoTaskInputSchema(45), `{"task_id":"a","timeout_seconds":1.5}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s jsonschema.Schema
			if err := json.Unmarshal(tt.raw, &s); err != nil {
				t.Fatalf("decode schema: %v", err)
			}
			if err := validate(t, &s, tt.input); (err == nil) != tt.valid {
				t.Errorf("validate(%s) = %v, want valid %v", tt.input, err, tt.valid)
			}
		})
	}
}

func TestTaskIDPatternMatchesIDs(t *testing.T) {
	re := regexp.MustCompile(schema.TaskIDPattern)
	for id, want := range map[string]bool{
		"abc": true, "a-b_c.d:e": true, " abc ": true, strings.Repeat("x", 128): true,
		"": false, "a b": false, "a/b": false, strings.Repeat("x", 129): false, "é": false,
	} {
		if got := re.MatchString(id); got != want {
			t.Errorf("TaskIDPattern matches %q = %v, want %v", id, got, want)
		}
	}
}

// taskIDCases are ids at the edges of the task id rule: the dot-only ids, the length limit, and
// white space of every kind around and inside an id.
var taskIDCases = []string{
	"abc", "a", "Z", "0", "-", "_", ":", ".", "..", "...", ".a", "a.", "..a", "a..", ".:", ":.",
	"a..b", "a:b", "a-b_c.d:e", " abc ", "\tabc\n", "\vabc\f", "\rabc ", " . ", "\t..\t",
	"\u00a0x\u3000", "\u0085abc\u2028", "\u1680x\u2000\u200a\u202f\u205f\u2029",
	"\ufeffabc", "abc\u200b", "a b", "a\u00a0b", "a/b", "a\\b", "é", "ａbc", "a\x00",
	"", " ", "\u3000", strings.Repeat("x", 128), " " + strings.Repeat("x", 128) + " ",
	strings.Repeat("x", 129), strings.Repeat(".", 128), strings.Repeat(".", 3),
}

// TestTaskIDPatternAgreesWithValidateTaskID: a client that checks task_id against the schema
// and the server that checks it with api.ValidateTaskID accept the same ids.
func TestTaskIDPatternAgreesWithValidateTaskID(t *testing.T) {
	re := regexp.MustCompile(schema.TaskIDPattern)
	for _, id := range taskIDCases {
		_, err := api.ValidateTaskID(id)
		if got, want := re.MatchString(id), err == nil; got != want {
			t.Errorf("TaskIDPattern matches %q = %v, but ValidateTaskID(%q) = %v", id, got, id, err)
		}
	}
}

func FuzzTaskIDPattern(f *testing.F) {
	for _, id := range taskIDCases {
		f.Add(id)
	}
	re := regexp.MustCompile(schema.TaskIDPattern)
	f.Fuzz(func(t *testing.T, id string) {
		_, err := api.ValidateTaskID(id)
		if got, want := re.MatchString(id), err == nil; got != want {
			t.Errorf("TaskIDPattern matches %q = %v, but ValidateTaskID(%q) = %v", id, got, id, err)
		}
	})
}

func TestResultSchemaAcceptsEveryResultShape(t *testing.T) {
	tests := []struct {
		name   string
		result string
		valid  bool
	}{
		{"minimal", `{"task_id":"a","task_status":"RUNNING","done":false,"summary":"s"}`, true},
		{"a status added later", `{"task_id":"a","task_status":"ARCHIVED","done":false,"summary":"s"}`, true},
		{"succeeded", `{"task_id":"a","task_status":"SUCCEEDED","done":true,"summary":"s","video_url":"https://x/v.mp4?Expires=1","video_url_expires_at":"2025-10-27T04:52:11Z","usage":{"video_count":1,"video_ratio":"832*480","video_duration":5,"SR":480,"size":"1280*720"},"polls":3,"waited_seconds":12.5}`, true},
		{"failed", `{"task_id":"a","task_status":"FAILED","done":true,"summary":"s","error":{"code":"InvalidParameter","message":"m"}}`, true},
		{"no summary", `{"task_id":"a","task_status":"RUNNING","done":false}`, false},
		{"an undeclared field", `{"task_id":"a","task_status":"RUNNING","done":false,"summary":"s","extra":1}`, false},
		{"usage count as text", `{"task_id":"a","task_status":"SUCCEEDED","done":true,"summary":"s","usage":{"video_count":"one"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate(t, schema.TaskResultJSONSchema(), tt.result); (err == nil) != tt.valid {
				t.Errorf("validate(%s) = %v, want valid %v", tt.result, err, tt.valid)
			}
		})
	}
}

func TestResultMarshalsOnlyWhatIsSet(t *testing.T) {
	polls, waited := 0, 0.0
	b, err := json.Marshal(schema.TaskResult{TaskID: "a", TaskStatus: "PENDING", Summary: "s", Polls: &polls, WaitedSeconds: &waited})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"task_id":"a","task_status":"PENDING","done":false,"summary":"s","polls":0,"waited_seconds":0}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
}

func validate(t *testing.T, s *jsonschema.Schema, instance string) error {
	t.Helper()
	resolved, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	var v any
	if err := json.Unmarshal([]byte(instance), &v); err != nil {
		t.Fatalf("decode instance: %v", err)
	}
	return resolved.Validate(v)
}
