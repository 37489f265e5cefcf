package api

import (
	"fmt"
	"strings"
)

// MaxTaskIDLength is the longest task id accepted.
const MaxTaskIDLength = 128

// TaskIDSpace is the white space ValidateTaskID trims from around an id: ASCII's, which every
// regular-expression dialect spells [\t-\r ] alike, so that a schema can state the same rule.
const TaskIDSpace = " \t\n\v\f\r"

// ValidateTaskID trims surrounding TaskIDSpace from id and checks that what remains is 1–128
// characters of A–Z a–z 0–9 - _ . : and not "." or "..". It returns the trimmed id, or an
// *Error of KindInvalidTaskID whose Message says what is wrong, as "task_id " and what reads
// after "the task id" (such as "is empty"). No request is made for a refused id.
func ValidateTaskID(id string) (string, error) {
	id = strings.Trim(id, TaskIDSpace)
	invalid := func(format string, args ...any) error {
		return &Error{Kind: KindInvalidTaskID, Message: fmt.Sprintf(format, args...)}
	}
	if id == "" {
		return "", invalid("task_id is empty")
	}
	// Characters first: an id of other characters is refused for them, whatever its length.
	for i, r := range id {
		if r >= 0x80 || !isTaskIDByte(byte(r)) {
			return "", invalid("task_id contains %q at position %d; only letters, digits and - _ . : are allowed", r, i)
		}
	}
	switch {
	case len(id) > MaxTaskIDLength:
		return "", invalid("task_id is %d characters long; at most %d are allowed", len(id), MaxTaskIDLength)
	case id == "." || id == "..":
		return "", invalid("task_id is %q, a name of a directory, not a task id", id)
	}
	return id, nil
}

func isTaskIDByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '-' || b == '_' || b == '.' || b == ':'
}
