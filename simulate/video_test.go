package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// videoURLOf returns the video URL of a sim-done task, as the simulated upstream hands it out.
func videoURLOf(t *testing.T, now time.Time) string {
	t.Helper()
	h := simulate.NewHandler(simulate.Options{Now: func() time.Time { return now }})
	req, _ := http.NewRequest(http.MethodGet, simulate.BaseURL+"/task/"+simulate.IDDone, nil)
	req.Header.Set("Authorization", "Bearer any")
	resp, err := (&http.Client{Transport: simulate.Transport(h)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Output struct {
			VideoURL string `json:"video_url"`
		} `json:"output"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Output.VideoURL == "" {
		t.Fatalf("no video URL: %v", err)
	}
	return body.Output.VideoURL
}

func getVideo(t *testing.T, h http.Handler, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: simulate.Transport(h)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestVideoHandlerServesTheVideo(t *testing.T) {
	now := time.Now()
	url := videoURLOf(t, now)
	h := simulate.NewVideoHandler(simulate.Options{Now: func() time.Time { return now }})
	video := simulate.Video()
	if len(video) < 1000 || string(video[4:8]) != "ftyp" {
		t.Fatalf("the simulated video is %d bytes starting %q, want an MP4", len(video), video[:8])
	}

	resp, body := getVideo(t, h, http.MethodGet, url, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/mp4" || !bytes.Equal(body, video) {
		t.Errorf("GET: %d %s, %d bytes; want 200 video/mp4 with the video", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(video)) {
		t.Errorf("Content-Length = %q, want %d", resp.Header.Get("Content-Length"), len(video))
	}
	resp, body = getVideo(t, h, http.MethodHead, url, nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes, want 200 and no body", resp.StatusCode, len(body))
	}
	resp, body = getVideo(t, h, http.MethodGet, url, map[string]string{"Range": "bytes=0-7"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, video[:8]) {
		t.Errorf("range: %d %q, want 206 with the first 8 bytes", resp.StatusCode, body)
	}
}

func TestVideoHandlerRefuses(t *testing.T) {
	now := time.Now()
	url := videoURLOf(t, now)
	later := simulate.NewVideoHandler(simulate.Options{Now: func() time.Time { return now.Add(25 * time.Hour) }})
	resp, body := getVideo(t, later, http.MethodGet, url, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>AccessDenied</Code>") ||
		!strings.Contains(string(body), "Request has expired.") {
		t.Errorf("expired link: %d %s, want 403 with AccessDenied", resp.StatusCode, body)
	}

	h := simulate.NewVideoHandler(simulate.Options{})
	resp, body = getVideo(t, h, http.MethodGet, "https://store.simulated.invalid/a/b.txt", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "NoSuchKey") {
		t.Errorf("not a video: %d %s, want 404 NoSuchKey", resp.StatusCode, body)
	}
	resp, _ = getVideo(t, h, http.MethodPost, url, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
