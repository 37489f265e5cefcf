// Package redact keeps secrets (the upstream API key, the clients' bearer token) out of text
// that leaves the process: results, error messages and log lines.
//
// A secret is found not only as itself but in any encoding that a JSON or URL decoder, applied
// once or twice, turns back into it: "\u0073k-…", a "\/" in place of "/", "%73k-…", "%2573k-…",
// or a mix of these. Upstream bodies quote what they were sent in all of these forms, and a
// reader (a model, a person, a log pipeline) may well decode what it is shown.
package redact

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Placeholder replaces every occurrence of a secret.
const Placeholder = "[redacted]"

// MinLen is the length of the shortest secret a Redactor removes: a shorter one cannot be a
// real key, and replacing it would mangle ordinary words.
const MinLen = 8

// Redactor removes a fixed set of secrets from text. The zero value and nil remove nothing.
type Redactor struct {
	secrets []string
}

// New returns a Redactor of the given secrets; empty ones and ones shorter than MinLen bytes
// are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= MinLen {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// Active reports whether there is anything to remove.
func (r *Redactor) Active() bool { return r != nil && len(r.secrets) > 0 }

// String returns s with every occurrence of a secret, encoded or not, replaced by
// Placeholder.
func (r *Redactor) String(s string) string {
	if !r.Active() {
		return s
	}
	if !strings.ContainsAny(s, `%\+`) {
		// Nothing to decode: the secrets can only be there as themselves.
		for _, secret := range r.secrets {
			s = strings.ReplaceAll(s, secret, Placeholder)
		}
		return s
	}
	// Look in s as it is, and once and twice decoded; what is found in a decoded view is
	// mapped back to the span of s it was decoded from.
	pluses := []bool{false}
	if r.anyHasSpace() {
		// "+" is a space in a query string only: decode each layer with and without.
		pluses = append(pluses, true)
	}
	raw := view{text: s}
	spans := r.find(raw, nil)
	for _, plus1 := range pluses {
		once, ok := raw.decode(plus1)
		if !ok {
			continue
		}
		spans = r.find(once, spans)
		for _, plus2 := range pluses {
			if twice, ok := once.decode(plus2); ok {
				spans = r.find(twice, spans)
			}
		}
	}
	return replaceSpans(s, spans)
}

func (r *Redactor) anyHasSpace() bool {
	for _, secret := range r.secrets {
		if strings.Contains(secret, " ") {
			return true
		}
	}
	return false
}

// Bytes is String for a byte slice; b itself is returned when nothing was replaced.
func (r *Redactor) Bytes(b []byte) []byte {
	if !r.Active() {
		return b
	}
	s := string(b)
	if out := r.String(s); out != s {
		return []byte(out)
	}
	return b
}

// view is a decoding of a text: text[k] was decoded from the original's bytes
// [start[k], end[k]). The original itself has no start and end: text[k] is its byte k.
type view struct {
	text       string
	start, end []int
}

// span is where in the original the bytes text[a:b] of v come from.
func (v view) span(a, b int) [2]int {
	if v.start == nil {
		return [2]int{a, b}
	}
	return [2]int{v.start[a], v.end[b-1]}
}

// find appends the original spans of every occurrence of a secret in v.
func (r *Redactor) find(v view, spans [][2]int) [][2]int {
	for _, secret := range r.secrets {
		spans = v.find(secret, spans)
	}
	return spans
}

// find appends the original spans of every occurrence of secret in v.
func (v view) find(secret string, spans [][2]int) [][2]int {
	for from := 0; ; {
		i := strings.Index(v.text[from:], secret)
		if i < 0 {
			return spans
		}
		a, b := from+i, from+i+len(secret)
		spans = append(spans, v.span(a, b))
		from = b
	}
}

// decode undoes one layer of escapes: URL escapes (%XX, and "+" for a space when plus is set)
// and JSON escapes (\uXXXX, surrogate pairs, \/ and the other short ones), mixed freely. It
// reports false when v has nothing that could be an escape: decoding would change nothing.
func (v view) decode(plus bool) (view, bool) {
	s := v.text
	escapes := `%\`
	if plus {
		escapes += "+"
	}
	if !strings.ContainsAny(s, escapes) {
		return view{}, false
	}
	out := view{start: make([]int, 0, len(s)), end: make([]int, 0, len(s))}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		text, n := unit(s[i:], plus)
		b.WriteString(text)
		from, to := v.span(i, i+n)[0], v.span(i, i+n)[1]
		for range len(text) {
			out.start = append(out.start, from)
			out.end = append(out.end, to)
		}
		i += n
	}
	out.text = b.String()
	return out, true
}

// jsonShort are JSON's two-character escapes, by the character after the backslash.
var jsonShort = map[byte]string{'"': `"`, '\\': `\`, '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}

// unit decodes the escape at the start of s, if any: the decoded text and how many bytes of
// s it took. Anything that is not a valid escape stands for itself.
func unit(s string, plus bool) (string, int) {
	text, n := "", 0
	switch s[0] {
	case '%':
		text, n = urlEscape(s)
	case '+':
		if plus {
			text, n = " ", 1
		}
	case '\\':
		text, n = jsonEscape(s)
	}
	if n == 0 {
		return s[:1], 1
	}
	return text, n
}

// urlEscape decodes "%XX" at the start of s, taking 3 bytes, or takes none.
func urlEscape(s string) (string, int) {
	if len(s) < 3 || hexValue(s[1]) < 0 || hexValue(s[2]) < 0 {
		return "", 0
	}
	return string([]byte{byte(hexValue(s[1])<<4 | hexValue(s[2]))}), 3
}

// jsonEscape decodes the JSON escape at the start of s ("\n", "\u00e9", or a surrogate pair
// "\ud83d\ude00" for a character beyond U+FFFF) and says how many bytes it took, or takes none.
func jsonEscape(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	if short, ok := jsonShort[s[1]]; ok {
		return short, 2
	}
	r, ok := hex4(s[1:])
	if !ok {
		return "", 0
	}
	if utf16.IsSurrogate(r) && len(s) >= 12 && s[6] == '\\' {
		if low, ok := hex4(s[7:]); ok {
			if c := utf16.DecodeRune(r, low); c != utf8.RuneError {
				return string(c), 12
			}
		}
	}
	return string(r), 6
}

// hex4 reads "uXXXX" at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 5 || s[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[1:5]) {
		d := hexValue(c)
		if d < 0 {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// replaceSpans replaces the spans of s, merged where they overlap, with Placeholder.
func replaceSpans(s string, spans [][2]int) string {
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	var out strings.Builder
	last := 0 // s[last:] is still to be copied
	for i := 0; i < len(spans); {
		from, to := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] < to; i++ {
			to = max(to, spans[i][1])
		}
		out.WriteString(s[last:from])
		out.WriteString(Placeholder)
		last = to
	}
	out.WriteString(s[last:])
	return out.String()
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
