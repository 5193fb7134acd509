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
	// Template is text with escapes and placeholders (protocol.md §16.1),
	// taken only where a template may be.
	Template *string `json:"template,omitempty"`
}

// Bytes decodes the payload.
func (p *Payload) Bytes() ([]byte, *session.Error) {
	return p.bytes("data")
}

// bytes decodes the payload of field name, which takes no template.
func (p *Payload) bytes(name string) ([]byte, *session.Error) {
	if err := p.one(name); err != nil {
		return nil, err
	}
	if p.Template != nil {
		return nil, session.Errorf(session.CodeBadField, `%q cannot be a template: templates are for what is sent (send, sendto, repeat and a responder's reply)`, name)
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
		return nil, session.Errorf(session.CodeBadField, `"%s.base64" is not valid base64: %v`, name, err)
	}
	return b, nil
}

// one checks that exactly one spelling is set.
func (p *Payload) one(name string) *session.Error {
	set := 0
	for _, f := range []*string{p.Text, p.Hex, p.Escaped, p.Base64, p.Template} {
		if f != nil {
			set++
		}
	}
	if set != 1 {
		return session.Errorf(session.CodeBadField, `%q must have exactly one of "text", "hex", "escaped", "base64" or "template" (it has %d)`, name, set)
	}
	return nil
}

// template returns the payload as a Template: parsed if it is one, a
// Literal of its bytes otherwise.
func (p *Payload) template(name string) (*session.Template, *session.Error) {
	if err := p.one(name); err != nil {
		return nil, err
	}
	if p.Template != nil {
		return session.ParseTemplate(*p.Template)
	}
	b, err := p.bytes(name)
	if err != nil {
		return nil, err
	}
	return session.Literal(b), nil
}

// spelled returns the payload as the request spelled it.
func (p *Payload) spelled() session.Spelled {
	switch {
	case p.Text != nil:
		return session.Spelled{Kind: "text", Text: *p.Text}
	case p.Hex != nil:
		return session.Spelled{Kind: "hex", Text: *p.Hex}
	case p.Escaped != nil:
		return session.Spelled{Kind: "escaped", Text: *p.Escaped}
	case p.Base64 != nil:
		return session.Spelled{Kind: "base64", Text: *p.Base64}
	case p.Template != nil:
		return session.Spelled{Kind: "template", Text: *p.Template}
	}
	return session.Spelled{}
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
