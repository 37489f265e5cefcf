package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// inputError is an argument the caller must fix. Its text is shown to the model.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// invalidInput is err, one error or several joined, as one *inputError.
func invalidInput(err error) error {
	return &inputError{msg: strings.ReplaceAll(err.Error(), "\n", "; ")}
}

// inputDecoder reads one tool's arguments into its contract type In, by the tool's input
// schema: only the schema's properties, each of its JSON type and within its bounds; decoded
// into In and checked by the tool's value rules; and last, the arguments as read validated as a
// whole against the resolved schema. Numbers and booleans sent as strings are accepted, since
// some models quote them; null is the same as absent.
//
// The value rules that have a better message than a schema keyword can give (a task id's
// characters, a model's sizes and durations, the required arguments) are check's: it sees the
// decoded input and returns it normalized. The schema's pattern and enum keywords are left to
// it, because the contract accepts forms they do not spell out (an id with white space around
// it, a size written 1280x720, a model name in capitals).
type inputDecoder[In any] struct {
	properties map[string]*jsonschema.Schema
	names      []string // the properties in the schema's order, for messages
	takes      string   // how the message of an unknown argument lists them
	shape      *jsonschema.Resolved
	check      func(In) (In, error)
}

// newInputDecoder returns the decoder of a tool whose input schema is s. The schemas are the
// contract's own, generated at start: one that does not resolve is a programming error.
func newInputDecoder[In any](s *jsonschema.Schema, check func(In) (In, error)) *inputDecoder[In] {
	d := &inputDecoder[In]{properties: s.Properties, names: s.PropertyOrder, takes: "this tool takes", check: check}
	shape := s.CloneSchemas()
	for _, p := range shape.Properties {
		p.Pattern, p.Enum = "", nil
	}
	resolved, err := shape.Resolve(nil)
	if err != nil {
		panic(fmt.Sprintf("tools: input schema: %v", err))
	}
	d.shape = resolved
	return d
}

// decode reads raw, the arguments of a call, reporting every argument of the wrong type or out
// of bounds at once. Its error is an *inputError.
func (d *inputDecoder[In]) decode(raw any) (In, error) {
	var in In
	args, err := argumentsObject(raw)
	if err != nil {
		return in, err
	}
	var errs []error
	clean := make(map[string]any, len(args))
	for _, key := range sortedKeys(args) {
		v, err := d.value(key, args[key])
		switch {
		case err != nil:
			errs = append(errs, err)
		case v != nil:
			clean[key] = v
		}
	}
	if len(errs) > 0 {
		return in, invalidInput(errors.Join(errs...))
	}
	body, err := json.Marshal(clean)
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		return in, badInput("arguments do not fit the tool's input: %v", err)
	}
	if in, err = d.check(in); err != nil {
		return in, invalidInput(err)
	}
	// What the checks above let through must still be what the schema describes.
	if err := d.shape.Validate(clean); err != nil {
		return in, badInput("%v", err)
	}
	return in, nil
}

// value is one argument as its property's type says, or nil for null.
func (d *inputDecoder[In]) value(key string, v any) (any, error) {
	p, ok := d.properties[key]
	if !ok {
		return nil, badInput("unknown argument %q; %s %s", truncate(key, 40), d.takes, listOf(d.names))
	}
	if v == nil {
		return nil, nil
	}
	switch p.Type {
	case "string":
		if _, ok := v.(string); !ok {
			return nil, badInput("%s must be a string, not %s", key, jsonKind(v))
		}
	case "integer":
		n, err := wholeNumber(key, v)
		if err != nil {
			return nil, err
		}
		return n, withinBounds(key, n, p)
	case "boolean":
		return booleanValue(key, v)
	}
	return v, nil
}

// wholeNumber reads an integer argument, given as a JSON number or a string.
func wholeNumber(key string, v any) (int64, error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case json.Number:
		parsed, err := v.Float64()
		if err != nil {
			return 0, badInput("%s must be a whole number", key)
		}
		f = parsed
	case string:
		parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, badInput("%s must be a whole number, not %q", key, truncate(v, 40))
		}
		f = parsed
	default:
		return 0, badInput("%s must be a whole number, not %s", key, jsonKind(v))
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, badInput("%s must be a whole number, not %v", key, f)
	}
	// Beyond ±2^53 a float64 no longer holds every integer; no valid value is that large.
	if math.Abs(f) > 1<<53 {
		return 0, badInput("%s %v is out of range", key, f)
	}
	return int64(f), nil
}

// withinBounds checks n against the property's minimum and maximum.
func withinBounds(key string, n int64, p *jsonschema.Schema) error {
	low, high := p.Minimum, p.Maximum
	if (low == nil || float64(n) >= *low) && (high == nil || float64(n) <= *high) {
		return nil
	}
	bound := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) } // 2147483647, not 2.147483647e+09
	switch {
	case low != nil && high != nil:
		return badInput("%s must be between %s and %s, not %d", key, bound(*low), bound(*high), n)
	case low != nil:
		return badInput("%s must be at least %s, not %d", key, bound(*low), n)
	}
	return badInput("%s must be at most %s, not %d", key, bound(*high), n)
}

// booleanValue reads a boolean argument, given as a JSON boolean or a string.
func booleanValue(key string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return false, badInput("%s must be true or false, not %q", key, truncate(v, 40))
		}
		return b, nil
	}
	return false, badInput("%s must be true or false, not %s", key, jsonKind(v))
}

// argumentsObject returns the arguments as an object; absent or null arguments are an empty one.
func argumentsObject(raw any) (map[string]any, error) {
	switch v := raw.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	case json.RawMessage:
		var args map[string]any
		if err := json.Unmarshal(v, &args); err != nil {
			return nil, badInput("arguments must be a JSON object")
		}
		if args == nil { // "null"
			args = map[string]any{}
		}
		return args, nil
	}
	return nil, badInput("arguments must be a JSON object")
}

// checkTaskID is the rule of a task_id argument: present, and a task id once trimmed.
func checkTaskID(raw string) (string, error) {
	if raw == "" {
		return "", badInput("task_id is required: pass the task id from the submission response (output.task_id)")
	}
	id, err := api.ValidateTaskID(raw)
	if e, ok := errors.AsType[*api.Error](err); ok {
		return "", badInput("%s", e.Message)
	}
	return id, err
}

// The decoders of the tools' inputs.
var (
	getInput = newInputDecoder(schema.GetVideoTaskInputJSONSchema(), func(in schema.GetVideoTaskInput) (schema.GetVideoTaskInput, error) {
		id, err := checkTaskID(in.TaskID)
		return schema.GetVideoTaskInput{TaskID: id}, err
	})
	// The default shown in wait_for_video_task's schema is only a description: any will do.
	waitInput = newInputDecoder(schema.WaitForVideoTaskInputJSONSchema(0), func(in schema.WaitForVideoTaskInput) (schema.WaitForVideoTaskInput, error) {
		id, err := checkTaskID(in.TaskID)
		in.TaskID = id
		return in, err
	})
	createInput = newInputDecoder(schema.CreateVideoTaskInputJSONSchema(), schema.CreateVideoTaskInput.Validate)
	// createArguments reads them for DecodeCreateInput, whose caller is no model.
	createArguments = func() *inputDecoder[schema.CreateVideoTaskInput] {
		d := *createInput
		d.takes = "the arguments are"
		return &d
	}()
)

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// listOf names items as a list: "a", "a and b", "a, b and c".
func listOf(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
