package simulate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// post sends a submission and decodes the answer.
func (u upstream) post(t *testing.T, path, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u.baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("POST %s: decoding %s: %v", path, raw, err)
	}
	return a
}

// getPath queries path (a full path, for the DashScope route) and decodes the answer.
func (u upstream) getPath(t *testing.T, path string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.baseURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("GET %s: decoding %s: %v", path, raw, err)
		}
	}
	return a
}

const (
	t2vBody = `{"model":"wan2.5-t2v-preview","input":{"prompt":"a fox"},"parameters":{"size":"832*480"}}`
	i2vBody = `{"model":"wan2.2-i2v-plus","input":{"prompt":"it blinks","img_url":"https://example.com/a.png"},"parameters":{"resolution":"480P"}}`
)

var (
	bearer = map[string]string{"Authorization": "Bearer " + token}
	async  = map[string]string{"Authorization": "Bearer " + token, "X-DashScope-Async": "enable"}
)

func TestSubmissionsCreateTasksThatTellAStory(t *testing.T) {
	for way, u := range upstreams(t, simulate.Options{}) {
		t.Run(way, func(t *testing.T) {
			for _, tt := range []struct {
				name, path, body string
				header           map[string]string
				story            string
				query            string // the query path prefix
			}{
				{"gptge text2video", simulate.Text2VideoPath, t2vBody, bearer, simulate.IDSuccess, "/task/"},
				{"gptge image2video", simulate.Image2VideoPath, i2vBody, bearer, simulate.IDSuccess, "/task/"},
				{"dashscope text-to-video", simulate.DashScopeSubmitPath, t2vBody, async, simulate.IDSuccess, simulate.DashScopeTasksPath},
				{"dashscope image-to-video", simulate.DashScopeSubmitPath, i2vBody, async, simulate.IDSuccess, simulate.DashScopeTasksPath},
				{"a prompt that asks to fail", simulate.Text2VideoPath,
					`{"model":"wanx2.1-t2v-turbo","input":{"prompt":"This should FAIL"}}`, bearer, simulate.IDFail, "/task/"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					a := u.post(t, tt.path, tt.body, tt.header)
					if a.status != http.StatusOK || a.body.Output == nil || a.body.Output.TaskStatus != "PENDING" || a.body.RequestID == "" {
						t.Fatalf("POST %s = HTTP %d %s, want 200 with a PENDING task and a request id", tt.path, a.status, a.raw)
					}
					id := a.body.Output.TaskID
					if !strings.HasPrefix(id, tt.story+"-") || len(id) < len(tt.story)+30 {
						t.Fatalf("new task id %q, want %s- and a fresh suffix", id, tt.story)
					}
					if again := u.post(t, tt.path, tt.body, tt.header); again.body.Output.TaskID == id {
						t.Errorf("two submissions got the same id %q", id)
					}
					var statuses []string
					for range 5 {
						statuses = append(statuses, u.getPath(t, tt.query+id).outcome())
					}
					end := "SUCCEEDED"
					if tt.story == simulate.IDFail {
						end = "FAILED"
					}
					if want := []string{"PENDING", "RUNNING", "RUNNING", "RUNNING", end}; strings.Join(statuses, " ") != strings.Join(want, " ") {
						t.Errorf("queries of %s = %v, want %v", id, statuses, want)
					}
				})
			}
		})
	}
}

func TestSubmissionsRefused(t *testing.T) {
	for way, u := range upstreams(t, simulate.Options{}) {
		t.Run(way, func(t *testing.T) {
			for _, tt := range []struct {
				name, path, body string
				header           map[string]string
				status           int
				code             string
			}{
				{"no key", simulate.Text2VideoPath, t2vBody, nil, 401, "InvalidApiKey"},
				{"dashscope without the async header", simulate.DashScopeSubmitPath, t2vBody, bearer, 403, "AccessDenied"},
				{"not JSON", simulate.Text2VideoPath, `{"model":`, bearer, 400, "InvalidParameter"},
				{"unknown model", simulate.Text2VideoPath, `{"model":"sora","input":{"prompt":"p"}}`, bearer, 400, "InvalidParameter"},
				{"i2v model on text2video", simulate.Text2VideoPath, i2vBody, bearer, 400, "InvalidParameter"},
				{"t2v model on image2video", simulate.Image2VideoPath, t2vBody, bearer, 400, "InvalidParameter"},
				{"no prompt", simulate.DashScopeSubmitPath, `{"model":"wan2.5-t2v-preview","input":{}}`, async, 400, "InvalidParameter"},
				{"i2v without an image", simulate.DashScopeSubmitPath, `{"model":"wan2.5-i2v-preview","input":{"prompt":"p"}}`, async, 400, "InvalidParameter"},
				{"t2v with an image", simulate.DashScopeSubmitPath, `{"model":"wan2.5-t2v-preview","input":{"prompt":"p","img_url":"https://e.example/a.png"}}`, async, 400, "InvalidParameter"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					a := u.post(t, tt.path, tt.body, tt.header)
					if a.status != tt.status || a.body.Code != tt.code || a.body.Message == "" || a.body.Output != nil {
						t.Errorf("POST %s = HTTP %d %s, want %d with code %s and a message", tt.path, a.status, a.raw, tt.status, tt.code)
					}
				})
			}
		})
	}
}

// TestDashScopeQueryPath: DashScope's route tells the same stories, except that an id it
// does not know is UNKNOWN with HTTP 200, as DashScope answers, never the relay's 404.
func TestDashScopeQueryPath(t *testing.T) {
	for way, u := range upstreams(t, simulate.Options{}) {
		t.Run(way, func(t *testing.T) {
			if got := u.getPath(t, simulate.DashScopeTasksPath+simulate.IDDone).outcome(); got != "SUCCEEDED" {
				t.Errorf("GET %s%s = %s, want SUCCEEDED", simulate.DashScopeTasksPath, simulate.IDDone, got)
			}
			for _, id := range []string{simulate.IDMissing, "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"} {
				a := u.getPath(t, simulate.DashScopeTasksPath+id)
				if a.outcome() != "UNKNOWN" || a.body.Output.TaskID != id {
					t.Errorf("GET %s%s = HTTP %d %s, want UNKNOWN for the id", simulate.DashScopeTasksPath, id, a.status, a.raw)
				}
			}
			if got := u.getPath(t, simulate.DashScopeTasksPath+simulate.IDDown).outcome(); got != "HTTP 503" {
				t.Errorf("GET %s%s = %s, want HTTP 503", simulate.DashScopeTasksPath, simulate.IDDown, got)
			}
			req, _ := http.NewRequest(http.MethodGet, u.baseURL+simulate.DashScopeTasksPath+simulate.IDMissing, nil)
			resp, err := u.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET without a key = HTTP %d, want 401", resp.StatusCode)
			}
		})
	}
}

// TestAPIClientSubmitsToTheSimulator runs the server's own client against the simulator on
// both providers: submit, then query the new id to its end.
func TestAPIClientSubmitsToTheSimulator(t *testing.T) {
	for _, provider := range api.Providers() {
		t.Run(string(provider), func(t *testing.T) {
			client, err := api.NewClient("sk-whatever", api.WithProvider(provider), api.WithBaseURL(simulate.BaseURL),
				api.WithHTTPClient(&http.Client{Transport: simulate.Transport(simulate.NewHandler(simulate.Options{}))}))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			task, err := client.CreateTask(ctx, api.CreateRequest{Kind: api.ImageToVideo, Model: "wan2.5-i2v-preview",
				Prompt: "it blinks", ImgURL: "https://example.com/a.png", Resolution: "720P", Duration: 5})
			if err != nil {
				t.Fatalf("CreateTask: %v", err)
			}
			if task.Status != api.StatusPending || !strings.HasPrefix(task.ID, simulate.IDSuccess+"-") {
				t.Fatalf("CreateTask = %+v, want a PENDING sim-success task", task)
			}
			for range 5 {
				if task, err = client.GetTask(ctx, task.ID); err != nil {
					t.Fatalf("GetTask: %v", err)
				}
			}
			if task.Status != api.StatusSucceeded || task.VideoURL == "" {
				t.Errorf("after 5 queries: %s %q, want SUCCEEDED with a URL", task.Status, task.VideoURL)
			}
			_, err = client.CreateTask(ctx, api.CreateRequest{Kind: api.TextToVideo, Model: "wan2.5-i2v-preview", Prompt: "p"})
			if !errors.Is(err, api.ErrRejected) {
				t.Errorf("an i2v model submitted as text-to-video = %v, want rejected by the simulator", err)
			}
		})
	}
}
