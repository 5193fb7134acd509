package session

import "time"

// Template is a payload with placeholders (protocol.md §16.1), parsed once
// and expanded afresh for each send. A payload without placeholders is a
// Template too (Literal), so a repeat or a reply has one type of payload.
type Template struct {
	src   string // the template's text; "" for a Literal
	bytes []byte // a Literal's bytes
}

// ParseTemplate parses src. Errors have code bad_template (or bad_escape)
// and name the placeholder and its byte offset.
//
// TODO(toolkit-templates): placeholders.
func ParseTemplate(src string) (*Template, *Error) {
	return nil, Errorf(CodeBadTemplate, "templates are not built yet")
}

// Literal returns a Template that always expands to b.
func Literal(b []byte) *Template { return &Template{bytes: b} }

// Source returns the template's text, or "" for a Literal.
func (t *Template) Source() string { return t.src }

// IsLiteral reports whether every expansion is the same bytes.
func (t *Template) IsLiteral() bool { return t.src == "" }

// MaxLen is the most bytes an expansion can have.
func (t *Template) MaxLen() int { return len(t.bytes) }

// Expand returns the bytes of the n-th send (from 1) made at now.
func (t *Template) Expand(n uint64, now time.Time) []byte { return t.bytes }
