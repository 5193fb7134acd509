package badnet_test

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
)

// Loss drops each datagram with probability Loss. Over 10,000 datagrams
// with a fixed seed the proxy's own count of drops stays within 4.5
// standard deviations of the binomial mean, and the receiver gets exactly
// the datagrams the proxy forwarded.
func TestUDPLoss(t *testing.T) {
	const n, loss = 10000, 0.3
	sig := newSignal()
	sink := newUDPSink(t, sig, false)
	rec := newRecorder(sig)
	p, _ := startProxy(t, badnet.Config{Network: "udp", Target: sink.addr(), Seed: 1,
		Knobs: badnet.Knobs{Loss: loss}, Observe: rec.observe})
	c := udpClient(t, p)

	// Counted incrementally from the events: the proxy's verdict on each
	// datagram, so loopback's own drops (if any) cannot skew the rate.
	var seen, forwarded, lost int
	count := func() {
		evs := rec.all()
		for _, ev := range evs[seen:] {
			switch {
			case ev.Kind == badnet.KindChunk && ev.Dir == badnet.ToTarget:
				forwarded++
			case ev.Kind == badnet.KindDrop && errors.Is(ev.Err, badnet.ErrLost):
				lost++
			case ev.Kind == badnet.KindDrop:
				t.Errorf("datagram dropped for another reason: %v", ev.Err)
			}
		}
		seen = len(evs)
	}
	// Send at a moderate pace: at most 50 datagrams in flight, so no
	// socket buffer on loopback overflows.
	settled := func(sent int) func() bool {
		return func() bool {
			count()
			return forwarded+lost == sent && sink.count() == forwarded
		}
	}
	for i := range n {
		if _, err := c.Write(binary.BigEndian.AppendUint64(nil, uint64(i))); err != nil {
			t.Fatal(err)
		}
		if (i+1)%50 == 0 {
			eventually(t, sig, "the datagrams sent to be forwarded or dropped, and received", settled(i+1))
		}
	}
	mean, sd := n*loss, math.Sqrt(n*loss*(1-loss))
	t.Logf("%d datagrams, loss %.1f, seed 1: %d dropped, %d forwarded (binomial mean %.0f, sd %.1f, z = %+.2f); the receiver got %d",
		n, loss, lost, forwarded, mean, sd, (float64(lost)-mean)/sd, sink.count())
	if math.Abs(float64(lost)-mean) > 4.5*sd {
		t.Errorf("%d of %d datagrams dropped, want %.0f ± %.0f", lost, n, mean, 4.5*sd)
	}
	// The receiver got exactly the forwarded datagrams, each once.
	want := map[uint64]bool{}
	for _, ev := range rec.matching(badnet.KindChunk, badnet.ToTarget) {
		want[binary.BigEndian.Uint64(ev.Data)] = true
	}
	for _, d := range sink.received() {
		i := binary.BigEndian.Uint64(d)
		if !want[i] {
			t.Fatalf("the receiver got datagram %d, which was not forwarded or came twice", i)
		}
		delete(want, i)
	}
	if len(want) != 0 {
		t.Errorf("%d forwarded datagrams never arrived", len(want))
	}
}

// Reorder holds a datagram back until the next one has gone: A, B arrive
// as B, A. A held datagram with no follower goes alone after ReorderWait.
func TestUDPReorder(t *testing.T) {
	sig := newSignal()
	sink := newUDPSink(t, sig, false)
	rec := newRecorder(sig)
	p, _ := startProxy(t, badnet.Config{Network: "udp", Target: sink.addr(),
		Knobs: badnet.Knobs{Reorder: 1}, Observe: rec.observe})
	c := udpClient(t, p)
	c.Write([]byte("A"))
	if ev := rec.waitFor(t, badnet.KindHold, badnet.ToTarget); string(ev.Data) != "A" {
		t.Fatalf("held %q, want A", ev.Data)
	}
	c.Write([]byte("B"))
	eventually(t, sig, "two datagrams at the receiver", func() bool { return sink.count() == 2 })
	if got := sink.received(); string(got[0]) != "B" || string(got[1]) != "A" {
		t.Errorf("the receiver got %q then %q, want B then A", got[0], got[1])
	}

	start := time.Now()
	c.Write([]byte("C"))
	eventually(t, sig, "C at the receiver", func() bool { return sink.count() == 3 })
	took := time.Since(start)
	t.Logf("a held datagram with no follower went alone after %v", took)
	if took < badnet.ReorderWait || took > badnet.ReorderWait+500*time.Millisecond {
		t.Errorf("C arrived after %v, want ReorderWait (%v)", took, badnet.ReorderWait)
	}
}

// Each client address gets its own mapping, so replies go back to the
// right client; latency applies both ways.
func TestUDPMappings(t *testing.T) {
	const latency = 30 * time.Millisecond
	sig := newSignal()
	echo := newUDPSink(t, sig, true)
	p, rec := startProxy(t, badnet.Config{Network: "udp", Target: echo.addr(), Knobs: badnet.Knobs{Latency: latency}})
	c1, c2 := udpClient(t, p), udpClient(t, p)
	buf := make([]byte, 64)
	for i, c := range []*net.UDPConn{c1, c2, c1} {
		msg := []byte{byte('1' + i)}
		start := time.Now()
		c.Write(msg)
		n, err := c.Read(buf)
		rtt := time.Since(start)
		if err != nil || string(buf[:n]) != string(msg) {
			t.Fatalf("client got %q, %v; want its own %q back", buf[:n], err, msg)
		}
		if rtt < 2*latency {
			t.Errorf("round trip %v, want at least 2×%v", rtt, latency)
		}
	}
	opens := rec.matching(badnet.KindOpen, -1)
	if len(opens) != 2 || opens[0].Client != c1.LocalAddr().String() || opens[1].Client != c2.LocalAddr().String() ||
		opens[0].Conn != 1 || opens[1].Conn != 2 {
		t.Errorf("open events %+v, want conn 1 for the first client and 2 for the second", opens)
	}
}

// An idle mapping expires; the next datagram from that client opens a new
// one.
func TestUDPMappingExpires(t *testing.T) {
	const idle = 100 * time.Millisecond
	sig := newSignal()
	echo := newUDPSink(t, sig, true)
	p, rec := startProxy(t, badnet.Config{Network: "udp", Target: echo.addr(), UDPIdle: idle})
	c := udpClient(t, p)
	buf := make([]byte, 8)
	c.Write([]byte("a"))
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	last := time.Now()
	ev := rec.waitFor(t, badnet.KindClose, -1)
	if ev.Conn != 1 {
		t.Errorf("closed conn %d, want 1", ev.Conn)
	}
	if d := ev.Time.Sub(last); d < idle-time.Millisecond {
		t.Errorf("the mapping expired %v after its last datagram, want at least %v", d, idle)
	}
	c.Write([]byte("b"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "b" {
		t.Fatalf("after expiry, got %q, %v; want b", buf[:n], err)
	}
	if opens := rec.matching(badnet.KindOpen, -1); len(opens) != 2 || opens[1].Conn != 2 {
		t.Errorf("open events %+v, want a second mapping, conn 2", opens)
	}
}

// Check is asked about every datagram: a refused one is dropped with the
// reason, before and after its client has a mapping.
func TestUDPCheck(t *testing.T) {
	sig := newSignal()
	sink := newUDPSink(t, sig, false)
	rec := newRecorder(sig)
	var refuse atomic.Bool
	refuse.Store(true)
	p, _ := startProxy(t, badnet.Config{Network: "udp", Target: sink.addr(), Observe: rec.observe,
		Check: func(network, addr string) error {
			if network != "udp" || addr != sink.addr() {
				t.Errorf("Check(%s, %s), want udp %s", network, addr, sink.addr())
			}
			if refuse.Load() {
				return errDenied
			}
			return nil
		}})
	c := udpClient(t, p)
	drops := func() []badnet.Event { return rec.matching(badnet.KindDrop, badnet.ToTarget) }

	c.Write([]byte("refused"))
	eventually(t, sig, "a drop", func() bool { return len(drops()) == 1 })
	if ev := drops()[0]; !errors.Is(ev.Err, errDenied) || string(ev.Data) != "refused" || ev.Conn != 0 {
		t.Errorf("drop event %+v, want the refusal, the datagram, and no mapping", ev)
	}
	refuse.Store(false)
	c.Write([]byte("allowed"))
	eventually(t, sig, "a datagram at the receiver", func() bool { return sink.count() == 1 })
	refuse.Store(true)
	c.Write([]byte("refused again"))
	eventually(t, sig, "a second drop", func() bool { return len(drops()) == 2 })
	if ev := drops()[1]; !errors.Is(ev.Err, errDenied) || ev.Conn != 1 {
		t.Errorf("drop event %+v, want the refusal on mapping 1", ev)
	}
	if got := sink.received(); len(got) != 1 || string(got[0]) != "allowed" {
		t.Errorf("the receiver got %q, want only allowed", got)
	}
}

// A datagram to a port where nothing listens comes back as ECONNREFUSED,
// reported as an error event.
func TestUDPTargetUnreachable(t *testing.T) {
	p, rec := startProxy(t, badnet.Config{Network: "udp", Target: closedPort(t, "udp")})
	c := udpClient(t, p)
	c.Write([]byte("anyone?"))
	ev := rec.waitFor(t, badnet.KindError, -1)
	if !errors.Is(ev.Err, syscall.ECONNREFUSED) || ev.Conn != 1 {
		t.Errorf("error event %+v, want ECONNREFUSED on mapping 1", ev)
	}
}

// Bandwidth paces datagrams too: 10 of 1000 bytes at 20,000 B/s take about
// half a second.
func TestUDPBandwidth(t *testing.T) {
	const n, size, rate = 10, 1000, 20000
	const want = time.Duration(n*size) * time.Second / rate
	sig := newSignal()
	sink := newUDPSink(t, sig, false)
	p, _ := startProxy(t, badnet.Config{Network: "udp", Target: sink.addr(), Knobs: badnet.Knobs{Bandwidth: rate}})
	c := udpClient(t, p)
	start := time.Now()
	for range n {
		if _, err := c.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, sig, "every datagram at the receiver", func() bool { return sink.count() == n })
	took := time.Since(start)
	t.Logf("%d datagrams of %d bytes at %d B/s took %v (want %v ± 15%%)", n, size, rate, took, want)
	if took < want*85/100 || took > want*115/100 {
		t.Errorf("took %v, want %v ± 15%%", took, want)
	}
}
