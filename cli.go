package main

// The command line: `get`, `wait` and `create` are thin adapters over the tools' domain calls
// (tools.Server's Query, Wait, Download and Create), which answer as the tools do: what a
// script sees is the structuredContent a model sees.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// Exit statuses of the commands.
const (
	exitError       = 1   // the call failed (or the video could not be saved); message on stderr
	exitUsage       = 2   // bad flags or arguments, as main exits for any error of its own
	exitNotFinished = 3   // wait ended before the task did; the result (done: false) is on stdout
	exitInterrupted = 130 // interrupted by a signal, as shells report SIGINT
)

// exitCode ends the process with that status; whatever there was to say is said.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// taskCalls is what the commands ask of the server: the tools' domain calls, as *tools.Server
// makes them. An error's text is the message to show.
type taskCalls interface {
	Query(ctx context.Context, id string) (schema.TaskResult, error)
	Wait(ctx context.Context, id string, timeout time.Duration, progress func(message string)) (schema.TaskResult, error)
	Download(ctx context.Context, id string) (schema.TaskResult, error)
	Create(ctx context.Context, in schema.CreateVideoTaskInput) (schema.CreateVideoTaskResult, error)
}

// commandRunner runs one command.
type commandRunner struct {
	tasks       taskCalls
	progress    *progressLine
	downloadDir string
	stdout      io.Writer
	stderr      io.Writer
}

// runCommand runs cmd with tasks and prints the outcome; its error is an exitCode, the outcome
// already reported on stderr.
func runCommand(ctx context.Context, cmd *command, cfg config, tasks taskCalls, stdout, stderr io.Writer) error {
	if cfg.apiKey == "" {
		fmt.Fprintf(stderr, "%s: %s is not set: export it with your API key first, or try --simulate.\n", serverName, cfg.apiKeyVariable)
		return exitCode(exitError)
	}
	r := &commandRunner{tasks: tasks, progress: newProgressLine(stderr), downloadDir: cfg.downloadDir, stdout: stdout, stderr: stderr}
	defer r.progress.clear()

	switch cmd.name {
	case "get":
		id := cmd.args[0]
		r.progress.start("task " + id)
		task, err := tasks.Query(ctx, id)
		return r.finish(ctx, task, err, false)
	case "wait":
		task, err := r.wait(ctx, cmd.args[0], cmd.timeout)
		return r.finish(ctx, task, err, true)
	case "create":
		if !cfg.enableCreate {
			fmt.Fprintf(stderr, "%s: create is off: add --enable-create (or set %s=1) to submit tasks; each one is billed.\n",
				serverName, envEnableCreate)
			return exitCode(exitError)
		}
		return r.create(ctx, cmd)
	}
	return fmt.Errorf("unknown command %q", cmd.name)
}

// commandFailed reports a failure of the command's own machinery rather than of a call, as
// finish reports those: "interrupted" and exitInterrupted when ctx ended, else the error and
// exitError. (A plain error would make main exit 2, which says usage.)
func commandFailed(ctx context.Context, stderr io.Writer, doing string, err error) error {
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "%s: interrupted\n", serverName)
		return exitCode(exitInterrupted)
	}
	fmt.Fprintf(stderr, "%s: %s: %s\n", serverName, doing, terminalText(err.Error()))
	return exitCode(exitError)
}

// wait waits for task id up to timeout, showing its progress. Free of the ~60 s that hosts
// allow a call, one wait takes the whole timeout.
func (r *commandRunner) wait(ctx context.Context, id string, timeout time.Duration) (schema.TaskResult, error) {
	r.progress.start("task " + id)
	return r.tasks.Wait(ctx, id, timeout, r.progress.update)
}

// create submits a task and, with --wait, waits for it. Its arguments are read as
// create_video_task reads them: a mistake is a usage error, said before anything is
// submitted.
func (r *commandRunner) create(ctx context.Context, cmd *command) error {
	args, err := toolArguments(cmd.args, schema.CreateVideoTaskInputJSONSchema().Properties)
	var in schema.CreateVideoTaskInput
	if err == nil {
		in, err = tools.DecodeCreateInput(args)
	}
	if err != nil {
		fmt.Fprintf(r.stderr, "%s: create: %s (run %s create --help)\n", serverName, terminalText(err.Error()), serverName)
		return exitCode(exitUsage)
	}
	r.progress.start("submitting")
	created, err := r.tasks.Create(ctx, in)
	r.progress.clear()
	if err != nil || !cmd.wait || created.TaskID == "" {
		return r.report(ctx, created, err)
	}
	fmt.Fprintf(r.stderr, "created task %s; waiting for it\n", terminalText(created.TaskID))
	task, err := r.wait(ctx, created.TaskID, cmd.timeout)
	return r.finish(ctx, task, err, true)
}

// finish prints what a query or wait came to, after saving the video when --download-dir
// asks for it, and returns the exit status. waited says it was a wait, which fails when it
// ends before the task does.
func (r *commandRunner) finish(ctx context.Context, task schema.TaskResult, err error, waited bool) error {
	var notSaved string
	if err == nil {
		task, notSaved = r.save(ctx, task)
	}
	if err := r.report(ctx, task, err); err != nil {
		return err
	}
	switch {
	case r.downloadDir != "" && task.TaskStatus == "SUCCEEDED" && task.VideoURL != "" && task.LocalPath == "":
		if notSaved == "" {
			// Saved, yet no local_path: a Download that answered against its contract.
			notSaved = task.Summary
		}
		fmt.Fprintln(r.stderr, terminalText(notSaved))
		return exitCode(exitError)
	case waited && !task.Done:
		fmt.Fprintf(r.stderr, "The task has not finished yet; to keep waiting, run wait again: %s wait %s\n", serverName, task.TaskID)
		return exitCode(exitNotFinished)
	}
	return nil
}

// report ends the progress line and prints a call's result on stdout, or its failure on
// stderr with its exit status.
func (r *commandRunner) report(ctx context.Context, result any, err error) error {
	r.progress.clear()
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(r.stderr, "%s: interrupted\n", serverName)
		return exitCode(exitInterrupted)
	case err != nil:
		fmt.Fprintln(r.stderr, terminalText(strings.TrimSpace(personText(err))))
		return exitCode(exitError)
	}
	if err := printResult(r.stdout, result); err != nil {
		return commandFailed(ctx, r.stderr, "printing the result", err)
	}
	return nil
}

// save saves the video of a SUCCEEDED task when --download-dir asks for it, and returns the
// download's result in place of task. When the download fails (its query failed, or the video
// could not be saved), task stays as it was and notSaved says why there is no local_path.
func (r *commandRunner) save(ctx context.Context, task schema.TaskResult) (_ schema.TaskResult, notSaved string) {
	if r.downloadDir == "" || task.TaskStatus != "SUCCEEDED" {
		return task, ""
	}
	r.progress.start("saving the video of task " + task.TaskID)
	saved, err := r.tasks.Download(ctx, task.TaskID)
	if err != nil {
		return task, fmt.Sprintf("The video of task %s was not saved. %s", task.TaskID, strings.TrimSpace(personText(err)))
	}
	return saved, ""
}

// personText is the text of a call's failure for the person at the terminal: a failed call
// says which command to run, where a model is told which tool to call.
func personText(err error) string {
	if e, ok := errors.AsType[*tools.CallError](err); ok {
		return e.Terminal(serverName)
	}
	return err.Error()
}

// printResult prints a result as indented JSON, in its fields' order, with & < > as
// themselves so that a URL can be copied as it is, and every character a terminal may act on as
// a JSON escape (see escapeControls).
func printResult(w io.Writer, result any) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return err
	}
	b := escapeControls(unescapeHTML(out.Bytes()))
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// unescapeHTML turns the \u0026, \u003c and \u003e that encoding/json writes for & < > back into
// the characters. Backslashes occur only in strings, each starting a two-character escape or
// a \uXXXX one, so walking escape by escape never misreads an escaped backslash.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+5 < len(b) {
			switch strings.ToLower(string(b[i+2 : i+6])) {
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			}
		}
		out, i = append(out, b[i], b[i+1]), i+1
	}
	return out
}

// Terminal output is text: an upstream's strings (a task's code, message, prompts or status, an
// error's text) must not set the terminal's title, clear it, move its cursor, reorder what it
// shows or forge a line of output. What the commands print passes through terminalText (stderr)
// or escapeControls (stdout's JSON).

// actsOnTerminal reports whether a terminal may act on r rather than show it: C0 and C1
// controls, DEL, the bidirectional controls and the line and paragraph separators.
func actsOnTerminal(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, 0x80 <= r && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// terminalText is s with every character a terminal may act on, and every byte that is not
// UTF-8, written as its Go escape (\x1b, \r, \n, \u009b, \u202e, \xff), as the server's logs
// quote them. A backslash stays as it is, so escaping twice changes nothing.
func terminalText(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case actsOnTerminal(r):
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeControls rewrites, in JSON text, every character a terminal may act on as a \uXXXX
// escape, and every byte that is not UTF-8 as \ufffd, as encoding/json does for most of them
// but not DEL, the C1 controls or the bidirectional ones. They occur only inside strings,
// whose values are unchanged: the JSON decodes to the same data.
func escapeControls(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			out = append(out, `\ufffd`...)
		case actsOnTerminal(r) && r != '\n': // json.Indent's own line breaks
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// toolArguments builds a tool's arguments from KEY=VALUE words and JSON objects, later words
// winning. A value is read as its property's schema type says: text for strings, a number for
// integers and numbers, true or false for booleans, JSON for arrays and objects; the tool's
// own decoding then checks them.
func toolArguments(words []string, properties map[string]*jsonschema.Schema) (map[string]any, error) {
	args := map[string]any{}
	for _, w := range words {
		if strings.HasPrefix(strings.TrimSpace(w), "{") {
			var obj map[string]any
			if err := json.Unmarshal([]byte(w), &obj); err != nil {
				return nil, fmt.Errorf("%q is not a JSON object: %v", truncateWord(w), err)
			}
			for k, v := range obj {
				args[k] = v
			}
			continue
		}
		key, value, ok := strings.Cut(w, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("%q is neither KEY=VALUE nor a JSON object", truncateWord(w))
		}
		var typ string
		if p := properties[key]; p != nil {
			typ = p.Type
		}
		v, err := typedValue(value, typ)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %v", key, truncateWord(value), err)
		}
		args[key] = v
	}
	return args, nil
}

func typedValue(s, typ string) (any, error) {
	switch typ {
	case "integer":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, errors.New("want a whole number")
		}
		return n, nil
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, errors.New("want a number")
		}
		return f, nil
	case "boolean":
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, errors.New("want true or false")
		}
		return b, nil
	case "array", "object":
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("want JSON: %v", err)
		}
		return v, nil
	}
	return s, nil
}

func truncateWord(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// progressLine shows the progress of the current call on one line of a terminal, rewritten in
// place and cleared at the end. On anything but a terminal it shows nothing. The calls report
// their progress on the command's own goroutine.
type progressLine struct {
	w     io.Writer // nil: not a terminal
	label string
	shown bool
}

func newProgressLine(stderr io.Writer) *progressLine {
	if !isTerminal(stderr) {
		return &progressLine{}
	}
	return &progressLine{w: stderr}
}

// maxProgressWidth keeps the line narrower than any terminal, since a wrapped line cannot be
// rewritten in place.
const maxProgressWidth = 78

// start shows that a call about label has started.
func (p *progressLine) start(label string) {
	p.label = label
	p.show(label + "…")
}

// update shows what the current call reports.
func (p *progressLine) update(message string) {
	p.show(p.label + ": " + message)
}

func (p *progressLine) show(line string) {
	if p.w == nil {
		return
	}
	line = terminalText(line)
	if r := []rune(line); len(r) > maxProgressWidth {
		line = string(r[:maxProgressWidth-1]) + "…"
	}
	fmt.Fprint(p.w, "\r\x1b[2K"+line)
	p.shown = true
}

func (p *progressLine) clear() {
	if p.w != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[2K")
		p.shown = false
	}
}
