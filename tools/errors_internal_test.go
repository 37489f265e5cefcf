package tools

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// TestTerminalTexts checks the failures' texts for a person at a terminal: each says the
// command to run where the model's text names a tool to call, and none of them speaks of
// tools, task_id arguments or the MCP client.
func TestTerminalTexts(t *testing.T) {
	h := &handlers{keyVariable: "GPTGE_API_KEY"}
	person := reader{program: "video-task-mcp"}
	said := &api.Error{StatusCode: 400, Code: "InvalidParameter", Message: "bad size"}
	cases := []struct {
		name string
		op   operation
		err  error
		want string
	}{
		{"input refused", opSubmit, badInput("prompt is required"),
			"Invalid input: prompt is required. Nothing was submitted; fix the arguments and run create again (run video-task-mcp create --help to see them)."},
		{"submission refused", opSubmit, &api.Error{Kind: api.KindRejected, StatusCode: 400, Code: said.Code, Message: said.Message},
			"The upstream refused the submission (HTTP 400: InvalidParameter: bad size); no task was created. Fix what it names and run create again."},
		{"request refused", opSubmit, &api.Error{Kind: api.KindInvalidRequest, Message: "size is not offered"},
			"Invalid input: size is not offered. Nothing was submitted; fix the arguments and run create again (run video-task-mcp create --help to see them)."},
		{"redirect", opQuery, &api.Error{Kind: api.KindRejected, StatusCode: 301},
			"The upstream answered with a redirect (HTTP 301). The server's base URL is most likely wrong (for example http:// for an https:// service): fix --base-url or GPTGE_BASE_URL and run the command again."},
		{"query refused", opQuery, &api.Error{Kind: api.KindRejected, StatusCode: 400},
			"The upstream refused the query for task t1 (HTTP 400). Check the task id; repeating the same command will not help."},
		{"key refused", opQuery, &api.Error{Kind: api.KindUnauthorized, StatusCode: 401},
			"The upstream refused the API key (HTTP 401). Check that GPTGE_API_KEY holds a valid api.gpt.ge key with access to video tasks; running the command again as it is will not help."},
		{"no key", opQuery, &api.Error{Kind: api.KindMissingAPIKey},
			"GPTGE_API_KEY is not set: export it with your API key first, or try --simulate."},
		{"submissions rate limited", opSubmit, &api.Error{Kind: api.KindRateLimited, StatusCode: 429, RetryAfter: 7 * time.Second},
			"The upstream is rate limiting submissions (HTTP 429); no task was created. Wait 7s, then run create again."},
		{"submission not sent in time", opSubmit, &api.Error{Kind: api.KindRateLimited},
			"The server is pacing its upstream requests (its --max-qps limit, or a pause the upstream asked for with a 429) and could not send the submission in time; no task was created. Wait a minute, then run create again."},
		{"queries rate limited", opQuery, &api.Error{Kind: api.KindRateLimited, StatusCode: 429},
			"The upstream is rate limiting task queries (HTTP 429). Wait a minute, then run the same command again; the task itself is unaffected."},
		{"upstream down", opQuery, &api.Error{Kind: api.KindUnavailable, StatusCode: 503, Attempts: 4},
			"The upstream could not be reached or failed (HTTP 503) after 4 attempts. The task itself is unaffected: run the same command again in a minute."},
		{"not a task", opQuery, &api.Error{Kind: api.KindNotATask, StatusCode: 200},
			"The upstream answered, but not with an Ali Bailian video task (HTTP 200). Check that t1 is a Bailian video task id and that the base URL points at the task API; repeating the same command will not help."},
		{"outcome unknown", opSubmit, &api.Error{Kind: api.KindOutcomeUnknown, StatusCode: 500},
			"The outcome of the submission is unknown (HTTP 500): the upstream may have received it, so the task may exist and be billed. Do not run create again to retry: that would create a second task. Check the task list in your api.gpt.ge console (usage logs) first; if the task exists, follow it with: video-task-mcp wait TASK_ID"},
		{"wait without an answer", opQuery, &callEnded{waiting: true, reason: endNoAnswer, after: 30 * time.Second},
			"No answer about task t1 yet after 30 s: the upstream is slow, or the program is pacing its queries to stay under its rate limit. The task itself is unaffected; to keep waiting, run: video-task-mcp wait t1"},
		{"get without an answer", opQuery, &callEnded{reason: endNoAnswer, after: 15 * time.Second},
			"No answer about task t1 within 15s: the upstream is slow, or the program is pacing its queries to stay under its rate limit. The task itself is unaffected; run it again in a moment: video-task-mcp get t1"},
		{"wait interrupted", opQuery, &callEnded{waiting: true, reason: endCancelled, after: 4 * time.Second},
			"The wait for task t1 was interrupted after 4 s; the task itself is unaffected. To resume, run: video-task-mcp wait t1"},
		{"get interrupted", opQuery, &callEnded{reason: endCancelled},
			"The query of task t1 was interrupted; the task itself is unaffected. To resume, run: video-task-mcp get t1"},
		{"wait stopped", opQuery, &callEnded{waiting: true, reason: endShutdown},
			"The program stopped before task t1 was answered; the task itself is unaffected. To resume, run: video-task-mcp wait t1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			taskID := "t1"
			if c.op == opSubmit {
				taskID = ""
			}
			if got := h.describeError(person, c.op, taskID, c.err); got != c.want {
				t.Errorf("for a person:\n got %q\nwant %q", got, c.want)
			}
			if model := h.describeError(reader{}, c.op, taskID, c.err); model == c.want {
				t.Errorf("a model's text = a person's %q; want the model's own", model)
			}
		})
	}

	// Every kind of failure, for either operation, from answers of every sort.
	errs := []error{errors.New("connection reset"), badInput("prompt is required")}
	for _, reason := range []endReason{endNoAnswer, endCancelled, endShutdown} {
		errs = append(errs, &callEnded{reason: reason}, &callEnded{waiting: true, reason: reason})
	}
	for kind := api.KindInvalidTaskID; kind <= api.KindOutcomeUnknown; kind++ {
		for _, status := range []int{0, 302, 400, 429, 503} {
			errs = append(errs, &api.Error{Kind: kind, StatusCode: status, Code: "C", Message: "M", RetryAfter: 5 * time.Second, Attempts: 2})
		}
	}
	forModel := []string{"get_video_task", "wait_for_video_task", "create_video_task", "download_video", "task_id", "this tool",
		"call again", "Call ", "restart the server", "MCP client", "Ask the user"}
	for _, op := range []operation{opQuery, opSubmit} {
		for _, err := range errs {
			text := h.describeError(person, op, "t1", err)
			for _, word := range forModel {
				if strings.Contains(text, word) {
					t.Errorf("for a person, %v (op %d) reads %q: it says %q, which is for a model", err, op, text, word)
				}
			}
		}
	}
}
