package export_test

import (
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// scenario is what the tests' session did, socket by socket.
type scenario struct {
	evs []*session.Event

	echoTCP, echoUDP, refusedPort int

	echo    int // a live connection to the TCP echo
	udp     int // a live UDP socket that talks to the UDP echo
	ln      int // a live listener on port 0
	client  int // a live connection to ln
	server  int // ln's accepted end of it
	refused int // a live connect that was refused

	stepLn, stepClient, stepServer int // step mode: socket, bind, listen, accept, connect
	stepUDP                        int // step mode: a UDP socket that sendto binds
}

// Payloads the scenario sends; the echo sends them back.
var (
	textPayload   = []byte("hello\n")
	koreanPayload = []byte("안녕") // EC 95 88 EB 85 95
	binaryPayload = []byte{0x00, 0xff, 0x01, 0x80, '\\', '"', '\'', 0x7f, '\r'}
	longPayload   = func() []byte { // every byte value, 12 times over: longer than a snippet shows
		b := make([]byte, 3072)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}()
	udpPayloads = [][]byte{[]byte("ping"), {0x00, 0xff}}
)

// play drives a real session through live and step-mode calls against the
// built-in echo and its own sockets, one request at a time, then closes it.
func play(t *testing.T) *scenario {
	t.Helper()
	sc := &scenario{}
	sc.echoTCP, sc.echoUDP = echo(t)
	sc.refusedPort = closedPort(t)
	r := newRig(t)
	s := r.s

	// A live connection to the TCP echo: text, Korean, binary.
	req := r.req()
	sc.echo = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: sc.echoTCP})
	r.ok(req)
	total := 0
	for _, p := range [][]byte{textPayload, koreanPayload, binaryPayload, longPayload} {
		req = r.req()
		s.Send(req, sc.echo, p)
		r.ok(req)
		total += len(p)
		r.received(sc.echo, total)
	}

	// A live UDP socket and the UDP echo.
	req = r.req()
	sc.udp = s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	total = 0
	for _, p := range udpPayloads {
		req = r.req()
		s.SendTo(req, sc.udp, session.SendToArgs{Host: "127.0.0.1", Port: sc.echoUDP, Data: p})
		r.ok(req)
		total += len(p)
		r.received(sc.udp, total)
	}

	// A live listener on a port the kernel chooses, and a connection to
	// it: both ends send, then each shuts down writing, and live mode
	// closes both.
	req = r.req()
	sc.ln = s.Listen(req, session.ListenArgs{Host: "127.0.0.1"})
	port := portOf(t, r.ok(req).Local)
	req = r.req()
	sc.client = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: port})
	r.ok(req)
	sc.server = r.wait("the listener's accept", func(e *session.Event) bool {
		return e.Type == session.TypeResult && e.Op == "accept" && e.Sock == sc.ln
	}).Child
	req = r.req()
	s.Send(req, sc.client, []byte("to-self"))
	r.ok(req)
	r.received(sc.server, len("to-self"))
	req = r.req()
	s.Send(req, sc.server, []byte("back"))
	r.ok(req)
	r.received(sc.client, len("back"))
	req = r.req()
	s.Shutdown(req, sc.client, "write")
	r.ok(req)
	r.state(sc.server, func(e *session.Event) bool { return e.Half == "read" })
	req = r.req()
	s.Shutdown(req, sc.server, "write")
	r.ok(req)
	r.state(sc.server, func(e *session.Event) bool { return e.State == session.StateClosed })
	r.state(sc.client, func(e *session.Event) bool { return e.State == session.StateClosed })

	// Step mode: a server made call by call, with SO_REUSEADDR; its
	// accept blocks until the client connects.
	req = r.req()
	sc.stepLn = s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.SetSockOpt(req, sc.stepLn, "SO_REUSEADDR", 1)
	r.ok(req)
	req = r.req()
	s.StepBind(req, sc.stepLn, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.StepListen(req, sc.stepLn, 1)
	port = portOf(t, r.ok(req).Local)
	accept := r.req()
	s.Accept(accept, sc.stepLn)
	r.wait("accept to block", func(e *session.Event) bool { return e.Type == session.TypeBlocked && e.ID == accept.ID })
	req = r.req()
	sc.stepClient = s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.StepConnect(req, sc.stepClient, session.ConnectArgs{Host: "127.0.0.1", Port: port})
	r.ok(req)
	sc.stepServer = r.ok(accept).Child
	req = r.req()
	s.Send(req, sc.stepClient, []byte("step!"))
	r.ok(req)
	req = r.req()
	s.Recv(req, sc.stepServer, 16)
	if got := string(r.ok(req).Data); got != "step!" {
		t.Fatalf("step-mode recv got %q", got)
	}
	req = r.req()
	s.Send(req, sc.stepServer, []byte("ok"))
	r.ok(req)
	req = r.req()
	s.Recv(req, sc.stepClient, 2)
	r.ok(req)
	for _, id := range []int{sc.stepClient, sc.stepServer, sc.stepLn} {
		req = r.req()
		s.CloseSocket(req, id, false)
		r.ok(req)
	}

	// Step mode UDP: sendto binds the socket; recvfrom reads the echo.
	req = r.req()
	sc.stepUDP = s.Socket(req, session.SocketArgs{Proto: "udp"})
	r.ok(req)
	req = r.req()
	s.SendTo(req, sc.stepUDP, session.SendToArgs{Host: "127.0.0.1", Port: sc.echoUDP, Data: []byte("\x00udp\xff")})
	r.ok(req)
	req = r.req()
	s.RecvFrom(req, sc.stepUDP, 64)
	r.ok(req)

	// A connect that is refused.
	req = r.req()
	sc.refused = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: sc.refusedPort})
	if e := r.answer(req); e.Type != session.TypeError || e.Errno != "ECONNREFUSED" {
		t.Fatalf("connect to a closed port: %s %s %s", e.Type, e.Errno, e.Message)
	}

	sc.evs = r.end()
	return sc
}

// edges is what the second scenario did, socket by socket.
type edges struct {
	evs []*session.Event

	ln, dup, client, server  int // step mode: errors, timeouts, cancel, end-of-file
	live, liveLn, liveClient int // live sockets switched to step mode
	liveServer               int
	proxy, viaProxy          int // a bad-network proxy to the echo, and a connection through it
}

// playEdges drives a real session through the calls that fail, wait, time
// out and get cancelled, and through live sockets switched to step mode.
func playEdges(t *testing.T) *edges {
	t.Helper()
	echoTCP, _ := echo(t)
	r := newRig(t)
	s := r.s
	ed := &edges{}
	fails := func(req session.Req, code session.Code) *session.Event {
		t.Helper()
		e := r.answer(req)
		if e.Type != session.TypeError || e.Code != code {
			t.Fatalf("%s %s: want error %s, got %s %s %s", req.ID, e.Op, code, e.Type, e.Code, e.Message)
		}
		return e
	}
	timeout := func(d time.Duration) *time.Duration { return &d }

	// A non-blocking accept would block; one with a timeout times out; a
	// blocking one is cancelled.
	req := r.req()
	ed.ln = s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.SetTimeout(req, ed.ln, timeout(0))
	r.ok(req)
	req = r.req()
	s.StepBind(req, ed.ln, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.StepListen(req, ed.ln, 4)
	port := portOf(t, r.ok(req).Local)
	req = r.req()
	s.Accept(req, ed.ln)
	fails(req, session.CodeWouldBlock)
	req = r.req()
	s.SetTimeout(req, ed.ln, timeout(200*time.Millisecond))
	r.ok(req)
	req = r.req()
	s.Accept(req, ed.ln)
	fails(req, session.CodeTimeout)
	req = r.req()
	s.SetTimeout(req, ed.ln, nil)
	r.ok(req)
	accept := r.req()
	s.Accept(accept, ed.ln)
	r.wait("accept to block", func(e *session.Event) bool { return e.Type == session.TypeBlocked && e.ID == accept.ID })
	req = r.req()
	s.Cancel(req, ed.ln)
	r.ok(req)
	fails(accept, session.CodeCancelled)

	// Another socket cannot bind the listener's port.
	req = r.req()
	ed.dup = s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.StepBind(req, ed.dup, session.ListenArgs{Host: "127.0.0.1", Port: port})
	if e := fails(req, session.CodeAddrInUse); e.Errno != "EADDRINUSE" {
		t.Fatalf("bind to a port in use: errno %q", e.Errno)
	}

	// A connection with socket options; the client shuts down writing and
	// the server's recv returns what was sent, then 0 bytes.
	req = r.req()
	ed.client = s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	req = r.req()
	s.SetSockOpt(req, ed.client, "TCP_NODELAY", 1)
	r.ok(req)
	req = r.req()
	s.SetSockOpt(req, ed.client, "SO_LINGER", 5)
	r.ok(req)
	req = r.req()
	s.StepConnect(req, ed.client, session.ConnectArgs{Host: "127.0.0.1", Port: port})
	r.ok(req)
	req = r.req()
	s.Accept(req, ed.ln)
	ed.server = r.ok(req).Child
	req = r.req()
	s.Send(req, ed.client, []byte("bye"))
	r.ok(req)
	req = r.req()
	s.Shutdown(req, ed.client, "write")
	r.ok(req)
	req = r.req()
	s.Recv(req, ed.server, 16)
	r.ok(req)
	req = r.req()
	s.Recv(req, ed.server, 16)
	if e := r.ok(req); !e.EOF {
		t.Fatalf("recv after the peer's shutdown: %d bytes, not end-of-file", e.Len)
	}
	req = r.req()
	s.CloseSocket(req, ed.server, true)
	r.ok(req)

	// A live connection to the echo, switched to step mode: send is one
	// system call, recv(n) reads what the echo sent back.
	req = r.req()
	ed.live = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: echoTCP})
	r.ok(req)
	req = r.req()
	s.Step(req, ed.live)
	r.ok(req)
	req = r.req()
	s.Send(req, ed.live, []byte("x\x00"))
	r.ok(req)
	req = r.req()
	s.Recv(req, ed.live, 2)
	r.ok(req)

	// A live listener switched to step mode accepts when asked.
	req = r.req()
	ed.liveLn = s.Listen(req, session.ListenArgs{Host: "127.0.0.1"})
	lport := portOf(t, r.ok(req).Local)
	req = r.req()
	s.Step(req, ed.liveLn)
	r.ok(req)
	req = r.req()
	ed.liveClient = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: lport})
	r.ok(req)
	req = r.req()
	s.Accept(req, ed.liveLn)
	ed.liveServer = r.ok(req).Child
	req = r.req()
	s.Send(req, ed.liveClient, []byte("hi"))
	r.ok(req)
	req = r.req()
	s.Recv(req, ed.liveServer, 2)
	r.ok(req)

	// A connection through a bad-network proxy to the echo: the program,
	// which has no proxy, goes straight to the echo.
	req = r.req()
	ed.proxy = s.Proxy(req, session.ProxyArgs{Proto: "tcp", Host: "127.0.0.1", TargetHost: "127.0.0.1", TargetPort: echoTCP})
	pport := portOf(t, r.ok(req).Local)
	req = r.req()
	ed.viaProxy = s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: pport})
	r.ok(req)
	req = r.req()
	s.Send(req, ed.viaProxy, []byte("via"))
	r.ok(req)
	r.received(ed.viaProxy, 3)

	ed.evs = r.end()
	return ed
}
