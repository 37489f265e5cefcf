package api

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrorKind classifies why a task could not be read, so callers can decide what to tell the
// user and whether trying again can help.
type ErrorKind int

// The kinds of Error.
const (
	// KindInvalidTaskID: the id was refused before any request was made.
	KindInvalidTaskID ErrorKind = iota + 1
	// KindMissingAPIKey: no API key is configured.
	KindMissingAPIKey
	// KindUnauthorized: the upstream refused the API key (401, 403).
	KindUnauthorized
	// KindNotFound: the upstream does not know the task (404, or a relay's "task_not_exist").
	KindNotFound
	// KindRejected: the upstream refused the request for another reason (400 and other 4xx).
	KindRejected
	// KindRateLimited: the upstream asked us to slow down (429) and retries did not help.
	KindRateLimited
	// KindUnavailable: the upstream failed or could not be reached (5xx, network, timeout).
	KindUnavailable
	// KindNotATask: the upstream answered with something that is not a Bailian task.
	KindNotATask
	// KindInvalidRequest: a submission was refused before any request was made.
	KindInvalidRequest
	// KindOutcomeUnknown: a submission reached the upstream, or may have, and no answer says
	// whether it created a task (a timeout or reset after sending, a 5xx, a 2xx that is not a
	// task). It is never retried: the task may exist and be billed.
	KindOutcomeUnknown
)

var kindNames = map[ErrorKind]string{
	KindInvalidTaskID:  "invalid task id",
	KindMissingAPIKey:  "missing API key",
	KindUnauthorized:   "unauthorized",
	KindNotFound:       "task not found",
	KindRejected:       "request rejected",
	KindRateLimited:    "rate limited",
	KindUnavailable:    "upstream unavailable",
	KindNotATask:       "not a task",
	KindInvalidRequest: "invalid request",
	KindOutcomeUnknown: "submission outcome unknown",
}

// String names the kind.
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// Sentinels for errors.Is: errors.Is(err, api.ErrNotFound) holds for every *Error of that kind.
var (
	ErrInvalidTaskID  = &Error{Kind: KindInvalidTaskID}
	ErrMissingAPIKey  = &Error{Kind: KindMissingAPIKey}
	ErrUnauthorized   = &Error{Kind: KindUnauthorized}
	ErrNotFound       = &Error{Kind: KindNotFound}
	ErrRejected       = &Error{Kind: KindRejected}
	ErrRateLimited    = &Error{Kind: KindRateLimited}
	ErrUnavailable    = &Error{Kind: KindUnavailable}
	ErrNotATask       = &Error{Kind: KindNotATask}
	ErrInvalidRequest = &Error{Kind: KindInvalidRequest}
	ErrOutcomeUnknown = &Error{Kind: KindOutcomeUnknown}
)

// Error is every failure of GetTask and CreateTask. Inspect it with errors.As; the fields say
// what the upstream said, so that a caller can quote it.
type Error struct {
	Kind ErrorKind
	// StatusCode is the HTTP status of the last answer, 0 when none came.
	StatusCode int
	// Code, Message and RequestID are the upstream's own, from whichever error envelope it used.
	Code      string
	Message   string
	RequestID string
	// RetryAfter is how long the upstream asked us to wait (KindRateLimited, KindUnavailable),
	// 0 when it did not say.
	RetryAfter time.Duration
	// Attempts is how many requests were sent, or tried to be; 0 when the rate limit let
	// none go in time.
	Attempts int
	// Err is the underlying cause, such as a network error.
	Err error
}

// Error describes the failure in one line, upstream message included. It never contains the
// API key: the request that carries it never reaches an Error, and a body that echoes a key of
// 8 characters or more has it replaced by "[redacted]" before anything quotes it.
func (e *Error) Error() string {
	msg := "api: " + e.Kind.String()
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	switch {
	case e.Code != "" && e.Message != "" && e.Code != e.Message:
		msg += ": " + e.Code + ": " + e.Message
	case e.Message != "":
		msg += ": " + e.Message
	case e.Code != "":
		msg += ": " + e.Code
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter.Round(time.Second))
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the kind sentinels (ErrNotFound and the others).
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind && t.StatusCode == 0 && t.Message == "" && t.Err == nil
}

// Transient reports whether trying again later can succeed.
func (e *Error) Transient() bool {
	return e.Kind == KindRateLimited || e.Kind == KindUnavailable
}
