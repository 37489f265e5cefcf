package main

// The command line: `get`, `wait` and `create` make their tool calls through the very server an
// MCP client talks to, by mcp-go's in-process client, and print the structuredContent. What a
// script sees is what a model sees.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

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

// commandRunner runs one command against an in-process client of the server.
type commandRunner struct {
	c           *client.Client
	progress    *progressLine
	downloadDir string
	stdout      io.Writer
	stderr      io.Writer
	tokens      int
}

// runCommand runs cmd against s and prints the outcome; its error is an exitCode, the outcome
// already reported on stderr.
func runCommand(ctx context.Context, cmd *command, cfg config, s *tools.Server, stdout, stderr io.Writer) error {
	if cfg.apiKey == "" {
		fmt.Fprintf(stderr, "%s: %s is not set: export it with your API key first, or try --simulate.\n", serverName, cfg.apiKeyVariable)
		return exitCode(exitError)
	}
	c, err := client.NewInProcessClient(s.MCPServer)
	if err != nil {
		return commandFailed(ctx, stderr, "creating the in-process client", err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return commandFailed(ctx, stderr, "starting the in-process client", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: serverName + "-cli", Version: currentVersion()}
	if _, err := c.Initialize(ctx, init); err != nil {
		return commandFailed(ctx, stderr, "initializing the in-process client", err)
	}
	r := &commandRunner{c: c, progress: newProgressLine(stderr), downloadDir: cfg.downloadDir, stdout: stdout, stderr: stderr}
	c.OnNotification(r.progress.notify)
	defer r.progress.clear()

	switch cmd.name {
	case "get":
		return r.finish(ctx, r.call(ctx, tools.GetVideoTaskName, map[string]any{"task_id": cmd.args[0]}, "task "+cmd.args[0]), false)
	case "wait":
		return r.finish(ctx, r.wait(ctx, cmd.args[0], cmd.timeout), true)
	case "create":
		return r.create(ctx, cmd)
	}
	return fmt.Errorf("unknown command %q", cmd.name)
}

// commandFailed reports a failure of the command's own machinery rather than of a tool call, as
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

// outcome is what a call came to.
type outcome struct {
	res *mcp.CallToolResult
	err error // the call itself failed (a protocol error, or ctx ended)
}

// task is the task result the call returned; ok is false when the call failed or returned
// something else.
func (o outcome) task() (_ schema.TaskResult, ok bool) {
	var r schema.TaskResult
	if o.err != nil || o.res == nil || o.res.IsError || json.Unmarshal(o.res.RawStructuredContent, &r) != nil || r.TaskID == "" {
		return schema.TaskResult{}, false
	}
	return r, true
}

// call makes one tool call, with a progress token so that a long call can show its progress.
func (r *commandRunner) call(ctx context.Context, name string, args map[string]any, label string) outcome {
	r.tokens++
	token := fmt.Sprintf("cli-%d", r.tokens)
	r.progress.start(token, label)
	defer r.progress.stop()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	res, err := r.c.CallTool(ctx, req)
	return outcome{res: res, err: err}
}

// minCallBudget is the least time left for which wait makes another call: a wait call polls
// at once, and one with less time than the pause between polls would only poll and return.
const minCallBudget = 10 * time.Second

// wait calls wait_for_video_task until the task ends or timeout passes. Free of the ~60 s
// that hosts allow a call, one call may wait up to the tool's limit of an hour; longer waits
// take more calls.
func (r *commandRunner) wait(ctx context.Context, id string, timeout time.Duration) outcome {
	deadline := time.Now().Add(timeout)
	for {
		secs := int(math.Ceil(time.Until(deadline).Seconds()))
		secs = min(max(secs, 1), 3600)
		o := r.call(ctx, tools.WaitForVideoTaskName, map[string]any{"task_id": id, "timeout_seconds": secs}, "task "+id)
		if task, ok := o.task(); !ok || task.Done || time.Until(deadline) < minCallBudget {
			return o
		}
	}
}

// create submits a task and, with --wait, waits for it.
func (r *commandRunner) create(ctx context.Context, cmd *command) error {
	list, err := r.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return commandFailed(ctx, r.stderr, "listing tools", err)
	}
	var tool *mcp.Tool
	for i := range list.Tools {
		if list.Tools[i].Name == tools.CreateVideoTaskName {
			tool = &list.Tools[i]
		}
	}
	if tool == nil {
		fmt.Fprintf(r.stderr, "%s: create is off: add --enable-create (or set %s=1) to submit tasks; each one is billed.\n",
			serverName, envEnableCreate)
		return exitCode(exitError)
	}
	args, err := toolArguments(cmd.args, tool.InputSchema.Properties)
	if err == nil {
		err = checkCreateArguments(args, tool.InputSchema.Properties)
	}
	if err != nil {
		fmt.Fprintf(r.stderr, "%s: create: %s\n", serverName, terminalText(err.Error()))
		return exitCode(exitUsage)
	}
	created := r.call(ctx, tools.CreateVideoTaskName, args, "submitting")
	if !cmd.wait || created.err != nil || created.res.IsError {
		return r.finish(ctx, created, false)
	}
	var task schema.CreateVideoTaskResult
	if err := json.Unmarshal(created.res.RawStructuredContent, &task); err != nil || task.TaskID == "" {
		return r.finish(ctx, created, false)
	}
	r.progress.clear()
	fmt.Fprintf(r.stderr, "created task %s; waiting for it\n", terminalText(task.TaskID))
	return r.finish(ctx, r.wait(ctx, task.TaskID, cmd.timeout), true)
}

// finish prints the outcome of the last call, after saving the video when --download-dir asks
// for it, and returns the exit status. waited says the call was a wait, which fails when it
// ends before the task does.
func (r *commandRunner) finish(ctx context.Context, o outcome, waited bool) error {
	o, notSaved := r.save(ctx, o)
	r.progress.clear()
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(r.stderr, "%s: interrupted\n", serverName)
		return exitCode(exitInterrupted)
	case o.err != nil:
		fmt.Fprintf(r.stderr, "%s: %s\n", serverName, terminalText(o.err.Error()))
		return exitCode(exitError)
	case o.res.IsError:
		fmt.Fprintln(r.stderr, terminalText(strings.TrimSpace(contentText(o.res))))
		return exitCode(exitError)
	}
	if err := printResult(r.stdout, o.res); err != nil {
		return commandFailed(ctx, r.stderr, "printing the result", err)
	}
	task, ok := o.task()
	switch {
	case !ok:
	case r.downloadDir != "" && task.TaskStatus == "SUCCEEDED" && task.VideoURL != "" && task.LocalPath == "":
		if notSaved == "" {
			notSaved = task.Summary // download_video's own, which says why saving failed
		}
		fmt.Fprintln(r.stderr, terminalText(notSaved))
		return exitCode(exitError)
	case waited && !task.Done:
		fmt.Fprintf(r.stderr, "The task has not finished yet; to keep waiting, run wait again: %s wait %s\n", serverName, task.TaskID)
		return exitCode(exitNotFinished)
	}
	return nil
}

// save saves the video of a SUCCEEDED task when --download-dir asks for it, and returns
// download_video's outcome in place of o. When download_video answers with an error result
// (its query failed), o stays as it was and notSaved says why there is no local_path.
func (r *commandRunner) save(ctx context.Context, o outcome) (_ outcome, notSaved string) {
	task, ok := o.task()
	if !ok || r.downloadDir == "" || task.TaskStatus != "SUCCEEDED" {
		return o, ""
	}
	saved := r.call(ctx, tools.DownloadVideoName, map[string]any{"task_id": task.TaskID}, "saving the video of task "+task.TaskID)
	if saved.err != nil || !saved.res.IsError {
		return saved, ""
	}
	return o, fmt.Sprintf("The video of task %s was not saved. %s", task.TaskID, strings.TrimSpace(contentText(saved.res)))
}

// printResult prints a result's structuredContent, indented, in the server's field order, with
// & < > as themselves so that a URL can be copied as it is, and every character a terminal may
// act on as a JSON escape (see escapeControls).
func printResult(w io.Writer, res *mcp.CallToolResult) error {
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(res.StructuredContent); err != nil {
			return err
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return fmt.Errorf("the result is not JSON: %w", err)
	}
	b := escapeControls(unescapeHTML(out.Bytes()))
	b = append(b, '\n')
	_, err := w.Write(b)
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
// integers and numbers, true or false for booleans, JSON for arrays and objects.
func toolArguments(words []string, properties map[string]any) (map[string]any, error) {
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
		v, err := typedValue(value, propertyType(properties[key]))
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %v", key, truncateWord(value), err)
		}
		args[key] = v
	}
	return args, nil
}

// checkCreateArguments refuses what create_video_task would refuse as invalid input, in the
// words of schema.CreateVideoTaskInput: a mistake in the arguments is a usage error, said
// before anything is submitted.
func checkCreateArguments(args, properties map[string]any) error {
	var unknown []string
	for k := range args {
		if _, ok := properties[k]; !ok {
			unknown = append(unknown, strconv.Quote(truncateWord(k)))
		}
	}
	if len(unknown) > 0 {
		known := slices.Sorted(maps.Keys(properties))
		slices.Sort(unknown)
		return fmt.Errorf("unknown argument %s; create takes %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	var in schema.CreateVideoTaskInput
	if err := json.Unmarshal(raw, &in); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return fmt.Errorf("%s: want %s, not a %s", te.Field, propertyType(properties[te.Field]), te.Value)
		}
		return err
	}
	if _, err := in.Validate(); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

func propertyType(p any) string {
	m, _ := p.(map[string]any)
	t, _ := m["type"].(string)
	return t
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

func contentText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := mcp.AsTextContent(c); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// progressLine shows the progress of the current call on one line of a terminal, rewritten in
// place and cleared at the end. On anything but a terminal it shows nothing.
type progressLine struct {
	w io.Writer // nil: not a terminal

	mu      sync.Mutex
	token   string // the current call's progress token; "" between calls
	label   string
	started time.Time
	shown   bool
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

func (p *progressLine) start(token, label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.token, p.label, p.started = token, label, time.Now()
	p.show(label + "…")
}

// stop ignores notifications that arrive after their call returned.
func (p *progressLine) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.token = ""
}

func (p *progressLine) notify(n mcp.JSONRPCNotification) {
	if n.Method != "notifications/progress" {
		return
	}
	fields := n.Params.AdditionalFields
	message, _ := fields["message"].(string)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token == "" || fmt.Sprint(fields["progressToken"]) != p.token {
		return
	}
	if message == "" {
		message = fmt.Sprintf("working; %.0f s", time.Since(p.started).Seconds())
	}
	p.show(p.label + ": " + message)
}

// show rewrites the line; the caller holds p.mu.
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[2K")
		p.shown = false
	}
}
