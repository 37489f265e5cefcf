// Package redacttest helps tests check that a secret is gone: it writes a secret in the
// encodings an upstream may use, and tells whether text still reveals one to a reader who
// undoes URL and JSON escapes.
package redacttest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encodings are the ways encode writes one byte of the secret: the byte, URL escapes in both
// cases, JSON escapes, and escapes of escapes.
var Encodings = []func(c byte) string{
	func(c byte) string { return string(c) },
	func(c byte) string { return fmt.Sprintf("%%%02X", c) },
	func(c byte) string { return fmt.Sprintf("%%%02x", c) },
	func(c byte) string { return fmt.Sprintf(`\u%04x`, c) },
	func(c byte) string { return fmt.Sprintf(`\u%04X`, c) },
	func(c byte) string {
		if c == '/' {
			return `\/`
		}
		if c == ' ' {
			return "+"
		}
		return string(c)
	},
	func(c byte) string { return fmt.Sprintf("%%25%02X", c) },
	func(c byte) string { return fmt.Sprintf(`\u0025%02x`, c) },
	func(c byte) string { return fmt.Sprintf(`%%5Cu%04x`, c) },
	func(c byte) string { return fmt.Sprintf(`\u005cu%04x`, c) },
}

// Encode writes secret with the encoding of each byte chosen by choices.
func Encode(secret string, choices []byte) string {
	var b strings.Builder
	for i := 0; i < len(secret); i++ {
		choice := 0
		if i < len(choices) {
			choice = int(choices[i]) % len(Encodings)
		}
		b.WriteString(Encodings[choice](secret[i]))
	}
	return b.String()
}

// URLDecode undoes every valid URL escape of s, and "+" for a space.
func URLDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		if s[i] == '+' {
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// JSONDecode undoes every valid JSON escape of s, as a JSON decoder would inside a string.
func JSONDecode(s string) string {
	short := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if c, ok := short[s[i+1]]; ok {
			b.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == 'u' && i+6 <= len(s) {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				r := rune(v)
				if utf16.IsSurrogate(r) && i+12 <= len(s) && s[i+6:i+8] == `\u` {
					if low, err := strconv.ParseUint(s[i+8:i+12], 16, 16); err == nil {
						if c := utf16.DecodeRune(r, rune(low)); c != utf8.RuneError {
							b.WriteRune(c)
							i += 11
							continue
						}
					}
				}
				b.WriteRune(r)
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Revealed reports whether secret is in s as it is, or once one or two layers of URL and
// JSON escapes are undone.
func Revealed(s, secret string) bool {
	decoders := []func(string) string{
		func(s string) string { return s }, URLDecode, JSONDecode,
	}
	for _, first := range decoders {
		for _, second := range decoders {
			if strings.Contains(second(first(s)), secret) {
				return true
			}
		}
	}
	return false
}
