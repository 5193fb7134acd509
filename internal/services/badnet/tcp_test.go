package badnet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
)

// roundTrips measures n round trips of a small message through c to an
// echo server.
func roundTrips(t *testing.T, c net.Conn, n int) []time.Duration {
	t.Helper()
	msg, buf := []byte("ping-pong"), make([]byte, 9)
	var rtts []time.Duration
	for range n {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	return rtts
}

// Latency is added once in each direction: a round trip grows by twice it.
// The same connection is measured before and after Set, so this also shows
// knobs changing live.
func TestLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	// Timers never fire early, so the added time is at least 2×latency less
	// the noise of the baseline; a busy two-core machine running -race can
	// add tens of milliseconds.
	const below, above = 5 * time.Millisecond, 40 * time.Millisecond
	p, _ := startProxy(t, badnet.Config{Network: "tcp", Target: tcpEcho(t)})
	c := dial(t, p)
	base := median(roundTrips(t, c, 10))
	if err := p.Set(badnet.Knobs{Latency: latency}); err != nil {
		t.Fatal(err)
	}
	slow := median(roundTrips(t, c, 10))
	added := slow - base
	t.Logf("median round trip %v without latency, %v with %v each way: %v added (want %v, tolerance -%v/+%v)",
		base, slow, latency, added, 2*latency, below, above)
	if added < 2*latency-below || added > 2*latency+above {
		t.Errorf("latency added %v to a round trip, want %v (-%v/+%v)", added, 2*latency, below, above)
	}
}

// Jitter spreads each chunk's delay within Latency ± Jitter, and never
// reorders the stream.
func TestJitter(t *testing.T) {
	// Only what load cannot break is asserted: a message is never early,
	// and the delays spread. How late a busy machine delivers is logged.
	const latency, jitter = 30 * time.Millisecond, 15 * time.Millisecond
	target, conns := tcpTarget(t, nil)
	p, _ := startProxy(t, badnet.Config{Network: "tcp", Target: target, Seed: 7,
		Knobs: badnet.Knobs{Latency: latency, Jitter: jitter}})
	c := dial(t, p)
	tc := accept(t, conns)

	// Messages 2×Jitter apart are never held back by the one before them,
	// so each shows its own delay.
	const spaced = 16
	arrived := make(chan []time.Time, 1)
	go func() {
		var at []time.Time
		buf := make([]byte, 4*spaced)
		got := 0
		for got < len(buf) {
			n, err := tc.Read(buf[got:])
			now := time.Now()
			for i := got / 4; i < (got+n)/4; i++ {
				at = append(at, now)
			}
			got += n
			if err != nil {
				break
			}
		}
		arrived <- at
	}()
	sent := make([]time.Time, spaced)
	tick := time.NewTicker(2*jitter + 5*time.Millisecond)
	defer tick.Stop()
	for i := range spaced {
		<-tick.C
		sent[i] = time.Now()
		if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
			t.Fatal(err)
		}
	}
	at := <-arrived
	if len(at) != spaced {
		t.Fatalf("target got %d messages, want %d", len(at), spaced)
	}
	lo, hi := time.Hour, time.Duration(0)
	for i := range spaced {
		d := at[i].Sub(sent[i])
		lo, hi = min(lo, d), max(hi, d)
		if d < latency-jitter {
			t.Errorf("message %d took %v, less than latency − jitter (%v)", i, d, latency-jitter)
		}
	}
	t.Logf("%d delays with latency %v ± %v: from %v to %v (a busy machine adds to the upper end)", spaced, latency, jitter, lo, hi)
	if hi-lo < jitter {
		t.Errorf("delays spread over only %v, want at least the jitter %v", hi-lo, jitter)
	}

	// A burst of small writes: each read gets its own delay, yet the
	// stream arrives intact and in order.
	const burst = 500
	var want bytes.Buffer
	for i := range burst {
		msg := binary.BigEndian.AppendUint32(nil, uint32(i))
		want.Write(msg)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(tc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("with jitter, the stream arrived out of order or damaged")
	}
}

// reads records the size of every read on c until it has n bytes.
func reads(t *testing.T, c net.Conn, n int) (sizes []int, data []byte) {
	t.Helper()
	buf := make([]byte, 64<<10)
	for len(data) < n {
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after reads of %v: %v", sizes, err)
		}
		sizes = append(sizes, k)
		data = append(data, buf[:k]...)
	}
	return sizes, data
}

func chunkSizes(evs []badnet.Event) []int {
	var sizes []int
	for _, ev := range evs {
		sizes = append(sizes, len(ev.Data))
	}
	return sizes
}

// Split turns one send into several receives, each exactly Split bytes but
// the last; set live, it applies to the next write on an open connection.
func TestSplit(t *testing.T) {
	const gap = 25 * time.Millisecond
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target})
	c := dial(t, p)
	tc := accept(t, conns)
	msg := []byte("0123456789")

	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if sizes, _ := reads(t, tc, len(msg)); len(sizes) != 1 {
		t.Errorf("without Split, one write arrived as reads of %v, want one read", sizes)
	}

	if err := p.Set(badnet.Knobs{Split: 3, SplitGap: gap}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	sizes, data := reads(t, tc, len(msg))
	if !bytes.Equal(data, msg) || !equal(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("one write of %q through Split 3 arrived as reads of %v (%q), want 3,3,3,1", msg, sizes, data)
	}
	eventually(t, rec.sig, "5 chunks to the target", func() bool {
		return len(rec.matching(badnet.KindChunk, badnet.ToTarget)) == 5
	})
	chunks := rec.matching(badnet.KindChunk, badnet.ToTarget)[1:]
	if got := chunkSizes(chunks); !equal(got, []int{3, 3, 3, 1}) {
		t.Errorf("chunk events of %v bytes, want 3,3,3,1", got)
	}
	for i := 1; i < len(chunks); i++ {
		if d := chunks[i].Time.Sub(chunks[i-1].Time); d < gap {
			t.Errorf("pieces %d and %d were %v apart, want at least %v", i-1, i, d, gap)
		}
	}
}

// With SplitGap zero, pieces are at least DefaultSplitGap apart.
func TestSplitDefaultGap(t *testing.T) {
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: tcpEcho(t), Knobs: badnet.Knobs{Split: 2}})
	c := dial(t, p)
	if _, err := c.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	eventually(t, rec.sig, "5 chunks to the target", func() bool {
		return len(rec.matching(badnet.KindChunk, badnet.ToTarget)) == 5
	})
	chunks := rec.matching(badnet.KindChunk, badnet.ToTarget)
	var gaps []time.Duration
	for i := 1; i < len(chunks); i++ {
		d := chunks[i].Time.Sub(chunks[i-1].Time)
		gaps = append(gaps, d)
		if d < badnet.DefaultSplitGap {
			t.Errorf("pieces %d and %d were %v apart, want at least %v", i-1, i, d, badnet.DefaultSplitGap)
		}
	}
	t.Logf("gaps between pieces: %v", gaps)
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Coalesce turns three sends into one receive.
func TestCoalesce(t *testing.T) {
	const quiet = 50 * time.Millisecond
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target, Knobs: badnet.Knobs{Coalesce: quiet}})
	c := dial(t, p)
	tc := accept(t, conns)
	for i, part := range []string{"abc", "def", "ghi"} {
		if i > 0 {
			time.Sleep(5 * time.Millisecond) // the spacing is what is tested
		}
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	sizes, data := reads(t, tc, 9)
	if string(data) != "abcdefghi" || len(sizes) != 1 {
		t.Errorf("three writes 5 ms apart arrived as reads of %v (%q), want one read of abcdefghi", sizes, data)
	}
	rec.waitFor(t, badnet.KindChunk, badnet.ToTarget)
	chunks := rec.matching(badnet.KindChunk, badnet.ToTarget)
	if len(chunks) != 1 || string(chunks[0].Data) != "abcdefghi" {
		t.Fatalf("chunk events %v, want one of abcdefghi", chunkSizes(chunks))
	}
	if d := chunks[0].Delay; d < quiet {
		t.Errorf("the coalesced chunk went %v after its first bytes, want at least the quiet time %v", d, quiet)
	}
}

// Bandwidth paces the bytes: 64 KiB at 64 KiB/s take about a second.
func TestBandwidth(t *testing.T) {
	const size, rate = 64 << 10, 64 << 10
	const want = time.Duration(size) * time.Second / rate
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target, Knobs: badnet.Knobs{Bandwidth: rate}})
	c := dial(t, p)
	tc := accept(t, conns)
	start := time.Now()
	go c.Write(make([]byte, size))
	if _, err := io.ReadFull(tc, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d bytes at %d B/s took %v (want %v ± 15%%): %.0f B/s", size, rate, took, want, float64(size)/took.Seconds())
	if took < want*85/100 || took > want*115/100 {
		t.Errorf("%d bytes at %d B/s took %v, want %v ± 15%%", size, rate, took, want)
	}
	for _, n := range chunkSizes(rec.matching(badnet.KindChunk, badnet.ToTarget)) {
		if n > rate/50 {
			t.Errorf("a chunk of %d bytes, want at most 20 ms worth (%d)", n, rate/50)
		}
	}
}

func TestReset(t *testing.T) {
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target})
	c := dial(t, p)
	tc := accept(t, conns)
	rec.waitFor(t, badnet.KindOpen, -1)
	if n := p.Reset(); n != 1 {
		t.Errorf("Reset() = %d, want 1", n)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read after Reset: %v, want ECONNRESET", err)
	}
	if _, err := tc.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("target read after Reset: %v, want ECONNRESET", err)
	}
	ev := rec.waitFor(t, badnet.KindReset, -1)
	if ev.Dir != 0 || ev.Conn != 1 {
		t.Errorf("reset event %+v, want conn 1 and no direction", ev)
	}
	eventually(t, rec.sig, "no open connection", func() bool { return p.Reset() == 0 })
	if p.ResetConn(1) {
		t.Error("ResetConn(1) reset a connection that had ended")
	}
}

func TestResetConnResetsOnlyThatConnection(t *testing.T) {
	echo := tcpEcho(t)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: echo})
	c1, c2 := dial(t, p), dial(t, p)
	eventually(t, rec.sig, "two open connections", func() bool { return len(rec.matching(badnet.KindOpen, -1)) == 2 })
	id1 := rec.matching(badnet.KindOpen, -1)[0]
	victim, survivor := c1, c2
	if id1.Client != c1.LocalAddr().String() {
		victim, survivor = c2, c1
	}
	if !p.ResetConn(id1.Conn) {
		t.Fatal("ResetConn found no connection")
	}
	if _, err := victim.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read on the reset connection: %v, want ECONNRESET", err)
	}
	if rtt := roundTrips(t, survivor, 1); len(rtt) != 1 {
		t.Error("the other connection broke")
	}
}

// A reset from one side is passed on to the other.
func TestResetFromClientPassedOn(t *testing.T) {
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target})
	c := dial(t, p)
	tc := accept(t, conns)
	rec.waitFor(t, badnet.KindOpen, -1)
	c.SetLinger(0)
	c.Close()
	if _, err := tc.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("target read after the client's reset: %v, want ECONNRESET", err)
	}
	ev := rec.waitFor(t, badnet.KindReset, -1)
	if ev.Dir != badnet.ToTarget || !errors.Is(ev.Err, syscall.ECONNRESET) {
		t.Errorf("reset event %+v, want one passed on to the target, with ECONNRESET", ev)
	}
}

// A half-close passes through: the client shuts its sending side, the
// target still answers, then the connection closes cleanly.
func TestHalfClose(t *testing.T) {
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target, Knobs: badnet.Knobs{Latency: 10 * time.Millisecond}})
	c := dial(t, p)
	tc := accept(t, conns)
	c.Write([]byte("ping"))
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(tc)
	if err != nil || string(got) != "ping" {
		t.Fatalf("target read %q, %v; want ping then EOF", got, err)
	}
	tc.Write([]byte("pong"))
	tc.Close()
	got, err = io.ReadAll(c)
	if err != nil || string(got) != "pong" {
		t.Fatalf("client read %q, %v; want pong then EOF", got, err)
	}
	rec.waitFor(t, badnet.KindClose, -1)
	var kinds []string
	for _, ev := range rec.all() {
		kinds = append(kinds, string(ev.Kind)+" "+ev.Dir.String())
	}
	want := []string{"open ", "chunk to-target", "fin to-target", "chunk to-client", "fin to-client", "close "}
	if len(kinds) != len(want) {
		t.Fatalf("events %q, want %q", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %q, want %q", kinds, want)
		}
	}
}

var errDenied = errors.New("policy: connect refused: not on the allowlist")

// When Check refuses the target, the client is reset and the event says
// why; the target is never dialed.
func TestCheckRefusesTCP(t *testing.T) {
	target, conns := tcpTarget(t, nil)
	var asked []string
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target, Check: func(network, addr string) error {
		asked = append(asked, network+" "+addr) // only the connection's goroutine calls it
		return errDenied
	}})
	if err := dialAndRead(t, p); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client: %v, want ECONNRESET", err)
	}
	ev := rec.waitFor(t, badnet.KindError, -1)
	if !errors.Is(ev.Err, errDenied) || ev.Conn != 1 {
		t.Errorf("error event %+v, want conn 1 with the refusal", ev)
	}
	if len(asked) != 1 || asked[0] != "tcp "+target {
		t.Errorf("Check was asked %q, want once about tcp %s", asked, target)
	}
	select {
	case <-conns:
		t.Error("the target was dialed although Check refused it")
	default:
	}
}

func TestTargetRefusesTCP(t *testing.T) {
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: closedPort(t, "tcp")})
	if err := dialAndRead(t, p); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client: %v, want ECONNRESET", err)
	}
	ev := rec.waitFor(t, badnet.KindError, -1)
	if !errors.Is(ev.Err, syscall.ECONNREFUSED) {
		t.Errorf("error event %+v, want ECONNREFUSED", ev)
	}
}

// dialAndRead connects to the proxy and reads, and returns the first error:
// a reset may come so soon that connect itself reports it.
func dialAndRead(t *testing.T, p *badnet.Proxy) error {
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", p.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	_, err = c.Read(make([]byte, 1))
	return err
}

// TestMaxTCPConns: beyond MaxTCPConns open connections a new client is
// reset with an error event, so a proxy aimed at itself (or two aimed at
// each other) cannot eat the server's descriptors; a slot freed is usable.
func TestMaxTCPConns(t *testing.T) {
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: tcpEcho(t)})
	conns := make([]*net.TCPConn, badnet.MaxTCPConns)
	for i := range conns {
		conns[i] = dial(t, p)
		// Proves the proxy took it: an echo through it.
		if _, err := conns[i].Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conns[i], make([]byte, 1)); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	if err := dialAndRead(t, p); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection %d: %v, want ECONNRESET", badnet.MaxTCPConns+1, err)
	}
	ev := rec.waitFor(t, badnet.KindError, 0)
	if !errors.Is(ev.Err, badnet.ErrTooManyConns) {
		t.Fatalf("error event %v, want ErrTooManyConns", ev.Err)
	}
	conns[0].Close()
	eventually(t, rec.sig, "the first connection's close", func() bool { return len(rec.matching(badnet.KindClose, 0)) > 0 })
	again := dial(t, p)
	if _, err := again.Write([]byte{'y'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(again, make([]byte, 1)); err != nil {
		t.Fatalf("after a slot was freed: %v", err)
	}
}

// TestAdmit: Admit is asked before each connection; a refusal resets the
// client with an error event, and the done of an admitted one is called
// once it has ended.
func TestAdmit(t *testing.T) {
	var mu sync.Mutex
	open, refuse := 0, false
	errFull := errors.New("the owner is full")
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: tcpEcho(t), Admit: func() (func(), error) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return nil, errFull
		}
		open++
		return func() {
			mu.Lock()
			open--
			mu.Unlock()
		}, nil
	}})
	c := dial(t, p)
	c.Write([]byte{'x'})
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := open
	refuse = true
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d admitted connections open, want 1", n)
	}
	if err := dialAndRead(t, p); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("a refused client: %v, want ECONNRESET", err)
	}
	if ev := rec.waitFor(t, badnet.KindError, 0); !errors.Is(ev.Err, errFull) {
		t.Errorf("error event %v, want Admit's error", ev.Err)
	}
	c.Close()
	eventually(t, rec.sig, "the admitted connection's done", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return open == 0
	})
}
