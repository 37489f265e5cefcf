package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/internal/redact"
	"github.com/video-task-mcp/video-task-mcp/internal/redact/redacttest"
)

const key = "sk-TEST/4f9c+2e7a1b never"

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "key " + key + " refused", "key [redacted] refused"},
		{"twice in a row", key + key, "[redacted][redacted]"},
		{"absent", "no key here", "no key here"},
		{"a prefix is not the key", key[:10] + " only", key[:10] + " only"},
		{"json unicode escape", `key \u0073k-TEST\/4f9c+2e7a1b never.`, "key [redacted]."},
		{"json escapes in upper case", `\u0053`, `\u0053`},
		{"every character json escaped", jsonEscapeAll(key), "[redacted]"},
		{"surrogate pair form is not the key", `\ud83d\ude00`, `\ud83d\ude00`},
		{"url escape", "https://h/a/sk-TEST%2F4f9c%2B2e7a1b%20never?x=1", "https://h/a/[redacted]?x=1"},
		{"url escape lower case", "sk%2dTEST%2f4f9c%2b2e7a1b+never", "[redacted]"},
		{"double url escape", "%2573k-TEST%252F4f9c%252B2e7a1b%2520never", "[redacted]"},
		{"url escape of a json escape", `%5Cu0073k-TEST/4f9c+2e7a1b never`, "[redacted]"},
		{"json escape of a url escape", `\u00253k`, `\u00253k`},
		{"json escape of a url escape of the key", `\u002573k-TEST/4f9c+2e7a1b never`, "[redacted]"},
		{"broken escapes stay", `%zz \uZZZZ \q %`, `%zz \uZZZZ \q %`},
		{"cut off escape", `sk-TEST/4f9c+2e7a1b neve\u007`, `sk-TEST/4f9c+2e7a1b neve\u007`},
		{"empty", "", ""},
	}
	r := redact.New(key)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSecretOutsideTheBasicPlane: JSON writes a character beyond U+FFFF as a surrogate pair
// of escapes, and the pair decodes to the character.
func TestSecretOutsideTheBasicPlane(t *testing.T) {
	r := redact.New("tok-\U0001F600-12345678")
	if got := r.String(`a tok-\ud83d\ude00-12345678 b`); got != "a [redacted] b" {
		t.Errorf("String of the secret with its emoji JSON escaped = %q, want %q", got, "a [redacted] b")
	}
}

func TestShortAndMissingSecrets(t *testing.T) {
	for _, r := range []*redact.Redactor{nil, redact.New(), redact.New("", "tok", "1234567")} {
		if r.Active() {
			t.Errorf("%v.Active() = true, want false: no secret of %d bytes or more", r, redact.MinLen)
		}
		if got := r.String("tok 1234567"); got != "tok 1234567" {
			t.Errorf("String(%q) = %q, want it unchanged", "tok 1234567", got)
		}
	}
	if got := redact.New("12345678", "abcdefgh").String("a 12345678 abcdefgh b"); got != "a [redacted] [redacted] b" {
		t.Errorf("String with two secrets = %q, want both replaced", got)
	}
}

func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func TestEncodedSecretsAreRedacted(t *testing.T) {
	r := redact.New(key)
	for i, enc := range redacttest.Encodings {
		for _, around := range [][2]string{{"", ""}, {"x", "y"}, {`{"message":"`, `"}`}, {"%", `\`}} {
			in := around[0] + encodeAll(key, enc) + around[1]
			if got := r.String(in); redacttest.Revealed(got, key) {
				t.Errorf("encoding %d: String(%q) = %q, which still reveals the secret", i, in, got)
			}
		}
	}
}

func encodeAll(secret string, enc func(byte) string) string {
	var b strings.Builder
	for i := 0; i < len(secret); i++ {
		b.WriteString(enc(secret[i]))
	}
	return b.String()
}

// FuzzString embeds the secret, each byte encoded its own way, in arbitrary text: what comes
// out never reveals it, even to a reader who undoes URL or JSON escapes, and text with nothing
// to decode and no secret comes out as it went in.
func FuzzString(f *testing.F) {
	f.Add("key ", " refused", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(`{"error":{"message":"`, `"}}`, []byte{3, 3, 3, 3, 3, 3, 3, 3})
	f.Add("https://h/", "?q=1", []byte{1, 2, 6, 7, 8, 9, 0, 5, 5, 5, 5, 5, 5, 5, 5})
	f.Add(`\u00`, `%2`, []byte{})
	r := redact.New(key)
	f.Fuzz(func(t *testing.T, before, after string, choices []byte) {
		in := before + redacttest.Encode(key, choices) + after
		got := r.String(in)
		if redacttest.Revealed(got, key) {
			t.Fatalf("String(%q) = %q, which reveals the secret", in, got)
		}
		// Text before it may change how it decodes (a backslash before an escape), so the
		// secret was there only if a decoder finds it.
		if redacttest.Revealed(in, key) && !strings.Contains(got, redact.Placeholder) {
			t.Fatalf("String(%q) = %q, want %q in it", in, got, redact.Placeholder)
		}
		plain := before + after
		if !strings.ContainsAny(plain, `%\+`) && !redacttest.Revealed(plain, key) {
			if got := r.String(plain); got != plain {
				t.Fatalf("String(%q) = %q, want it unchanged", plain, got)
			}
		}
	})
}
