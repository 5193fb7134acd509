package bridge

import (
	"encoding/base64"

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
		return session.DecodeHex(*p.Hex)
	case p.Escaped != nil:
		return session.DecodeEscaped(*p.Escaped)
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
