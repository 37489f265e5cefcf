// Package redact keeps secrets (the upstream API key, the clients' bearer token) out of text
// that leaves the process: results, error messages and log lines.
//
// A secret is found not only as itself but in any encoding that a JSON or URL decoder, applied
// once or twice, turns back into it: "\u0073k-…", a "\/" in place of "/", "%73k-…", "%2573k-…",
// or a mix of these; also where quoting the text in JSON once more (as a result or a log line
// does) makes a backslash before "\u0073" an escape of its own. Upstream bodies quote what
// they were sent in all of these forms, and a reader (a model, a person, a log pipeline) may
// well decode what it is shown.
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
	// mapped back to the span of s it was decoded from. Each layer is undone in several ways
	// (see decoders): URL escapes alone and JSON escapes alone, as a reader's decoders do, and
	// both at once, which finds a secret whose bytes are escaped each its own way. Both at
	// once alone would not do: of `\\%5Cu0073`, a URL decoder makes `\\\u0073` and a JSON
	// decoder then `\s`, but both at once make `\\u0073` (the first two backslashes taken as
	// one escape), and the next layer `\u0073`: the "s" is never seen.
	//
	// A secret is rarely there, so each view is decoded as text alone first, and decoded
	// again with where each byte came from only when a secret is in it.
	decoders := r.decoders()
	raw := view{text: s}
	spans := r.find(raw, nil)
	for _, first := range decoders {
		once, ok := raw.decode(first, false)
		if !ok {
			continue
		}
		var onceMapped *view
		mapped := func() view {
			if onceMapped == nil {
				v, _ := raw.decode(first, true)
				onceMapped = &v
			}
			return *onceMapped
		}
		if r.in(once.text) {
			spans = r.find(mapped(), spans)
		}
		for _, second := range decoders {
			if twice, ok := once.decode(second, false); ok && r.in(twice.text) {
				twice, _ = mapped().decode(second, true)
				spans = r.find(twice, spans)
			}
		}
	}
	return replaceSpans(s, spans)
}

// in reports whether a secret is in text as itself.
func (r *Redactor) in(text string) bool {
	for _, secret := range r.secrets {
		if strings.Contains(text, secret) {
			return true
		}
	}
	return false
}

// decoding is one way of undoing a layer of escapes.
type decoding struct {
	url  bool // %XX
	plus bool // "+" for a space, as in a query string
	json bool // \uXXXX, \/ and the other JSON escapes
	// lenient takes a backslash before a \uXXXX escape as itself, where a JSON decoder takes
	// the two backslashes as one escape: quoting the text in JSON once more (as a result or a
	// log line does) doubles that first backslash, and then a decoder meets the \uXXXX.
	lenient bool
}

// decoders are the ways r undoes a layer: URL escapes, JSON escapes (strictly and leniently),
// and both at once; when a secret has a space, the ways with URL escapes are tried with "+"
// for a space too.
func (r *Redactor) decoders() []decoding {
	d := []decoding{{url: true}, {json: true}, {json: true, lenient: true}, {url: true, json: true}}
	if r.anyHasSpace() {
		d = append(d, decoding{url: true, plus: true}, decoding{url: true, plus: true, json: true})
	}
	return d
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

// newView reports whether decoding s with d can make a view no other decoder makes: s has
// some of d's escape characters, both kinds of them when d undoes both at once, and a
// backslash before "\u" when d is lenient.
func (d decoding) newView(s string) bool {
	urlChars := "%"
	if d.plus {
		urlChars += "+"
	}
	hasURL, hasJSON := d.url && strings.ContainsAny(s, urlChars), d.json && strings.Contains(s, `\`)
	switch {
	case !hasURL && !hasJSON:
		return false
	case d.url && d.json:
		// With one kind of escape only, a decoder of that kind alone makes the same view.
		return hasURL && hasJSON
	case d.lenient:
		// Without "\\u", the strict decoder makes the same view.
		return strings.Contains(s, `\\u`)
	}
	return true
}

// decode undoes one layer of the escapes that d names, recording where each byte came from
// when mapped is set (v must then be the original or mapped itself). It reports false, and
// decodes nothing, when the view would be no new one (see decoding.newView).
func (v view) decode(d decoding, mapped bool) (view, bool) {
	s := v.text
	if !d.newView(s) {
		return view{}, false
	}
	var out view
	if mapped {
		out.start, out.end = make([]int, 0, len(s)), make([]int, 0, len(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		text, n := unit(s[i:], d)
		b.WriteString(text)
		if mapped {
			from, to := v.span(i, i+n)[0], v.span(i, i+n)[1]
			for range len(text) {
				out.start = append(out.start, from)
				out.end = append(out.end, to)
			}
		}
		i += n
	}
	out.text = b.String()
	return out, true
}

// jsonShort are JSON's two-character escapes, by the character after the backslash.
var jsonShort = map[byte]string{'"': `"`, '\\': `\`, '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}

// unit decodes the escape at the start of s, if d undoes it: the decoded text and how many
// bytes of s it took. Anything else stands for itself.
func unit(s string, d decoding) (string, int) {
	text, n := "", 0
	switch {
	case s[0] == '%' && d.url:
		text, n = urlEscape(s)
	case s[0] == '+' && d.plus:
		text, n = " ", 1
	case s[0] == '\\' && d.lenient && len(s) >= 7 && s[1] == '\\' && validHex4(s[2:]):
		text, n = `\`, 1
	case s[0] == '\\' && d.json:
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

// validHex4 reports whether s starts with "uXXXX".
func validHex4(s string) bool {
	_, ok := hex4(s)
	return ok
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
