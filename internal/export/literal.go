package export

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// snippetBytes is the most payload bytes a per-call snippet spells out; the
// whole programs spell out every byte.
const snippetBytes = 256

// reprBytes is the most received bytes an outcome comment shows.
const reprBytes = 64

// textual reports whether b is UTF-8 text that reads as itself in source
// code: printable characters, spaces, tabs and line breaks only.
func textual(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r != '\n' && r != '\r' && r != '\t' && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// nonASCII reports whether b has a byte outside ASCII.
func nonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// pyBytes is b as a Python expression of exactly those bytes: b"hel\x00"
// (ASCII, with escapes), or "안녕".encode() for UTF-8 text beyond ASCII.
func pyBytes(b []byte) string {
	if nonASCII(b) && textual(b) {
		return pyStr(string(b)) + ".encode()"
	}
	return quoteASCII(`b"`, b)
}

// quoteASCII is b as a double-quoted literal opened by open (`"` or `b"`):
// the same spelling in Python and Go (writeASCII).
func quoteASCII(open string, b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(open) + 1)
	sb.WriteString(open)
	writeASCII(&sb, b, '"')
	sb.WriteByte('"')
	return sb.String()
}

// writeASCII writes b for a literal quoted with q: printable ASCII as it
// is, \n \r \t, a backslash or q escaped, and every other byte as \xNN.
func writeASCII(sb *strings.Builder, b []byte, q byte) {
	for _, c := range b {
		switch {
		case c == '\\' || c == q:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			sb.WriteString(`\x`)
			sb.WriteByte(hexDigit(c >> 4))
			sb.WriteByte(hexDigit(c & 0xf))
		}
	}
}

// pyStr is s as a Python string literal: printable characters as they
// are, anything else escaped, so the literal is one line of source.
func pyStr(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == utf8.RuneError:
			sb.WriteString(`\ufffd`)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		case r < 0x100:
			sb.WriteString(`\x` + pad(strconv.FormatInt(int64(r), 16), 2))
		case r < 0x10000:
			sb.WriteString(`\u` + pad(strconv.FormatInt(int64(r), 16), 4))
		default:
			sb.WriteString(`\U` + pad(strconv.FormatInt(int64(r), 16), 8))
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// pyRepr is b as Python's repr shows it, cut at reprBytes: b'hel\x00'.
func pyRepr(b []byte) string {
	cut := b[:min(len(b), reprBytes)]
	q := byte('\'')
	if strings.IndexByte(string(cut), '\'') >= 0 && strings.IndexByte(string(cut), '"') < 0 {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte('b')
	sb.WriteByte(q)
	writeASCII(&sb, cut, q)
	sb.WriteByte(q)
	if len(b) > len(cut) {
		sb.WriteString("… (" + itoa(len(b)) + " bytes)")
	}
	return sb.String()
}

// goBytes is b as a Go expression of exactly those bytes: []byte("hel\x00"),
// with UTF-8 text beyond ASCII written as itself.
func goBytes(b []byte) string {
	if len(b) == 0 {
		return "[]byte{}"
	}
	return "[]byte(" + goStr(b) + ")"
}

// goStr is b as a Go string literal: strconv.Quote escapes every byte that
// is not printable UTF-8, so the literal holds exactly b.
func goStr(b []byte) string {
	if textual(b) {
		return strconv.Quote(string(b))
	}
	// Not text: escape every byte that is not printable ASCII, so a byte
	// that happens to start a UTF-8 sequence is not shown as a character.
	return quoteASCII(`"`, b)
}

// goRepr is b as Go's %q shows it, cut at reprBytes.
func goRepr(b []byte) string {
	cut := b[:min(len(b), reprBytes)]
	s := goStr(cut)
	if len(b) > len(cut) {
		s += "… (" + itoa(len(b)) + " bytes)"
	}
	return s
}

// comment makes s safe as the text of a one-line comment in Python or Go:
// line breaks and other invisible characters become escapes, so no text
// from an event can end the comment and start a line of code.
func comment(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			sb.WriteString(`\ufffd`)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		case r < 0x10000:
			sb.WriteString(`\u` + pad(strconv.FormatInt(int64(r), 16), 4))
		default:
			sb.WriteString(`\U` + pad(strconv.FormatInt(int64(r), 16), 8))
		}
	}
	return sb.String()
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c] }

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

func itoa(n int) string { return strconv.Itoa(n) }
