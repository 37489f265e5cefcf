package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// Set UPDATE_GOLDEN=1 to rewrite the snapshots after a deliberate change of a definition.
const updateGoldenEnv = "UPDATE_GOLDEN"

// listTools returns the tools/list answer as a client receives it, as raw JSON per tool.
func listTools(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	f := newFakeUpstream(t)
	deps := testDeps(t, f, testToken)
	deps.WaitTimeout = 0 // the definitions as shipped, with the default budget
	c := connect(t, deps)
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	out := map[string]json.RawMessage{}
	for _, tool := range res.Tools {
		raw, err := json.Marshal(tool)
		if err != nil {
			t.Fatalf("marshal tool %q: %v", tool.Name, err)
		}
		out[tool.Name] = raw
	}
	return out
}

func TestToolDefinitionsMatchSnapshots(t *testing.T) {
	defs := listTools(t)
	if len(defs) != 2 {
		t.Fatalf("tools/list returned %d tools, want 2", len(defs))
	}
	for _, name := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
		t.Run(name, func(t *testing.T) {
			raw, ok := defs[name]
			if !ok {
				t.Fatalf("tools/list lacks %q", name)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, raw, "", "  "); err != nil {
				t.Fatalf("indent: %v", err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", name+".json")
			if os.Getenv(updateGoldenEnv) != "" {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatalf("write snapshot: %v", err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read snapshot (run with %s=1 to create it): %v", updateGoldenEnv, err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("definition of %s drifted from %s (-want +got); rerun with %s=1 if deliberate:\n%s",
					name, path, updateGoldenEnv, diff)
			}
		})
	}
}

func TestToolDefinitionsFollowContract(t *testing.T) {
	defs := listTools(t)
	total := 0
	for name, raw := range defs {
		total += len(raw)
		t.Run(name, func(t *testing.T) {
			var def struct {
				Title       string          `json:"title"`
				Description string          `json:"description"`
				InputSchema json.RawMessage `json:"inputSchema"`
				Output      json.RawMessage `json:"outputSchema"`
				Annotations map[string]any  `json:"annotations"`
			}
			if err := json.Unmarshal(raw, &def); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if def.Title == "" {
				t.Errorf("title is empty")
			}
			wantHints := map[string]any{"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true}
			for hint, want := range wantHints {
				if got, ok := def.Annotations[hint]; !ok || got != want {
					t.Errorf("annotation %s = %v (set: %v), want %v", hint, got, ok, want)
				}
			}
			if len(def.Output) == 0 {
				t.Errorf("no outputSchema")
			}
			if bytes.Contains(def.InputSchema, []byte(`"null"`)) {
				t.Errorf("inputSchema has a null type union: %s", def.InputSchema)
			}
			if bytes.Contains(def.Output, []byte(`"enum"`)) {
				t.Errorf("outputSchema has an enum; task_status must accept new values: %s", def.Output)
			}
			for _, phrase := range []string{"task_id", "24 hours"} {
				if !strings.Contains(def.Description, phrase) {
					t.Errorf("description does not mention %q: %s", phrase, def.Description)
				}
			}
		})
	}
	// The contract's size limit on the whole answer for the two tools.
	if total >= 4096 {
		t.Errorf("tools/list definitions total %d bytes, want under 4096", total)
	}
}
