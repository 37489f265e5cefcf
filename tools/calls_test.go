package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/internal/redact/redacttest"
	"github.com/video-task-mcp/video-task-mcp/schema"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// TestDirectCallsAnswerAsTheTools: Query, Wait and Create give what get_video_task,
// wait_for_video_task and create_video_task give, results and failures alike.
func TestDirectCallsAnswerAsTheTools(t *testing.T) {
	f := newFakeUpstream(t)
	f.script("done", succeededBody("done"))
	f.script("failed", taskBody("failed", "FAILED", `"code":"X","message":"no"`))
	deps := testDeps(t, f, testToken)
	deps.EnableCreate = true
	s := tools.NewServer("video-task-mcp", "test", deps)
	c := connect(t, deps)
	ctx := context.Background()

	for _, id := range []string{"done", "failed"} {
		got, err := s.Query(ctx, id)
		if err != nil {
			t.Fatalf("Query(%q): %v", id, err)
		}
		if want := structured(t, call(t, ctx, c, tools.GetVideoTaskName, map[string]any{"task_id": id})); !cmp.Equal(got, want) {
			t.Errorf("Query(%q) differs from get_video_task (-tool +direct):\n%s", id, cmp.Diff(want, got))
		}
		var progress []string
		got, err = s.Wait(ctx, " "+id+" ", time.Second, func(m string) { progress = append(progress, m) })
		if err != nil || got.TaskID != id || !got.Done || got.Polls == nil {
			t.Errorf("Wait(%q) = %+v, %v; want the finished task with its polls", id, got, err)
		}
	}
	for _, tt := range []struct {
		tool   string
		args   map[string]any
		direct func() error
	}{
		{tools.GetVideoTaskName, map[string]any{"task_id": "../x"}, func() error { _, err := s.Query(ctx, "../x"); return err }},
		{tools.GetVideoTaskName, map[string]any{"task_id": "missing"}, func() error { _, err := s.Query(ctx, "missing"); return err }},
		{tools.WaitForVideoTaskName, map[string]any{"task_id": ""}, func() error { _, err := s.Wait(ctx, "", time.Second, func(string) {}); return err }},
		{tools.CreateVideoTaskName, map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a fox", "duration": 7},
			func() error {
				_, err := s.Create(ctx, schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a fox", Duration: 7})
				return err
			}},
	} {
		res := call(t, ctx, c, tt.tool, tt.args)
		err := tt.direct()
		if !res.IsError || err == nil || err.Error() != resultText(res) {
			t.Errorf("%s %v: the tool says %q (error %v), the direct call %v; want the same failure", tt.tool, tt.args, resultText(res), res.IsError, err)
		}
	}
	if n := f.requestsFor("missing"); n == 0 {
		t.Errorf("the unknown task was never asked for; the test compares nothing upstream")
	}
}

// TestDirectCallsOff: without EnableCreate nothing is submitted, and without a DownloadDir
// nothing is saved.
func TestDirectCallsOff(t *testing.T) {
	f := newFakeUpstream(t)
	f.script("done", succeededBody("done"))
	s := tools.NewServer("video-task-mcp", "test", testDeps(t, f, testToken))
	if _, err := s.Create(context.Background(), schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a fox"}); err == nil {
		t.Errorf("Create succeeded without EnableCreate")
	}
	if _, err := s.Download(context.Background(), "done"); err == nil {
		t.Errorf("Download succeeded without a DownloadDir")
	}
	if n := f.requestsFor("done"); n != 0 {
		t.Errorf("the upstream was asked %d times; want none", n)
	}
}

// TestDirectCallsKeepSecrets: what a caller passes in, or an upstream says, comes back from the
// direct calls without the API key or the bearer token, as from the tools.
func TestDirectCallsKeepSecrets(t *testing.T) {
	deps := echoingDeps(t)
	s := tools.NewServer("video-task-mcp", "test", deps)
	ctx := context.Background()

	var seen strings.Builder
	record := func(v any, err error) {
		raw, _ := json.Marshal(v)
		seen.Write(raw)
		if err != nil {
			seen.WriteString(err.Error())
		}
	}
	for _, id := range []string{testToken, bearer, "\\u0073" + testToken[1:]} {
		record(s.Query(ctx, id))
		record(s.Wait(ctx, id, time.Second, func(m string) { seen.WriteString(m) }))
	}
	record(s.Create(ctx, schema.CreateVideoTaskInput{Model: testToken, Prompt: bearer}))
	for name, secret := range map[string]string{"the API key": testToken, "the bearer token": bearer} {
		if redacttest.Revealed(seen.String(), secret) {
			t.Errorf("a direct call reveals %s:\n%s", name, seen.String())
		}
	}
	if !strings.Contains(seen.String(), "[redacted]") {
		t.Errorf("no answer says [redacted]; the test exercises nothing:\n%s", seen.String())
	}
}

// TestDecodeCreateInput: the arguments a Go caller builds are read as the tool reads JSON ones.
func TestDecodeCreateInput(t *testing.T) {
	in, err := tools.DecodeCreateInput(map[string]any{"model": " WAN2.5-T2V-PREVIEW", "prompt": "a fox", "duration": int64(10), "prompt_extend": false})
	extend := false
	want := schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a fox", Size: in.Size, Duration: 10, PromptExtend: &extend}
	if err != nil || in.Size == "" || !cmp.Equal(in, want) {
		t.Errorf("DecodeCreateInput = %+v, %v; want %+v with the model's default size", in, err, want)
	}
	_, err = tools.DecodeCreateInput(map[string]any{"model": "wan2.5-t2v-preview", "prompt": "a fox", "duration": 7.5, "colour": "red"})
	if err == nil || !strings.Contains(err.Error(), `unknown argument "colour"`) || !strings.Contains(err.Error(), "duration must be a whole number") {
		t.Errorf("DecodeCreateInput of an unknown argument and a fraction: %v; want both named", err)
	}
}

// TestDirectCallsStopWithTheServer: a direct wait is one of the calls Shutdown waits for, and
// answers with the latest status once the server stops.
func TestDirectCallsStopWithTheServer(t *testing.T) {
	f := newFakeUpstream(t)
	f.script("slow", taskBody("slow", "RUNNING", ""))
	s := tools.NewServer("video-task-mcp", "test", testDeps(t, f, testToken))
	polled, release := make(chan struct{}), make(chan struct{})
	type outcome struct {
		r   schema.TaskResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		first := true
		r, err := s.Wait(context.Background(), "slow", time.Hour, func(string) {
			if first {
				first = false
				close(polled)
				<-release // the wait is running until the test lets it go on
			}
		})
		done <- outcome{r, err}
	}()
	<-polled
	// With the wait held inside its call, a Shutdown that may not wait must report it running.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a direct wait running = %v, want %v", err, context.Canceled)
	}
	close(release)
	o := <-done
	if o.err != nil || o.r.Done || o.r.TaskStatus != "RUNNING" || !strings.Contains(o.r.Summary, "shutting down") {
		t.Errorf("Wait = %+v, %v; want RUNNING, not done, and the advice to call again", o.r, o.err)
	}
}

// TestDirectDownloadFailureIsWordedForEachReader: a video that could not be saved is an error
// of the direct call, which tells a model the tool to call and a person the command to run,
// each with the URL that still works.
func TestDirectDownloadFailureIsWordedForEachReader(t *testing.T) {
	f := newFakeUpstream(t)
	host := newMemoryVideoHost()
	url := host.video("/gone.mp4", videoAnswer{status: http.StatusNotFound})
	f.script("t1", succeededWithVideo("t1", url))
	deps := testDeps(t, f, testToken)
	deps.DownloadDir, deps.DownloadHTTPClient = t.TempDir(), host.client()
	_, err := tools.NewServer("video-task-mcp", "test", deps).Download(context.Background(), "t1")
	var callErr *tools.CallError
	if !errors.As(err, &callErr) {
		t.Fatalf("Download of a video that cannot be saved = %v, want a *tools.CallError", err)
	}
	forModel, forPerson := callErr.Error(), callErr.Terminal("video-task-mcp")
	for _, text := range []string{forModel, forPerson} {
		if !strings.Contains(text, "saving its video into") || !strings.Contains(text, "download it from "+url) {
			t.Errorf("text %q does not say what failed and where the video still is", text)
		}
	}
	if !strings.Contains(forModel, "call download_video again") {
		t.Errorf("model's text %q does not name the tool to call", forModel)
	}
	if !strings.Contains(forPerson, "run the same command again") || strings.Contains(forPerson, "download_video") {
		t.Errorf("person's text %q names a tool, or not the command to run", forPerson)
	}
}
