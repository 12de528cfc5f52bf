package chain

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// checkJSONText refuses JSON text that encoding/json would silently change:
// bytes that are not valid UTF-8 and \u escapes that are lone UTF-16
// surrogates, both of which it decodes to U+FFFD, so that distinct inputs
// would become the same string (the same address). It only scans strings
// and does not otherwise check the syntax; the decoder does that.
func checkJSONText(data []byte) error {
	if !utf8.Valid(data) {
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("invalid UTF-8 at byte %d", i)
			}
			i += n
		}
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return nil // truncated: the decoder says so
			}
			i++
			if data[i] != 'u' {
				continue
			}
			r, ok := hex4(data, i+1)
			if !ok {
				continue // malformed escape: the decoder says so
			}
			at := i - 1
			i += 4
			if !utf16.IsSurrogate(r) {
				continue
			}
			if r >= 0xdc00 {
				return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d", r, at)
			}
			if i+2 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
				if r2, ok := hex4(data, i+3); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					i += 6
					continue
				}
			}
			return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d", r, at)
		}
	}
	return nil
}

// hex4 parses the four hex digits at data[i:i+4].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
