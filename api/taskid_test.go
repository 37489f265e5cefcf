package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// invalidTaskIDs are refused by ValidateTaskID and must never reach the upstream.
var invalidTaskIDs = []string{
	"",
	"   ",
	"\t\n",
	".",
	"..",
	" .. ",
	"a/b",
	"/abc",
	"abc/",
	"a?b",
	"a#b",
	"a%2Fb",
	"%2e%2e",
	"a b",
	"a\nb",
	"abc\x00",
	"../x",
	"x/../../admin",
	"a\\b",
	"a;b",
	"a+b",
	"a@b",
	"tâche",
	"\u00a0abc\u3000", // only ASCII white space is trimmed, as a schema pattern can say in every dialect
	"task\u200b",
	"ａｂｃ", // full-width letters
	"a\xffb",
	strings.Repeat("a", api.MaxTaskIDLength+1),
	strings.Repeat("é", 100),
}

func TestValidateTaskID(t *testing.T) {
	long := strings.Repeat("Z", api.MaxTaskIDLength)
	valid := []struct {
		in, want string
	}{
		{in: "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c", want: "0385dc79-5ff8-4d82-bcb6-2e7f1a1a2b3c"},
		{in: "  abc  ", want: "abc"},
		{in: "\t\r\nabc\n", want: "abc"},
		{in: "\vabc\f", want: "abc"},
		{in: "a:b:c", want: "a:b:c"},
		{in: ":a", want: ":a"},
		{in: "a.b", want: "a.b"},
		{in: "a..b", want: "a..b"},
		{in: "...", want: "..."},
		{in: ".a", want: ".a"},
		{in: "a.", want: "a."},
		{in: "_-_", want: "_-_"},
		{in: "0", want: "0"},
		{in: long, want: long},
		{in: " " + long + " ", want: long},
	}
	for _, tt := range valid {
		t.Run(tt.want, func(t *testing.T) {
			got, err := api.ValidateTaskID(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ValidateTaskID(%q) = %q, %v, want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
	for _, id := range invalidTaskIDs {
		t.Run(id, func(t *testing.T) {
			got, err := api.ValidateTaskID(id)
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != api.KindInvalidTaskID {
				t.Fatalf("ValidateTaskID(%q) = %q, %v, want an *api.Error of kind %v", id, got, err, api.KindInvalidTaskID)
			}
			if got != "" {
				t.Errorf("ValidateTaskID(%q) = %q, want \"\" with the error", id, got)
			}
			if !errors.Is(err, api.ErrInvalidTaskID) {
				t.Errorf("errors.Is(ValidateTaskID(%q), ErrInvalidTaskID) = false, want true", id)
			}
			if e.Message == "" || e.StatusCode != 0 || e.Attempts != 0 {
				t.Errorf("ValidateTaskID(%q) = %#v, want a message and no status or attempts", id, e)
			}
		})
	}
}

func TestValidateTaskIDMessage(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{id: "", want: "api: invalid task id: task_id is empty"},
		{id: "..", want: `api: invalid task id: task_id is "..", a name of a directory, not a task id`},
		{id: "a/b", want: `api: invalid task id: task_id contains '/' at position 1; only letters, digits and - _ . : are allowed`},
		{id: strings.Repeat("a", 129), want: "api: invalid task id: task_id is 129 characters long; at most 128 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := api.ValidateTaskID(tt.id)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ValidateTaskID(%q) error = %v, want %q", tt.id, err, tt.want)
			}
		})
	}
}
