package main

// Tests of the command line: the built binary run as a user would run it, against the
// simulated upstream, and the parts of cli.go that need no process.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"

	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// cliRun is one run of the binary.
type cliRun struct {
	code           int
	stdout, stderr string
}

// cliEnv is a clean environment: no key, no base URL, no log level from the test's own, and
// HOME, TMPDIR and the XDG directories in empty directories of the test, so that a test can
// see whether anything was written there.
type cliEnv struct {
	vars []string
	dirs []string // HOME, TMPDIR, XDG dirs and the working directory
	cwd  string
}

func newCLIEnv(t *testing.T, extra ...string) *cliEnv {
	t.Helper()
	e := &cliEnv{vars: []string{"PATH=" + os.Getenv("PATH")}}
	for _, name := range []string{"HOME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		dir := t.TempDir()
		e.vars = append(e.vars, name+"="+dir)
		e.dirs = append(e.dirs, dir)
	}
	e.cwd = t.TempDir()
	e.dirs = append(e.dirs, e.cwd)
	e.vars = append(e.vars, extra...)
	return e
}

// run runs the binary with args and waits for it, at most a minute.
func (e *cliEnv) run(t *testing.T, bin string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = e.vars, e.cwd
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %v: %v", args, err)
	}
	return cliRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// untouched fails the test when anything was written in the environment's directories.
func (e *cliEnv) untouched(t *testing.T) {
	t.Helper()
	for _, dir := range e.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, entry := range entries {
			t.Errorf("%s was written in %s", entry.Name(), dir)
		}
	}
}

// pureJSON decodes stdout, which must hold one JSON object and nothing else.
func pureJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON object:\n%s", stdout)
	}
	return v
}

func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := serverBinary(t)
	fast := []string{"--poll-interval", "20ms", "--max-poll-interval", "50ms"}

	t.Run("get prints the result as JSON and writes nothing", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, "--simulate", "get", simulate.IDDone)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr", r.code, r.stderr)
		}
		got := pureJSON(t, r.stdout)
		if got["task_id"] != simulate.IDDone || got["task_status"] != "SUCCEEDED" || got["done"] != true {
			t.Errorf("result = %v, want %s SUCCEEDED and done", got, simulate.IDDone)
		}
		// Indented, in the server's field order, with the URL's & as it is.
		if !strings.HasPrefix(r.stdout, "{\n  \"task_id\": ") {
			t.Errorf("stdout does not start with the indented task_id:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, `\u0026`) || !strings.Contains(r.stdout, "&OSSAccessKeyId=") {
			t.Errorf("the video URL is not printed as it is:\n%s", r.stdout)
		}
		env.untouched(t)
	})

	t.Run("wait with flags after the command", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, append([]string{"wait", simulate.IDSuccess, "--timeout", "30s", "--simulate"}, fast...)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr", r.code, r.stderr)
		}
		got := pureJSON(t, r.stdout)
		if got["task_status"] != "SUCCEEDED" || got["done"] != true || got["polls"] == nil || got["video_url"] == nil {
			t.Errorf("result = %v, want SUCCEEDED after polls, with the video URL", got)
		}
		env.untouched(t)
	})

	t.Run("a failed task is an answer", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, append([]string{"--simulate", "wait", simulate.IDFail}, fast...)...)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
		}
		if got := pureJSON(t, r.stdout); got["task_status"] != "FAILED" {
			t.Errorf("result = %v, want FAILED", got)
		}
	})

	t.Run("an error result exits 1 with the message on stderr", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, "--simulate", "get", simulate.IDMissing)
		if r.code != exitError || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want %d and nothing on stdout", r.code, r.stdout, exitError)
		}
		if !strings.Contains(r.stderr, "does not know task "+simulate.IDMissing) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("stderr = %q, want the tool's message alone", r.stderr)
		}
		env.untouched(t)
	})

	t.Run("a wait that ends first exits 3 with the result", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, append([]string{"--simulate", "wait", simulate.IDSlow, "--timeout", "1s"}, fast...)...)
		if r.code != exitNotFinished {
			t.Fatalf("exit %d, stderr %q; want %d", r.code, r.stderr, exitNotFinished)
		}
		if got := pureJSON(t, r.stdout); got["done"] != false || got["task_status"] != "RUNNING" {
			t.Errorf("result = %v, want RUNNING and not done", got)
		}
		if !strings.Contains(r.stderr, "run wait again") || !strings.Contains(r.stderr, "video-task-mcp wait "+simulate.IDSlow) {
			t.Errorf("stderr = %q, want advice to wait again", r.stderr)
		}
	})

	t.Run("a missing key is named", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t, "GPTGE_BASE_URL=http://127.0.0.1:1")
		r := env.run(t, bin, "get", "some-task")
		if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "GPTGE_API_KEY is not set") {
			t.Errorf("exit %d, stdout %q, stderr %q; want %d and a message naming GPTGE_API_KEY", r.code, r.stdout, r.stderr, exitError)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		for _, args := range [][]string{
			{"--simulate", "get"},
			{"--simulate", "get", "a", "b"},
			{"--simulate", "frobnicate", "x"},
			{"--simulate", "--timeout", "5s", "wait", "x"},
			{"--simulate", "wait", "x", "--timeout", "soon"},
			{"--simulate", "wait", "x", "--timeout", "0s"},
			{"--simulate", "--enable-create", "create", "duration=five", "model=wan2.5-t2v-preview"},
			{"--simulate", "get", "../x"},
			{"--simulate", "wait", "."},
			{"--simulate", "--poll-interval", "soon", "get", "x"},
			{"--simulate", "--enable-create", "create", "model=wan2.5-t2v-preview"},
			{"--simulate", "--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "duration=7"},
			{"--simulate", "--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "colour=red"},
			{"--simulate", "--enable-create", "create", `{"model": "wan2.5-t2v-preview", "prompt": 5}`},
			{"--simulate", "--no-\x1b[31mred", "get", "x"},
		} {
			r := env.run(t, bin, args...)
			if r.code != 2 || r.stdout != "" {
				t.Errorf("%v: exit %d, stdout %q; want 2 and nothing on stdout", args, r.code, r.stdout)
			}
			// One line that says what is wrong, not the usage and not advice for a model.
			if !strings.HasPrefix(r.stderr, "video-task-mcp: ") || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "call again") ||
				strings.ContainsRune(r.stderr, 0x1b) {
				t.Errorf("%v: stderr %q, want one line starting \"video-task-mcp: \"", args, r.stderr)
			}
		}
	})

	t.Run("messages name the command to run", func(t *testing.T) {
		t.Parallel()
		usage := []struct {
			args []string
			want string
		}{
			{[]string{"get", "bad id!"},
				`video-task-mcp: get: the task id contains ' ' at position 3; only letters, digits and - _ . : are allowed (run video-task-mcp get --help)`},
			{[]string{"wait", "../x"},
				`video-task-mcp: wait: the task id contains '/' at position 2; only letters, digits and - _ . : are allowed (run video-task-mcp wait --help)`},
			{[]string{"wait", strings.Repeat("a", 129)},
				`video-task-mcp: wait: the task id is 129 characters long; at most 128 are allowed (run video-task-mcp wait --help)`},
			{[]string{"--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "colour=red"},
				`video-task-mcp: create: unknown argument "colour"; the arguments are model, prompt, negative_prompt, img_url, audio_url, size, resolution, duration, seed and prompt_extend (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "model=wan2.5-t2v-preview"},
				`video-task-mcp: create: prompt is required: describe the video (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "model=wan9", "prompt=a fox"},
				`video-task-mcp: create: model "wan9" is not supported; one of wan2.5-t2v-preview, wan2.2-t2v-plus, wanx2.1-t2v-turbo, wanx2.1-t2v-plus, wan2.5-i2v-preview, wan2.2-i2v-plus, wanx2.1-i2v-turbo, wanx2.1-i2v-plus (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "duration=7"},
				`video-task-mcp: create: duration 7 is not offered by wan2.5-t2v-preview; allowed: 5, 10 seconds (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "duration=five"},
				`video-task-mcp: create: duration=five: want a whole number (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "model=wan2.5-t2v-preview", "prompt=a fox", "seed=-1"},
				`video-task-mcp: create: seed must be between 0 and 2147483647, not -1 (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", `{"model": "wan2.5-t2v-preview", "prompt": 5}`},
				`video-task-mcp: create: prompt must be a string, not a number (run video-task-mcp create --help)`},
			{[]string{"--enable-create", "create", "--timeout", "soon", "model=wan2.5-t2v-preview", "prompt=a fox"},
				`video-task-mcp: --timeout: want a duration such as 1s or 500ms, not "soon"`},
			{[]string{"--enable-create", "create", "--bogus", "model=wan2.5-t2v-preview", "prompt=a fox"},
				`video-task-mcp: flag provided but not defined: -bogus; run video-task-mcp create --help to see the flags`},
			{[]string{"--enable-create", "create"},
				`video-task-mcp: create needs the task's arguments, e.g. model=wan2.5-t2v-preview prompt="a red fox" (run video-task-mcp create --help)`},
		}
		// The same with the simulator and with a real upstream (one that is never reached). Each
		// run is a process of its own, and they run side by side.
		for _, env := range []struct {
			name string
			env  *cliEnv
			args []string
		}{
			{"simulated", newCLIEnv(t), []string{"--simulate"}},
			{"upstream", newCLIEnv(t, "GPTGE_API_KEY=sk-test-key", "GPTGE_BASE_URL=http://127.0.0.1:1"), nil},
		} {
			for _, u := range usage {
				args := append(append([]string(nil), env.args...), u.args...)
				t.Run(env.name+" "+strings.Join(u.args, " "), func(t *testing.T) {
					t.Parallel()
					r := env.env.run(t, bin, args...)
					if r.code != exitUsage || r.stderr != u.want+"\n" {
						t.Errorf("%s %q: exit %d, stderr\n%s\nwant exit %d and\n%s", env.name, args, r.code, r.stderr, exitUsage, u.want)
					}
				})
			}
		}
		// Failures of the call itself.
		r := newCLIEnv(t).run(t, bin, "--simulate", "get", simulate.IDDown)
		want := "The upstream could not be reached or failed (HTTP 503: <html> <head><title>503 Service Temporarily Unavailable</title></head> <body> <center><h1>503 Service Temporarily Unavailable</h1></center> <hr><center>nginx</center> </body> </html>) after 4 attempts. The task itself is unaffected: run the same command again in a minute.\n"
		if r.code != exitError || r.stderr != want {
			t.Errorf("get %s: exit %d, stderr\n%s\nwant exit %d and\n%s", simulate.IDDown, r.code, r.stderr, exitError, want)
		}
	})

	t.Run("help lists the commands", func(t *testing.T) {
		t.Parallel()
		r := newCLIEnv(t).run(t, bin, "--help")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("--help: exit %d, stderr %q; want 0 and the help on stdout", r.code, r.stderr)
		}
		for _, want := range []string{"get TASK_ID", "wait TASK_ID", "create", "--download-dir", "Exit status", "GOMEMLIMIT"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("--help does not mention %q:\n%s", want, r.stdout)
			}
		}
		r = newCLIEnv(t).run(t, bin, "wait", "--help")
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: video-task-mcp [flags] wait TASK_ID") {
			t.Errorf("wait --help: exit %d, stdout %q, stderr %q; want 0 and the help of wait on stdout", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("download-dir saves a finished video", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		dir := filepath.Join(t.TempDir(), "videos")
		r := env.run(t, bin, append([]string{"--simulate", "--download-dir", dir, "wait", simulate.IDSuccess}, fast...)...)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		got := pureJSON(t, r.stdout)
		want := filepath.Join(dir, simulate.IDSuccess+".mp4")
		if got["local_path"] != want {
			t.Fatalf("local_path = %v, want %s", got["local_path"], want)
		}
		data, err := os.ReadFile(want)
		if err != nil || !bytes.Equal(data, simulate.Video()) {
			t.Errorf("saved video: %d bytes, %v; want the simulated video", len(data), err)
		}
		// Asked again, the saved file is reused.
		r = env.run(t, bin, "--simulate", "--download-dir", dir, "get", simulate.IDDone)
		if got := pureJSON(t, r.stdout); r.code != 0 || got["local_path"] != filepath.Join(dir, simulate.IDDone+".mp4") {
			t.Errorf("get: exit %d, result %v", r.code, got)
		}
		// A task that has not finished saves nothing.
		r = env.run(t, bin, "--simulate", "--download-dir", dir, "get", simulate.IDSlow)
		if got := pureJSON(t, r.stdout); r.code != 0 || got["local_path"] != nil {
			t.Errorf("get of a running task: exit %d, result %v", r.code, got)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("the download directory holds %d entries, want 2", len(entries))
		}
		env.untouched(t)
	})

	t.Run("create submits through the create tool", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		r := env.run(t, bin, "--simulate", "create", "model=wan2.5-t2v-preview", "prompt=a fox")
		if r.code != exitError || !strings.Contains(r.stderr, "--enable-create") || strings.Contains(r.stderr, tools.CreateVideoTaskName) {
			t.Errorf("without --enable-create: exit %d, stderr %q; want %d and a pointer to the flag", r.code, r.stderr, exitError)
		}
		r = env.run(t, bin, append([]string{"--simulate", "--enable-create", "create", "--wait", `{"model":"wan2.5-t2v-preview"}`, "prompt=a red fox", "duration=5"}, fast...)...)
		if r.code != 0 {
			t.Fatalf("create --wait: exit %d, stderr %q", r.code, r.stderr)
		}
		got := pureJSON(t, r.stdout)
		id, _ := got["task_id"].(string)
		if got["task_status"] != "SUCCEEDED" || !strings.HasPrefix(id, simulate.IDSuccess) || !strings.Contains(r.stderr, "created task "+id) {
			t.Errorf("create --wait: result %v, stderr %q; want the new task SUCCEEDED and its id on stderr", got, r.stderr)
		}
	})

	t.Run("an interrupt exits 130", func(t *testing.T) {
		t.Parallel()
		env := newCLIEnv(t)
		cmd := exec.Command(bin, "--simulate", "--log-level", "debug", "wait", simulate.IDSlow)
		cmd.Env, cmd.Dir = env.vars, env.cwd
		var stdout bytes.Buffer
		stderr := &logBuffer{}
		cmd.Stdout, cmd.Stderr = &stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The interrupt goes once the wait has polled: a fixed pause could end before the
		// command handles SIGINT on a busy machine, and the signal would kill it.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "task polled"); {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the wait logged no poll within 10 s; stderr %q", stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("the wait did not end on SIGINT")
		}
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || stdout.Len() != 0 || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing on stdout, and \"interrupted\"", code, stdout.String(), stderr, exitInterrupted)
		}
	})
}

func TestParseCommandLine(t *testing.T) {
	tests := []struct {
		args    []string
		want    *command
		simul   bool
		wantErr bool
	}{
		{args: nil, want: nil},
		{args: []string{"--simulate"}, want: nil, simul: true},
		{args: []string{"--simulate", "get", "x"}, want: &command{name: "get", args: []string{"x"}}, simul: true},
		{args: []string{"get", "x", "--simulate"}, want: &command{name: "get", args: []string{"x"}}, simul: true},
		{args: []string{"wait", "--simulate", "x"}, want: &command{name: "wait", args: []string{"x"}, timeout: defaultCommandTimeout}, simul: true},
		{args: []string{"wait", "x", "--timeout", "90s"}, want: &command{name: "wait", args: []string{"x"}, timeout: 90 * time.Second}},
		{args: []string{"wait", "--", "-odd-id"}, want: &command{name: "wait", args: []string{"-odd-id"}, timeout: defaultCommandTimeout}},
		{args: []string{"create", "--wait", "a=1", "--simulate", "b=2"}, want: &command{name: "create", args: []string{"a=1", "b=2"}, wait: true, timeout: defaultCommandTimeout}, simul: true},
		{args: []string{"get"}, wantErr: true},
		{args: []string{"get", "x", "y"}, wantErr: true},
		{args: []string{"serve"}, wantErr: true},
		{args: []string{"--timeout", "1s", "wait", "x"}, wantErr: true},
		{args: []string{"get", "x", "--timeout", "1s"}, wantErr: true},
		{args: []string{"wait", "x", "--timeout", "-1s"}, wantErr: true},
		{args: []string{"create"}, wantErr: true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		simul := fs.Bool("simulate", false, "")
		got, err := parseCommandLine(fs, tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseCommandLine(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(command{})); diff != "" {
			t.Errorf("parseCommandLine(%q) (-want +got):\n%s", tt.args, diff)
		}
		if *simul != tt.simul {
			t.Errorf("parseCommandLine(%q): --simulate = %v, want %v", tt.args, *simul, tt.simul)
		}
	}
}

func TestCommandLogLevel(t *testing.T) {
	getenv := func(map[string]string) func(string) string {
		return func(string) string { return "" }
	}(nil)
	cfg, err := parseConfig([]string{"--simulate", "get", "x"}, getenv, io.Discard)
	if err != nil || cfg.logLevel.String() != "ERROR" {
		t.Errorf("a command logs at %v (%v), want ERROR", cfg.logLevel, err)
	}
	cfg, err = parseConfig([]string{"--simulate", "get", "x", "--log-level", "debug"}, getenv, io.Discard)
	if err != nil || cfg.logLevel.String() != "DEBUG" {
		t.Errorf("a command with --log-level debug logs at %v (%v)", cfg.logLevel, err)
	}
	cfg, err = parseConfig([]string{"--simulate"}, getenv, io.Discard)
	if err != nil || cfg.logLevel.String() != "INFO" {
		t.Errorf("the server logs at %v (%v), want INFO", cfg.logLevel, err)
	}
}

func TestToolArguments(t *testing.T) {
	props := map[string]*jsonschema.Schema{
		"prompt":        {Type: "string"},
		"duration":      {Type: "integer"},
		"ratio":         {Type: "number"},
		"prompt_extend": {Type: "boolean"},
		"tags":          {Type: "array"},
	}
	got, err := toolArguments([]string{`{"prompt":"from json","seed":7}`, "prompt=a=b fox", "duration=5", "ratio=1.5", "prompt_extend=false", `tags=["x"]`, "other=12"}, props)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"prompt": "a=b fox", "seed": float64(7), "duration": int64(5), "ratio": 1.5, "prompt_extend": false, "tags": []any{"x"}, "other": "12"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("toolArguments (-want +got):\n%s", diff)
	}
	for _, bad := range [][]string{{"duration=five"}, {"prompt_extend=maybe"}, {"novalue"}, {"=x"}, {"{not json"}, {"tags=[oops"}} {
		if _, err := toolArguments(bad, props); err == nil {
			t.Errorf("toolArguments(%q) succeeded, want an error", bad)
		}
	}
}

func TestUnescapeHTML(t *testing.T) {
	tests := map[string]string{
		`"a\u0026b"`:               `"a&b"`,
		`"\u003ctag\u003e"`:        `"<tag>"`,
		`"\\u0026"`:                `"\\u0026"`, // an escaped backslash, then text
		`"\\\u0026"`:               `"\\&"`,
		`"\n\"\u00e9"`:             `"\n\"\u00e9"`,
		`"end\u00`:                 `"end\u00`,
		`{"k":"x\u0026y","n":1.5}`: `{"k":"x&y","n":1.5}`,
	}
	for in, want := range tests {
		if got := string(unescapeHTML([]byte(in))); got != want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	p := &progressLine{w: &out}
	p.start("task x")
	p.update("RUNNING; waited 3 s")
	p.clear()
	p.clear() // nothing shown since
	want := "\r\x1b[2Ktask x…\r\x1b[2Ktask x: RUNNING; waited 3 s\r\x1b[2K"
	if got := out.String(); got != want {
		t.Errorf("progress output = %q, want %q", got, want)
	}

	long := &progressLine{w: &out}
	out.Reset()
	long.start(strings.Repeat("x", 200))
	if n := len([]rune(strings.TrimPrefix(out.String(), "\r\x1b[2K"))); n > maxProgressWidth {
		t.Errorf("a progress line of %d characters; at most %d fit without wrapping", n, maxProgressWidth)
	}

	var silent bytes.Buffer
	quiet := newProgressLine(&silent) // not a terminal
	quiet.start("task x")
	quiet.update("RUNNING")
	quiet.clear()
	if silent.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", silent.String())
	}
}

// fakeTasks answers the commands' calls as a test says, so that a test can make a call fail
// as the real server cannot be made to. A call it was not given fails.
type fakeTasks struct {
	query    func(ctx context.Context, id string) (schema.TaskResult, error)
	download func(ctx context.Context, id string) (schema.TaskResult, error)
}

var errNotExpected = errors.New("a call the test did not expect")

func (f fakeTasks) Query(ctx context.Context, id string) (schema.TaskResult, error) {
	if f.query == nil {
		return schema.TaskResult{}, errNotExpected
	}
	return f.query(ctx, id)
}

func (f fakeTasks) Wait(context.Context, string, time.Duration, func(string)) (schema.TaskResult, error) {
	return schema.TaskResult{}, errNotExpected
}

func (f fakeTasks) Download(ctx context.Context, id string) (schema.TaskResult, error) {
	if f.download == nil {
		return schema.TaskResult{}, errNotExpected
	}
	return f.download(ctx, id)
}

func (f fakeTasks) Create(context.Context, schema.CreateVideoTaskInput) (schema.CreateVideoTaskResult, error) {
	return schema.CreateVideoTaskResult{}, errNotExpected
}

// succeededTask answers as Query does for a SUCCEEDED task with downloads on.
func succeededTask(_ context.Context, id string) (schema.TaskResult, error) {
	return schema.TaskResult{
		TaskID:     id,
		TaskStatus: "SUCCEEDED",
		Done:       true,
		VideoURL:   "https://example.com/v.mp4?a=1&b=2",
		Summary:    "The video is ready. To keep the video after the link expires, call download_video with the same task_id.",
	}, nil
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestCommandFailures: what goes wrong in or around the calls is said on stderr, and exits 1
// (not 2, which main uses for usage errors), or 130 when interrupted.
func TestCommandFailures(t *testing.T) {
	cfg := config{apiKey: "key", apiKeyVariable: "GPTGE_API_KEY"}
	get := &command{name: "get", args: []string{"t1"}}
	const why = "Could not query task t1: connection reset by the test. Try again."
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		tasks      fakeTasks
		stdout     io.Writer
		wantCode   exitCode
		wantStderr string
	}{
		{
			name:       "the query fails",
			tasks:      fakeTasks{query: func(context.Context, string) (schema.TaskResult, error) { return schema.TaskResult{}, errors.New(why) }},
			wantCode:   exitError,
			wantStderr: why + "\n",
		},
		{
			name:       "printing the result fails",
			tasks:      fakeTasks{query: succeededTask},
			stdout:     failingWriter{},
			wantCode:   exitError,
			wantStderr: "video-task-mcp: printing the result: disk full\n",
		},
		{
			name: "interrupted",
			ctx:  cancelled,
			tasks: fakeTasks{query: func(ctx context.Context, _ string) (schema.TaskResult, error) {
				return schema.TaskResult{}, ctx.Err()
			}},
			wantCode:   exitInterrupted,
			wantStderr: "video-task-mcp: interrupted\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			w := tt.stdout
			if w == nil {
				w = &stdout
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			err := runCommand(ctx, get, cfg, tt.tasks, w, &stderr)
			var code exitCode
			if !errors.As(err, &code) || code != tt.wantCode {
				t.Fatalf("runCommand = %v, want exit status %d; stderr %q", err, tt.wantCode, stderr.String())
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}

	t.Run("interrupted around a call", func(t *testing.T) {
		var stderr bytes.Buffer
		err := commandFailed(cancelled, &stderr, "printing the result", context.Canceled)
		if code, ok := err.(exitCode); !ok || code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("commandFailed after an interrupt = %v, stderr %q; want exit status %d and \"interrupted\"", err, stderr.String(), exitInterrupted)
		}
	})
}

// TestCommandDownloadErrorResult: when the download fails (its query of the task failed), the
// task's result is still printed, and stderr says why the video was not saved rather than
// repeating the result's advice to call download_video.
func TestCommandDownloadErrorResult(t *testing.T) {
	const why = "Could not query task t1: connection reset by the test. Try again."
	tasks := fakeTasks{
		query: succeededTask,
		download: func(context.Context, string) (schema.TaskResult, error) {
			return schema.TaskResult{}, errors.New(why)
		},
	}
	cfg := config{apiKey: "key", apiKeyVariable: "GPTGE_API_KEY", downloadDir: t.TempDir()}
	var stdout, stderr bytes.Buffer
	err := runCommand(context.Background(), &command{name: "get", args: []string{"t1"}}, cfg, tasks, &stdout, &stderr)
	var code exitCode
	if !errors.As(err, &code) || code != exitError {
		t.Fatalf("runCommand = %v, want exit status %d; stderr %q", err, exitError, stderr.String())
	}
	if got := pureJSON(t, stdout.String()); got["task_status"] != "SUCCEEDED" || got["video_url"] == nil || got["local_path"] != nil {
		t.Errorf("result = %v, want the SUCCEEDED task with its video URL and no local_path", got)
	}
	want := "The video of task t1 was not saved. " + why + "\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}
