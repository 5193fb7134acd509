package session

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// when is the moment the table's time placeholders are expanded at, given
// in another zone than UTC: the expansions must be UTC all the same.
var when = time.Date(2026, 11, 25, 12, 43, 40, 123456789, time.FixedZone("KST", 9*3600))

// TestTemplateExpand: every placeholder and format, at a fixed send number
// and time, expands to exactly these bytes, within MaxLen.
func TestTemplateExpand(t *testing.T) {
	for _, c := range []struct {
		src  string
		n    uint64
		want string
		max  int
	}{
		{`PING {{counter}}\r\n`, 1, "PING 1\r\n", 5 + 20 + 2},
		{`PING {{counter}}\r\n`, 2, "PING 2\r\n", 27},
		{`{{counter}}`, 1_000_000, "1000000", 20},
		{`{{ counter }}`, 7, "7", 20},
		{`{{counter from=0}}`, 1, "0", 20},
		{`{{counter from=9223372036854775808}}`, 2, "9223372036854775809", 20},
		{`{{counter hex}}`, 255, "ff", 16},
		{`{{counter hex from=0}}`, 256, "ff", 16},
		{`{{counter u8}}`, 1, "\x01", 1},
		{`{{counter u8}}`, 256, "\x00", 1}, // 1+256-1 = 256 wraps to 0
		{`{{counter u16}}`, 0x0102, "\x01\x02", 2},
		{`{{counter u16 from=0}}`, 1, "\x00\x00", 2},
		{`{{counter from=0 u16}}`, 2, "\x00\x01", 2},
		{`{{counter u16}}`, 0x10000, "\x00\x00", 2},
		{`{{counter u32}}`, 0x01020304, "\x01\x02\x03\x04", 4},
		{`{{counter u64}}`, 0x0102030405060708, "\x01\x02\x03\x04\x05\x06\x07\x08", 8},
		{`{{counter u16le}}`, 0x0102, "\x02\x01", 2},
		{`{{counter u32le}}`, 0x01020304, "\x04\x03\x02\x01", 4},
		{`{{counter u64le}}`, 0x0102030405060708, "\x08\x07\x06\x05\x04\x03\x02\x01", 8},
		{`{{time}}`, 1, "2026-11-25T03:43:40.123Z", 33},
		{`{{time unix}}`, 1, "1795578220", 20},
		{`{{time unix_ms}}`, 1, "1795578220123", 20},
		{`{{time clock}}`, 1, "03:43:40.123", 12},
		{`{{time u32}}`, 1, "\x6b\x06\x59\x6c", 4},
		{`{{time u64}}`, 1, "\x00\x00\x01\xa2\x10\xcd\x4e\x5b", 8},
		{`at {{time clock}}: #{{counter u8}}\x00`, 3, "at 03:43:40.123: #\x03\x00", 3 + 12 + 3 + 1 + 1},
		// Text is text with the escapes of "escaped"; a literal {{ is \x7b\x7b.
		{`\x7b\x7bcounter}}`, 1, "{{counter}}", 11},
		{`\x7b{{counter}}}`, 4, "{4}", 22},
		{`a}}b {x} {`, 1, "a}}b {x} {", 10},
		{`\r\n\t\0\\\x41\x4a`, 1, "\r\n\t\x00\\AJ", 7},
		{`안녕 {{counter}}`, 1, "안녕 1", 7 + 20},
		{``, 1, "", 0},
	} {
		tp, err := ParseTemplate(c.src)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", c.src, err)
			continue
		}
		got := tp.Expand(c.n, when)
		if string(got) != c.want {
			t.Errorf("%q expanded for send %d: %q, want %q", c.src, c.n, got, c.want)
		}
		if tp.MaxLen() != c.max || len(got) > tp.MaxLen() {
			t.Errorf("%q: MaxLen %d (expanded to %d bytes), want %d", c.src, tp.MaxLen(), len(got), c.max)
		}
		if tp.Source() != c.src {
			t.Errorf("%q: Source is %q", c.src, tp.Source())
		}
		fixed := !strings.Contains(c.src, "{{")
		if tp.IsLiteral() != fixed {
			t.Errorf("%q: IsLiteral is %v, want %v", c.src, tp.IsLiteral(), fixed)
		}
	}
}

// TestTemplateRandom: random bytes are fresh for every send, as many as
// asked for, and hex is lowercase.
func TestTemplateRandom(t *testing.T) {
	tp, err := ParseTemplate(`<{{random 16}}|{{random 8 hex}}>`)
	if err != nil {
		t.Fatal(err)
	}
	if tp.MaxLen() != 1+16+1+16+1 || tp.IsLiteral() {
		t.Fatalf("MaxLen %d, IsLiteral %v", tp.MaxLen(), tp.IsLiteral())
	}
	seen := map[string]bool{}
	for n := range uint64(50) {
		b := tp.Expand(n+1, when)
		if len(b) != tp.MaxLen() || b[0] != '<' || b[17] != '|' || b[34] != '>' {
			t.Fatalf("expansion %q", b)
		}
		h := string(b[18:34])
		if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
			t.Fatalf("random hex %q", h)
		}
		if seen[string(b)] {
			t.Fatalf("expansion %d repeats an earlier one: %q", n+1, b)
		}
		seen[string(b)] = true
	}
	big, err := ParseTemplate(`{{random 65536 hex}}{{random 65536}}`)
	if err != nil {
		t.Fatal(err)
	}
	if b := big.Expand(1, when); len(b) != 3*65536 || big.MaxLen() != 3*65536 {
		t.Fatalf("65536 random bytes and their hex: %d bytes, MaxLen %d", len(b), big.MaxLen())
	}
}

// TestTemplateErrors: every malformed template is refused with its code,
// and the message names the placeholder (or the escape) and its offset.
func TestTemplateErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		code Code
		says []string
	}{
		{`{{countr}}`, CodeBadTemplate, []string{"{{countr}} at offset 0", `unknown placeholder "countr"`, "counter, time, random"}},
		{`ab{{counter u12}}`, CodeBadTemplate, []string{"{{counter u12}} at offset 2", `unknown option "u12"`, "u16le", "from=N"}},
		{`{{counter u16 u32}}`, CodeBadTemplate, []string{"at offset 0", `two formats, "u16" and "u32"`}},
		{`{{counter hex hex}}`, CodeBadTemplate, []string{"at offset 0", "two formats"}},
		{`{{counter from=1 from=2}}`, CodeBadTemplate, []string{"at offset 0", "from= is given twice"}},
		{`{{counter from=9223372036854775809}}`, CodeBadTemplate, []string{"at offset 0", "0 to 9223372036854775808", `"9223372036854775809"`}},
		{`{{counter from=-1}}`, CodeBadTemplate, []string{"at offset 0", `not "-1"`}},
		{`{{counter from=}}`, CodeBadTemplate, []string{"at offset 0", `not ""`}},
		{`{{counter from=0x10}}`, CodeBadTemplate, []string{"at offset 0", `"0x10"`}},
		{`xx {{time rfc}}`, CodeBadTemplate, []string{"{{time rfc}} at offset 3", `unknown format "rfc"`, "unix_ms"}},
		{`{{time unix clock}}`, CodeBadTemplate, []string{"at offset 0", "one format at most"}},
		{`{{random}}`, CodeBadTemplate, []string{"{{random}} at offset 0", "how many bytes"}},
		{`{{random 0}}`, CodeBadTemplate, []string{"at offset 0", "1–65536", `not "0"`}},
		{`{{random 65537}}`, CodeBadTemplate, []string{"at offset 0", `not "65537"`}},
		{`{{random +5}}`, CodeBadTemplate, []string{"at offset 0", `not "+5"`}},
		{`{{random x}}`, CodeBadTemplate, []string{"at offset 0", `not "x"`}},
		{`{{random 4 base64}}`, CodeBadTemplate, []string{"at offset 0", `"base64" is not that`}},
		{`{{random 4 hex hex}}`, CodeBadTemplate, []string{"at offset 0", `"hex hex" is not that`}},
		{`{{}}`, CodeBadTemplate, []string{"{{}} at offset 0", "empty placeholder"}},
		{`a {{  }}`, CodeBadTemplate, []string{"at offset 2", "empty placeholder"}},
		{`x{{counter`, CodeBadTemplate, []string{"{{ at offset 1 is not closed", `\x7b\x7b`}},
		{`{{counter}} {{`, CodeBadTemplate, []string{"{{ at offset 12 is not closed"}},
		{`{{counter u16}} {{counter u9}}`, CodeBadTemplate, []string{"{{counter u9}} at offset 16"}},
		{"{{counter\tu12}}", CodeBadTemplate, []string{`"{{counter\tu12}}" at offset 0`}}, // a tab separates words; the placeholder is quoted
		{`{{` + strings.Repeat("x", 100) + `}}`, CodeBadTemplate, []string{"{{xxxxxxxx", "… at offset 0"}},
		{`\q`, CodeBadEscape, []string{`\q at offset 0`}},
		{`ab{{counter}}\x4`, CodeBadEscape, []string{`\x at offset 13`}},
		{`{{counter}}\xzz`, CodeBadEscape, []string{`\x at offset 11`, `"zz"`}},
		{`abc\`, CodeBadEscape, []string{`lone \ at offset 3`}},
	} {
		tp, err := ParseTemplate(c.src)
		if err == nil {
			t.Errorf("ParseTemplate(%q) = %v, want an error", c.src, tp)
			continue
		}
		if err.Code != c.code {
			t.Errorf("ParseTemplate(%q): code %s, want %s (%s)", c.src, err.Code, c.code, err.Message)
		}
		for _, s := range c.says {
			if !strings.Contains(err.Message, s) {
				t.Errorf("ParseTemplate(%q): %q does not say %q", c.src, err.Message, s)
			}
		}
	}
}

// TestLiteral: a Literal expands to its bytes, as they are, every time.
func TestLiteral(t *testing.T) {
	b := []byte("{{counter}}\\q")
	l := Literal(b)
	if got := l.Expand(9, when); !bytes.Equal(got, b) || !l.IsLiteral() || l.Source() != "" || l.MaxLen() != len(b) {
		t.Fatalf("Literal: %q, literal %v, source %q, max %d", got, l.IsLiteral(), l.Source(), l.MaxLen())
	}
}

// TestDecodeEscaped: the escapes of "escaped" (§4.3), which templates use.
func TestDecodeEscaped(t *testing.T) {
	for in, want := range map[string]string{``: "", `abc`: "abc", `\r\n\t\0\\`: "\r\n\t\x00\\", `\x41\x4a\x4A\x00\xff`: "AJJ\x00\xff", `\\x41`: `\x41`, "héllo 안녕": "héllo 안녕"} {
		if got, err := DecodeEscaped(in); err != nil || string(got) != want {
			t.Errorf("DecodeEscaped(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, says := range map[string]string{`\q`: `\q at offset 0`, `ab\x4`: `\x at offset 2`, `\x4g`: `\x at offset 0 needs two hex digits, not "4g"`, `a\`: `lone \ at offset 1`, `\u0041`: `\u at offset 0`} {
		if _, err := DecodeEscaped(in); err == nil || err.Code != CodeBadEscape || !strings.Contains(err.Message, says) {
			t.Errorf("DecodeEscaped(%q): %v, want bad_escape saying %q", in, err, says)
		}
	}
}

// BenchmarkExpand: what a repeat's send costs to expand.
func BenchmarkExpand(b *testing.B) {
	tp, err := ParseTemplate(`PING {{counter}} {{time}} {{counter u32}}\r\n`)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		tp.Expand(uint64(i), now)
	}
}

// FuzzTemplate: no text makes ParseTemplate panic; it returns a template
// or an error with its code and a message that names an offset, never both;
// an expansion, at any send number and any time, never exceeds MaxLen; a
// template without placeholders is the bytes DecodeEscaped makes of it.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{`PING {{counter}}\r\n`, `{{counter u16 from=0}}{{time u64}}`, `{{time}} {{time clock}} {{time unix_ms}}`,
		`{{random 4 hex}}{{random 2}}`, `\x7b\x7b{{counter hex}}}}`, `{{counter`, `{{}}`, `\x4`, `{{random 65536 hex}}`, "{{counter from=9223372036854775808 u64le}}"} {
		f.Add(s, uint64(1), int64(1795578220), int64(123456789))
	}
	f.Add(`{{time}}{{time unix}}{{time unix_ms}}`, uint64(math.MaxUint64), int64(math.MinInt64), int64(-1))
	f.Add(`{{time}}{{time unix}}{{time unix_ms}}`, uint64(0), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, src string, n uint64, sec, nsec int64) {
		tp, err := ParseTemplate(src)
		if (tp == nil) == (err == nil) {
			t.Fatalf("ParseTemplate(%q) = %v, %v", src, tp, err)
		}
		if err != nil {
			if (err.Code != CodeBadTemplate && err.Code != CodeBadEscape) || !strings.Contains(err.Message, "at offset ") || !utf8.ValidString(err.Message) {
				t.Fatalf("ParseTemplate(%q): %v", src, err)
			}
			return
		}
		now := time.Unix(sec, nsec)
		for _, k := range []uint64{n, n + 1} {
			if b := tp.Expand(k, now); len(b) > tp.MaxLen() {
				t.Fatalf("%q expanded to %d bytes for send %d at %v; MaxLen is %d", src, len(b), k, now, tp.MaxLen())
			}
		}
		if tp.IsLiteral() {
			want, derr := DecodeEscaped(src)
			if derr != nil || !bytes.Equal(tp.Expand(n, now), want) {
				t.Fatalf("%q has no placeholder: it expands to %q, DecodeEscaped makes %q (%v)", src, tp.Expand(n, now), want, derr)
			}
		}
	})
}
