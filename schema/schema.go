// Package schema is the tool contract as Go types: the inputs of the tools, the result
// objects they return, and the JSON schemas generated from them with google/jsonschema-go.
// It knows nothing of MCP or of the upstream.
package schema

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
)

// TaskIDPattern is the task ids accepted, stated for clients that validate before calling: the
// rule of api.ValidateTaskID, 1–128 characters of A–Z a–z 0–9 - _ . : other than "." and "..",
// with ASCII white space around them. The ids of one or two characters are those with a
// character other than a dot, optionally after one dot. White space is spelled [\t-\r ]
// because \s means fewer characters in Go's regexp and more in ECMAScript's.
const TaskIDPattern = `^[\t-\r ]*(?:[\w.:-]{3,128}|\.?[\w:-][\w.:-]?)[\t-\r ]*$`

// Bounds of timeout_seconds.
const (
	MinTimeoutSeconds = 1
	MaxTimeoutSeconds = 3600
)

// GetVideoTaskInput is the input of get_video_task.
type GetVideoTaskInput struct {
	TaskID string `json:"task_id" jsonschema:"Task id from the submission's output.task_id."`
}

// WaitForVideoTaskInput is the input of wait_for_video_task.
type WaitForVideoTaskInput struct {
	TaskID string `json:"task_id" jsonschema:"Task id from the submission's output.task_id."`
	// TimeoutSeconds is 0 when the caller did not set it: the server's default applies.
	TimeoutSeconds int `json:"timeout_seconds,omitempty" jsonschema:"Seconds this call may wait (1-3600)."`
}

// TaskResult is the structuredContent of the query tools: complete on its own, because some
// clients hand the model nothing else.
//
// Its schema carries no descriptions: the names say enough, the summary field speaks to the
// model, and the whole tools/list answer must stay small. Field meanings:
//   - TaskStatus: as the upstream reported it, passed through (no enum);
//   - Done: the status is terminal (SUCCEEDED, FAILED, CANCELED, UNKNOWN);
//   - VideoURL: the signed URL of a SUCCEEDED task, valid 24 hours;
//   - VideoURLExpiresAt: RFC 3339 UTC, read from the URL's Expires parameter;
//   - Error: why a FAILED (or UNKNOWN) task ended;
//   - Polls, WaitedSeconds: wait_for_video_task only;
//   - LocalPath: download_video only, the absolute path of the saved video on the server's
//     machine (a file:// resource_link in content points at it too).
type TaskResult struct {
	TaskID            string     `json:"task_id"`
	TaskStatus        string     `json:"task_status"`
	Done              bool       `json:"done"`
	Summary           string     `json:"summary"`
	VideoURL          string     `json:"video_url,omitempty"`
	VideoURLExpiresAt string     `json:"video_url_expires_at,omitempty"`
	SubmitTime        string     `json:"submit_time,omitempty"`
	ScheduledTime     string     `json:"scheduled_time,omitempty"`
	EndTime           string     `json:"end_time,omitempty"`
	OrigPrompt        string     `json:"orig_prompt,omitempty"`
	ActualPrompt      string     `json:"actual_prompt,omitempty"`
	Usage             Usage      `json:"usage,omitempty"`
	Error             *TaskError `json:"error,omitempty"`
	RequestID         string     `json:"request_id,omitempty"`
	Polls             *int       `json:"polls,omitempty"`
	WaitedSeconds     *float64   `json:"waited_seconds,omitempty"`
	LocalPath         string     `json:"local_path,omitempty"`
}

// Usage is the upstream's usage object, every key kept. Older models send video_count,
// video_ratio and video_duration; newer ones other keys.
type Usage map[string]any

// TaskError is the upstream's reason for a failed task.
type TaskError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// GetVideoTaskInputSchema returns the input schema of get_video_task.
func GetVideoTaskInputSchema() json.RawMessage {
	return mustMarshal(GetVideoTaskInputJSONSchema())
}

// GetVideoTaskInputJSONSchema is GetVideoTaskInputSchema as a *jsonschema.Schema, for
// validating arguments.
func GetVideoTaskInputJSONSchema() *jsonschema.Schema {
	return inputSchema[GetVideoTaskInput]()
}

// WaitForVideoTaskInputSchema returns the input schema of wait_for_video_task, telling the
// server's default budget, defaultSeconds.
func WaitForVideoTaskInputSchema(defaultSeconds int) json.RawMessage {
	return mustMarshal(WaitForVideoTaskInputJSONSchema(defaultSeconds))
}

// WaitForVideoTaskInputJSONSchema is WaitForVideoTaskInputSchema as a *jsonschema.Schema, for
// validating arguments.
func WaitForVideoTaskInputJSONSchema(defaultSeconds int) *jsonschema.Schema {
	s := inputSchema[WaitForVideoTaskInput]()
	timeout := s.Properties["timeout_seconds"]
	timeout.Description += fmt.Sprintf(" Omit for the server default (%d), which fits most clients' per-call limit.", defaultSeconds)
	timeout.Minimum = ptr(float64(MinTimeoutSeconds))
	timeout.Maximum = ptr(float64(MaxTimeoutSeconds))
	return s
}

// TaskResultSchema returns the output schema the query tools declare. task_status has no enum, so
// that a client that validates does not choke on a status the upstream adds later.
func TaskResultSchema() json.RawMessage {
	return mustMarshal(TaskResultJSONSchema())
}

// TaskResultJSONSchema is TaskResultSchema as a *jsonschema.Schema, for validating results.
func TaskResultJSONSchema() *jsonschema.Schema {
	s := mustFor[TaskResult]()
	s.Properties["polls"].Minimum = ptr(0.0)
	s.Properties["waited_seconds"].Minimum = ptr(0.0)

	usage := s.Properties["usage"]
	usage.Properties = map[string]*jsonschema.Schema{
		"video_count":    {Type: "integer"},
		"video_ratio":    {Type: "string"},
		"video_duration": {Type: "number"},
	}
	usage.PropertyOrder = []string{"video_count", "video_ratio", "video_duration"}
	usage.AdditionalProperties = &jsonschema.Schema{}
	return s
}

// inputSchema generates an input schema with the task_id rules added.
func inputSchema[T any]() *jsonschema.Schema {
	s := mustFor[T]()
	id := s.Properties["task_id"]
	id.MinLength = ptr(1)
	id.MaxLength = ptr(1024) // white space around the id is trimmed; the id itself is checked by Pattern.
	id.Pattern = TaskIDPattern
	return s
}

// mustFor generates the schema of T with nullable unions removed: pointer fields here are
// optional, never null, and some model APIs refuse `"type": ["null", …]`.
func mustFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{
		TypeSchemas: map[reflect.Type]*jsonschema.Schema{
			reflect.TypeFor[Usage](): {Type: "object"},
		},
	})
	if err != nil {
		// The types are fixed at compile time; a failure is a programming error that
		// every test run catches.
		panic(fmt.Sprintf("schema: %v", err))
	}
	dropNullUnions(s)
	return s
}

func dropNullUnions(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.Types) == 2 && s.Types[0] == "null" {
		s.Type, s.Types = s.Types[1], nil
	}
	for _, p := range s.Properties {
		dropNullUnions(p)
	}
	dropNullUnions(s.Items)
}

func mustMarshal(s *jsonschema.Schema) json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("schema: %v", err))
	}
	return b
}

func ptr[T any](v T) *T { return &v }
