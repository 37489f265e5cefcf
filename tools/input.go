package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// inputError is an argument the caller must fix. Its text is shown to the model.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// decodeArguments returns the arguments as an object; absent or null arguments are an empty one.
func decodeArguments(raw any) (map[string]any, error) {
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

// argumentsObject checks that the arguments are an object holding only the allowed keys.
func argumentsObject(raw any, allowed ...string) (map[string]any, error) {
	args, err := decodeArguments(raw)
	if err != nil {
		return nil, err
	}
	for key := range args {
		if !slices.Contains(allowed, key) {
			return nil, badInput("unknown argument %q; this tool takes %s", truncate(key, 40), strings.Join(allowed, " and "))
		}
	}
	return args, nil
}

// taskIDArgument reads and validates task_id.
func taskIDArgument(args map[string]any) (string, error) {
	v, ok := args["task_id"]
	if !ok || v == nil {
		return "", badInput("task_id is required: pass the task id from the submission response (output.task_id)")
	}
	s, ok := v.(string)
	if !ok {
		return "", badInput("task_id must be a string, not %s", jsonKind(v))
	}
	id, err := api.ValidateTaskID(s)
	if err != nil {
		var apiErr *api.Error
		if errors.As(err, &apiErr) {
			return "", badInput("%s", apiErr.Message)
		}
		return "", err
	}
	return id, nil
}

// timeoutArgument reads timeout_seconds: 0 when absent. A whole number sent as a string is
// accepted, since some models quote numbers.
func timeoutArgument(args map[string]any) (int, error) {
	secs, ok, err := wholeNumber(args, "timeout_seconds")
	if err != nil {
		return 0, badInput("%s", err.Error())
	}
	if !ok {
		return 0, nil
	}
	if secs < schema.MinTimeoutSeconds || secs > schema.MaxTimeoutSeconds {
		return 0, badInput("timeout_seconds must be between %d and %d, not %d",
			schema.MinTimeoutSeconds, schema.MaxTimeoutSeconds, secs)
	}
	return int(secs), nil
}

// wholeNumber reads an integer argument; ok is false when it is absent.
func wholeNumber(args map[string]any, key string) (n int64, ok bool, err error) {
	var f float64
	switch v := args[key].(type) {
	case nil:
		return 0, false, nil
	case float64:
		f = v
	case json.Number:
		parsed, perr := v.Float64()
		if perr != nil {
			return 0, false, fmt.Errorf("%s must be a whole number", key)
		}
		f = parsed
	case string:
		parsed, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if perr != nil {
			return 0, false, fmt.Errorf("%s must be a whole number, not %q", key, truncate(v, 40))
		}
		f = parsed
	default:
		return 0, false, fmt.Errorf("%s must be a whole number, not %s", key, jsonKind(v))
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, fmt.Errorf("%s must be a whole number, not %v", key, f)
	}
	// Beyond ±2^53 a float64 no longer holds every integer; no valid value is that large.
	if math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("%s %v is out of range", key, f)
	}
	return int64(f), true, nil
}

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

// invalidInputResult is the error result for arguments the caller must fix.
func invalidInputResult(err error) *mcp.CallToolResult {
	return mcp.NewToolResultError("Invalid input: " + err.Error() + ". Nothing was queried; fix the argument and call again.")
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
