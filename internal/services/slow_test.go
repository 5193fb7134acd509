package services

import (
	"testing"
	"time"
)

// TestSlowBlocksSender: a sender of 256 KiB fills the queues and blocks.
// The sender's own send buffer decides how soon: Linux grows it up to
// tcp_wmem's maximum (4 MiB) on loopback whatever the receiver does, so
// the client sets a small one, as a learner would with SO_SNDBUF.
func TestSlowBlocksSender(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "slow")
	c := dial(t, addr(t, s, "slow", "tcp"))
	c.SetWriteBuffer(16 << 10)
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Write(make([]byte, 256<<10))
	if !isTimeout(err) {
		t.Fatalf("wrote %d bytes to slow: %v; want a timeout", n, err)
	}
	t.Logf("%d bytes went before send blocked", n)
}

// TestSlowPace: the service reads a byte a second: three bytes and the EOF
// after them take it two seconds or more.
func TestSlowPace(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "slow")
	c := dial(t, addr(t, s, "slow", "tcp"))
	t0 := time.Now()
	write(t, c, "abc")
	c.CloseWrite()
	if got := readAll(t, c); got != "" { // the service closes once it reads the EOF
		t.Fatalf("slow sent %q", got)
	}
	if d := time.Since(t0); d < 1900*time.Millisecond {
		t.Fatalf("3 bytes and EOF read in %v; want about 3s (a byte a second)", d)
	}
}
