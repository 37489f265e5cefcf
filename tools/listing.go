package tools

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// ResourcePageSize is how many entries one page of resources/list holds; nextCursor leads to
// the next page.
const ResourcePageSize = 50

// finishedResources lists, in resources/list, the finished tasks the server remembers: one
// video-task://{task_id} resource each, newest first, added when a task is remembered and
// removed when it is forgotten. mcp-go announces every change with
// notifications/resources/list_changed and pages the list by name, so each name starts with a
// key that sorts newer tasks first.
type finishedResources struct {
	srv     *server.MCPServer
	handler server.ResourceHandlerFunc
}

// resourceNameKeys bounds the sort keys of names: 1e9 tasks remembered by one process, far
// beyond what the rate limit lets it see.
const resourceNameKeys = 1_000_000_000

// added publishes a task that was just remembered; seq counts the tasks remembered so far.
func (f *finishedResources) added(id string, task *api.Task, seq int) {
	f.srv.AddResource(finishedResource(id, task, seq), f.handler)
}

// removed withdraws forgotten tasks.
func (f *finishedResources) removed(ids ...string) {
	uris := make([]string, len(ids))
	for i, id := range ids {
		uris[i] = taskResourceURI(id)
	}
	f.srv.DeleteResources(uris...)
}

// taskResourceURI is the resource URI of a task, its id expanded as RFC 6570 does: a valid id
// holds only letters, digits and "-_.:", of which only ':' is written %3A.
func taskResourceURI(id string) string {
	return taskResourceScheme + strings.ReplaceAll(id, ":", "%3A")
}

// finishedResource describes one remembered task for a person picking from a list: the title
// says its status and how its prompt starts, the description when the video link expires.
func finishedResource(id string, t *api.Task, seq int) mcp.Resource {
	prompt := printable(t.OrigPrompt)
	if prompt == "" {
		prompt = "task " + id
	} else {
		prompt = truncate(prompt, 40)
	}
	title := fmt.Sprintf("%s: %s", t.Status, prompt)
	var desc strings.Builder
	fmt.Fprintf(&desc, "Video task %s, %s", id, t.Status)
	if t.EndTime != "" {
		fmt.Fprintf(&desc, " (ended %s)", printable(t.EndTime))
	}
	desc.WriteString(".")
	if t.Status == api.StatusSucceeded {
		if exp, ok := t.VideoURLExpiry(); ok {
			fmt.Fprintf(&desc, " The video link expires %s.", exp.UTC().Format(time.RFC3339))
		}
	}
	if t.OrigPrompt != "" {
		fmt.Fprintf(&desc, " Prompt: %s", truncate(printable(t.OrigPrompt), 120))
	}
	return mcp.Resource{
		URI:         taskResourceURI(id),
		Name:        fmt.Sprintf("finished-%09d-%s", resourceNameKeys-seq, id),
		Title:       title,
		Description: desc.String(),
		MIMEType:    "application/json",
	}
}

// printable replaces control characters, which a host might pass to a terminal, with spaces
// and trims the result.
func printable(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
