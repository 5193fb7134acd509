package session

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Template is a payload with placeholders (protocol.md §16.1), parsed once
// and expanded afresh for each send. A payload without placeholders is a
// Template too (Literal), so a repeat or a reply has one type of payload.
// A Template is immutable: one may be expanded by many goroutines at once.
type Template struct {
	src   string // the template's text; "" for a Literal
	parts []part // what an expansion is made of, in order; nil when fixed
	fixed bool   // every expansion is bytes
	bytes []byte // a fixed template's bytes
	max   int    // the most bytes an expansion can have
}

// part is one piece of a template: text, or a placeholder.
type part struct {
	kind  partKind
	text  []byte // partText: the bytes, escapes decoded
	form  string // counter, time: the format ("" for the default)
	from  uint64 // counter: the first send's number
	n     int    // random: how many bytes
	width int    // the most bytes this part expands to
}

type partKind uint8

const (
	partText partKind = iota
	partCounter
	partTime
	partRandom
)

// The placeholders' formats, and the most bytes each can expand to.
var (
	counterForms = map[string]int{"": 20, "hex": 16, "u8": 1, "u16": 2, "u32": 4, "u64": 8, "u16le": 2, "u32le": 4, "u64le": 8}
	// A time's year can have 12 digits and a sign (time.Time's range);
	// Unix seconds and milliseconds are int64s.
	timeForms = map[string]int{"": len("-292277026596-12-04T15:30:07.000Z"), "unix": 20, "unix_ms": 20, "clock": len("15:04:05.000"), "u32": 4, "u64": 8}
)

const (
	counterFormList = "hex, u8, u16, u32, u64, u16le, u32le, u64le"
	timeFormList    = "unix, unix_ms, clock, u32, u64"
	// MaxRandom is the most bytes one {{random N}} may ask for.
	MaxRandom = 64 << 10
	// maxFrom is the largest number a counter may start from.
	maxFrom = 1 << 63
)

// ParseTemplate parses src. Errors have code bad_template (or bad_escape)
// and name the placeholder and its byte offset in src.
func ParseTemplate(src string) (*Template, *Error) {
	t := &Template{src: src}
	var text []byte // the text since the last placeholder
	flush := func() {
		if len(text) > 0 {
			t.parts = append(t.parts, part{kind: partText, text: text, width: len(text)})
			text = nil
		}
	}
	for i := 0; i < len(src); {
		switch {
		case src[i] == '\\':
			b, next, err := unescape(src, i)
			if err != nil {
				return nil, err
			}
			text = append(text, b)
			i = next
		case strings.HasPrefix(src[i:], "{{"):
			end := strings.Index(src[i+2:], "}}")
			if end < 0 {
				return nil, Errorf(CodeBadTemplate, `bad template: the {{ at offset %d is not closed with }} (write \x7b\x7b for a literal {{)`, i)
			}
			p, err := placeholder(src[i:i+2+end+2], i)
			if err != nil {
				return nil, err
			}
			flush()
			t.parts = append(t.parts, p)
			i += 2 + end + 2
		default:
			text = append(text, src[i])
			i++
		}
	}
	flush()
	t.fixed = true
	for _, p := range t.parts {
		t.max += p.width
		if p.kind != partText {
			t.fixed = false
		}
	}
	if t.fixed {
		t.bytes = make([]byte, 0, t.max)
		for _, p := range t.parts {
			t.bytes = append(t.bytes, p.text...)
		}
		t.parts = nil
	}
	return t, nil
}

// placeholder parses ph, a placeholder with its braces, found at offset off.
func placeholder(ph string, off int) (part, *Error) {
	words := strings.Fields(ph[2 : len(ph)-2])
	bad := func(format string, args ...any) (part, *Error) {
		return part{}, Errorf(CodeBadTemplate, "bad template: %s at offset %d: %s", show(ph), off, fmt.Sprintf(format, args...))
	}
	if len(words) == 0 {
		return bad("an empty placeholder (known: {{counter}}, {{time}}, {{random N}})")
	}
	switch name, opts := words[0], words[1:]; name {
	case "counter":
		p := part{kind: partCounter, from: 1}
		form, from := false, false
		for _, o := range opts {
			switch v, ok := strings.CutPrefix(o, "from="); {
			case ok && from:
				return bad("from= is given twice")
			case ok:
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil || n > maxFrom {
					return bad("from= takes a whole number from 0 to %d, not %q", uint64(maxFrom), v)
				}
				p.from, from = n, true
			case counterForms[o] == 0:
				return bad("unknown option %q (counter takes one of %s, and from=N)", o, counterFormList)
			case form:
				return bad("two formats, %q and %q: give one", p.form, o)
			default:
				p.form, form = o, true
			}
		}
		p.width = counterForms[p.form]
		return p, nil
	case "time":
		p := part{kind: partTime}
		switch {
		case len(opts) > 1:
			return bad("time takes one format at most, not %d words", len(opts))
		case len(opts) == 1 && timeForms[opts[0]] == 0:
			return bad("unknown format %q (time takes one of %s; none: RFC 3339 in UTC)", opts[0], timeFormList)
		case len(opts) == 1:
			p.form = opts[0]
		}
		p.width = timeForms[p.form]
		return p, nil
	case "random":
		if len(opts) == 0 {
			return bad("random needs how many bytes, 1–%d: {{random 16}}", MaxRandom)
		}
		n, err := strconv.ParseUint(opts[0], 10, 32)
		if err != nil || n < 1 || n > MaxRandom {
			return bad("random takes 1–%d bytes, not %q", MaxRandom, opts[0])
		}
		p := part{kind: partRandom, n: int(n), width: int(n)}
		switch {
		case len(opts) > 2 || len(opts) == 2 && opts[1] != "hex":
			return bad("random takes a number of bytes and then, optionally, hex; %q is not that", strings.Join(opts[1:], " "))
		case len(opts) == 2:
			p.form, p.width = "hex", 2*p.n
		}
		return p, nil
	}
	return bad("unknown placeholder %q (known: counter, time, random)", words[0])
}

// show is a placeholder as an error message names it: cut short when it
// is long, and quoted when it has characters a person cannot see.
func show(ph string) string {
	const most = 48
	if len(ph) > most {
		cut := most
		for cut > 0 && !utf8.RuneStart(ph[cut]) {
			cut--
		}
		ph = ph[:cut] + "…"
	}
	if !utf8.ValidString(ph) || strings.ContainsFunc(ph, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(ph)
	}
	return ph
}

// Literal returns a Template that always expands to b.
func Literal(b []byte) *Template { return &Template{fixed: true, bytes: b, max: len(b)} }

// Source returns the template's text, or "" for a Literal.
func (t *Template) Source() string { return t.src }

// IsLiteral reports whether every expansion is the same bytes: a Literal,
// or a template without placeholders.
func (t *Template) IsLiteral() bool { return t.fixed }

// MaxLen is the most bytes an expansion can have.
func (t *Template) MaxLen() int { return t.max }

// Expand returns the bytes of the n-th send (from 1) made at now. It does
// no parsing: each placeholder was parsed once, by ParseTemplate. The bytes
// of a template that IsLiteral are the same slice each time, which callers
// must not change.
func (t *Template) Expand(n uint64, now time.Time) []byte {
	if t.fixed {
		return t.bytes
	}
	out := make([]byte, 0, t.max)
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partText:
			out = append(out, p.text...)
		case partCounter:
			out = p.counter(out, p.from+n-1)
		case partTime:
			out = p.time(out, now)
		case partRandom:
			out = p.random(out)
		}
	}
	return out
}

// counter appends v in p's format; binary formats keep its low bytes.
func (p *part) counter(out []byte, v uint64) []byte {
	switch p.form {
	case "":
		return strconv.AppendUint(out, v, 10)
	case "hex":
		return strconv.AppendUint(out, v, 16)
	}
	var order binary.AppendByteOrder = binary.BigEndian
	if strings.HasSuffix(p.form, "le") {
		order = binary.LittleEndian
	}
	return appendUint(out, order, p.width, v)
}

// time appends now in p's format.
func (p *part) time(out []byte, now time.Time) []byte {
	switch p.form {
	case "unix":
		return strconv.AppendInt(out, now.Unix(), 10)
	case "unix_ms":
		return strconv.AppendInt(out, now.UnixMilli(), 10)
	case "clock":
		return now.UTC().AppendFormat(out, "15:04:05.000")
	case "u32":
		return appendUint(out, binary.BigEndian, 4, uint64(now.Unix()))
	case "u64":
		return appendUint(out, binary.BigEndian, 8, uint64(now.UnixMilli()))
	}
	return now.UTC().AppendFormat(out, "2006-01-02T15:04:05.000Z")
}

// appendUint appends the low size bytes (1, 2, 4 or 8) of v in order.
func appendUint(out []byte, order binary.AppendByteOrder, size int, v uint64) []byte {
	switch size {
	case 1:
		return append(out, byte(v))
	case 2:
		return order.AppendUint16(out, uint16(v))
	case 4:
		return order.AppendUint32(out, uint32(v))
	}
	return order.AppendUint64(out, v)
}

// random appends p.n random bytes, or their hex digits.
func (p *part) random(out []byte) []byte {
	if p.form != "hex" {
		l := len(out)
		out = slices.Grow(out, p.n)[:l+p.n]
		rand.Read(out[l:])
		return out
	}
	var buf [256]byte
	for left := p.n; left > 0; {
		k := min(left, len(buf))
		rand.Read(buf[:k])
		out = hex.AppendEncode(out, buf[:k])
		left -= k
	}
	return out
}
