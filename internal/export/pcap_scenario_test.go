package export_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

// pcapScenario is what playPCAP did.
type pcapScenario struct {
	evs []*session.Event
	// rstFrom is where the capture's RSTs come from: a refused connect's
	// target and an abortive close's socket.
	rstFrom []netip.AddrPort
}

// bigPayload is larger than any MSS, so it takes several segments.
var bigPayload = func() []byte {
	b := make([]byte, 200<<10)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}()

// playPCAP drives a real session through what the capture must get right
// beyond play's: a send of many segments, IPv6, UDP between two of the
// session's sockets, a datagram recvfrom cut short, a RST from SO_LINGER
// 0, a connect that times out, the RSTs of a listener closed with
// connections in its accept queue, and a refused connect over IPv6.
func playPCAP(t *testing.T) *pcapScenario {
	t.Helper()
	echo4, echo6 := echoes(t)
	pc := &pcapScenario{}
	r := newRig(t)
	s := r.s

	// 200 KiB to the TCP echo and back; the echo finishes when we do.
	req := r.req()
	big := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: echo4.tcp})
	r.ok(req)
	req = r.req()
	s.Send(req, big, bigPayload)
	r.ok(req)
	r.received(big, len(bigPayload))
	req = r.req()
	s.Shutdown(req, big, "write")
	r.ok(req)
	r.state(big, func(e *session.Event) bool { return e.State == session.StateClosed })

	// The TCP echo over IPv6.
	req = r.req()
	v6 := s.Connect(req, session.ConnectArgs{Host: "::1", Port: echo6.tcp})
	r.ok(req)
	req = r.req()
	s.Send(req, v6, []byte("over IPv6\n"))
	r.ok(req)
	r.received(v6, len("over IPv6\n"))
	req = r.req()
	s.CloseSocket(req, v6, false)
	r.ok(req)

	// Two of the session's sockets over IPv6: 200 KiB one way, a reply
	// the other, then each end shuts down writing.
	req = r.req()
	ln := s.Listen(req, session.ListenArgs{Host: "::1"})
	port := portOf(t, r.ok(req).Local)
	req = r.req()
	client := s.Connect(req, session.ConnectArgs{Host: "::1", Port: port})
	r.ok(req)
	server := r.wait("the listener's accept", func(e *session.Event) bool {
		return e.Type == session.TypeResult && e.Op == "accept" && e.Sock == ln
	}).Child
	req = r.req()
	s.Send(req, client, bigPayload)
	r.ok(req)
	r.received(server, len(bigPayload))
	req = r.req()
	s.Send(req, server, []byte("got it"))
	r.ok(req)
	r.received(client, len("got it"))
	req = r.req()
	s.Shutdown(req, client, "write")
	r.ok(req)
	r.state(server, func(e *session.Event) bool { return e.Half == "read" })
	req = r.req()
	s.Shutdown(req, server, "write")
	r.ok(req)
	r.state(client, func(e *session.Event) bool { return e.State == session.StateClosed })
	r.state(server, func(e *session.Event) bool { return e.State == session.StateClosed })

	// Two UDP sockets of the session, each sending to the other.
	req = r.req()
	a := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	aPort := portOf(t, r.ok(req).Local)
	req = r.req()
	b := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	bPort := portOf(t, r.ok(req).Local)
	req = r.req()
	s.SendTo(req, a, session.SendToArgs{Host: "127.0.0.1", Port: bPort, Data: []byte("a to b")})
	r.ok(req)
	r.received(b, len("a to b"))
	req = r.req()
	s.SendTo(req, b, session.SendToArgs{Host: "127.0.0.1", Port: aPort, Data: []byte{}})
	r.ok(req)
	r.wait("the empty datagram", func(e *session.Event) bool { return e.Type == session.TypeData && e.Sock == a })
	req = r.req()
	s.SendTo(req, b, session.SendToArgs{Host: "127.0.0.1", Port: aPort, Data: []byte("b to a")})
	r.ok(req)
	r.received(a, len("b to a"))

	// The UDP echo over IPv6.
	req = r.req()
	u6 := s.Bind(req, session.ListenArgs{Host: "::1"})
	r.ok(req)
	req = r.req()
	s.SendTo(req, u6, session.SendToArgs{Host: "::1", Port: echo6.udp, Data: []byte("ping6")})
	r.ok(req)
	r.received(u6, len("ping6"))

	// Step mode: recvfrom(10) of the echo's 100-byte datagram returns its
	// first 10 bytes.
	req = r.req()
	cut := s.Socket(req, session.SocketArgs{Proto: "udp"})
	r.ok(req)
	req = r.req()
	s.SendTo(req, cut, session.SendToArgs{Host: "127.0.0.1", Port: echo4.udp, Data: bigPayload[:100]})
	r.ok(req)
	req = r.req()
	s.RecvFrom(req, cut, 10)
	if e := r.ok(req); e.DgramLen != 100 {
		t.Fatalf("recvfrom(10) of a 100-byte datagram: %d bytes, datagram_len %d", e.Len, e.DgramLen)
	}

	// SO_LINGER 0: the client's close aborts the connection with a RST,
	// which the server reads as ECONNRESET.
	req = r.req()
	ln4 := s.Listen(req, session.ListenArgs{Host: "127.0.0.1"})
	port = portOf(t, r.ok(req).Local)
	req = r.req()
	abort := s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.SetSockOpt(req, abort, "SO_LINGER", 0)
	r.ok(req)
	req = r.req()
	s.StepConnect(req, abort, session.ConnectArgs{Host: "127.0.0.1", Port: port})
	abortFrom, err := netip.ParseAddrPort(r.ok(req).Local)
	if err != nil {
		t.Fatal(err)
	}
	aborted := r.wait("the listener's accept", func(e *session.Event) bool {
		return e.Type == session.TypeResult && e.Op == "accept" && e.Sock == ln4
	}).Child
	req = r.req()
	s.Send(req, abort, []byte("abort"))
	r.ok(req)
	r.received(aborted, len("abort"))
	req = r.req()
	s.CloseSocket(req, abort, false)
	r.ok(req)
	r.state(aborted, func(e *session.Event) bool { return e.State == session.StateFailed })

	// A connect that times out: its SYN is dropped, for the listener's
	// accept queue is full (listen(1): two connections, never accepted).
	// Then the listener closes, which resets the two.
	req = r.req()
	full := s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.StepBind(req, full, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.StepListen(req, full, 1)
	fullAt, err := netip.ParseAddrPort(r.ok(req).Local)
	if err != nil {
		t.Fatal(err)
	}
	var queued []int
	for range 2 {
		req = r.req()
		queued = append(queued, s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: int(fullAt.Port())}))
		r.ok(req)
	}
	r.wait("the accept queue to fill", func(e *session.Event) bool {
		return e.Type == session.TypeKernel && e.Sock == full && e.TCP != nil && e.TCP.RecvQ == 2
	})
	req = r.req()
	s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: int(fullAt.Port()), Timeout: 300 * time.Millisecond})
	if e := r.answer(req); e.Type != session.TypeError || e.Code != session.CodeTimeout {
		t.Fatalf("connect to a full accept queue: %s %s %s", e.Type, e.Code, e.Message)
	}
	req = r.req()
	s.CloseSocket(req, full, false)
	r.ok(req)
	for _, c := range queued {
		if e := r.state(c, func(e *session.Event) bool { return e.State == session.StateFailed || e.State == session.StateClosed }); e.State != session.StateFailed {
			t.Fatalf("socket %d, queued on a listener that closed: %s (%s)", c, e.State, e.Reason)
		}
	}

	// A refused connect over IPv6.
	refused := closedPort6(t)
	req = r.req()
	s.Connect(req, session.ConnectArgs{Host: "::1", Port: refused})
	if e := r.answer(req); e.Type != session.TypeError || e.Errno != "ECONNREFUSED" {
		t.Fatalf("connect to a closed port: %s %s %s", e.Type, e.Errno, e.Message)
	}

	pc.rstFrom = []netip.AddrPort{abortFrom, fullAt, fullAt, netip.AddrPortFrom(netip.IPv6Loopback(), uint16(refused))}
	pc.evs = r.end()
	return pc
}

// ports are a service's TCP and UDP ports.
type ports struct{ tcp, udp int }

// echoes starts the built-in echo on free ports and returns its ports on
// 127.0.0.1 and on ::1.
func echoes(t *testing.T) (v4, v6 ports) {
	t.Helper()
	on := map[string]int{}
	for _, name := range services.Names {
		on[name] = 0 // off
	}
	on["echo"] = -1 // on a free port
	set, err := services.Start(services.Config{Ports: on})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	for _, in := range set.Infos() {
		ap, err := netip.ParseAddrPort(in.Addr)
		if err != nil || in.Name != "echo" {
			continue
		}
		p := &v4
		if ap.Addr().Is6() {
			p = &v6
		}
		if in.Proto == "tcp" {
			p.tcp = int(ap.Port())
		} else {
			p.udp = int(ap.Port())
		}
	}
	if v4.tcp == 0 || v4.udp == 0 || v6.tcp == 0 || v6.udp == 0 {
		t.Fatalf("the echo is not on both 127.0.0.1 and ::1: %+v", set.Infos())
	}
	return v4, v6
}

// closedPort6 is a port nothing listens on at ::1.
func closedPort6(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
