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
	v, ok := args["timeout_seconds"]
	if !ok || v == nil {
		return 0, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		parsed, err := n.Float64()
		if err != nil {
			return 0, badInput("timeout_seconds must be a whole number of seconds")
		}
		f = parsed
	case string:
		parsed, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return 0, badInput("timeout_seconds must be a whole number of seconds, not %q", truncate(n, 40))
		}
		f = parsed
	default:
		return 0, badInput("timeout_seconds must be a whole number of seconds, not %s", jsonKind(v))
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, badInput("timeout_seconds must be a whole number of seconds, not %v", f)
	}
	if f < schema.MinTimeoutSeconds || f > schema.MaxTimeoutSeconds {
		return 0, badInput("timeout_seconds must be between %d and %d, not %v",
			schema.MinTimeoutSeconds, schema.MaxTimeoutSeconds, f)
	}
	return int(f), nil
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
