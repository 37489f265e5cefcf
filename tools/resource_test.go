package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// readTask reads a task resource and decodes its JSON, checking it against the output schema.
func readTask(t *testing.T, c *client.Client, uri string) (schema.TaskResult, *mcp.TextResourceContents) {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatalf("ReadResource(%s): %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("ReadResource(%s) returned %d contents, want 1", uri, len(res.Contents))
	}
	text, ok := mcp.AsTextResourceContents(res.Contents[0])
	if !ok {
		t.Fatalf("ReadResource(%s) contents are %T, want text", uri, res.Contents[0])
	}
	var instance any
	if err := json.Unmarshal([]byte(text.Text), &instance); err != nil {
		t.Fatalf("ReadResource(%s) text is not JSON: %v\n%s", uri, err, text.Text)
	}
	resolved, err := schema.TaskResultJSONSchema().Resolve(&jsonschema.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := resolved.Validate(instance); err != nil {
		t.Errorf("ReadResource(%s) JSON does not validate against the result schema: %v", uri, err)
	}
	var r schema.TaskResult
	if err := json.Unmarshal([]byte(text.Text), &r); err != nil {
		t.Fatal(err)
	}
	return r, text
}

func TestTaskResourceTemplateIsListed(t *testing.T) {
	f := newFakeUpstream(t)
	c := connect(t, testDeps(t, f, testToken))
	if c.GetServerCapabilities().Resources == nil {
		t.Errorf("initialize did not declare the resources capability")
	}
	res, err := c.ListResourceTemplates(context.Background(), mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatalf("ListResourceTemplates: %v", err)
	}
	if len(res.ResourceTemplates) != 1 {
		t.Fatalf("resources/templates/list returned %d templates, want 1", len(res.ResourceTemplates))
	}
	tmpl := res.ResourceTemplates[0]
	got := map[string]string{"uriTemplate": tmpl.URITemplate.Raw(), "name": tmpl.Name, "mimeType": tmpl.MIMEType, "title": tmpl.Title}
	want := map[string]string{"uriTemplate": tools.TaskResourceTemplate, "name": "video_task", "mimeType": "application/json", "title": "Video task"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("template (-want +got):\n%s", diff)
	}
	if tools.TaskResourceTemplate != "video-task://{task_id}" {
		t.Errorf("template = %q", tools.TaskResourceTemplate)
	}
	if !strings.Contains(tmpl.Description, "24 hours") {
		t.Errorf("description %q does not say when the URL expires", tmpl.Description)
	}
}

func TestReadTaskResource(t *testing.T) {
	for _, downloads := range []bool{false, true} {
		name := "without downloads"
		if downloads {
			name = "with a download directory"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeUpstream(t)
			f.script("ok", succeededBody("ok"))
			f.script("relay:abc", taskBody("relay:abc", "RUNNING", ""))
			deps := testDeps(t, f, testToken)
			if downloads {
				deps, _ = downloadDeps(t, f)
			}
			c := connect(t, deps)

			got, text := readTask(t, c, "video-task://ok")
			if text.URI != "video-task://ok" || text.MIMEType != "application/json" {
				t.Errorf("contents uri %q, mimeType %q; want the URI read and application/json", text.URI, text.MIMEType)
			}
			if strings.Contains(text.Text, `\u0026`) {
				t.Errorf("the JSON escapes & in the video URL: %s", text.Text)
			}
			// Exactly the object get_video_task returns, summary included; the finished
			// task is remembered, so the second answer costs no request.
			want := structured(t, call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": "ok"}))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("resource and get_video_task differ (-get +resource):\n%s", diff)
			}
			if n := f.requestsFor("ok"); n != 1 {
				t.Errorf("upstream saw %d requests for ok, want 1: the resource shares the memory of finished tasks", n)
			}

			// A ':' is written %3A, as RFC 6570 expands it.
			got, _ = readTask(t, c, "video-task://relay%3Aabc")
			if got.TaskID != "relay:abc" || got.TaskStatus != "RUNNING" || got.Done {
				t.Errorf("relay%%3Aabc: %+v, want task relay:abc RUNNING", got)
			}
		})
	}
}

func TestReadTaskResourceErrors(t *testing.T) {
	f := newFakeUpstream(t)
	c := connect(t, testDeps(t, f, testToken))
	tests := []struct {
		uri  string
		want string
	}{
		{"video-task://", "invalid task id"},
		{"video-task://..", "invalid task id"},
		{"video-task://a%2Fb", "invalid task id"},
		{"video-task://a%20b", "invalid task id"},
		{"video-task://gone", "does not know task gone"},
		{"video-task://a/b", "not found"}, // not the template's shape: mcp-go's own answer
	}
	for _, tt := range tests {
		req := mcp.ReadResourceRequest{}
		req.Params.URI = tt.uri
		_, err := c.ReadResource(context.Background(), req)
		t.Logf("ReadResource(%s): %v", tt.uri, err)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadResource(%s) error = %v, want one containing %q", tt.uri, err, tt.want)
		}
	}
	for _, id := range []string{"..", "a/b", "a b"} {
		if n := f.requestsFor(id); n != 0 {
			t.Errorf("an invalid id %q reached the upstream %d times", id, n)
		}
	}
}
