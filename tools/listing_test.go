package tools_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

// listAll pages through resources/list and returns the URIs in order, with the entries.
func listAll(t *testing.T, c *client.Client) ([]string, []mcp.Resource, int) {
	t.Helper()
	var (
		uris   []string
		all    []mcp.Resource
		pages  int
		cursor mcp.Cursor
	)
	for {
		req := mcp.ListResourcesRequest{}
		req.Params.Cursor = cursor
		res, err := c.ListResourcesByPage(context.Background(), req)
		if err != nil {
			t.Fatalf("ListResources(cursor %q): %v", cursor, err)
		}
		pages++
		if len(res.Resources) > tools.ResourcePageSize {
			t.Errorf("a page of resources/list holds %d entries, want at most %d", len(res.Resources), tools.ResourcePageSize)
		}
		for _, r := range res.Resources {
			uris = append(uris, r.URI)
			all = append(all, r)
		}
		if res.NextCursor == "" {
			return uris, all, pages
		}
		if pages > 100 {
			t.Fatal("resources/list never ends")
		}
		cursor = res.NextCursor
	}
}

// listChanges counts notifications/resources/list_changed as a client receives them.
type listChanges struct {
	mu sync.Mutex
	n  int
}

func (l *listChanges) attach(c *client.Client) {
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/resources/list_changed" {
			l.mu.Lock()
			l.n++
			l.mu.Unlock()
		}
	})
}

func (l *listChanges) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func TestFinishedTasksAreListedNewestFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		f.script("done-a", succeededBody("done-a"))
		f.script("relay:b", taskBody("relay:b", "FAILED", `"end_time":"2025-10-26 13:01:05.020","code":"DataInspectionFailed","message":"bad","orig_prompt":"A dog\nsurfing a wave at sunset, cinematic, slow motion, golden light"`))
		f.script("running", taskBody("running", "RUNNING", ""))
		c := connect(t, testDeps(t, f, testToken))
		if caps := c.GetServerCapabilities().Resources; caps == nil || !caps.ListChanged {
			t.Fatalf("resources capability = %+v, want listChanged", caps)
		}
		changes := &listChanges{}
		changes.attach(c)

		if uris, _, _ := listAll(t, c); len(uris) != 0 {
			t.Errorf("resources/list before any task finished = %v, want none", uris)
		}
		ctx := context.Background()
		for _, id := range []string{"done-a", "running", "relay:b"} {
			call(t, ctx, c, tools.GetVideoTaskName, map[string]any{"task_id": id})
		}
		synctest.Wait() // every notification sent is delivered
		if n := changes.count(); n != 2 {
			t.Errorf("%d list_changed notifications, want 2 (one per finished task)", n)
		}
		uris, entries, _ := listAll(t, c)
		// Newest first; the running task is not listed.
		if diff := cmp.Diff([]string{"video-task://relay%3Ab", "video-task://done-a"}, uris); diff != "" {
			t.Fatalf("resources/list URIs (-want +got):\n%s", diff)
		}
		failed, done := entries[0], entries[1]
		if failed.Title != "FAILED: A dog surfing a wave at sunset, cinemati…" {
			t.Errorf("title = %q, want the status and the start of the prompt, control characters replaced", failed.Title)
		}
		if !strings.Contains(failed.Description, "relay:b") || !strings.Contains(failed.Description, "ended 2025-10-26 13:01:05.020") {
			t.Errorf("description = %q, want the id and when it ended", failed.Description)
		}
		if done.Title != "SUCCEEDED: a cat" || !strings.Contains(done.Description, "The video link expires 2025-10-27T04:52:11Z.") {
			t.Errorf("entry = %q / %q, want the status, prompt and when the link expires", done.Title, done.Description)
		}
		for _, e := range entries {
			if e.MIMEType != "application/json" || e.Name == "" {
				t.Errorf("entry %s: name %q, mimeType %q; want a name and application/json", e.URI, e.Name, e.MIMEType)
			}
			if strings.ContainsAny(e.Title+e.Description, "\n\r\t\x1b") {
				t.Errorf("entry %s carries control characters: %q %q", e.URI, e.Title, e.Description)
			}
		}
		// A listed URI reads as the tool's result, from memory.
		got, _ := readTask(t, c, uris[1])
		want := structured(t, call(t, ctx, c, tools.GetVideoTaskName, map[string]any{"task_id": "done-a"}))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("listed resource and get_video_task differ (-get +resource):\n%s", diff)
		}
		if n := f.requestsFor("done-a"); n != 1 {
			t.Errorf("upstream saw %d requests for done-a, want 1", n)
		}
	})
}

func TestFinishedTaskListIsPaginated(t *testing.T) {
	f := newFakeUpstream(t)
	const tasks = tools.ResourcePageSize + 7
	c := connect(t, testDeps(t, f, testToken))
	var want []string
	for i := range tasks {
		id := fmt.Sprintf("done-%03d", i)
		f.script(id, succeededBody(id))
		call(t, context.Background(), c, tools.GetVideoTaskName, map[string]any{"task_id": id})
		want = append([]string{"video-task://" + id}, want...)
	}
	uris, _, pages := listAll(t, c)
	if pages != 2 {
		t.Errorf("resources/list took %d pages for %d tasks, want 2", pages, tasks)
	}
	if diff := cmp.Diff(want, uris); diff != "" {
		t.Errorf("paged URIs, newest first (-want +got):\n%s", diff)
	}

	req := mcp.ListResourcesRequest{}
	req.Params.Cursor = "not a cursor!"
	if _, err := c.ListResourcesByPage(context.Background(), req); err == nil {
		t.Error("ListResources with an invalid cursor succeeded, want an error")
	}
}
