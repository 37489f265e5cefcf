package tools

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/video-task-mcp/video-task-mcp/schema"
)

// The tools' domain calls, for callers that are not MCP clients (the terminal commands). Each
// answers as its tool does, without the protocol around it: the same checks of the input, the
// same shared poll loops and memory of finished tasks, and, as with the tools' results, no
// result carries Deps.Secrets in any JSON or URL escaping. A failure is an error whose text is
// the message the tool's error result would carry, secrets removed (a *CallError, which also
// words it for a person at a terminal); a panic becomes such an error too. Shutdown stops these
// calls as it stops the tools' own.

// Query is get_video_task: task id's status as of now.
func (s *Server) Query(ctx context.Context, id string) (schema.TaskResult, error) {
	return directCall(ctx, s, GetVideoTaskName, opQuery, id, func(ctx context.Context, id string) (schema.TaskResult, error) {
		return s.h.query(ctx, id)
	})
}

// Wait is wait_for_video_task: it polls task id until the task ends, timeout passes (at most
// a second is added to make it whole seconds; zero or less: the server's default), ctx ends
// or the server stops. Between polls, progress hears what the wait has seen, as a progress
// notification says it; it is called on the caller's goroutine, before Wait returns.
func (s *Server) Wait(ctx context.Context, id string, timeout time.Duration, progress func(message string)) (schema.TaskResult, error) {
	in := schema.WaitForVideoTaskInput{}
	if timeout > 0 {
		in.TimeoutSeconds = int(math.Ceil(timeout.Seconds()))
	}
	return directCall(ctx, s, WaitForVideoTaskName, opQuery, id, func(ctx context.Context, id string) (schema.TaskResult, error) {
		in.TaskID = id
		return s.h.wait(ctx, in, func(_ context.Context, _ int, message string) {
			progress(s.redactor.String(message))
		})
	})
}

// Download is download_video: task id's status as Query finds it and, when the task has
// SUCCEEDED, its video saved into Deps.DownloadDir (local_path). A failure to save is an error,
// as the query's failures are. Without a DownloadDir it fails and writes nothing.
func (s *Server) Download(ctx context.Context, id string) (schema.TaskResult, error) {
	if s.h.downloads == nil {
		return schema.TaskResult{}, errors.New("downloads are off: the server has no download directory (Deps.DownloadDir)")
	}
	return directCall(ctx, s, DownloadVideoName, opQuery, id, func(ctx context.Context, id string) (schema.TaskResult, error) {
		d, err := s.h.download(ctx, id)
		if err == nil && d.notSaved != nil {
			return d.result, d.notSaved
		}
		return d.result, err
	})
}

// Create is create_video_task: it checks in as the tool checks its arguments (see
// DecodeCreateInput) and submits it once. Unless Deps.EnableCreate is set it fails and
// submits nothing.
func (s *Server) Create(ctx context.Context, in schema.CreateVideoTaskInput) (out schema.CreateVideoTaskResult, err error) {
	if !s.h.createEnabled {
		return out, errors.New("submissions are off (Deps.EnableCreate): nothing was submitted")
	}
	ctx, done := s.inflight.start(ctx)
	defer done()
	defer s.recoverCall(ctx, CreateVideoTaskName, &err)
	valid, err := in.Validate()
	if err != nil {
		return answer(s, CreateVideoTaskName, opSubmit, "", out, invalidInput(err))
	}
	out, err = s.h.create(ctx, valid)
	return answer(s, CreateVideoTaskName, opSubmit, "", out, err)
}

// DecodeCreateInput reads create_video_task's arguments as the tool reads them, as JSON
// (unknown names, types, bounds and the models' rules, every problem at once), into its
// input. The error's text says what to fix, without naming the tool: a person reads it.
func DecodeCreateInput(args map[string]any) (schema.CreateVideoTaskInput, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return schema.CreateVideoTaskInput{}, badInput("the arguments are not JSON: %v", err)
	}
	return createArguments.decode(json.RawMessage(raw))
}

// directCall runs one call about a task id, which it checks as the tools check task_id.
func directCall[Out any](ctx context.Context, s *Server, tool string, op operation, id string, call func(ctx context.Context, id string) (Out, error)) (out Out, err error) {
	ctx, done := s.inflight.start(ctx)
	defer done()
	defer s.recoverCall(ctx, tool, &err)
	checked, err := checkTaskID(id)
	if err != nil {
		return answer(s, tool, op, "", out, err)
	}
	out, err = call(ctx, checked)
	return answer(s, tool, op, checked, out, err)
}

// CallError is the failure of a direct call. Its text is the message the tool's error result
// would carry, for a model; Terminal words the same failure for a person.
type CallError struct {
	s      *Server
	op     operation
	taskID string
	err    error // worded by describeError, never shown as it is
}

// Error is the failure's text for a model.
func (e *CallError) Error() string { return e.text(reader{}) }

// Terminal is the failure's text for a person at a terminal who runs the commands with
// program: it names the command to run where the tool's text names the tool to call.
func (e *CallError) Terminal(program string) string { return e.text(reader{program: program}) }

func (e *CallError) text(r reader) string {
	return e.s.redactor.String(e.s.h.errorText(r, e.op, e.taskID, e.err))
}

// answer is a call's outcome as it leaves the package: out with the secrets removed, or err
// as a *CallError (taskID names the task for it).
func answer[Out any](s *Server, tool string, op operation, taskID string, out Out, err error) (Out, error) {
	var zero Out
	if err != nil {
		return zero, &CallError{s: s, op: op, taskID: taskID, err: err}
	}
	clean, ok := redactJSON(s.redactor, out)
	if !ok {
		return zero, errors.New("Internal error in " + tool + ": a result that carried a secret could not be cleaned of it.")
	}
	return clean, nil
}

// recoverCall, deferred, turns a panic of a call of tool into the error a tool's panic gives.
func (s *Server) recoverCall(ctx context.Context, tool string, err *error) {
	if r := recover(); r != nil {
		*err = errors.New(panicked(ctx, s.h.logger, tool, r))
	}
}
