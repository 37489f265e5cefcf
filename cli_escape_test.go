package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lmittmann/tint"
)

// Hostile strings an upstream may send: a terminal title, a cleared screen, a forged log line,
// an 8-bit CSI, DEL and a right-to-left override.
const (
	hostileCode    = "Bad\x1b]0;pwned\x07Code"
	hostileMessage = "boom\x1b[2J\r\n12:00:00 ERR forged line\u009b31m\x7f\u202eevil"
	hostilePrompt  = "a fox\x1b[8m hidden\r\x1b[1A"
	hostileStatus  = "RUN\x1b[2JNING"
)

// hostileUpstream answers every task query by the task id: "fails" FAILED with hostile code,
// message and prompts, "odd" a hostile unknown status, and anything else HTTP 400 with a
// hostile code and message; a submission gets the task id "fails".
func hostileUpstream(t *testing.T) string {
	t.Helper()
	write := func(w http.ResponseWriter, status int, body any) {
		raw, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(raw)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prefix/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch id := r.PathValue("id"); id {
		case "fails":
			write(w, http.StatusOK, map[string]any{"request_id": "req\x1b[2J", "output": map[string]any{
				"task_id": id, "task_status": "FAILED", "code": hostileCode, "message": hostileMessage,
				"submit_time": "2025-10-26 12:50:16.723", "end_time": "2025-10-26 12:52:20.355",
				"orig_prompt": hostilePrompt, "actual_prompt": hostilePrompt,
			}})
		case "odd":
			write(w, http.StatusOK, map[string]any{"request_id": "r1", "output": map[string]any{"task_id": id, "task_status": hostileStatus}})
		default:
			write(w, http.StatusBadRequest, map[string]any{"code": hostileCode, "message": hostileMessage, "request_id": "r2"})
		}
	})
	mux.HandleFunc("POST /prefix/", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, map[string]any{"request_id": "r3", "output": map[string]any{"task_id": "fails", "task_status": "PENDING"}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/prefix"
}

// terminalUnsafe returns the first character of s a terminal may act on rather than show:
// a C0 control other than the line feed, DEL, a C1 control, a bidirectional or line
// separator control, or a byte that is not UTF-8.
func terminalUnsafe(s string) (string, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"),
			r < 0x20 && r != '\n', r == 0x7f, 0x80 <= r && r <= 0x9f,
			r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069,
			r == 0x2028, r == 0x2029:
			return fmt.Sprintf("%q at byte %d", r, i), true
		}
	}
	return "", false
}

// TestCommandsEscapeControlCharacters: whatever an upstream puts in a task's code, message,
// prompts or status, or an error, get, wait and create --wait print as text: on stderr
// escaped, on stdout as JSON escapes that decode to the upstream's strings.
func TestCommandsEscapeControlCharacters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := serverBinary(t)
	base := hostileUpstream(t)
	fast := []string{"--base-url", base, "--poll-interval", "20ms", "--max-poll-interval", "50ms"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     map[string]any // fields of the result on stdout
	}{
		{"get, error", []string{"get", "rejected"}, exitError, nil},
		{"get, failed task", []string{"get", "fails"}, 0,
			map[string]any{"error_code": hostileCode, "error_message": hostileMessage, "orig_prompt": hostilePrompt}},
		{"get, unknown status", []string{"get", "odd"}, 0, map[string]any{"task_status": hostileStatus}},
		{"wait, error", []string{"wait", "rejected", "--timeout", "1s"}, exitError, nil},
		{"wait, failed task", []string{"wait", "fails", "--timeout", "5s"}, 0, map[string]any{"error_code": hostileCode}},
		{"create --wait", []string{"--enable-create", "create", "--wait", "--timeout", "5s", "model=wan2.5-t2v-preview", "prompt=a fox"}, 0,
			map[string]any{"error_message": hostileMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newCLIEnv(t, "GPTGE_API_KEY=sk-test-escape")
			r := env.run(t, bin, append(fast, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.wantCode, r.stderr)
			}
			for stream, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
				if what, bad := terminalUnsafe(out); bad {
					t.Errorf("%s carries %s:\n%q", stream, what, out)
				}
			}
			if tt.want == nil {
				if !strings.Contains(r.stderr, `boom\x1b[2J\r\n12:00:00 ERR forged line`) {
					t.Errorf("stderr = %q, want the upstream's message with its controls escaped", r.stderr)
				}
				return
			}
			got := pureJSON(t, r.stdout)
			flat := map[string]any{}
			for k, v := range got {
				flat[k] = v
			}
			if e, ok := got["error"].(map[string]any); ok {
				flat["error_code"], flat["error_message"] = e["code"], e["message"]
			}
			for k, want := range tt.want {
				if flat[k] != want {
					t.Errorf("result %s = %q, want %q as the upstream sent it", k, flat[k], want)
				}
			}
		})
	}
}

// TestProgressLineEscapes: the live progress line shows a hostile label and message as text.
func TestProgressLineEscapes(t *testing.T) {
	var out bytes.Buffer
	p := &progressLine{w: &out}
	p.start("task \x1b]0;x\x07")
	p.update(hostileStatus + "; " + hostileMessage)
	p.clear()
	// The line's own "\r\x1b[2K" rewrites it; nothing else may act on the terminal.
	rest := strings.ReplaceAll(out.String(), "\r\x1b[2K", "")
	if what, bad := terminalUnsafe(rest); bad {
		t.Errorf("progress line carries %s: %q", what, out.String())
	}
	if !strings.Contains(rest, `RUN\x1b[2JNING`) {
		t.Errorf("progress line = %q, want the status with its controls escaped", out.String())
	}
}

// TestLogsEscapeControlCharacters: log lines, in colour (stderr a terminal) or not, show an
// upstream's strings as text, in the message, in string attributes and in errors. tint's own
// colours are the only escape sequences.
func TestLogsEscapeControlCharacters(t *testing.T) {
	colours := regexp.MustCompile("\x1b\\[(0|2|9[0-7]|38;5;[0-9]+)m") // as tint writes them
	for _, colour := range []bool{false, true} {
		var out bytes.Buffer
		logger := slog.New(tint.NewTextHandler(&out, logOptions(slog.LevelDebug, colour)))
		logger.Error("query failed: "+hostileMessage, "code", hostileCode, "nospace", "a\x1b[2Jb",
			"literal", `a \x1b[2J b`, "error", errors.New(hostileMessage), "prompt", hostilePrompt)
		text := colours.ReplaceAllString(out.String(), "")
		if what, bad := terminalUnsafe(strings.TrimSuffix(text, "\n")); bad || strings.Count(text, "\n") != 1 {
			t.Errorf("colour %v: the log line carries %s (or is not one line):\n%q", colour, what, out.String())
		}
		if strings.Contains(text, "\x1b") {
			t.Errorf("colour %v: an escape sequence besides the colours:\n%q", colour, out.String())
		}
	}
}

// FuzzTerminalText: what terminalText and escapeControls make carries nothing a terminal acts
// on; terminalText is idempotent, and escapeControls keeps the JSON's data as it was.
func FuzzTerminalText(f *testing.F) {
	for _, s := range []string{hostileCode, hostileMessage, hostilePrompt, hostileStatus, `C:\x1b\videos`, "\xff\xfe", "plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text := terminalText(s)
		if what, bad := terminalUnsafe(text); bad || strings.Contains(text, "\n") {
			t.Fatalf("terminalText(%q) = %q carries %s", s, text, what)
		}
		if again := terminalText(text); again != text {
			t.Fatalf("terminalText(%q) = %q, but escaping it again gives %q", s, text, again)
		}
		raw, err := json.Marshal(map[string]string{"s": s})
		if err != nil {
			t.Fatal(err)
		}
		escaped := escapeControls(raw)
		if what, bad := terminalUnsafe(string(escaped)); bad {
			t.Fatalf("escapeControls(%s) = %s carries %s", raw, escaped, what)
		}
		var before, after map[string]string
		if err := json.Unmarshal(raw, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(escaped, &after); err != nil || after["s"] != before["s"] {
			t.Fatalf("escapeControls(%s) = %s decodes to %q, %v; want %q", raw, escaped, after["s"], err, before["s"])
		}
	})
}
