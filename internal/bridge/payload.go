package bridge

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/socketplayground/playground/internal/session"
)

// Payload is how a JSON request spells bytes: exactly one field is set.
// Binary messages carry bytes as they are and need none of this.
type Payload struct {
	Text    *string `json:"text,omitempty"`    // UTF-8 text, sent as its bytes
	Hex     *string `json:"hex,omitempty"`     // hex digits; whitespace ignored
	Escaped *string `json:"escaped,omitempty"` // text with \r \n \t \0 \xNN \\
	Base64  *string `json:"base64,omitempty"`  // standard base64, padded
}

// Bytes decodes the payload.
func (p *Payload) Bytes() ([]byte, *session.Error) {
	set := 0
	for _, f := range []*string{p.Text, p.Hex, p.Escaped, p.Base64} {
		if f != nil {
			set++
		}
	}
	if set != 1 {
		return nil, session.Errorf(session.CodeBadField, `"data" must have exactly one of "text", "hex", "escaped" or "base64" (it has %d)`, set)
	}
	switch {
	case p.Text != nil:
		return []byte(*p.Text), nil
	case p.Hex != nil:
		return DecodeHex(*p.Hex)
	case p.Escaped != nil:
		return DecodeEscaped(*p.Escaped)
	}
	b, err := base64.StdEncoding.DecodeString(*p.Base64)
	if err != nil {
		return nil, session.Errorf(session.CodeBadField, `"data.base64" is not valid base64: %v`, err)
	}
	return b, nil
}

// DecodeHex decodes hex digits in either case, ignoring ASCII whitespace
// between them, as people paste dumps like "48 65 6c 6c 6f".
func DecodeHex(s string) ([]byte, *session.Error) {
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
			return nil, session.Errorf(session.CodeBadHex, "bad hex: %q at offset %d is not a hex digit", r, i)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, session.Errorf(session.CodeBadHex, "bad hex: odd number of hex digits (each byte needs two)")
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
func DecodeEscaped(s string) ([]byte, *session.Error) {
	if !strings.Contains(s, `\`) {
		return []byte(s), nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(s) {
			return nil, session.Errorf(session.CodeBadEscape, `bad escape: a lone \ at the end (write \\ for a backslash)`)
		}
		i++
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, session.Errorf(session.CodeBadEscape, `bad escape: \x at offset %d needs two hex digits`, i-1)
			}
			hi, ok1 := hexVal(s[i+1])
			lo, ok2 := hexVal(s[i+2])
			if !ok1 || !ok2 {
				return nil, session.Errorf(session.CodeBadEscape, `bad escape: \x at offset %d needs two hex digits, not %q`, i-1, s[i+1:i+3])
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, session.Errorf(session.CodeBadEscape, `bad escape: \%c at offset %d (known: \r \n \t \0 \\ \xNN)`, r, i-1)
		}
	}
	return out, nil
}
