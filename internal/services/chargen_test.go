package services

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// rfc864Line is line k of RFC 864's pattern, written out independently of
// chargenCycle: 72 characters from the 95 printable ones, starting at the
// k-th, then CRLF.
func rfc864Line(k int) string {
	const printable = ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_` + "`" + `abcdefghijklmnopqrstuvwxyz{|}~`
	var b strings.Builder
	for i := range 72 {
		b.WriteByte(printable[(k+i)%len(printable)])
	}
	return b.String() + "\r\n"
}

func TestChargenPattern(t *testing.T) {
	t.Parallel()
	if rfc864Line(0)[:10] != ` !"#$%&'()` || rfc864Line(1)[:10] != `!"#$%&'()*` || len(rfc864Line(0)) != 74 {
		t.Fatalf("the test's own pattern is wrong: %q", rfc864Line(0))
	}
	s := start(t, Config{}, "chargen")
	c := dial(t, addr(t, s, "chargen", "tcp"))
	l := newLines(t, c)
	for k := range 200 { // past one round of 95 lines
		if got := l.next(); got != rfc864Line(k) {
			t.Fatalf("line %d: %q; want %q", k, got, rfc864Line(k))
		}
	}

	u := dialUDP(t, addr(t, s, "chargen", "udp"))
	for d := range 20 {
		var want strings.Builder
		for k := range chargenUDPLines {
			want.WriteString(rfc864Line(d*chargenUDPLines + k))
		}
		if got := roundTrip(t, u, nil); string(got) != want.String() {
			t.Fatalf("datagram %d: %q; want %q", d, got, want.String())
		}
	}
}

// TestChargenRate: chargen sends at its rate, within a tolerance, however
// fast the client reads.
func TestChargenRate(t *testing.T) {
	t.Parallel()
	const rate, span = 8 << 10, 1500 * time.Millisecond
	s := start(t, Config{ChargenRate: rate}, "chargen")
	c := dial(t, addr(t, s, "chargen", "tcp"))
	buf := make([]byte, 64<<10)
	c.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.ReadAtLeast(c, buf, 1); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var got int
	var stream bytes.Buffer
	want := int(rate * span.Seconds())
	for got < want {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += n
		stream.Write(buf[:n])
	}
	elapsed := time.Since(t0)
	measured := float64(got) / elapsed.Seconds()
	t.Logf("%d bytes in %v: %.0f bytes/s; want %d", got, elapsed, measured, rate)
	if measured < 0.75*rate || measured > 1.25*rate {
		t.Fatalf("chargen sent %.0f bytes/s; want %d within 25%%", measured, rate)
	}
	_, after, _ := strings.Cut(stream.String(), "\r\n")
	for k := range 95 {
		if strings.HasPrefix(after, rfc864Line(k)) {
			return
		}
	}
	t.Fatalf("the rate-limited stream lost the pattern: %q", after[:min(len(after), 200)])
}
