package badnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
	"go.uber.org/goleak"
)

func TestStartRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  badnet.Config
		want string
	}{
		{"no network", badnet.Config{Target: "127.0.0.1:7"}, "network must be tcp or udp"},
		{"sctp", badnet.Config{Network: "sctp", Target: "127.0.0.1:7"}, "network must be tcp or udp"},
		{"no target", badnet.Config{Network: "tcp"}, "no target"},
		{"target without port", badnet.Config{Network: "tcp", Target: "127.0.0.1"}, "missing port"},
		{"bad knobs", badnet.Config{Network: "udp", Target: "127.0.0.1:7", Knobs: badnet.Knobs{Reorder: -1}}, "reorder must be between 0 and 1"},
		{"negative idle", badnet.Config{Network: "udp", Target: "127.0.0.1:7", UDPIdle: -time.Second}, "idle"},
		{"listen taken by a non-address", badnet.Config{Network: "tcp", Target: "127.0.0.1:7", Listen: "nowhere"}, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := badnet.Start(t.Context(), tc.cfg)
			if err == nil {
				p.Close()
				t.Fatalf("Start succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start: %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestForwardsTCPBothWays(t *testing.T) {
	echo := tcpEcho(t)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: echo})
	if got := p.Target().String(); got != echo {
		t.Errorf("Target() = %s, want %s", got, echo)
	}
	c := dial(t, p)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf, err)
	}
	open := rec.waitFor(t, badnet.KindOpen, -1)
	if open.Conn != 1 || open.Client != c.LocalAddr().String() || open.Target != echo {
		t.Errorf("open event %+v: want conn 1 from %s to %s", open, c.LocalAddr(), echo)
	}
	c.Close()
	rec.waitFor(t, badnet.KindClose, -1)
	evs := rec.all()
	if last := evs[len(evs)-1]; last.Kind != badnet.KindClose {
		t.Errorf("the last event is %s, want close", last.Kind)
	}
	for _, dir := range []badnet.Dir{badnet.ToTarget, badnet.ToClient} {
		var got string
		for _, ev := range rec.matching(badnet.KindChunk, dir) {
			got += string(ev.Data)
		}
		if got != "hello" {
			t.Errorf("chunks %s carried %q, want hello", dir, got)
		}
	}
}

// Close must end every goroutine and every connection, while data is held
// and while a write is blocked on a receiver that does not read.
func TestCloseWhileWriteBlocked(t *testing.T) {
	// Tiny buffers on both sides of the proxy's connection to the target,
	// and a target that never reads: a 64 KiB write cannot complete.
	small := &net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = setRcvBuf(fd, 4096) })
		return serr
	}}
	target, conns := tcpTarget(t, small)
	entered, returned := make(chan int, 64), make(chan error, 64)
	dialSpy := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := nc.(*net.TCPConn)
		tc.SetWriteBuffer(4096)
		return &spyConn{TCPConn: tc, entered: entered, returned: returned}, nil
	}
	// Coalescing gathers CoalesceMax bytes into one write.
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target, Dial: dialSpy,
		Knobs: badnet.Knobs{Coalesce: 10 * time.Millisecond}})
	c := dial(t, p)
	accept(t, conns) // held, never read
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 1<<20))
		sent <- err
	}()
	writes := 0
	for n := range entered {
		writes++
		if n == badnet.CoalesceMax {
			break // this write cannot fit in the buffers: it blocks
		}
	}
	start := time.Now()
	p.Close()
	took := time.Since(start)
	t.Logf("Close with a 64 KiB write blocked took %v", took)
	if took > time.Second {
		t.Errorf("Close took %v, want it prompt", took)
	}
	// Every write but the last completed; the last was still blocked when
	// Close came, and failed.
	for i := range writes {
		if err := <-returned; (err != nil) != (i == writes-1) {
			t.Errorf("write %d of %d to the target returned %v", i+1, writes, err)
		}
	}
	c.Close()
	<-sent
	if evs := rec.all(); evs[len(evs)-1].Kind != badnet.KindClose {
		t.Errorf("last event %s, want close", evs[len(evs)-1].Kind)
	}
}

// spyConn reports the size of every write the proxy starts to the target,
// and its outcome.
type spyConn struct {
	*net.TCPConn
	entered  chan<- int
	returned chan<- error
}

func (s *spyConn) Write(b []byte) (int, error) {
	s.entered <- len(b)
	n, err := s.TCPConn.Write(b)
	s.returned <- err
	return n, err
}

func TestCloseWhileDataHeld(t *testing.T) {
	target, conns := tcpTarget(t, nil)
	p, rec := startProxy(t, badnet.Config{Network: "tcp", Target: target,
		Knobs: badnet.Knobs{Coalesce: 10 * time.Second}})
	c := dial(t, p)
	tc := accept(t, conns)
	if _, err := c.Write(make([]byte, 70<<10)); err != nil {
		t.Fatal(err)
	}
	// The first CoalesceMax bytes go at once; the rest wait for 10 s of
	// quiet that never comes.
	first := rec.waitFor(t, badnet.KindChunk, badnet.ToTarget)
	if len(first.Data) != badnet.CoalesceMax {
		t.Errorf("first coalesced chunk is %d bytes, want %d", len(first.Data), badnet.CoalesceMax)
	}
	start := time.Now()
	p.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close with data held took %v, want it prompt", took)
	}
	got, err := io.ReadAll(tc)
	if len(got) != badnet.CoalesceMax {
		t.Errorf("target got %d bytes, %v; want the %d forwarded", len(got), err, badnet.CoalesceMax)
	}
	// The client sees the connection end: a FIN, or a RST if the proxy
	// had not read everything it sent.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client read succeeded after Close")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	// Registered first, so it runs after the other cleanups have stopped
	// the test's own servers.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx, cancel := ctxWithCancel(t)
	defer cancel()
	sig := newSignal()
	echo := tcpEcho(t)
	sink := newUDPSink(t, sig, true)
	tp, err := badnet.Start(ctx, badnet.Config{Network: "tcp", Target: echo, Knobs: badnet.Knobs{Latency: time.Hour / 100}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := badnet.Start(ctx, badnet.Config{Network: "udp", Target: sink.addr(), Knobs: badnet.Knobs{Latency: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", tp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("held for 36 s"))
	u, err := net.Dial("udp", up.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("held for 30 s"))
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	up.Close()
	up.Close() // a second Close does nothing
	if _, err := net.Dial("tcp", tp.Addr().String()); err == nil {
		t.Error("the proxy still accepts after Close")
	}
	c.SetReadDeadline(time.Now().Add(patience))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the client's connection is still open after Close")
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := ctxWithCancel(t)
	p, err := badnet.Start(ctx, badnet.Config{Network: "tcp", Target: tcpEcho(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	cancel()
	// EOF if the proxy had accepted the connection; a reset if it was still
	// in the listener's backlog when the listener closed. Either way it ends.
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read %v after the context ended, want EOF or ECONNRESET", err)
	}
	p.Close()
	p.Close()
}
