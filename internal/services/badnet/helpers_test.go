package badnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
)

// patience bounds every wait for an event, generously: the tests run with
// -race on a busy two-core machine.
const patience = 15 * time.Second

// signal wakes waiters whenever something they watch changes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// changed returns a channel closed at the next notify. Take it before
// checking the condition, so no change is missed.
func (s *signal) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// eventually waits until cond holds, re-checking it whenever sig notifies.
func eventually(t *testing.T, sig *signal, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for {
		ch := sig.changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// recorder keeps a proxy's events.
type recorder struct {
	sig    *signal
	mu     sync.Mutex
	events []badnet.Event
}

func newRecorder(sig *signal) *recorder { return &recorder{sig: sig} }

func (r *recorder) observe(ev badnet.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.sig.notify()
}

// all returns the events so far.
func (r *recorder) all() []badnet.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// matching returns the events of that kind and direction (any direction if
// dir is -1).
func (r *recorder) matching(kind badnet.Kind, dir badnet.Dir) []badnet.Event {
	var out []badnet.Event
	for _, ev := range r.all() {
		if ev.Kind == kind && (dir == -1 || ev.Dir == dir) {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor waits until an event of that kind and direction (any if -1) has
// happened and returns the first.
func (r *recorder) waitFor(t *testing.T, kind badnet.Kind, dir badnet.Dir) badnet.Event {
	t.Helper()
	var found badnet.Event
	eventually(t, r.sig, "a "+string(kind)+" event", func() bool {
		evs := r.matching(kind, dir)
		if len(evs) == 0 {
			return false
		}
		found = evs[0]
		return true
	})
	return found
}

// startProxy starts a proxy whose events go to a new recorder, and closes it
// when the test ends.
func startProxy(t *testing.T, cfg badnet.Config) (*badnet.Proxy, *recorder) {
	t.Helper()
	rec := newRecorder(newSignal())
	if cfg.Observe == nil {
		cfg.Observe = rec.observe
	}
	p, err := badnet.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, rec
}

// server is a TCP server on loopback whose goroutines end with the test.
type server struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// tcpServer serves each connection with handle on 127.0.0.1:0. lc may be
// nil.
func tcpServer(t *testing.T, lc *net.ListenConfig, handle func(net.Conn)) *server {
	t.Helper()
	if lc == nil {
		lc = &net.ListenConfig{}
	}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { handle(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

// tcpEcho is a TCP echo server.
func tcpEcho(t *testing.T) string {
	return tcpServer(t, nil, func(c net.Conn) {
		io.Copy(c, c)
		c.Close()
	}).addr()
}

// tcpTarget is a TCP server that hands each accepted connection to the test.
func tcpTarget(t *testing.T, lc *net.ListenConfig) (string, <-chan net.Conn) {
	conns := make(chan net.Conn, 16)
	s := tcpServer(t, lc, func(c net.Conn) { conns <- c })
	return s.addr(), conns
}

// accept returns the target's next connection.
func accept(t *testing.T, conns <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-conns:
		c.SetDeadline(time.Now().Add(patience))
		return c
	case <-time.After(patience):
		t.Fatal("the target accepted no connection")
		return nil
	}
}

// dial connects a client to the proxy; it closes with the test.
func dial(t *testing.T, p *badnet.Proxy) *net.TCPConn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(t.Context(), p.Addr().Network(), p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(patience))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// closedPort returns an address on loopback where nothing listens (a port
// that was just free).
func closedPort(t *testing.T, network string) string {
	t.Helper()
	var addr string
	if network == "tcp" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	} else {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		pc.Close()
	}
	return addr
}

// udpSink records the datagrams it receives, in order.
type udpSink struct {
	sig  *signal
	pc   net.PacketConn
	mu   sync.Mutex
	got  [][]byte
	from []net.Addr
}

// newUDPSink listens on 127.0.0.1:0; if echo, it also sends each datagram
// back.
func newUDPSink(t *testing.T, sig *signal, echo bool) *udpSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.(*net.UDPConn).SetReadBuffer(4 << 20)
	s := &udpSink{sig: sig, pc: pc}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if echo {
				pc.WriteTo(buf[:n], from)
			}
			s.mu.Lock()
			s.got = append(s.got, append([]byte(nil), buf[:n]...))
			s.from = append(s.from, from)
			s.mu.Unlock()
			sig.notify()
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return s
}

func (s *udpSink) addr() string { return s.pc.LocalAddr().String() }

func (s *udpSink) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *udpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// udpClient is a UDP socket connected to the proxy; it closes with the test.
func udpClient(t *testing.T, p *badnet.Proxy) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, p.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(patience))
	t.Cleanup(func() { c.Close() })
	return c
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ctxWithCancel is context.WithCancel on the test's context.
func ctxWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
