package session

import (
	"strings"
	"unicode/utf8"
)

// The payload spellings that need decoding (protocol.md §4.3): hex, and
// text with escapes, which templates (template.go) are written in too.

// DecodeHex decodes hex digits in either case, ignoring ASCII whitespace
// between them, as people paste dumps like "48 65 6c 6c 6f".
func DecodeHex(s string) ([]byte, *Error) {
	out := make([]byte, 0, len(s)/2)
	var hi byte
	half := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		v, ok := hexVal(c)
		if !ok {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, Errorf(CodeBadHex, "bad hex: %q at offset %d is not a hex digit", r, i)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, Errorf(CodeBadHex, "bad hex: odd number of hex digits (each byte needs two)")
	}
	return out, nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeEscaped turns text with escapes into bytes: \r \n \t \0 \\ and
// \xNN (one byte, two hex digits). Every other character stands for its
// UTF-8 bytes. Any other backslash sequence is an error, so a typo never
// sends something the person did not mean.
func DecodeEscaped(s string) ([]byte, *Error) {
	if !strings.Contains(s, `\`) {
		return []byte(s), nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		b, next, err := unescape(s, i)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		i = next
	}
	return out, nil
}

// unescape decodes the escape whose backslash is s[i]: the byte it stands
// for, and the offset just after it. Errors name offset i.
func unescape(s string, i int) (byte, int, *Error) {
	if i+1 == len(s) {
		return 0, 0, Errorf(CodeBadEscape, `bad escape: a lone \ at offset %d, the end (write \\ for a backslash)`, i)
	}
	switch s[i+1] {
	case 'r':
		return '\r', i + 2, nil
	case 'n':
		return '\n', i + 2, nil
	case 't':
		return '\t', i + 2, nil
	case '0':
		return 0, i + 2, nil
	case '\\':
		return '\\', i + 2, nil
	case 'x':
		if i+3 >= len(s) {
			return 0, 0, Errorf(CodeBadEscape, `bad escape: \x at offset %d needs two hex digits`, i)
		}
		hi, ok1 := hexVal(s[i+2])
		lo, ok2 := hexVal(s[i+3])
		if !ok1 || !ok2 {
			return 0, 0, Errorf(CodeBadEscape, `bad escape: \x at offset %d needs two hex digits, not %q`, i, s[i+2:i+4])
		}
		return hi<<4 | lo, i + 4, nil
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return 0, 0, Errorf(CodeBadEscape, `bad escape: \%c at offset %d (known: \r \n \t \0 \\ \xNN)`, r, i)
}
