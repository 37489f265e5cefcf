package api

import (
	"net/url"
	"strconv"
	"time"
)

// TaskStatus is a task's status exactly as the upstream reports it. Values other than the
// constants below are kept as they came and treated as not terminal.
type TaskStatus string

// The statuses the upstream documents. SUSPENDED is known to the provider's SDKs only.
const (
	StatusPending   TaskStatus = "PENDING"
	StatusRunning   TaskStatus = "RUNNING"
	StatusSuspended TaskStatus = "SUSPENDED"
	StatusSucceeded TaskStatus = "SUCCEEDED"
	StatusFailed    TaskStatus = "FAILED"
	StatusCanceled  TaskStatus = "CANCELED"
	StatusUnknown   TaskStatus = "UNKNOWN"
)

// Terminal reports whether a task with this status will never change again. UNKNOWN is
// terminal: the upstream answers it for ids that never existed or are older than 24 hours.
func (s TaskStatus) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCanceled, StatusUnknown:
		return true
	}
	return false
}

// Task is one video-generation task as the upstream last reported it.
type Task struct {
	// RequestID identifies the upstream request that produced this answer.
	RequestID string
	// ID is the task id the upstream echoed back.
	ID     string
	Status TaskStatus
	// SubmitTime, ScheduledTime and EndTime are kept in the upstream's own format
	// ("2025-10-26 12:50:16.723", no zone).
	SubmitTime    string
	ScheduledTime string
	EndTime       string
	// VideoURL is the signed download URL of a SUCCEEDED task; it expires after 24 hours.
	VideoURL     string
	OrigPrompt   string
	ActualPrompt string
	// Code and Message explain a FAILED task (and sometimes an UNKNOWN one).
	Code    string
	Message string
	// Usage holds the billing counters the model reported, unknown keys included.
	Usage map[string]any
}

// VideoURLExpiry returns the expiry carried by the video URL's Expires parameter (Unix
// seconds), and false when the URL has none or it cannot be read.
func (t *Task) VideoURLExpiry() (time.Time, bool) {
	if t.VideoURL == "" {
		return time.Time{}, false
	}
	u, err := url.Parse(t.VideoURL)
	if err != nil {
		return time.Time{}, false
	}
	raw := u.Query().Get("Expires")
	if raw == "" {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(raw, 10, 64)
	// Refuse values no signed URL could carry: before 2001 or after 2286.
	if err != nil || secs < 1e9 || secs > 1e10 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0).UTC(), true
}
