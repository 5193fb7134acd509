package bridge_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/session"
)

// udpPeer is a UDP socket in the test, outside the session, on loopback.
func udpPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	p, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// udpPair starts a server and a client with a UDP socket bound on
// loopback, and a raw UDP peer for it to send to.
func udpPair(t *testing.T) (c *Client, sock int, p *net.UDPConn) {
	t.Helper()
	c = dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"udp-pair","op":"bind","host":"127.0.0.1","port":0}`)
	return c, c.OK("udp-pair").Sock, udpPeer(t)
}

// callOf waits for the call event of request id.
func callOf(c *Client, id string) Ev {
	c.t.Helper()
	return c.Wait("the call of "+id, func(e Ev) bool { return e.ID == id && e.Type == "call" })
}

// datagram reads one datagram at p, within 10 seconds.
func datagram(t *testing.T, p *net.UDPConn) []byte {
	t.Helper()
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 70000)
	n, err := p.Read(b)
	if err != nil {
		t.Fatalf("read a datagram: %v", err)
	}
	return b[:n]
}

// TestSendTemplate: a send with a template carries the template in its
// call, and the peer reads exactly its expansion for one send: counter 1,
// the time of the send, fresh random bytes.
func TestSendTemplate(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, p := connectPeer(t, c, "")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))

	src := `PING {{counter}} {{counter u16}} {{counter hex from=255}}\r\n`
	c.Send(`{"id":"t1","op":"send","sock":%d,"data":{"template":%q}}`, sock, src)
	call := callOf(c, "t1")
	if call.Op != "send" || call.Template != src || call.Len != 0 {
		t.Fatalf("call %v; want op send with the template and no len", call)
	}
	want := "PING 1 \x00\x01 ff\r\n"
	if sent := c.OK("t1"); sent.Len != len(want) || sent.Repeat != 0 {
		t.Fatalf("sent %v; want %d bytes", sent, len(want))
	} else if !sent.Binary || string(sent.Data) != want {
		// The client knows the template, not its expansion (§3.3).
		t.Fatalf("sent %v came with bytes %q (binary %v); want the expansion %q", sent, sent.Data, sent.Binary, want)
	}
	if got := readN(t, p, len(want)); got != want {
		t.Fatalf("the peer read %q, want %q", got, want)
	}

	before := time.Now()
	c.Send(`{"id":"t2","op":"send","sock":%d,"data":{"template":"{{time unix_ms}}|{{time}}|{{time clock}}|{{time u64}}|{{random 8 hex}}\\n"}}`, sock)
	sent := c.OK("t2")
	after := time.Now()
	line := readN(t, p, sent.Len)
	f := strings.SplitN(strings.TrimSuffix(line, "\n"), "|", 5)
	if len(f) != 5 {
		t.Fatalf("the peer read %q", line)
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || ms < before.UnixMilli() || ms > after.UnixMilli() {
		t.Fatalf("{{time unix_ms}} is %q; the send was between %d and %d", f[0], before.UnixMilli(), after.UnixMilli())
	}
	at := time.UnixMilli(ms).UTC()
	if f[1] != at.Format("2006-01-02T15:04:05.000Z") || f[2] != at.Format("15:04:05.000") {
		t.Fatalf("{{time}} %q and {{time clock}} %q are not %v", f[1], f[2], at)
	}
	if len(f[3]) != 8 || binary.BigEndian.Uint64([]byte(f[3])) != uint64(ms) {
		t.Fatalf("{{time u64}} is %x, want %d big-endian", f[3], ms)
	}
	if r, err := hex.DecodeString(f[4]); err != nil || len(r) != 8 || strings.ToLower(f[4]) != f[4] {
		t.Fatalf("{{random 8 hex}} is %q", f[4])
	}

	// A template without placeholders is its escapes' bytes.
	c.Send(`{"id":"t3","op":"send","sock":%d,"data":{"template":"\\x7b\\x7bcounter}}\\x00"}}`, sock)
	if sent := c.OK("t3"); !sent.Binary || string(sent.Data) != "{{counter}}\x00" {
		t.Fatalf("sent %v came with bytes %q; want its expansion", sent, sent.Data)
	}
	if got := readN(t, p, 12); got != "{{counter}}\x00" {
		t.Fatalf("the peer read %q", got)
	}
}

// TestSendToTemplate: sendto with a template sends one datagram of its
// expansion; the call has the destination and the template.
func TestSendToTemplate(t *testing.T) {
	c, sock, p := udpPair(t)
	dst := p.LocalAddr().String()
	src := `{{counter u32}}{{counter u16le from=0}}{{random 4}}`
	c.Send(`{"id":"u","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"template":%q}}`, sock, port(t, dst), src)
	call := callOf(c, "u")
	if call.Op != "sendto" || call.Template != src || call.Len != 0 || call.Host != "127.0.0.1" {
		t.Fatalf("call %v", call)
	}
	sent := c.OK("u")
	d := datagram(t, p)
	if sent.Peer != dst || sent.Len != 10 || len(d) != 10 || !bytes.Equal(d[:6], []byte{0, 0, 0, 1, 0, 0}) {
		t.Fatalf("sent %v; the peer read %x", sent, d)
	}
}

// TestTemplateErrors: a bad template is refused before any call, with a
// message that names the placeholder and its offset; one that could be too
// large for a send is refused after its call. The session carries on.
func TestTemplateErrors(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{MaxSend: 1000}}}))
	sock, p := connectPeer(t, c, "")
	for i, bad := range []struct{ template, code, says string }{
		{`PING {{countr}}`, "bad_template", `{{countr}} at offset 5: unknown placeholder "countr"`},
		{`{{counter u12}}`, "bad_template", `{{counter u12}} at offset 0: unknown option "u12"`},
		{`ab {{random 0}}`, "bad_template", `{{random 0}} at offset 3`},
		{`{{time`, "bad_template", `{{ at offset 0 is not closed`},
		{`{{counter}}\\q`, "bad_escape", `\q at offset 11`},
	} {
		id := fmt.Sprint("e", i)
		c.Send(`{"id":%q,"op":"send","sock":%d,"data":{"template":"%s"}}`, id, sock, bad.template)
		e := c.Fails(id, bad.code)
		if !strings.Contains(e.Message, bad.says) || e.Op != "send" || e.Sock != sock {
			t.Errorf("%s: %v; want it to say %q", bad.template, e, bad.says)
		}
	}
	// Every error came without a call: a template is checked as it is read.
	for _, e := range c.Seen {
		if e.Type == "call" && strings.HasPrefix(e.ID, "e") {
			t.Fatalf("a refused template was logged as a call: %v", e)
		}
	}
	c.Send(`{"id":"big","op":"send","sock":%d,"data":{"template":"{{random 500 hex}}x"}}`, sock)
	if e := c.Fails("big", "too_large"); !strings.Contains(e.Message, "the template can expand to 1001 bytes; the most one send may carry is 1000") {
		t.Fatalf("too large: %v", e)
	}
	// The socket and the session carry on.
	c.Send(`{"id":"ok","op":"send","sock":%d,"data":{"template":"{{counter}}"}}`, sock)
	c.OK("ok")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := readN(t, p, 1); got != "1" {
		t.Fatalf("the peer read %q", got)
	}
	carriesOn(t, c)
}
