package main

import (
	"flag"
	"fmt"
	"io"
)

// writeHelp prints the help of command, or the server's when command is "".
func writeHelp(w io.Writer, command string) {
	if command != "" {
		writeCommandHelp(w, command)
		return
	}
	fmt.Fprintf(w, `Usage: %s [flags] [get|wait|create ARGS...: see Commands below]

An MCP server for following Bailian (Wan) video-generation tasks on api.gpt.ge or DashScope
(and, with --enable-create, submitting them).
Serves MCP over stdio unless --transport says otherwise.

Flags:
`, serverName)
	fs := newFlagSet(&flagValues{})
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, `
Environment:
  %-25s API key sent as the bearer token (required for real calls; never a flag)
  %-25s API key with --provider dashscope, instead of %s
  %-25s 1 offers create_video_task, when --enable-create is not given
  %-25s upstream base URL, when --base-url is not given ("%s" simulates it)
  %-25s log level, when --log-level is not given
  %-25s bearer token that sse and http clients must send (unset: no client authentication)
  %-25s Redis shared by replicas, when --redis-url is not given
  %-25s Go runtime soft memory limit, e.g. 64MiB (default 48MiB)
`, envAPIKey, envDashScopeKey, envAPIKey, envEnableCreate, envBaseURL, simulateBaseURL, envLogLevel, envAuthToken, envRedisURL, "GOMEMLIMIT")
	fmt.Fprintf(w, `
Commands (instead of serving MCP):
  %[1]s [flags] get TASK_ID
        query the task once
  %[1]s [flags] wait TASK_ID [--timeout 15m]
        wait until the task ends or the timeout passes
  %[1]s [flags] --enable-create create [--wait] [--timeout 15m] KEY=VALUE... | JSON
        submit a task, e.g. model=wan2.5-t2v-preview prompt="a red fox" duration=5, or its
        arguments as one JSON object; --wait then waits for it
  Run %[1]s COMMAND --help for the help of one command.
  Flags may come before or after the command. With --download-dir, a SUCCEEDED video is also
  saved there. The result's JSON goes to stdout, messages to stderr, and a live progress line
  to stderr when it is a terminal. Logs default to error.
%[2]s`, serverName, exitStatusHelp)
}

// exitStatusHelp is the exit statuses of the commands, as help prints them.
const exitStatusHelp = `  Exit status: 0 result printed; 1 error, or the video could not be saved; 2 usage;
  3 the wait ended before the task did (done: false); 130 interrupted.
`

// commandHelp is each command's synopsis and what it does, as its help prints them.
var commandHelp = map[string]struct{ synopsis, about string }{
	"get": {"get TASK_ID", `Queries the task once and prints its result as JSON on stdout: its status, and the video's
URL once it has SUCCEEDED.`},
	"wait": {"wait TASK_ID [--timeout 15m]", `Waits until the task ends or --timeout passes, showing its progress on stderr when that is
a terminal, then prints its result as JSON on stdout.`},
	"create": {"--enable-create create [--wait] [--timeout 15m] KEY=VALUE... | JSON", `Submits a task, billed to your account, and prints the new task as JSON on stdout. Give
the arguments of create_video_task as KEY=VALUE words, typed by its schema (duration=5 is
a number), and/or one JSON object, e.g.
  model=wan2.5-t2v-preview prompt="a red fox in snow" duration=5
With --wait, it then waits for the new task as wait does.`},
}

// writeCommandHelp prints the help of one command.
func writeCommandHelp(w io.Writer, name string) {
	h := commandHelp[name]
	fmt.Fprintf(w, "Usage: %s [flags] %s\n\n%s\n", serverName, h.synopsis, h.about)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	(&command{name: name}).defineFlags(fs)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags of %s:\n", name)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprintf(w, `
With --download-dir DIR, a SUCCEEDED video is also saved in DIR. The server's flags
(--simulate, --provider, --download-dir, ...) may come before or after the command; run
%s --help to list them.
%s`, serverName, exitStatusHelp)
}
