//go:build linux

package bridge_test

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
)

// Step mode (protocol.md §4.14), one test per behaviour a first course on
// sockets draws on the whiteboard, each on real loopback sockets.

// stepper drives step-mode calls over one session.
type stepper struct {
	*Client
	t    *testing.T
	next int
}

func newStepper(t *testing.T) *stepper {
	return &stepper{Client: dial(t, startServer(t, bridge.Options{})), t: t}
}

// do sends a request (its id filled in) and returns the id.
func (s *stepper) do(format string, args ...any) string {
	s.t.Helper()
	s.next++
	id := fmt.Sprintf("q%d", s.next)
	s.Send(`{"id":"`+id+`",`+format[1:], args...)
	return id
}

// ok makes a request and returns its successful answer.
func (s *stepper) ok(format string, args ...any) Ev {
	s.t.Helper()
	return s.OK(s.do(format, args...))
}

// socket makes a step-mode socket and returns its id.
func (s *stepper) socket(typ string) int {
	s.t.Helper()
	id := s.do(`{"op":"socket","type":%q}`, typ)
	call := s.Wait("socket call", func(e Ev) bool { return e.Type == "call" && e.ID == id })
	s.OK(id)
	st := s.Wait("created", func(e Ev) bool { return e.Type == "state" && e.Sock == call.Sock })
	if st.State != "created" || st.Mode != "step" {
		s.t.Fatalf("new socket's state %v, want created in step mode", st)
	}
	return call.Sock
}

// server makes a step-mode listener on 127.0.0.1 and returns it and its port.
func (s *stepper) server(backlog int, opts ...string) (int, string) {
	s.t.Helper()
	ln := s.socket("stream")
	for _, o := range opts {
		s.ok(`{"op":"setsockopt","sock":%d,"option":%q,"value":1}`, ln, o)
	}
	s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, ln)
	r := s.ok(`{"op":"listen","sock":%d,"backlog":%d}`, ln, backlog)
	if r.Backlog != backlog {
		s.t.Fatalf("listen result %v, want backlog %d", r, backlog)
	}
	return ln, port(s.t, r.Local)
}

// pair makes a step-mode listener, a step-mode client connected to it, and
// the accepted socket: client, server side.
func (s *stepper) pair() (int, int) {
	s.t.Helper()
	ln, p := s.server(1)
	c := s.socket("stream")
	s.ok(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, c, p)
	acc := s.ok(`{"op":"accept","sock":%d}`, ln)
	return c, acc.Child
}

// kernel waits for a kernel event about sock that matches.
func (s *stepper) kernel(what string, sock int, match func(Ev) bool) Ev {
	s.t.Helper()
	return s.Wait(what, func(e Ev) bool { return e.Type == "kernel" && e.Sock == sock && match(e) })
}

func kstate(state string) func(Ev) bool {
	return func(e Ev) bool { return e.TCP.State == state }
}

// TestStepLearnerPath walks the whiteboard's server: socket, bind, listen,
// accept blocking until a client connects, recv, close.
func TestStepLearnerPath(t *testing.T) {
	s := newStepper(t)
	ln, p := s.server(1)
	st := s.Wait("listening", func(e Ev) bool { return e.Type == "state" && e.Sock == ln && e.State == "listening" })
	if st.Kind != "tcp-listener" || st.Mode != "step" {
		t.Fatalf("after listen: %v", st)
	}
	acc := s.do(`{"op":"accept","sock":%d}`, ln)
	b := s.Wait("blocked accept", func(e Ev) bool { return e.Type == "blocked" && e.ID == acc })
	if b.Sock != ln || b.Op != "accept" {
		t.Fatalf("blocked event %v", b)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := s.OK(acc)
	if r.Child == 0 || r.Remote != c.LocalAddr().String() {
		t.Fatalf("accept answered %v; want a child socket whose remote is %s", r, c.LocalAddr())
	}
	conn := s.Wait("accepted socket", func(e Ev) bool { return e.Type == "state" && e.Sock == r.Child })
	if conn.State != "established" || conn.Parent != ln || conn.Mode != "step" {
		t.Fatalf("accepted socket %v", conn)
	}
	// Nothing is read by itself in step mode.
	c.Write([]byte("hello"))
	data := s.ok(`{"op":"recv","sock":%d,"n":3}`, r.Child)
	if data.Type != "data" || string(data.Data) != "hel" || data.Auto {
		t.Fatalf("recv(3) = %v %q, want a data answer with hel", data, data.Data)
	}
	s.ok(`{"op":"close","sock":%d}`, r.Child)
	s.ok(`{"op":"close","sock":%d}`, ln)
	for _, e := range s.Seen {
		if e.Type == "data" && e.Auto {
			t.Fatalf("step mode read by itself: %v", e)
		}
	}
}

// TestStepBacklog: listen(1) and no accept; four clients connect. The
// kernel's accept queue fills at backlog+1, and the clients beyond it
// stall in SYN_SENT (the kernel drops their SYNs) rather than fail. One
// accept makes room, and a stalled client gets in on its SYN's retry.
func TestStepBacklog(t *testing.T) {
	s := newStepper(t)
	ln, p := s.server(1)
	clients := make([]int, 4)
	ids := make([]string, 4)
	for i := range clients {
		clients[i] = s.socket("stream")
		ids[i] = s.do(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, clients[i], p)
	}
	q := s.kernel("the accept queue full", ln, func(e Ev) bool { return e.TCP.RecvQ == 2 })
	if q.TCP.State != "LISTEN" || q.TCP.Backlog != 1 {
		t.Fatalf("listener %v, want LISTEN with backlog 1", q.TCP)
	}
	// Let the handshakes settle, then read everything logged so far: a
	// request answered is a barrier, as events come in order.
	time.Sleep(300 * time.Millisecond)
	s.Fails(s.do(`{"op":"cancel","sock":%d}`, ln), "bad_state")
	var done, stalled []int
	for i, id := range ids {
		answered := false
		for _, e := range s.pending {
			if e.ID == id && e.Type == "error" {
				t.Fatalf("connect %d failed instead of stalling: %v", i, e)
			}
			answered = answered || (e.ID == id && e.Type == "result")
		}
		if answered {
			done = append(done, clients[i])
		} else {
			stalled = append(stalled, clients[i])
		}
	}
	if len(done) != 2 || len(stalled) != 2 {
		t.Fatalf("%d connects finished and %d stalled; want 2 and 2 (backlog 1 holds 2)\n%s", len(done), len(stalled), s.dump())
	}
	for _, c := range stalled {
		if !slices.ContainsFunc(s.pending, func(e Ev) bool { return e.Type == "blocked" && e.Sock == c && e.Op == "connect" }) {
			t.Fatalf("stalled client %d has no blocked event", c)
		}
		s.kernel("a stalled client in SYN_SENT", c, kstate("SYN_SENT"))
	}
	s.ok(`{"op":"accept","sock":%d}`, ln)
	// The first SYN retry comes after 1 s.
	s.Wait("a stalled client gets in", func(e Ev) bool {
		return e.Type == "result" && e.Op == "connect" && slices.Contains(stalled, e.Sock)
	})
}

// TestStepRecvPartial: recv(3) on 10 queued bytes returns 3, and the
// kernel's receive queue keeps the other 7.
func TestStepRecvPartial(t *testing.T) {
	s := newStepper(t)
	c, srv := s.pair()
	s.ok(`{"op":"send","sock":%d,"data":{"text":"0123456789"}}`, c)
	s.kernel("10 bytes queued", srv, func(e Ev) bool { return e.TCP.RecvQ == 10 })
	got := s.ok(`{"op":"recv","sock":%d,"n":3}`, srv)
	if string(got.Data) != "012" || got.Len != 3 || got.N != 3 {
		t.Fatalf("recv(3) = %v %q", got, got.Data)
	}
	s.kernel("7 bytes left", srv, func(e Ev) bool { return e.TCP.RecvQ == 7 })
	rest := s.ok(`{"op":"recv","sock":%d,"n":100}`, srv)
	if string(rest.Data) != "3456789" {
		t.Fatalf("recv(100) = %q, want the other 7 bytes", rest.Data)
	}
}

// TestStepRecvEOF: after the peer's shutdown(write), recv returns 0 bytes,
// and the socket is half-closed, not closed.
func TestStepRecvEOF(t *testing.T) {
	s := newStepper(t)
	c, srv := s.pair()
	s.ok(`{"op":"shutdown","sock":%d,"how":"write"}`, c)
	got := s.ok(`{"op":"recv","sock":%d,"n":10}`, srv)
	if got.Type != "data" || !got.EOF || len(got.Data) != 0 {
		t.Fatalf("recv after the peer's FIN = %v, want 0 bytes with eof", got)
	}
	half := s.Wait("half-closed", func(e Ev) bool { return e.Type == "state" && e.Sock == srv && e.State == "half-closed" })
	if half.Half != "read" {
		t.Fatalf("after EOF: %v", half)
	}
	// The server can still answer, and recv keeps returning 0.
	s.ok(`{"op":"send","sock":%d,"data":{"text":"bye"}}`, srv)
	if got := s.ok(`{"op":"recv","sock":%d,"n":10}`, c); string(got.Data) != "bye" {
		t.Fatalf("client recv = %q", got.Data)
	}
	if got := s.ok(`{"op":"recv","sock":%d,"n":10}`, srv); !got.EOF {
		t.Fatalf("second recv after EOF = %v", got)
	}
	for _, e := range s.Seen {
		if e.Type == "state" && e.Sock == srv && e.State == "closed" {
			t.Fatalf("step mode closed the socket by itself: %v", e)
		}
	}
}

// timeWait makes a connection whose server side closes first, so the
// server's port stays held by a TIME_WAIT connection, and returns the port.
func timeWait(t *testing.T, s *stepper, reuse bool) string {
	t.Helper()
	var opts []string
	if reuse {
		opts = []string{"SO_REUSEADDR"}
	}
	ln, p := s.server(1, opts...)
	c := s.socket("stream")
	s.ok(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, c, p)
	srv := s.ok(`{"op":"accept","sock":%d}`, ln).Child
	s.ok(`{"op":"close","sock":%d}`, srv)
	s.ok(`{"op":"close","sock":%d}`, ln)
	s.kernel("the client sees the server's FIN", c, kstate("CLOSE_WAIT"))
	s.ok(`{"op":"close","sock":%d}`, c)
	tw := s.kernel("the server side in TIME_WAIT", srv, kstate("TIME_WAIT"))
	if !tw.TCP.Closed || tw.TCP.TimerMS <= 0 || tw.TCP.TimerMS > 60_000 {
		t.Fatalf("lingering server side %+v, want closed with a countdown of at most 60 s", *tw.TCP)
	}
	return p
}

// TestStepReuseAddr: bind to a port held by a TIME_WAIT connection fails
// with EADDRINUSE without SO_REUSEADDR and succeeds with it.
func TestStepReuseAddr(t *testing.T) {
	s := newStepper(t)
	p := timeWait(t, s, true)
	again := s.socket("stream")
	e := s.Fails(s.do(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":%s}`, again, p), "addr_in_use")
	if e.Errno != "EADDRINUSE" {
		t.Fatalf("bind without SO_REUSEADDR: %v", e)
	}
	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"SO_REUSEADDR","value":1}`, again)
	if r.Actual == nil || *r.Actual != 1 {
		t.Fatalf("setsockopt result %v, want actual 1", r)
	}
	s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":%s}`, again, p)
	s.ok(`{"op":"listen","sock":%d}`, again)

	// Linux's rule: the old socket must have set it too.
	p = timeWait(t, s, false)
	late := s.socket("stream")
	s.ok(`{"op":"setsockopt","sock":%d,"option":"SO_REUSEADDR","value":1}`, late)
	s.Fails(s.do(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":%s}`, late, p), "addr_in_use")
}

// TestStepRecvfromTruncates: recvfrom(4) on a 10-byte datagram returns 4
// bytes and says the datagram was 10.
func TestStepRecvfromTruncates(t *testing.T) {
	s := newStepper(t)
	u := s.socket("dgram")
	r := s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, u)
	peer, err := net.Dial("udp", r.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peer.Write([]byte("0123456789"))
	peer.Write([]byte("ab"))
	got := s.ok(`{"op":"recvfrom","sock":%d,"n":4}`, u)
	if string(got.Data) != "0123" || got.Len != 4 || got.DgramLen != 10 || got.Peer != peer.LocalAddr().String() {
		t.Fatalf("recvfrom(4) = %v %q; want 0123 of a 10-byte datagram from %s", got, got.Data, peer.LocalAddr())
	}
	// The rest of that datagram is gone: the next recvfrom is the next datagram.
	next := s.ok(`{"op":"recvfrom","sock":%d,"n":4}`, u)
	if string(next.Data) != "ab" || next.DgramLen != 0 {
		t.Fatalf("next recvfrom = %v %q, want ab, whole", next, next.Data)
	}
	// sendto on an unbound socket binds it.
	v := s.socket("dgram")
	s.ok(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"x"}}`, v, port(t, r.Local))
	b := s.Wait("bound by sendto", func(e Ev) bool { return e.Type == "state" && e.Sock == v && e.State == "bound" })
	if b.Local == "" || port(t, b.Local) == "0" {
		t.Fatalf("implicitly bound socket %v", b)
	}
	// The kernel bound it to every address (0.0.0.0) and a free port.
	if got := s.ok(`{"op":"recvfrom","sock":%d,"n":10}`, u); port(t, got.Peer) != port(t, b.Local) {
		t.Fatalf("datagram from %s, want from port %s", got.Peer, port(t, b.Local))
	}
}

// TestStepNonBlocking: with settimeout(0), recv and accept with nothing
// to do answer EAGAIN at once; with a timeout they fail after it.
func TestStepNonBlocking(t *testing.T) {
	s := newStepper(t)
	c, srv := s.pair()
	r := s.ok(`{"op":"settimeout","sock":%d,"timeout_ms":0}`, srv)
	if r.How != "non-blocking" {
		t.Fatalf("settimeout(0) = %v", r)
	}
	e := s.Fails(s.do(`{"op":"recv","sock":%d,"n":5}`, srv), "would_block")
	if e.Errno != "EAGAIN" {
		t.Fatalf("non-blocking recv: %v", e)
	}
	s.ok(`{"op":"send","sock":%d,"data":{"text":"now"}}`, c)
	s.kernel("bytes queued", srv, func(e Ev) bool { return e.TCP.RecvQ == 3 })
	if got := s.ok(`{"op":"recv","sock":%d,"n":5}`, srv); string(got.Data) != "now" {
		t.Fatalf("non-blocking recv with data = %q", got.Data)
	}

	ln, _ := s.server(1)
	s.ok(`{"op":"settimeout","sock":%d,"timeout_ms":0}`, ln)
	s.Fails(s.do(`{"op":"accept","sock":%d}`, ln), "would_block")

	s.ok(`{"op":"settimeout","sock":%d,"timeout_ms":200}`, srv)
	start := time.Now()
	to := s.Fails(s.do(`{"op":"recv","sock":%d,"n":5}`, srv), "timeout")
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("timed out after %v, before the 200 ms timeout: %v", waited, to)
	}
	// Blocking again: the call blocks until cancelled.
	s.ok(`{"op":"settimeout","sock":%d}`, srv)
	id := s.do(`{"op":"recv","sock":%d,"n":5}`, srv)
	s.Wait("blocked recv", func(e Ev) bool { return e.Type == "blocked" && e.ID == id })
	s.ok(`{"op":"cancel","sock":%d}`, srv)
	s.Fails(id, "cancelled")
	s.Fails(s.do(`{"op":"cancel","sock":%d}`, srv), "bad_state")
	// The socket still works after a cancelled call.
	s.ok(`{"op":"send","sock":%d,"data":{"text":"ok"}}`, c)
	if got := s.ok(`{"op":"recv","sock":%d,"n":5}`, srv); string(got.Data) != "ok" {
		t.Fatalf("recv after cancel = %q", got.Data)
	}
	// close interrupts a blocked call.
	id = s.do(`{"op":"recv","sock":%d,"n":5}`, srv)
	s.Wait("blocked recv", func(e Ev) bool { return e.Type == "blocked" && e.ID == id })
	s.ok(`{"op":"close","sock":%d}`, srv)
	s.Fails(id, "cancelled")
}

// TestStepLingerReset: SO_LINGER 0, then close: the peer's recv gets
// ECONNRESET, and the kernel keeps nothing (no TIME_WAIT).
func TestStepLingerReset(t *testing.T) {
	s := newStepper(t)
	c, srv := s.pair()
	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"SO_LINGER","value":0}`, c)
	if r.Actual == nil || *r.Actual != 0 {
		t.Fatalf("SO_LINGER result %v", r)
	}
	s.ok(`{"op":"close","sock":%d}`, c)
	e := s.Fails(s.do(`{"op":"recv","sock":%d,"n":5}`, srv), "reset")
	if e.Errno != "ECONNRESET" {
		t.Fatalf("peer's recv after an abortive close: %v", e)
	}
	gone := s.kernel("the aborted connection gone", c, func(e Ev) bool { return e.TCP.Closed })
	if gone.TCP.State != "CLOSED" {
		t.Fatalf("after an abortive close the kernel holds %v; want nothing", gone.TCP)
	}
}

// TestStepKernelStates: the kernel's states of a client and a server, in
// order, through connect, data, shutdown and close; the side that closed
// first ends in TIME_WAIT.
func TestStepKernelStates(t *testing.T) {
	s := newStepper(t)
	c, srv := s.pair()
	s.kernel("client established", c, kstate("ESTABLISHED"))
	s.ok(`{"op":"send","sock":%d,"data":{"text":"hi"}}`, c)
	s.ok(`{"op":"recv","sock":%d,"n":2}`, srv)
	s.ok(`{"op":"shutdown","sock":%d,"how":"write"}`, c)
	s.kernel("client FIN_WAIT2", c, kstate("FIN_WAIT2"))
	s.kernel("server CLOSE_WAIT", srv, kstate("CLOSE_WAIT"))
	s.ok(`{"op":"recv","sock":%d,"n":2}`, srv)
	s.ok(`{"op":"close","sock":%d}`, srv)
	s.kernel("client TIME_WAIT", c, kstate("TIME_WAIT"))
	s.kernel("server gone", srv, kstate("CLOSED"))
	s.ok(`{"op":"close","sock":%d}`, c)
	tw := s.kernel("client lingering", c, func(e Ev) bool { return e.TCP.Closed })
	if tw.TCP.State != "TIME_WAIT" {
		t.Fatalf("client after close: %+v, want lingering in TIME_WAIT", *tw.TCP)
	}
	order := func(sock int) []string {
		var got []string
		for _, e := range s.Seen {
			if e.Type == "kernel" && e.Sock == sock && (len(got) == 0 || got[len(got)-1] != e.TCP.State) {
				got = append(got, e.TCP.State)
			}
		}
		return got
	}
	want := map[int][]string{
		c:   {"ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"},
		srv: {"ESTABLISHED", "CLOSE_WAIT", "CLOSED"},
	}
	for sock, w := range want {
		got := order(sock)
		// SYN_SENT, FIN_WAIT1 and LAST_ACK last until the peer's ACK: on
		// loopback, sometimes too short to be sampled.
		got = slices.DeleteFunc(got, func(st string) bool { return st == "SYN_SENT" || st == "FIN_WAIT1" || st == "LAST_ACK" })
		// A new socket is CLOSED until it connects, if it is sampled
		// before connect.
		if len(got) > 0 && got[0] == "CLOSED" {
			got = got[1:]
		}
		if !slices.Equal(got, w) {
			t.Errorf("socket %d went through %v; want %v", sock, got, w)
		}
	}
}

// TestStepSwitch: a live connection switched to step mode stops reading by
// itself; what arrives waits in the kernel for recv.
func TestStepSwitch(t *testing.T) {
	s := newStepper(t)
	s.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := s.OK("l")
	peer, err := net.Dial("tcp", ln.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	acc := s.Wait("accept", func(e Ev) bool { return e.Type == "result" && e.Op == "accept" })
	peer.Write([]byte("live"))
	if got := s.Wait("live data", func(e Ev) bool { return e.Type == "data" && e.Sock == acc.Child }); !got.Auto {
		t.Fatalf("live read %v", got)
	}
	s.ok(`{"op":"step","sock":%d}`, acc.Child)
	st := s.Wait("step state", func(e Ev) bool { return e.Type == "state" && e.Sock == acc.Child && e.Mode == "step" })
	if st.State != "established" {
		t.Fatalf("switched socket %v", st)
	}
	peer.Write([]byte("stepped"))
	s.kernel("bytes waiting", acc.Child, func(e Ev) bool { return e.TCP.RecvQ == 7 })
	got := s.ok(`{"op":"recv","sock":%d,"n":100}`, acc.Child)
	if string(got.Data) != "stepped" || got.Auto {
		t.Fatalf("recv after the switch = %v %q", got, got.Data)
	}
	s.Fails(s.do(`{"op":"step","sock":%d}`, acc.Child), "bad_state")
	// The listener too: a connection now waits for accept.
	s.ok(`{"op":"step","sock":%d}`, ln.Sock)
	peer2, err := net.Dial("tcp", ln.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer peer2.Close()
	r := s.ok(`{"op":"accept","sock":%d}`, ln.Sock)
	if r.Remote != peer2.LocalAddr().String() || r.Auto {
		t.Fatalf("step accept = %v", r)
	}
}

// TestStepBadCalls: every invalid step request gets an error that names
// what was wrong, and the session goes on.
func TestStepBadCalls(t *testing.T) {
	s := newStepper(t)
	bad := []struct{ req, code, says string }{
		{`{"op":"socket","type":"raw"}`, "bad_field", `"stream"`},
		{`{"op":"socket"}`, "missing_field", `"type"`},
		{`{"op":"recv","sock":1,"n":0}`, "bad_field", `"n"`},
		{`{"op":"recv","sock":1,"n":300000}`, "bad_field", `"n"`},
		{`{"op":"setsockopt","sock":1,"option":"SO_FROB","value":1}`, "bad_field", "SO_FROB"},
		{`{"op":"setsockopt","sock":1,"option":"IP_TTL","value":0}`, "bad_field", "IP_TTL"},
		{`{"op":"listen","sock":1,"backlog":-1}`, "bad_field", "backlog"},
		{`{"op":"listen","sock":1,"host":"127.0.0.1"}`, "bad_field", `"host"`},
		{`{"op":"settimeout","sock":1,"timeout_ms":-5}`, "bad_field", "timeout_ms"},
		{`{"op":"accept","sock":1,"n":3}`, "bad_field", `"n"`},
	}
	for _, b := range bad {
		e := s.Fails(s.do(b.req), b.code)
		if !bytes.Contains([]byte(e.Message), []byte(b.says)) {
			t.Errorf("%s: message %q does not name %s", b.req, e.Message, b.says)
		}
	}
	u := s.socket("dgram")
	tc := s.socket("stream")
	wrong := []struct{ req, code string }{
		{fmt.Sprintf(`{"op":"accept","sock":%d}`, tc), "bad_state"},        // not listening
		{fmt.Sprintf(`{"op":"listen","sock":%d}`, u), "bad_state"},         // UDP
		{fmt.Sprintf(`{"op":"recvfrom","sock":%d,"n":4}`, u), "bad_state"}, // unbound
		{fmt.Sprintf(`{"op":"recv","sock":%d,"n":4}`, tc), "bad_state"},    // not connected: ENOTCONN
		{fmt.Sprintf(`{"op":"recvfrom","sock":%d,"n":4}`, tc), "bad_state"},
		{fmt.Sprintf(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":9}`, u), "bad_state"},
		{`{"op":"accept","sock":99}`, "unknown_socket"},
	}
	for _, w := range wrong {
		s.Fails(s.do(w.req), w.code)
	}
	// A live socket takes no step calls until switched.
	s.Send(`{"id":"live","op":"bind","host":"127.0.0.1","port":0}`)
	live := s.OK("live")
	s.Fails(s.do(`{"op":"recvfrom","sock":%d,"n":4}`, live.Sock), "bad_state")
	// Connecting to nothing: refused, and the socket fails as in live mode.
	ln, p := s.server(1)
	s.ok(`{"op":"close","sock":%d}`, ln)
	e := s.Fails(s.do(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, tc, p), "refused")
	if e.Errno != "ECONNREFUSED" {
		t.Fatalf("connect to a closed port: %v", e)
	}
	// The session carries on.
	s.ok(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"still here"}}`, u, port(t, live.Local))
}

// TestStepSwitchedListener: a live listener switched to step mode blocks in
// accept until a client comes.
func TestStepSwitchedListener(t *testing.T) {
	s := newStepper(t)
	s.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := s.OK("l")
	s.ok(`{"op":"step","sock":%d}`, ln.Sock)
	id := s.do(`{"op":"accept","sock":%d}`, ln.Sock)
	s.Wait("blocked accept", func(e Ev) bool { return e.Type == "blocked" && e.ID == id })
	c, err := net.Dial("tcp", ln.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := s.OK(id); r.Remote != c.LocalAddr().String() {
		t.Fatalf("accept = %v", r)
	}
}

// fullServer makes a step listener whose accept queue is full (backlog 0
// holds one connection), so the next connect stalls.
func (s *stepper) fullServer() (int, string) {
	s.t.Helper()
	ln, p := s.server(0)
	filler := s.socket("stream")
	s.ok(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, filler, p)
	return ln, p
}

// TestStepNonBlockingConnect: a non-blocking connect answers in_progress
// and finishes by itself; cancel has nothing to interrupt meanwhile, and a
// later blocking recv stays cancellable when the handshake completes.
func TestStepNonBlockingConnect(t *testing.T) {
	s := newStepper(t)
	ln, p := s.fullServer()
	c := s.socket("stream")
	s.ok(`{"op":"settimeout","sock":%d,"timeout_ms":0}`, c)
	e := s.Fails(s.do(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, c, p), "in_progress")
	if e.Errno != "EINPROGRESS" {
		t.Fatalf("non-blocking connect: %v", e)
	}
	s.Fails(s.do(`{"op":"cancel","sock":%d}`, c), "bad_state")
	s.ok(`{"op":"settimeout","sock":%d}`, c)
	rid := s.do(`{"op":"recv","sock":%d,"n":5}`, c)
	s.Wait("blocked recv", func(e Ev) bool { return e.Type == "blocked" && e.ID == rid })
	s.ok(`{"op":"accept","sock":%d}`, ln) // room: the stalled SYN gets in on its retry
	done := s.Wait("the handshake finished", func(e Ev) bool { return e.Type == "result" && e.Op == "connect" && e.Sock == c })
	if !done.Auto {
		t.Fatalf("background connect result %v, want auto", done)
	}
	s.Wait("established", func(e Ev) bool { return e.Type == "state" && e.Sock == c && e.State == "established" })
	s.ok(`{"op":"cancel","sock":%d}`, c)
	s.Fails(rid, "cancelled")
	s.ok(`{"op":"close","sock":%d}`, c)
}

// TestStepCloseInterrupts: a close sent right behind a call that then
// blocks interrupts it, as closing a socket from another thread does.
func TestStepCloseInterrupts(t *testing.T) {
	s := newStepper(t)
	for range 10 {
		ln, _ := s.server(1)
		aid := s.do(`{"op":"accept","sock":%d}`, ln)
		cid := s.do(`{"op":"close","sock":%d}`, ln)
		s.Fails(aid, "cancelled")
		s.OK(cid)
	}
	// A send that can go still goes before the close.
	c, srv := s.pair()
	sid := s.do(`{"op":"send","sock":%d,"data":{"text":"last words"}}`, c)
	cid := s.do(`{"op":"close","sock":%d}`, c)
	s.OK(sid)
	s.OK(cid)
	if got := s.ok(`{"op":"recv","sock":%d,"n":100}`, srv); string(got.Data) != "last words" {
		t.Fatalf("recv = %q", got.Data)
	}
}
