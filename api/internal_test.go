package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 10, 26, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{name: "absent", v: "", want: 0},
		{name: "blank", v: "  ", want: 0},
		{name: "zero", v: "0", want: 0},
		{name: "negative", v: "-5", want: 0},
		{name: "one second", v: "1", want: time.Second},
		{name: "padded", v: " 5 ", want: 5 * time.Second},
		{name: "ten seconds", v: "10", want: 10 * time.Second},
		{name: "absurd seconds are capped", v: "999999999", want: week},
		{name: "max int64 is capped", v: "9223372036854775807", want: week},
		{name: "beyond int64", v: "99999999999999999999", want: 0},
		{name: "fraction", v: "1.5", want: 0},
		{name: "words", v: "soon", want: 0},
		{name: "date", v: date(5 * time.Second), want: 5 * time.Second},
		{name: "date in RFC 850 form", v: now.Add(30 * time.Second).Format(time.RFC850), want: 30 * time.Second},
		{name: "date in ANSI C form", v: now.Add(2 * time.Minute).Format(time.ANSIC), want: 2 * time.Minute},
		{name: "date now", v: date(0), want: 0},
		{name: "date past", v: date(-time.Hour), want: 0},
		{name: "date far ahead is capped", v: date(365 * 24 * time.Hour), want: week},
		{name: "garbled date", v: "Sun, 99 Foo 2025 99:99:99 GMT", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// TestParseRetryAfterDateRoundsUp checks that a date is never waited out short: a date has
// whole seconds, and the time to it is rounded up to the next one.
func TestParseRetryAfterDateRoundsUp(t *testing.T) {
	at := time.Date(2025, 10, 26, 12, 0, 5, 0, time.UTC)
	v := at.Format(http.TimeFormat)
	for _, now := range []time.Time{
		at.Add(-4*time.Second - 1),
		at.Add(-4*time.Second - 400*time.Millisecond),
		at.Add(-4*time.Second - 600*time.Millisecond),
		at.Add(-5 * time.Second),
	} {
		got := parseRetryAfter(v, now)
		if now.Add(got).Before(at) || got%time.Second != 0 || got > at.Sub(now)+time.Second {
			t.Errorf("parseRetryAfter(%q, %v) = %v, want the time to %v rounded up to a second", v, now, got, at)
		}
	}
}

func TestBodySnippet(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "empty", body: "", want: ""},
		{name: "short", body: `{"a":1}`, want: `{"a":1}`},
		{name: "white space collapsed", body: "  <html>\r\n\t<body>  hi </body>\n</html>\n", want: "<html> <body> hi </body> </html>"},
		{name: "exactly 200 runes", body: strings.Repeat("é", 200), want: strings.Repeat("é", 200)},
		{name: "201 runes", body: strings.Repeat("é", 201), want: strings.Repeat("é", 200) + "…"},
		{name: "long", body: strings.Repeat("a", 10000), want: strings.Repeat("a", 200) + "…"},
		{name: "invalid UTF-8", body: "ok \xff\xfe ok", want: "ok \uFFFD ok"},
		{name: "wide runes", body: strings.Repeat("错", 300), want: strings.Repeat("错", 200) + "…"},
		{name: "four-byte runes", body: strings.Repeat("😀", 201), want: strings.Repeat("😀", 200) + "…"},
		{name: "cut in white space", body: "a" + strings.Repeat(" ", 1000) + "b", want: "a…"},
		{name: "short after the cut", body: strings.Repeat("网关错误", 30) + strings.Repeat(" ", 1000), want: strings.Repeat("网关错误", 30) + "…"},
		{name: "rune split by the cut", body: strings.Repeat("€", 100) + strings.Repeat(" ", 499) + "€€", want: strings.Repeat("€", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bodySnippet([]byte(tt.body))
			if got != tt.want {
				t.Errorf("bodySnippet(%q) = %q, want %q", tt.body, got, tt.want)
			}
			if !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\t") {
				t.Errorf("bodySnippet(%q) = %q, want one line of valid UTF-8", tt.body, got)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{retry: RetryPolicy{BaseDelay: 200 * time.Millisecond}}
	for attempt := 1; attempt <= 4; attempt++ {
		base := 200 * time.Millisecond << (attempt - 1)
		lo, hi := base/2, base*3/2
		seen := map[time.Duration]bool{}
		for range 200 {
			d := c.backoff(attempt)
			if d < lo || d >= hi {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v)", attempt, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) returned %v 200 times, want jitter", attempt, seen)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		token, body, want string
	}{
		{token: "sk-0123456789", body: "key sk-0123456789 refused", want: "key [redacted] refused"},
		{token: "sk-0123456789", body: "sk-0123456789sk-0123456789", want: "[redacted][redacted]"},
		{token: "sk-0123456789", body: "no key here", want: "no key here"},
		{token: "12345678", body: "a 12345678 b", want: "a [redacted] b"},
		// A key this short is no real key; replacing it would mangle the message.
		{token: "tok", body: "token tok", want: "token tok"},
		{token: "", body: "anything", want: "anything"},
	}
	for _, tt := range tests {
		t.Run(tt.token+"/"+tt.body, func(t *testing.T) {
			c, err := NewClient(tt.token)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if got := string(c.redactor.Bytes([]byte(tt.body))); got != tt.want {
				t.Errorf("NewClient(%q).redactor.Bytes(%q) = %q, want %q", tt.token, tt.body, got, tt.want)
			}
		})
	}
}

func TestIsTaskNotExist(t *testing.T) {
	tests := []struct {
		code, message string
		want          bool
	}{
		{"task_not_exist", "task_not_exist", true},
		{"", "Task not exist.", true},
		{"TASK_NOT_FOUND", "", true},
		{"InvalidParameter", "task not found: abc", true},
		{"ModelNotFound", "Model not found.", false},
		{"InvalidParameter", "task_id is invalid", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := isTaskNotExist(tt.code, tt.message); got != tt.want {
			t.Errorf("isTaskNotExist(%q, %q) = %v, want %v", tt.code, tt.message, got, tt.want)
		}
	}
}
