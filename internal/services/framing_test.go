package services

import (
	"fmt"
	"strings"
	"testing"
)

func TestFraming(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "framing")
	a := addr(t, s, "framing", "tcp")
	long := strings.Repeat("x", framingMaxMessage)
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one message", []string{"hello\n"}, []string{"5 bytes: hello"}},
		{"CRLF: the \\r is not counted", []string{"hello\r\n"}, []string{"5 bytes: hello"}},
		{"one byte", []string{"a\n"}, []string{"1 byte: a"}},
		{"empty", []string{"\n"}, []string{"0 bytes: "}},
		{"two messages in one write", []string{"hello\nworld!\n"}, []string{"5 bytes: hello", "6 bytes: world!"}},
		{"one message in two writes", []string{"hel", "lo\n"}, []string{"5 bytes: hello"}},
		{"one message in many writes", []string{"a", "b", "c", "\r", "\n"}, []string{"3 bytes: abc"}},
		{"a \\r inside counts", []string{"a\rb\n"}, []string{"3 bytes: a\rb"}},
		{"UTF-8 counts bytes", []string{"caf\u00e9\n"}, []string{"5 bytes: caf\u00e9"}},
		{"the longest", []string{long + "\n"}, []string{fmt.Sprintf("%d bytes: %s", framingMaxMessage, long)}},
		{"too long", []string{long + "y\nok\n"}, []string{"! message too long: over 65536 bytes before a newline; it was dropped", "2 bytes: ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a)
			l := newLines(t, c)
			for _, w := range tc.writes {
				write(t, c, w)
			}
			for _, want := range tc.want {
				l.expect(want)
			}
			c.CloseWrite()
			l.eof()
		})
	}

	// An unterminated message is answered at EOF.
	c := dial(t, a)
	write(t, c, "one\ntwo")
	c.CloseWrite()
	if got := readAll(t, c); got != "3 bytes: one\n3 bytes without a newline before EOF: two\n" {
		t.Fatalf("at EOF: %q", got)
	}
}
