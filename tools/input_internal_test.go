package tools

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/schema"
)

func TestInputDecoderDecodesIntoContractTypes(t *testing.T) {
	seed := int64(7)
	extend := false
	tests := []struct {
		name string
		raw  map[string]any
		want schema.CreateVideoTaskInput
	}{
		{"quoted number and boolean", map[string]any{"model": "wan2.2-t2v-plus", "prompt": "p", "duration": "5", "seed": " 7 ", "prompt_extend": "false"},
			schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "1920*1080", Duration: 5, Seed: &seed, PromptExtend: &extend}},
		{"null is absent", map[string]any{"model": "wan2.2-t2v-plus", "prompt": "p", "seed": nil, "size": nil},
			schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "1920*1080", Duration: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createInput.decode(tt.raw)
			if err != nil {
				t.Fatalf("decode(%v) error: %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode(%v) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestInputDecoderRefusals(t *testing.T) {
	tests := []struct {
		name string
		raw  any
		want string
	}{
		{"not an object", []any{1}, "arguments must be a JSON object"},
		// Unknown arguments are named with every property, in the schema's order.
		{"unknown argument", map[string]any{"task_id": "a", "x": 1.0}, `unknown argument "x"; this tool takes task_id and timeout_seconds`},
		// Bounds come from the schema's minimum and maximum.
		{"below minimum", map[string]any{"task_id": "a", "timeout_seconds": 0.0}, "timeout_seconds must be between 1 and 3600, not 0"},
		// Every problem at once.
		{"two problems", map[string]any{"task_id": 1.0, "timeout_seconds": "x"}, `task_id must be a string, not a number; timeout_seconds must be a whole number, not "x"`},
		// What the value rules let through is still checked against the resolved schema:
		// an id with more white space around it than task_id's maxLength allows.
		{"resolved schema", map[string]any{"task_id": strings.Repeat(" ", 1100) + "abc"}, "maxLength"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := waitInput.decode(tt.raw)
			var bad *inputError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decode(%v) = %v, want an *inputError containing %q", tt.raw, err, tt.want)
			}
		})
	}
}
