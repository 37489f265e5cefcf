package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/internal/download"
	"github.com/video-task-mcp/video-task-mcp/simulate"
	"github.com/video-task-mcp/video-task-mcp/tools"
)

// mp4 is a real MP4 file, as a video host sends it.
var mp4 = simulate.Video()

// videoAnswer is how the fake video host answers one path.
type videoAnswer struct {
	status      int
	contentType string
	body        []byte
	// length, when set, is the Content-Length sent whatever the body; -1 sends none (chunked).
	length int
	// block, when set, makes the host send the first part of the body and then hang until
	// the request ends.
	block bool
	// noType sends no Content-Type at all (net/http would otherwise sniff one).
	noType bool
}

// videoHost is a fake object store serving videos at signed-looking URLs; it records whether any
// request carried an Authorization header.
type videoHost struct {
	base string // where the videos are: a listener's URL, or a name only its client reaches

	mu       sync.Mutex
	answers  map[string]videoAnswer
	hits     map[string]int
	authSeen bool
	sending  chan struct{} // receives when a blocking answer has sent its first part
}

// newVideoHost listens on loopback, for the default download client, whose guard is part of
// what the tests exercise.
func newVideoHost(t *testing.T) *videoHost {
	t.Helper()
	v := newMemoryVideoHost()
	server := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(server.Close)
	v.base = server.URL
	return v
}

// newMemoryVideoHost is a videoHost served in memory, reached only through its client: it can
// live in a synctest bubble.
func newMemoryVideoHost() *videoHost {
	return &videoHost{base: "http://videos.test", answers: map[string]videoAnswer{}, hits: map[string]int{}, sending: make(chan struct{}, 1)}
}

// client reaches the host in memory.
func (v *videoHost) client() *http.Client {
	return &http.Client{Transport: simulate.Transport(http.HandlerFunc(v.serve))}
}

func (v *videoHost) serve(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	if r.Header.Get("Authorization") != "" {
		v.authSeen = true
	}
	v.hits[r.URL.Path]++
	a, ok := v.answers[r.URL.Path]
	v.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	if a.noType {
		w.Header()["Content-Type"] = nil
	}
	switch {
	case a.length > 0:
		w.Header().Set("Content-Length", strconv.Itoa(a.length))
	case a.length == 0:
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	}
	w.WriteHeader(cmpOr(a.status, http.StatusOK))
	if a.block {
		_, _ = w.Write(a.body[:len(a.body)/2])
		w.(http.Flusher).Flush()
		v.sending <- struct{}{}
		<-r.Context().Done()
		return
	}
	_, _ = w.Write(a.body)
}

func cmpOr(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// video serves a at path and returns its URL, signed-looking and with an Expires parameter.
func (v *videoHost) video(path string, a videoAnswer) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.answers[path] = a
	return v.base + path + "?Expires=1761540731&OSSAccessKeyId=LTAI&Signature=abc%3D"
}

func (v *videoHost) hitsFor(path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hits[path]
}

// succeededWithVideo is a SUCCEEDED task body whose video is at videoURL.
func succeededWithVideo(id, videoURL string) answer {
	return taskBody(id, "SUCCEEDED", `"end_time":"2025-10-26 12:52:20.355","video_url":"`+videoURL+`"`)
}

// downloadDeps is testDeps with downloads into a fresh directory, through the default download
// client allowed to reach loopback, where the fake video hosts listen.
func downloadDeps(t *testing.T, f *fakeUpstream) (tools.Deps, string) {
	t.Helper()
	deps := testDeps(t, f, testToken)
	dir := t.TempDir()
	deps.DownloadDir = dir
	deps.DownloadHTTPClient = download.NewLoopbackClient()
	return deps, dir
}

// dirEntries lists the names in dir, hidden ones included.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadVideoSavesTheVideo(t *testing.T) {
	f := newFakeUpstream(t)
	host := newVideoHost(t)
	deps, dir := downloadDeps(t, f)
	c := connect(t, deps)

	tests := []struct {
		id       string
		wantFile string
	}{
		{"task-1", "task-1.mp4"},
		{"relay:task:2", "relay%3Atask%3A2.mp4"},
		{".hidden-3", "%2Ehidden-3.mp4"},
	}
	for i, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			videoURL := host.video(fmt.Sprintf("/video-%d.mp4", i), videoAnswer{contentType: "video/mp4", body: mp4})
			f.script(tt.id, succeededWithVideo(tt.id, videoURL))

			res := call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": tt.id})
			got := structured(t, res)
			wantPath := filepath.Join(dir, tt.wantFile)
			if got.LocalPath != wantPath {
				t.Fatalf("local_path = %q, want %q (summary: %s)", got.LocalPath, wantPath, got.Summary)
			}
			data, err := os.ReadFile(wantPath)
			if err != nil || !bytes.Equal(data, mp4) {
				t.Fatalf("saved file: %d bytes, err %v; want the %d bytes served", len(data), err, len(mp4))
			}
			if got.TaskStatus != "SUCCEEDED" || got.VideoURL != videoURL || !strings.Contains(got.Summary, wantPath) {
				t.Errorf("result = %+v, want SUCCEEDED with the video URL and the path in the summary", got)
			}
			links := resourceLinks(res)
			if len(links) != 2 {
				t.Fatalf("resource links = %+v, want the remote one and the local one", links)
			}
			if links[0].URI != videoURL {
				t.Errorf("first link = %q, want the video URL", links[0].URI)
			}
			local, err := url.Parse(links[1].URI)
			if err != nil || local.Scheme != "file" || local.Path != filepath.ToSlash(wantPath) {
				t.Errorf("second link = %q, want file:// of %s", links[1].URI, wantPath)
			}
			if links[1].MIMEType != "video/mp4" || links[1].Size == nil || *links[1].Size != int64(len(mp4)) {
				t.Errorf("local link = %+v, want video/mp4 of %d bytes", links[1], len(mp4))
			}
		})
	}
	if host.authSeen {
		t.Errorf("a video request carried an Authorization header; the signed URL needs none and the API key must not leave for the video host")
	}
	want := []string{"%2Ehidden-3.mp4", "relay%3Atask%3A2.mp4", "task-1.mp4"}
	if diff := cmp.Diff(want, dirEntries(t, dir)); diff != "" {
		t.Errorf("download directory (-want +got), no temporary files may remain:\n%s", diff)
	}
}

func TestDownloadVideoReusesASavedFile(t *testing.T) {
	f := newFakeUpstream(t)
	host := newVideoHost(t)
	deps, dir := downloadDeps(t, f)
	c := connect(t, deps)
	videoURL := host.video("/v.mp4", videoAnswer{contentType: "video/mp4", body: mp4})
	f.script("again", succeededWithVideo("again", videoURL))

	first := structured(t, call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "again"}))
	second := structured(t, call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "again"}))
	if first.LocalPath == "" || second.LocalPath != first.LocalPath {
		t.Fatalf("local paths %q then %q, want the same file", first.LocalPath, second.LocalPath)
	}
	if n := host.hitsFor("/v.mp4"); n != 1 {
		t.Errorf("the video was fetched %d times, want 1: a saved video is reused", n)
	}
	if !strings.Contains(second.Summary, "already saved") {
		t.Errorf("second summary = %q, want it to say the video was already saved", second.Summary)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("download directory holds %v, want one file", got)
	}
}

func TestDownloadVideoConcurrentCallsFetchOnce(t *testing.T) {
	f := newFakeUpstream(t)
	host := newVideoHost(t)
	deps, dir := downloadDeps(t, f)
	c := connect(t, deps)
	videoURL := host.video("/c.mp4", videoAnswer{contentType: "video/mp4", body: mp4})
	f.script("together", succeededWithVideo("together", videoURL))

	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Go(func() {
			req := mcp.CallToolRequest{}
			req.Params.Name = tools.DownloadVideoName
			req.Params.Arguments = map[string]any{"task_id": "together"}
			res, err := c.CallTool(context.Background(), req)
			if err != nil || res.IsError {
				t.Errorf("call %d: %v %v", i, err, res)
				return
			}
			paths[i] = res.StructuredContent.(map[string]any)["local_path"].(string)
		})
	}
	wg.Wait()
	if n := host.hitsFor("/c.mp4"); n != 1 {
		t.Errorf("8 concurrent calls fetched the video %d times, want 1", n)
	}
	for i, p := range paths {
		if p != filepath.Join(dir, "together.mp4") {
			t.Errorf("call %d: local_path %q", i, p)
		}
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("download directory holds %v, want one file", got)
	}
}

func TestDownloadVideoFailuresKeepTheResult(t *testing.T) {
	oss403 := []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>`)
	notMP4 := []byte("this is not a video, just some bytes long enough")
	tests := []struct {
		name   string
		answer videoAnswer
		limit  int64
		want   string // in the summary
	}{
		{"expired link", videoAnswer{status: http.StatusForbidden, contentType: "application/xml", body: oss403}, 0, "HTTP 403 (AccessDenied); the link may have expired"},
		{"html page", videoAnswer{contentType: "text/html; charset=utf-8", body: []byte("<html>login</html>")}, 0, "sent text/html, not an MP4 video"},
		{"sniffed content type", videoAnswer{body: mp4}, 0, ""}, // net/http sniffs video/mp4; checked below
		{"no content type", videoAnswer{body: mp4, noType: true}, 0, "sent no Content-Type"},
		{"octet-stream that is not mp4", videoAnswer{contentType: "application/octet-stream", body: notMP4}, 0, "is not laid out like an MP4 file"},
		{"video/mp4 that is not mp4", videoAnswer{contentType: "video/mp4", body: notMP4}, 0, "the body is not an MP4 file"},
		{"declared too large", videoAnswer{contentType: "video/mp4", body: mp4}, 1000, "more than the 1000 B a download may take"},
		{"too large without a length", videoAnswer{contentType: "video/mp4", body: mp4, length: -1}, 1000, "larger than the 1000 B a download may take"},
		{"truncated", videoAnswer{contentType: "video/mp4", body: mp4, length: len(mp4) + 100}, 0, "failed"},
		{"missing", videoAnswer{status: http.StatusNotFound, contentType: "application/xml", body: []byte(`<Error><Code>NoSuchKey</Code></Error>`)}, 0, "the link may have expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t)
			host := newVideoHost(t)
			deps, dir := downloadDeps(t, f)
			deps.MaxDownloadBytes = tt.limit
			c := connect(t, deps)
			videoURL := host.video("/x.mp4", tt.answer)
			f.script("t1", succeededWithVideo("t1", videoURL))

			res := call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "t1"})
			got := structured(t, res) // fails the test on an error result
			if tt.name == "sniffed content type" {
				// Go's server sniffs the body and sends video/mp4: that must be accepted.
				if got.LocalPath == "" {
					t.Errorf("sniffed video/mp4 was refused: %s", got.Summary)
				}
				return
			}
			if got.LocalPath != "" || got.TaskStatus != "SUCCEEDED" || got.VideoURL != videoURL || !got.Done {
				t.Errorf("result = %+v, want the SUCCEEDED task with its URL and no local_path", got)
			}
			for _, want := range []string{"saving its video into " + dir + " failed", tt.want, "call download_video again", videoURL} {
				if !strings.Contains(got.Summary, want) {
					t.Errorf("summary = %q, want it to contain %q", got.Summary, want)
				}
			}
			if len(resourceLinks(res)) != 1 {
				t.Errorf("links = %+v, want the remote one only", resourceLinks(res))
			}
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("download directory holds %v after a failed download, want nothing", names)
			}
		})
	}
}

// TestDownloadVideoCancelledLeavesNothing runs in a synctest bubble, with the video host in
// memory: synctest.Wait tells when the download is stuck waiting for the rest of the video.
func TestDownloadVideoCancelledLeavesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeUpstream(t)
		host := newMemoryVideoHost()
		deps := bubbleDeps(t, f)
		dir := t.TempDir()
		deps.DownloadDir, deps.DownloadHTTPClient = dir, host.client()
		c := connect(t, deps)
		videoURL := host.video("/slow.mp4", videoAnswer{contentType: "video/mp4", body: mp4, block: true})
		f.script("slow", succeededWithVideo("slow", videoURL))

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := startCall(t, ctx, c, tools.DownloadVideoName, map[string]any{"task_id": "slow"}, "")
		<-host.sending
		synctest.Wait() // the download has written what it got, and waits for the rest
		if names := dirEntries(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], ".part") || !strings.HasPrefix(names[0], ".") {
			t.Errorf("during the download the directory holds %v, want one hidden .part file", names)
		}
		cancel()
		<-done
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("once the cancelled call answered, the directory holds %v, want nothing", names)
		}
	})
}

func TestDownloadVideoNeverReplacesAFile(t *testing.T) {
	f := newFakeUpstream(t)
	host := newVideoHost(t)
	deps, dir := downloadDeps(t, f)
	c := connect(t, deps)
	videoURL := host.video("/mine.mp4", videoAnswer{contentType: "video/mp4", body: mp4})
	f.script("mine", succeededWithVideo("mine", videoURL))
	precious := []byte("the user's own notes, not a video")
	path := filepath.Join(dir, "mine.mp4")
	if err := os.WriteFile(path, precious, 0o644); err != nil {
		t.Fatal(err)
	}

	got := structured(t, call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "mine"}))
	if got.LocalPath != "" || !strings.Contains(got.Summary, "already exists and is not an MP4 video") {
		t.Errorf("result = %+v, want a refusal that names the file in the way", got)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, precious) {
		t.Errorf("the file in the way was changed to %q", data)
	}
	if n := host.hitsFor("/mine.mp4"); n != 0 {
		t.Errorf("the video was fetched %d times, want 0", n)
	}
}

func TestDownloadVideoOnlyForSucceededTasks(t *testing.T) {
	f := newFakeUpstream(t)
	host := newVideoHost(t)
	deps, dir := downloadDeps(t, f)
	c := connect(t, deps)
	videoURL := host.video("/never.mp4", videoAnswer{contentType: "video/mp4", body: mp4})
	f.script("running", taskBody("running", "RUNNING", `"video_url":"`+videoURL+`"`))
	f.script("failed", taskBody("failed", "FAILED", `"code":"DataInspectionFailed","message":"bad"`))
	f.script("empty", taskBody("empty", "SUCCEEDED", ""))

	tests := map[string]string{
		"running": "Once it has SUCCEEDED, call download_video again",
		"failed":  "There is no video to save.",
		"empty":   "sent no video URL",
	}
	for id, want := range tests {
		got := structured(t, call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": id}))
		if got.LocalPath != "" || !strings.Contains(got.Summary, want) {
			t.Errorf("%s: result = %+v, want no local_path and %q in the summary", id, got, want)
		}
	}
	if n := host.hitsFor("/never.mp4"); n != 0 {
		t.Errorf("the video host was asked %d times, want 0", n)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("download directory holds %v, want nothing", names)
	}

	// Errors of the query come back as they would from get_video_task.
	res := call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "../etc/passwd"})
	if !res.IsError || !strings.Contains(resultText(res), "Invalid input") {
		t.Errorf("invalid id: result = %s, want an invalid-input error", resultText(res))
	}
	res = call(t, context.Background(), c, tools.DownloadVideoName, map[string]any{"task_id": "nobody-knows"})
	if !res.IsError || !strings.Contains(resultText(res), "does not know task") {
		t.Errorf("unknown task: result = %s, want the not-found error", resultText(res))
	}
}

func TestDownloadsOffChangeNothing(t *testing.T) {
	f := newFakeUpstream(t)
	f.script("ok", succeededBody("ok"))
	off := testDeps(t, f, testToken)
	on, _ := downloadDeps(t, f)
	cOff, cOn := connect(t, off), connect(t, on)

	list := func(c interface {
		ListTools(context.Context, mcp.ListToolsRequest) (*mcp.ListToolsResult, error)
	}) map[string]string {
		res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("ListTools: %v", err)
		}
		out := map[string]string{}
		for _, tool := range res.Tools {
			raw, _ := json.Marshal(tool)
			out[tool.Name] = string(raw)
		}
		return out
	}
	toolsOff, toolsOn := list(cOff), list(cOn)
	if _, ok := toolsOff[tools.DownloadVideoName]; ok {
		t.Errorf("without a download directory, tools/list offers %s", tools.DownloadVideoName)
	}
	if _, ok := toolsOn[tools.DownloadVideoName]; !ok {
		t.Errorf("with a download directory, tools/list lacks %s", tools.DownloadVideoName)
	}
	for _, name := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
		if toolsOff[name] != toolsOn[name] {
			t.Errorf("the definition of %s changes with downloads on:\noff: %s\non:  %s", name, toolsOff[name], toolsOn[name])
		}
	}

	// A SUCCEEDED result names download_video only when it exists.
	for _, tc := range []struct {
		name string
		c    interface {
			CallTool(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
		}
		want bool
	}{{"off", cOff, false}, {"on", cOn, true}} {
		for _, tool := range []string{tools.GetVideoTaskName, tools.WaitForVideoTaskName} {
			req := mcp.CallToolRequest{}
			req.Params.Name = tool
			req.Params.Arguments = map[string]any{"task_id": "ok"}
			res, err := tc.c.CallTool(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			r := structured(t, res)
			if got := strings.Contains(r.Summary, "download_video"); got != tc.want {
				t.Errorf("downloads %s, %s summary %q: mentions download_video = %v, want %v", tc.name, tool, r.Summary, got, tc.want)
			}
			if !strings.Contains(resultText(res), r.Summary) {
				t.Errorf("downloads %s, %s: the text does not carry the summary", tc.name, tool)
			}
			if r.LocalPath != "" {
				t.Errorf("%s returned local_path %q; only download_video saves", tool, r.LocalPath)
			}
		}
	}
}

func TestDownloadVideoDefinition(t *testing.T) {
	f := newFakeUpstream(t)
	deps, _ := downloadDeps(t, f)
	deps.WaitTimeout = 0
	c := connect(t, deps)
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	i := slices.IndexFunc(res.Tools, func(tool mcp.Tool) bool { return tool.Name == tools.DownloadVideoName })
	if i < 0 {
		t.Fatalf("tools/list lacks %s", tools.DownloadVideoName)
	}
	raw, err := json.Marshal(res.Tools[i])
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Title       string         `json:"title"`
		Description string         `json:"description"`
		Annotations map[string]any `json:"annotations"`
		Output      map[string]any `json:"outputSchema"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"title": "Download video", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true}
	if diff := cmp.Diff(want, def.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	for _, phrase := range []string{"task_id", "24 hours", "SUCCEEDED", "local_path"} {
		if !strings.Contains(def.Description, phrase) {
			t.Errorf("description does not mention %q: %s", phrase, def.Description)
		}
	}
	if def.Output == nil {
		t.Errorf("no outputSchema")
	}

	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", tools.DownloadVideoName+".json")
	if os.Getenv(updateGoldenEnv) != "" {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read snapshot (run with %s=1 to create it): %v", updateGoldenEnv, err)
	}
	if diff := cmp.Diff(string(golden), pretty.String()); diff != "" {
		t.Errorf("definition of %s drifted from %s (-want +got); rerun with %s=1 if deliberate:\n%s", tools.DownloadVideoName, path, updateGoldenEnv, diff)
	}
}
