package tools

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// maxErrorText bounds an error result's text; the contract promises under 1,000 characters.
const maxErrorText = 990

// operation is what a failed call was doing, which decides how its failure is told.
type operation int

const (
	// opQuery reads one task: get_video_task, wait_for_video_task, download_video and the
	// video-task:// resource. Nothing it does can change a task.
	opQuery operation = iota
	// opSubmit creates a task: whether one may exist is the first thing to say.
	opSubmit
)

// reader is who reads a failure's text, which decides how it says what to do next: a model
// is told the tool to call, a person at a terminal the command to run.
type reader struct {
	program string // a person's: the program they run the commands with; "" for a model
}

// next is what to do next, as told to a model or to a person.
func (r reader) next(forModel, forPerson string) string {
	if r.program == "" {
		return forModel
	}
	return forPerson
}

// failure is a failed call, as describeError words it.
type failure struct {
	h      *handlers
	r      reader
	op     operation
	taskID string     // the task queried; empty for a submission
	e      *api.Error // the upstream's or the client's refusal
	said   string     // upstreamSaid(e)
}

// errorResult is the error result of a failed call.
func (h *handlers) errorResult(op operation, taskID string, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(h.errorText(reader{}, op, taskID, err))
}

// errorText is the text of a failed call: describeError's, within maxErrorText.
func (h *handlers) errorText(r reader, op operation, taskID string, err error) string {
	return truncate(h.describeError(r, op, taskID, err), maxErrorText)
}

// describeError is the one place that turns an error into the message r reads: what went
// wrong, in the upstream's words where it gave any, whether anything was sent or created, and
// what to do next.
func (h *handlers) describeError(r reader, op operation, taskID string, err error) string {
	var bad *inputError
	if errors.As(err, &bad) {
		return invalidInputText(r, op, bad.msg)
	}
	var ended *callEnded
	if errors.As(err, &ended) {
		return ended.message(r, taskID)
	}
	var fail *notSaved
	if errors.As(err, &fail) {
		return fail.text(r)
	}
	var e *api.Error
	if !errors.As(err, &e) {
		if op == opSubmit {
			return "The submission failed (" + truncate(err.Error(), 300) + "); no task was created. Try again."
		}
		return fmt.Sprintf("Could not query task %s: %s. Try again.", taskID, truncate(err.Error(), 300))
	}
	f := failure{h: h, r: r, op: op, taskID: taskID, e: e, said: upstreamSaid(e)}
	if words, ok := errorWords[e.Kind]; ok {
		if text := words(f); text != "" {
			return text
		}
	}
	if op == opSubmit {
		return fmt.Sprintf("The submission failed%s. Check the provider console before trying again.", f.said)
	}
	return fmt.Sprintf("Could not query task %s%s. Try again.", taskID, f.said)
}

// invalidInputText refuses arguments the caller must fix; detail says which and why.
func invalidInputText(r reader, op operation, detail string) string {
	if op == opSubmit {
		return "Invalid input: " + detail + ". Nothing was submitted; " +
			r.next("fix the arguments and call again.", "fix the arguments and run create again (run "+r.program+" create --help to see them).")
	}
	return "Invalid input: " + detail + ". Nothing was queried; " + r.next("fix the argument and call again.", "fix the task id and run the command again.")
}

// errorWords words each kind of api.Error; an empty text falls back to the general one.
var errorWords = map[api.ErrorKind]func(f failure) string{
	api.KindInvalidTaskID: func(f failure) string {
		return "Invalid input: " + f.e.Message + ". Nothing was queried; pass the task id exactly as the submission returned it."
	},
	api.KindInvalidRequest: func(f failure) string {
		return invalidInputText(f.r, opSubmit, joinNonEmpty(f.e.Message, errText(f.e.Err)))
	},
	api.KindMissingAPIKey: func(f failure) string {
		v := f.h.keyVariable
		if f.r.program != "" {
			return fmt.Sprintf("%s is not set: export it with your API key first, or try --simulate.", v)
		}
		if f.op == opSubmit {
			return fmt.Sprintf("The server has no API key: %s is not set, so nothing was submitted. Add %s to the \"env\" block of this server's entry in your MCP client configuration, then restart the server.", v, v)
		}
		return fmt.Sprintf("The server has no API key: %s is not set. Add %s to the \"env\" block of this server's entry in your MCP client configuration (e.g. claude_desktop_config.json), then restart the server.", v, v)
	},
	api.KindUnauthorized: func(f failure) string {
		created := ""
		if f.op == opSubmit {
			created = "; no task was created"
		}
		return fmt.Sprintf("The upstream refused the API key%s%s. Check that %s holds %s%s",
			f.said, created, f.h.keyVariable, keyHint(f.h.client),
			f.r.next(", then restart the server; retrying as is will not help.", "; running the command again as it is will not help."))
	},
	api.KindNotFound: func(f failure) string {
		return fmt.Sprintf("The upstream does not know task %s%s. Check that the id was copied exactly from the submission response; task ids can only be queried for 24 hours.", f.taskID, f.said)
	},
	api.KindRejected: func(f failure) string {
		switch {
		case f.op == opSubmit:
			return fmt.Sprintf("The upstream refused the submission%s; no task was created. Fix what it names and %s.", f.said,
				f.r.next("call create_video_task again", "run create again"))
		case f.e.StatusCode >= 300 && f.e.StatusCode <= 399:
			return fmt.Sprintf("The upstream answered with a redirect%s. The server's base URL is most likely wrong (for example http:// for an https:// service): fix --base-url or GPTGE_BASE_URL and %s.", f.said,
				f.r.next("restart the server", "run the command again"))
		}
		return fmt.Sprintf("The upstream refused the query for task %s%s. Check the task id; repeating the same %s will not help.", f.taskID, f.said, f.r.next("call", "command"))
	},
	api.KindRateLimited: func(f failure) string {
		switch {
		case f.op == opSubmit && f.e.StatusCode == 0:
			// No answer: the server's own pacing could not send the submission in time.
			return fmt.Sprintf("The server is pacing its upstream requests (its --max-qps limit, or a pause the upstream asked for with a 429) and could not send the submission in time; no task was created. Wait %s, then %s.", retryWait(f.e),
				f.r.next("call create_video_task again", "run create again"))
		case f.op == opSubmit:
			return fmt.Sprintf("The upstream is rate limiting submissions%s; no task was created. Wait %s, then %s.", f.said, retryWait(f.e),
				f.r.next("call create_video_task again", "run create again"))
		}
		return fmt.Sprintf("The upstream is rate limiting task queries%s. Wait %s, then %s; the task itself is unaffected.", f.said, retryWait(f.e),
			f.r.next("call again with the same task_id", "run the same command again"))
	},
	api.KindUnavailable: func(f failure) string {
		if f.op == opSubmit {
			return fmt.Sprintf("Could not reach the upstream%s%s: nothing was sent, so no task was created. Try again in a minute.", f.said, attempts(f.e))
		}
		return fmt.Sprintf("The upstream could not be reached or failed%s%s. The task itself is unaffected: %s", f.said, attempts(f.e),
			f.r.next("try again in "+retryWait(f.e)+" with the same task_id.", "run the same command again in "+retryWait(f.e)+"."))
	},
	api.KindNotATask: func(f failure) string {
		return fmt.Sprintf("The upstream answered, but not with an Ali Bailian video task%s. Check that %s is a Bailian video task id and that the base URL points at the task API; repeating the same %s will not help.", f.said, f.taskID, f.r.next("call", "command"))
	},
	api.KindOutcomeUnknown: func(f failure) string {
		unknown := fmt.Sprintf("The outcome of the submission is unknown%s: the upstream may have received it, so the task may exist and be billed. ", f.said)
		if f.r.program != "" {
			return unknown + fmt.Sprintf("Do not run create again to retry: that would create a second task. Check the task list in %s first; "+
				"if the task exists, follow it with: %s wait TASK_ID", console(f.h.client, "your"), f.r.program)
		}
		return unknown + fmt.Sprintf("Do not call create_video_task again to retry: that would create a second task. Ask the user to check the task list in %s first; "+
			"if the task exists, follow its task_id with wait_for_video_task.", console(f.h.client, "their"))
	},
}

// keyHint says what kind of key the provider of c wants, for error messages.
func keyHint(c *api.Client) string {
	if c != nil && c.Provider() == api.ProviderDashScope {
		return "a valid DashScope API key of the region the server uses (--region; a key works in its own region only)"
	}
	return "a valid api.gpt.ge key with access to video tasks"
}

// console names where the user can see their recent tasks; whose is the user's possessive.
func console(c *api.Client, whose string) string {
	if c != nil && c.Provider() == api.ProviderDashScope {
		return "the Model Studio (Bailian) console"
	}
	return whose + " api.gpt.ge console (usage logs)"
}

// upstreamSaid quotes what the upstream answered, as " (HTTP 401: InvalidApiKey: message)".
func upstreamSaid(e *api.Error) string {
	detail := truncate(joinNonEmpty(e.Code, e.Message), 400)
	if detail == "" && e.Err != nil {
		detail = truncate(e.Err.Error(), 300)
	}
	switch {
	case e.StatusCode != 0 && detail != "":
		return fmt.Sprintf(" (HTTP %d: %s)", e.StatusCode, detail)
	case e.StatusCode != 0:
		return fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	case detail != "":
		return " (" + detail + ")"
	}
	return ""
}

// retryWait is how long to wait before trying again: what the upstream asked, else a minute.
func retryWait(e *api.Error) string {
	if e.RetryAfter > 0 {
		return e.RetryAfter.Round(time.Second).String()
	}
	return "a minute"
}

func attempts(e *api.Error) string {
	if e.Attempts > 1 {
		return fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// callEnded is a query that ended without an answer about its task.
type callEnded struct {
	waiting bool // a wait_for_video_task call, which says how long it waited
	reason  endReason
	after   time.Duration // how long the call waited
}

type endReason int

const (
	endNoAnswer  endReason = iota // the upstream gave no answer in time, or the rate limit held it back
	endCancelled                  // the caller cancelled the call
	endShutdown                   // the server is stopping
)

func (e *callEnded) Error() string {
	return [...]string{"no answer in time", "cancelled", "server shutting down"}[e.reason]
}

// message is r's text for a call about task id that ended so.
func (e *callEnded) message(r reader, id string) string {
	secs := math.Round(e.after.Seconds()*10) / 10 // as waited_seconds
	if r.program != "" {
		return e.personMessage(r.program, id, secs)
	}
	if e.waiting {
		switch e.reason {
		case endNoAnswer:
			return fmt.Sprintf("No answer about task %s yet after %.0f s: the upstream is slow, or the server is pacing its queries to stay under its rate limit. Call wait_for_video_task again with the same task_id; the task itself is unaffected.", id, secs)
		case endCancelled:
			return fmt.Sprintf("The wait for task %s was cancelled after %.0f s. Call wait_for_video_task again to resume waiting.", id, secs)
		}
		return fmt.Sprintf("Task %s: %s", id, waitStoppedAdvice)
	}
	switch e.reason {
	case endNoAnswer:
		return fmt.Sprintf("No answer about task %s within %s: the upstream is slow, or the server is pacing its queries to stay under its rate limit. Call get_video_task again in a moment; the task itself is unaffected.", id, e.after)
	case endCancelled:
		return "The query of task " + id + " was cancelled. Call get_video_task again if the status is still wanted."
	}
	return "The server is shutting down, so task " + id + " was not queried. Call get_video_task again once the server is back."
}

// personMessage is message for a person who runs the commands with program.
func (e *callEnded) personMessage(program, id string, secs float64) string {
	command := fmt.Sprintf("%s get %s", program, id)
	if e.waiting {
		command = fmt.Sprintf("%s wait %s", program, id)
	}
	switch {
	case e.waiting && e.reason == endNoAnswer:
		return fmt.Sprintf("No answer about task %s yet after %.0f s: the upstream is slow, or the program is pacing its queries to stay under its rate limit. The task itself is unaffected; to keep waiting, run: %s", id, secs, command)
	case e.reason == endNoAnswer:
		return fmt.Sprintf("No answer about task %s within %s: the upstream is slow, or the program is pacing its queries to stay under its rate limit. The task itself is unaffected; run it again in a moment: %s", id, e.after, command)
	case e.waiting && e.reason == endCancelled:
		return fmt.Sprintf("The wait for task %s was interrupted after %.0f s; the task itself is unaffected. To resume, run: %s", id, secs, command)
	case e.reason == endCancelled:
		return fmt.Sprintf("The query of task %s was interrupted; the task itself is unaffected. To resume, run: %s", id, command)
	}
	return fmt.Sprintf("The program stopped before task %s was answered; the task itself is unaffected. To resume, run: %s", id, command)
}

// waitStoppedAdvice ends what a wait cut short by the server's stopping says.
const waitStoppedAdvice = "The server is shutting down, so this wait stopped early; the task itself is unaffected. Call wait_for_video_task again with the same task_id once the server is back."
