package bridge_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
)

func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) % 251)
	}
	return b
}

// TestFlowControl: while the client reads no events, the session stops
// reading the socket, so the real TCP sender blocks after a bounded amount.
// Once the client reads again, every byte arrives, in order.
func TestFlowControl(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, p := connectPeer(t, c, "")

	// The client now stops reading. Write until the kernel stops taking
	// bytes: a write that cannot finish within its deadline has blocked.
	const limit = 256 << 20 // far beyond every buffer on the way
	const chunk = 64 << 10
	written := 0
	for {
		if written >= limit {
			t.Fatalf("wrote %d MiB and the sender never blocked: nothing pushes back", written>>20)
		}
		p.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := p.Write(pattern(written, chunk))
		written += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("peer write: %v", err)
		}
	}
	t.Logf("the sender blocked after %.1f MiB (kernel buffers on both hops plus the 1 MiB window)", float64(written)/(1<<20))
	if written > 64<<20 {
		t.Fatalf("the sender blocked only after %d MiB; the session buffered too much", written>>20)
	}

	// Resume reading: every byte, in order, nothing dropped.
	got := 0
	for got < written {
		e := c.Wait("data", func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
		want := pattern(got, len(e.Data))
		for i := range e.Data {
			if e.Data[i] != want[i] {
				t.Fatalf("byte %d is %d, want %d", got+i, e.Data[i], want[i])
			}
		}
		got += len(e.Data)
	}
	if got != written {
		t.Fatalf("received %d bytes, the peer wrote %d", got, written)
	}
	// The sender is unblocked too: the rest of a write goes through.
	p.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.Write(pattern(written, chunk)); err != nil {
		t.Fatalf("write after the client resumed: %v", err)
	}
}
