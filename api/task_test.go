package api_test

import (
	"testing"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

func TestTaskStatusTerminal(t *testing.T) {
	tests := []struct {
		status api.TaskStatus
		want   bool
	}{
		{api.StatusPending, false},
		{api.StatusRunning, false},
		{api.StatusSuspended, false},
		{api.StatusSucceeded, true},
		{api.StatusFailed, true},
		{api.StatusCanceled, true},
		{api.StatusUnknown, true},
		{"", false},
		{"QUEUED_FOR_REVIEW", false},
		{"succeeded", false}, // statuses are upper case; another spelling is another status
		{"CANCELLED", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			if got := tt.status.Terminal(); got != tt.want {
				t.Errorf("TaskStatus(%q).Terminal() = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestTaskVideoURLExpiry(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		want   time.Time
		wantOK bool
	}{
		{name: "with Expires", url: succeededURL, want: time.Unix(1761540731, 0).UTC(), wantOK: true},
		{name: "Expires first", url: "https://oss.example/v.mp4?Expires=1761540731", want: time.Unix(1761540731, 0).UTC(), wantOK: true},
		{name: "smallest accepted", url: "https://oss.example/v.mp4?Expires=1000000000", want: time.Unix(1e9, 0).UTC(), wantOK: true},
		{name: "largest accepted", url: "https://oss.example/v.mp4?Expires=10000000000", want: time.Unix(1e10, 0).UTC(), wantOK: true},
		{name: "no URL", url: ""},
		{name: "without Expires", url: "https://oss.example/v.mp4?OSSAccessKeyId=k&Signature=s"},
		{name: "no query", url: "https://oss.example/v.mp4"},
		{name: "empty Expires", url: "https://oss.example/v.mp4?Expires=&Signature=s"},
		{name: "lower-case expires", url: "https://oss.example/v.mp4?expires=1761540731"},
		{name: "non-numeric", url: "https://oss.example/v.mp4?Expires=tomorrow"},
		{name: "fractional", url: "https://oss.example/v.mp4?Expires=1761540731.5"},
		{name: "negative", url: "https://oss.example/v.mp4?Expires=-1761540731"},
		{name: "zero", url: "https://oss.example/v.mp4?Expires=0"},
		{name: "milliseconds", url: "https://oss.example/v.mp4?Expires=1761540731000"},
		{name: "before 2001", url: "https://oss.example/v.mp4?Expires=999999999"},
		{name: "overflows int64", url: "https://oss.example/v.mp4?Expires=99999999999999999999999"},
		{name: "unparsable URL", url: "https://[::1/v.mp4?Expires=1761540731"},
		{name: "control character", url: "https://oss.example/v\x7f.mp4?Expires=1761540731"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &api.Task{Status: api.StatusSucceeded, VideoURL: tt.url}
			got, ok := task.VideoURLExpiry()
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("Task{VideoURL: %q}.VideoURLExpiry() = %v, %v, want %v, %v", tt.url, got, ok, tt.want, tt.wantOK)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("Task{VideoURL: %q}.VideoURLExpiry() location = %v, want UTC", tt.url, got.Location())
			}
		})
	}
}
