package export_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
	"github.com/socketplayground/playground/internal/tlstest"
)

// The toolkit's operations (protocol.md §16) in the session in code: real
// sessions on loopback with TLS, multicast, repeats and responders,
// exported as Python and Go, run, and checked byte for byte against the
// log, as TestRoundTrip does for the socket API.

// wantIn fails the test unless src has each of the lines or fragments.
func wantIn(t *testing.T, lang, src string, frags ...string) {
	t.Helper()
	for _, f := range frags {
		if !strings.Contains(src, f) {
			t.Errorf("the %s program has no %q:\n%s", lang, f, src)
		}
	}
}

// snippet returns the Code tab's snippet of op whose Python has frag, and
// fails the test if there is none, or if it has no Go.
func snippet(t *testing.T, evs []*session.Event, op, frag string) export.Snippet {
	t.Helper()
	calls := export.Calls(evs)
	for _, c := range calls {
		if c.Op == op && strings.Contains(c.Python, frag) {
			if c.Go == "" {
				t.Errorf("the snippet of %s has no Go: %+v", op, c)
			}
			return c
		}
	}
	t.Fatalf("no snippet of %s with %q among %+v", op, frag, calls)
	return export.Snippet{}
}

// repeatDone waits for the answer of the repeat req started (its sends
// carry its id too) and fails the test unless it is a result.
func (r *rig) repeatDone(req session.Req) *session.Event {
	r.t.Helper()
	e := r.wait("the end of repeat "+req.ID, func(e *session.Event) bool {
		return e.ID == req.ID && e.Op == "repeat" && (e.Type == session.TypeResult || e.Type == session.TypeError)
	})
	if e.Type == session.TypeError {
		r.t.Fatalf("repeat %s failed: %s", req.ID, e.Message)
	}
	return e
}

// sentOn is how many bytes the log says socket sock sent, in all.
func (r *rig) sentOn(sock int) int {
	n := 0
	for _, e := range r.evs {
		if e.Type == session.TypeSent && e.Sock == sock {
			n += e.Len
		}
	}
	return n
}

func template(t *testing.T, src string) *session.Template {
	t.Helper()
	tp, err := session.ParseTemplate(src)
	if err != nil {
		t.Fatalf("template %q: %v", src, err)
	}
	return tp
}

// TestExportTLS: a TLS connection to a TLS echo on loopback (a certificate
// made for the test, verify off, a server name, ALPN), bytes and a template
// sent on it, a half-close and the echo's end; and a connect that verifies,
// which fails as it did in the session.
func TestExportTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "export test CA")
	echo := tlstest.StartEcho(t, "127.0.0.1:0", tlstest.ServerConfig(ca.Issue(t, tlstest.Loopback())))
	port := int(echo.Addr.Port())
	r := newRig(t)
	s := r.s

	req := r.req()
	c := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: port,
		TLS: &session.TLSArgs{SNI: "localhost", Verify: false, ALPN: []string{"http/1.1"}}})
	if res := r.ok(req); res.TLS == nil || res.TLS.ALPN != "http/1.1" {
		t.Fatalf("the TLS connect answered %+v", res)
	}
	total := 0
	for _, p := range [][]byte{[]byte("hello over TLS\n"), binaryPayload} {
		req = r.req()
		s.Send(req, c, p)
		r.ok(req)
		total += len(p)
		r.received(c, total)
	}
	req = r.req()
	s.SendTemplate(req, c, template(t, `n={{counter}}\r\n`))
	total += r.ok(req).Len
	r.received(c, total)
	req = r.req()
	s.Shutdown(req, c, "write")
	r.ok(req)
	r.state(c, func(e *session.Event) bool { return e.State == session.StateClosed })

	req = r.req()
	refused := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: port, TLS: &session.TLSArgs{Verify: true}})
	if e := r.answer(req); e.Type != session.TypeError || e.Code != session.CodeTLS {
		t.Fatalf("a verifying connect to the test's certificate answered %+v; want a tls error", e)
	}
	evs := r.end()

	py, golang := runExports(t, evs, nil, []string{fmt.Sprintf("s%d: connect", refused)})
	wantIn(t, "python", py,
		"import ssl",
		"ctx.verify_mode = ssl.CERT_NONE",
		`ctx.set_alpn_protocols(["http/1.1"])`,
		fmt.Sprintf(`s%d = ctx.wrap_socket(socket.create_connection(("127.0.0.1", %d)), server_hostname="localhost")`, c, port),
		"# the template `n={{counter}}\\r\\n` expanded to these bytes in the session",
		"except ssl.SSLError as err:")
	wantIn(t, "go", golang,
		`"crypto/tls"`,
		fmt.Sprintf(`s%d, err := tls.Dial("tcp", "127.0.0.1:%d", &tls.Config{ServerName: "localhost", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})`, c, port),
		fmt.Sprintf("err = s%d.CloseWrite() // TLS's close_notify", c))
	if sn := snippet(t, evs, "connect", "ctx.wrap_socket("); sn.Status != "ok" || !strings.Contains(sn.Go, "tls.Dial(") || !strings.Contains(sn.Python, "TLS 1.3") {
		t.Errorf("the TLS connect's snippet: %+v", sn)
	}
	if sn := snippet(t, evs, "connect", "ssl.SSLError"); sn.Status != "failed" || sn.Error != "tls" {
		t.Errorf("the failed TLS connect's snippet: %+v", sn)
	}
}

// TestExportMulticast: a group joined on lo by a live socket, a sender
// that keeps its multicast on lo (IP_MULTICAST_IF, a TTL of 0, loop on),
// a datagram to the group, then leave, and a unicast datagram: the program
// joins, sends and receives the same, on loopback only.
func TestExportMulticast(t *testing.T) {
	group := fmt.Sprintf("239.255.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254))
	r := newRig(t)
	s := r.s
	req := r.req()
	recv := s.Bind(req, session.ListenArgs{Host: group})
	p := portOf(t, r.ok(req).Local)
	req = r.req()
	s.JoinGroup(req, "join", recv, session.GroupArgs{Group: group, Iface: "lo"})
	r.ok(req)
	req = r.req()
	send := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.SetMulticastIf(req, send, "lo")
	r.ok(req)
	for _, o := range []struct {
		name  string
		value int
	}{{"IP_MULTICAST_TTL", 0}, {"IP_MULTICAST_LOOP", 1}} {
		req = r.req()
		s.SetSockOpt(req, send, o.name, o.value)
		r.ok(req)
	}
	req = r.req()
	s.SendTo(req, send, session.SendToArgs{Host: group, Port: p, Data: []byte("to the group")})
	r.ok(req)
	r.received(recv, len("to the group"))
	req = r.req()
	s.JoinGroup(req, "join", recv, session.GroupArgs{Group: group, Iface: "lo"})
	if e := r.answer(req); e.Code != session.CodeAddrInUse {
		t.Fatalf("a second join answered %+v", e)
	}
	req = r.req()
	s.JoinGroup(req, "leave", recv, session.GroupArgs{Group: group, Iface: "lo"})
	r.ok(req)
	req = r.req()
	s.SendTo(req, send, session.SendToArgs{Host: group, Port: p, Data: []byte("after leave")})
	r.ok(req)
	req = r.req()
	s.SendTo(req, send, session.SendToArgs{Host: "127.0.0.1", Port: p, Data: []byte("unicast")})
	r.ok(req)
	r.received(recv, len("to the group")+len("unicast"))
	evs := r.end()

	py, golang := runExports(t, evs, []int{recv, send}, []string{fmt.Sprintf("s%d: join", recv)})
	wantIn(t, "python", py,
		fmt.Sprintf(`s%d.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4si", socket.inet_aton(%q), bytes(4), socket.if_nametoindex("lo")))`, recv, group),
		fmt.Sprintf(`s%d.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, `, recv),
		fmt.Sprintf(`s%d.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", bytes(4), bytes(4), socket.if_nametoindex("lo")))`, send),
		fmt.Sprintf(`s%d.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)`, send),
		"bind((\"0.0.0.0\", 0))")
	wantIn(t, "go", golang,
		"syscall.SetsockoptIPMreqn(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, &syscall.IPMreqn{Multiaddr: [4]byte{"+strings.ReplaceAll(group, ".", ", ")+`}, Ifindex: ifindex("lo")})`,
		`syscall.SetsockoptIPMreqn(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, &syscall.IPMreqn{Ifindex: ifindex("lo")})`,
		"syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 0)")
	if sn := snippet(t, evs, "join", "IP_ADD_MEMBERSHIP"); sn.Status != "ok" || !strings.Contains(sn.Python, group+" on lo") {
		t.Errorf("the join's snippet: %+v", sn)
	}
}

// TestExportRepeat: repeats of bytes, of a counter template (decimal, and
// binary wrapping from a number), of a template with random bytes (the
// program sends what the session sent), and one stopped by stop, to the
// TCP and UDP echoes; each a loop in the program.
func TestExportRepeat(t *testing.T) {
	echoTCP, echoUDP := echo(t)
	r := newRig(t)
	s := r.s
	req := r.req()
	c := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: echoTCP})
	r.ok(req)
	for _, a := range []session.RepeatArgs{
		{Data: session.Literal([]byte("abc\x00")), Count: 5},
		{Data: template(t, `PING {{counter}}\r\n`), Count: 3, Interval: 20 * time.Millisecond},
		{Data: template(t, `{{counter u16 from=65534}}|{{counter hex}}`), Count: 3},
	} {
		req = r.req()
		s.Repeat(req, c, a)
		r.repeatDone(req)
		r.received(c, r.sentOn(c))
	}
	req = r.req()
	stopped := session.RepeatArgs{Data: template(t, `tick {{counter}};`), Interval: 5 * time.Millisecond}
	s.Repeat(req, c, stopped)
	r.wait("three ticks", func(e *session.Event) bool { return e.Type == session.TypeSent && e.ID == req.ID && e.Repeat == 3 })
	stop := r.req()
	s.Stop(stop, c)
	r.ok(stop)
	if e := r.repeatDone(req); e.Reason != "stopped by you" {
		t.Fatalf("the stopped repeat answered %+v", e)
	}
	r.received(c, r.sentOn(c))

	req = r.req()
	u := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.Repeat(req, u, session.RepeatArgs{Data: template(t, `{{random 4 hex}}-{{counter}}`), Count: 3, Host: "127.0.0.1", Port: echoUDP})
	r.repeatDone(req)
	r.received(u, r.sentOn(u))
	evs := r.end()

	py, golang := runExports(t, evs, []int{u}, nil)
	wantIn(t, "python", py,
		`data = b"abc\x00"`,
		"for k in range(1, 6):",
		`    data = b"PING " + b"%d" % k + b"\r\n"`,
		"    if k > 1:\n        time.sleep(0.02)",
		`    data = struct.pack(">H", (k + 65533) & 0xFFFF) + b"|" + b"%x" % k`,
		"the bytes each send carried in the session",
		fmt.Sprintf(`s%d.sendto(data, ("127.0.0.1", %d))`, u, echoUDP),
		"(stopped by you)")
	wantIn(t, "go", golang,
		"for k := 1; k <= 5; k++ {",
		"data = binary.BigEndian.AppendUint16(data, uint16(uint64(k)+65533))",
		"time.Sleep(20 * time.Millisecond)")
	var first uint64 // the UDP repeat's first send: its list is named for it
	for _, e := range evs {
		if e.Type == session.TypeSent && e.Sock == u && e.Repeat == 1 {
			first = e.Seq
		}
	}
	if sn := snippet(t, evs, "repeat", fmt.Sprintf("sends%d = [", first)); sn.Sock != u || !strings.Contains(sn.Go, fmt.Sprintf("sends%d := [][]byte{", first)) {
		t.Errorf("the UDP repeat's snippet: %+v", sn)
	}
	if sn := snippet(t, evs, "stop", "stop"); sn.Status != "note" {
		t.Errorf("the stop's snippet: %+v", sn)
	}
}

// TestExportResponder: responder rules on a TCP listener (for the
// connections it accepts; a template reply) and on a UDP socket; each
// firing is in the program as the send it was, after the bytes that made
// it fire, with a remark that says so.
func TestExportResponder(t *testing.T) {
	r := newRig(t)
	s := r.s
	req := r.req()
	ln := s.Listen(req, session.ListenArgs{Host: "127.0.0.1"})
	port := portOf(t, r.ok(req).Local)
	req = r.req()
	s.Respond(req, ln, session.RuleArgs{Match: "contains", Pattern: []byte("PING"), Reply: template(t, `PONG {{counter}}\n`),
		PatternSpelled: session.Spelled{Kind: "text", Text: "PING"}, ReplySpelled: session.Spelled{Kind: "template", Text: `PONG {{counter}}\n`}})
	r.ok(req)
	req = r.req()
	c := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: port})
	r.ok(req)
	req = r.req()
	s.Send(req, c, []byte("PING"))
	r.ok(req)
	r.received(c, len("PONG 1\n"))
	req = r.req()
	s.Send(req, c, []byte("xPINGyPING"))
	r.ok(req)
	r.received(c, len("PONG 1\nPONG 2\nPONG 3\n"))

	req = r.req()
	u1 := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	p1 := portOf(t, r.ok(req).Local)
	req = r.req()
	u2 := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.Respond(req, u1, session.RuleArgs{Match: "equals", Pattern: []byte("hi"), Reply: session.Literal([]byte("ho\x00")),
		PatternSpelled: session.Spelled{Kind: "text", Text: "hi"}, ReplySpelled: session.Spelled{Kind: "hex", Text: "68 6f 00"}})
	r.ok(req)
	req = r.req()
	s.SendTo(req, u2, session.SendToArgs{Host: "127.0.0.1", Port: p1, Data: []byte("hi")})
	r.ok(req)
	r.received(u2, 3)
	firing := r.wait("the UDP firing", func(e *session.Event) bool { return e.Type == session.TypeCall && e.Auto && e.Sock == u1 })
	evs := r.end()

	py, golang := runExports(t, evs, []int{u1, u2}, nil)
	wantIn(t, "python", py,
		fmt.Sprintf("# s%d: responder rule 1: when what it receives contains b'PING', it replies the template `PONG {{counter}}\\n`, every time.", ln),
		fmt.Sprintf("# responder 1 fired on event %d: the bytes were exactly b'hi'", firing.Cause),
		"the bytes contained b'PING'; the template `PONG {{counter}}\\n` expanded to these bytes in the session\ndata = b\"PONG 1\\n\"",
		fmt.Sprintf(`s%d.sendto(data, ("127.0.0.1", s%d.getsockname()[1]))  # a responder sent this by itself`, u1, u2))
	wantIn(t, "go", golang,
		fmt.Sprintf("// responder 1 fired on event %d: the bytes were exactly \"hi\"", firing.Cause))
	if sn := snippet(t, evs, "sendto", "responder 1 fired"); !sn.Auto || sn.Sock != u1 || sn.Status != "ok" {
		t.Errorf("the firing's snippet: %+v", sn)
	}
}

// echoFirst returns evs with the echo of each datagram a repeat sent (the
// later data event on the same socket with the same bytes) moved before
// that send's sent event, and the events numbered again: the log of a
// session where the echo was logged before the sent event of what it
// echoes, which happens (protocol.md §8).
func echoFirst(evs []*session.Event) []*session.Event {
	out := make([]*session.Event, 0, len(evs))
	moved := map[int]bool{}
	for i, e := range evs {
		if moved[i] {
			continue
		}
		if e.Type == session.TypeSent && e.Repeat > 0 && e.Peer != "" {
			for j := i + 1; j < len(evs); j++ {
				if d := evs[j]; d.Type == session.TypeData && d.Sock == e.Sock && !moved[j] && bytes.Equal(d.Data, e.Data) {
					out = append(out, d)
					moved[j] = true
					break
				}
			}
		}
		out = append(out, e)
	}
	for i, e := range out {
		c := *e
		c.Seq = uint64(i + 1)
		out[i] = &c
	}
	return out
}

// TestExportRepeatEchoFirst: a repeat's loops whose echoes the log has
// before the sends that caused them still send before they receive: the
// programs run to the end with the session's bytes. (A TCP repeat is one
// loop, whose echo is read after it.)
func TestExportRepeatEchoFirst(t *testing.T) {
	echoTCP, echoUDP := echo(t)
	r := newRig(t)
	s := r.s
	req := r.req()
	c := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: echoTCP})
	r.ok(req)
	req = r.req()
	u := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.Repeat(req, c, session.RepeatArgs{Data: template(t, `line {{counter}}\n`), Count: 200})
	r.repeatDone(req)
	r.received(c, r.sentOn(c))
	req = r.req()
	s.Repeat(req, u, session.RepeatArgs{Data: template(t, `dgram {{counter}}`), Count: 200, Host: "127.0.0.1", Port: echoUDP})
	r.repeatDone(req)
	r.received(u, r.sentOn(u))
	evs := echoFirst(r.end())
	early := 0
	for i, e := range evs {
		if e.Type == session.TypeData && e.Sock == u && i+1 < len(evs) && evs[i+1].Type == session.TypeSent && bytes.Equal(evs[i+1].Data, e.Data) {
			early++
		}
	}
	if early < 100 {
		t.Fatalf("the log has %d echoes before their sends; want most of the 200", early)
	}

	py, _ := runExports(t, evs, []int{u}, nil)
	if strings.Count(py, "for k in range(") < 2 {
		t.Errorf("the script has no loops:\n%s", py)
	}
}

// TestExportRepeatTrimmed: a log whose start, a UDP socket and its repeat's
// call among it, is no longer kept: the repeat's sends are a loop on a
// socket the program does not have, so a comment, and both programs still
// build.
func TestExportRepeatTrimmed(t *testing.T) {
	_, echoUDP := echo(t)
	r := newRig(t)
	s := r.s
	req := r.req()
	u := s.Bind(req, session.ListenArgs{Host: "127.0.0.1"})
	r.ok(req)
	req = r.req()
	s.Repeat(req, u, session.RepeatArgs{Data: session.Literal([]byte("x")), Count: 3, Host: "127.0.0.1", Port: echoUDP})
	call := r.wait("the repeat's call", func(e *session.Event) bool { return e.Type == session.TypeCall && e.Op == "repeat" })
	r.repeatDone(req)
	r.received(u, 3)
	evs := r.end()
	evs = evs[call.Seq:] // from the event after the call
	py := export.Python(evs)
	wantIn(t, "python", py, "# # repeat (its call is before the log's first event): sends 1 to 3", fmt.Sprintf(`#     s%d.sendto(data, ("127.0.0.1", %d))`, u, echoUDP))
	dir := t.TempDir()
	script := filepath.Join(dir, "session.py")
	if err := os.WriteFile(script, []byte(py), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, py, "python3", "-m", "py_compile", script)
	prog := filepath.Join(dir, "session.go")
	src := export.Go(evs)
	if err := os.WriteFile(prog, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, src, "go", "vet", prog)
}
