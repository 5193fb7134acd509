package services

import (
	"bytes"

	"testing"
	"time"
)

func TestEcho(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "echo")
	payload := bytes.Repeat([]byte{0, 1, 2, 0x7f, 0x80, 0xff, '\r', '\n'}, 32<<10) // 256 KiB, every kind of byte
	for _, a := range addrs(t, s, "echo", "tcp") {
		c := dial(t, a)
		go func() {
			c.SetWriteDeadline(time.Now().Add(patience))
			c.Write(payload)
			c.CloseWrite()
		}()
		if got := readAll(t, c); got != string(payload) {
			t.Errorf("tcp %s: echoed %d bytes, not the %d sent", a, len(got), len(payload))
		}
	}
	for _, a := range addrs(t, s, "echo", "udp") {
		c := dialUDP(t, a)
		for _, p := range [][]byte{[]byte("hello"), {}, payload[:1400], payload[:60000]} {
			if got := roundTrip(t, c, p); !bytes.Equal(got, p) {
				t.Errorf("udp %s: %d bytes came back as %d", a, len(p), len(got))
			}
		}
	}
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "discard")
	c := dial(t, addr(t, s, "discard", "tcp"))
	// More than loopback's socket buffers hold, so it is only written if
	// the service reads.
	c.SetWriteDeadline(time.Now().Add(patience))
	if _, err := c.Write(make([]byte, 16<<20)); err != nil {
		t.Fatalf("writing 16 MiB to discard: %v", err)
	}
	c.CloseWrite()
	if got := readAll(t, c); got != "" {
		t.Fatalf("discard sent %q", got)
	}

	u := dialUDP(t, addr(t, s, "discard", "udp"))
	for range 3 {
		if _, err := u.Write([]byte("anyone there?")); err != nil {
			t.Fatal(err)
		}
	}
	// Silence cannot be awaited: give a reply, were there one, a moment.
	u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := u.Read(make([]byte, 100)); !isTimeout(err) {
		t.Fatalf("udp discard answered: %d bytes, %v", n, err)
	}
}
