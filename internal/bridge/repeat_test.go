package bridge_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/session"
)

// pings is what a repeat of `PING {{counter}}\r\n` sends in sends from..to.
func pings(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "PING %d\r\n", i)
	}
	return b.String()
}

// repeatSent waits for the next sent event of repeat id and checks that it
// is send number n.
func repeatSent(t *testing.T, c *Client, id string, n int) Ev {
	t.Helper()
	e := c.Wait(fmt.Sprintf("send %d of repeat %s", n, id), func(e Ev) bool {
		return e.ID == id && e.Type != "call"
	})
	if e.Type != "sent" || e.Repeat != n {
		t.Fatalf("repeat %s: got %v, want its sent event number %d", id, e, n)
	}
	return e
}

// repeatEnd waits for the answer of repeat id, past its sent events.
func repeatEnd(c *Client, id string) Ev {
	c.t.Helper()
	return c.Wait("the answer to repeat "+id, func(e Ev) bool { return e.ID == id && (e.Type == "result" || e.Type == "error") })
}

// TestRepeatTCP: a repeat of a template sends count sends, in order, each
// expanded afresh; the peer reads exactly their bytes; every send is a
// sent event with its number, and the answer counts sends and bytes.
func TestRepeatTCP(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, p := connectPeer(t, c, "")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))

	c.Send(`{"id":"r","op":"repeat","sock":%d,"count":12,"data":{"template":"PING {{counter}}\\r\\n"}}`, sock)
	call := callOf(c, "r")
	if call.Op != "repeat" || call.Count != 12 || call.Template != `PING {{counter}}\r\n` || call.Len != 0 || call.Interval != 0 || call.Host != "" {
		t.Fatalf("call %v", call)
	}
	want := pings(1, 12)
	for n := 1; n <= 12; n++ {
		if e := repeatSent(t, c, "r", n); e.Op != "send" || e.Len != len(fmt.Sprintf("PING %d\r\n", n)) {
			t.Fatalf("send %d: %v", n, e)
		}
	}
	res := repeatEnd(c, "r")
	if res.Type != "result" || res.Op != "repeat" || res.Count != 12 || res.Len != len(want) || res.Reason != "" {
		t.Fatalf("answer %v; want a result with count 12 and len %d", res, len(want))
	}
	if got := readN(t, p, len(want)); got != want {
		t.Fatalf("the peer read %q, want %q", got, want)
	}

	// Binary counters, and a payload that is bytes, not a template: the
	// call has its len.
	c.Send(`{"id":"u16","op":"repeat","sock":%d,"count":300,"data":{"template":"{{counter u16 from=65500}}"}}`, sock)
	if res := repeatEnd(c, "u16"); res.Count != 300 || res.Len != 600 {
		t.Fatalf("answer %v", res)
	}
	got := []byte(readN(t, p, 600))
	for i := range 300 {
		if v := binary.BigEndian.Uint16(got[2*i:]); v != uint16(65500+i) {
			t.Fatalf("send %d carried %d, want %d (wrapping at 65536)", i+1, v, uint16(65500+i))
		}
	}
	c.SendBinary(fmt.Sprintf(`{"id":"bin","op":"repeat","sock":%d,"count":3}`, sock), []byte("a\x00b"))
	call = callOf(c, "bin")
	if call.Len != 3 || call.Template != "" || call.Count != 3 {
		t.Fatalf("call %v", call)
	}
	if res := repeatEnd(c, "bin"); res.Type != "result" || res.Len != 9 {
		t.Fatalf("answer %v", res)
	}
	if got := readN(t, p, 9); got != "a\x00ba\x00ba\x00b" {
		t.Fatalf("the peer read %q", got)
	}
}

// TestRepeatUDP: a repeat on a UDP socket sends one datagram per send to
// host:port, each resolved and checked like a sendto; a raw peer reads the
// counters in order.
func TestRepeatUDP(t *testing.T) {
	c, sock, p := udpPair(t)
	dst := p.LocalAddr().String()
	c.Send(`{"id":"r","op":"repeat","sock":%d,"host":"localhost","port":%s,"family":"ip4","count":25,"data":{"template":"{{counter u32le from=0}}|{{time u32}}"}}`, sock, port(t, dst))
	call := callOf(c, "r")
	if call.Host != "localhost" || call.Family != "ip4" || call.Count != 25 {
		t.Fatalf("call %v", call)
	}
	for n := 1; n <= 25; n++ {
		if e := repeatSent(t, c, "r", n); e.Op != "sendto" || e.Peer != dst || e.Len != 9 {
			t.Fatalf("send %d: %v", n, e)
		}
	}
	if res := repeatEnd(c, "r"); res.Type != "result" || res.Count != 25 || res.Len != 25*9 {
		t.Fatalf("answer %v", res)
	}
	for i := range 25 {
		d := datagram(t, p)
		if len(d) != 9 || binary.LittleEndian.Uint32(d) != uint32(i) || d[4] != '|' {
			t.Fatalf("datagram %d is %x, want counter %d", i+1, d, i)
		}
	}
}

// TestRepeatInterval: with an interval, sends come one by one until stop;
// another operation on the socket goes in between two of them, in order;
// stop's result comes first, then the repeat's, "stopped by you", with
// every send it made, all of which the peer reads.
func TestRepeatInterval(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, p := connectPeer(t, c, "")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.Send(`{"id":"r","op":"repeat","sock":%d,"interval_ms":20,"data":{"template":"PING {{counter}}\\r\\n"}}`, sock)
	if call := callOf(c, "r"); call.Interval != 20 || call.Count != 0 {
		t.Fatalf("call %v", call)
	}
	for n := 1; n <= 3; n++ {
		repeatSent(t, c, "r", n)
	}
	c.Send(`{"id":"mid","op":"send","sock":%d,"data":{"text":"MID\r\n"}}`, sock)
	c.OK("mid")
	repeatSent(t, c, "r", 4)
	c.Send(`{"id":"st","op":"stop","sock":%d}`, sock)
	stop := c.Result("st")
	res := repeatEnd(c, "r")
	if stop.Type != "result" || stop.Op != "stop" || res.Type != "result" || res.Reason != "stopped by you" || res.Count < 4 || stop.Seq > res.Seq {
		t.Fatalf("stop answered %v, the repeat %v", stop, res)
	}
	// Every send the repeat made has its sent event, numbered in order.
	for n := 5; n <= res.Count; n++ {
		repeatSent(t, c, "r", n)
	}
	// The peer reads the sends in order, with MID between two of them.
	total := len(pings(1, res.Count)) + len("MID\r\n")
	lines := strings.SplitAfter(readN(t, p, total), "\r\n")
	n := 0
	for _, l := range lines[:len(lines)-1] {
		if l == "MID\r\n" {
			continue
		}
		n++
		if l != fmt.Sprintf("PING %d\r\n", n) {
			t.Fatalf("line %q, want PING %d", l, n)
		}
	}
	if i := strings.Index(strings.Join(lines, ""), "MID"); i < len(pings(1, 3)) {
		t.Fatalf("MID came at byte %d, before the third send was answered", i)
	}
	// Stopped: nothing more is sent, and another stop is refused.
	c.Send(`{"id":"st2","op":"stop","sock":%d}`, sock)
	if e := c.Fails("st2", "bad_state"); !strings.Contains(e.Message, "no repeat is running on socket") {
		t.Fatalf("second stop: %v", e)
	}
	c.Send(`{"id":"after","op":"send","sock":%d,"data":{"text":"END"}}`, sock)
	c.OK("after")
	if got := readN(t, p, 3); got != "END" {
		t.Fatalf("after the stop, the peer read %q", got)
	}
}

// TestRepeatOneAtATime: a second repeat on a socket is refused, naming the
// call that started the one running; sync lists the running one in
// "repeating" once its events are no longer kept; after it ends, another
// may start.
func TestRepeatOneAtATime(t *testing.T) {
	base := startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{History: 32 << 10}}})
	c := dial(t, base)
	sock, p := connectPeer(t, c, "")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.Send(`{"id":"r1","op":"repeat","sock":%d,"interval_ms":3600000,"data":{"text":"one"}}`, sock)
	call := callOf(c, "r1")
	repeatSent(t, c, "r1", 1)
	c.Send(`{"id":"r2","op":"repeat","sock":%d,"data":{"text":"two"}}`, sock)
	e := c.Fails("r2", "bad_state")
	if !strings.Contains(e.Message, fmt.Sprintf("already has a repeat running, started by event %d", call.Seq)) {
		t.Fatalf("second repeat: %v; want it to name event %d", e, call.Seq)
	}
	// An invalid repeat request (no call) does not end the running one in
	// sync's eyes either.
	c.Send(`{"id":"r3","op":"repeat","sock":%d,"count":-1,"data":{"text":"three"}}`, sock)
	c.Fails("r3", "bad_field")

	// Enough traffic on another socket, from another repeat, that those
	// events are no longer kept.
	other, q := connectPeer(t, c, "")
	c.Send(`{"id":"more","op":"repeat","sock":%d,"count":60,"data":{"template":"{{random 500 hex}}"}}`, other)
	more, moreEnd := callOf(c, "more"), repeatEnd(c, "more")
	if moreEnd.Count != 60 {
		t.Fatalf("answer %v", moreEnd)
	}
	readN(t, q, 60*1000)
	back := dial(t, resumeURL(base, c.Hello, 1))
	s := back.Wait("sync", func(e Ev) bool { return e.Type == "sync" })
	if s.First <= call.Seq {
		t.Fatalf("sync from %d: the repeat's call (%d) is still kept", s.First, call.Seq)
	}
	if st := syncOf(t, s, sock); st.Repeating != call.Seq {
		t.Fatalf("sync lists socket %d as %+v; want repeating %d", sock, st, call.Seq)
	}
	// sync is the state just before its first event: the other repeat ran
	// then if its call is no longer kept and its answer is.
	want := uint64(0)
	if more.Seq < s.First && moreEnd.Seq >= s.First {
		want = more.Seq
	}
	if st := syncOf(t, s, other); st.Repeating != want {
		t.Fatalf("sync lists socket %d as %+v; want repeating %d (its repeat's answer is event %d)", other, st, want, moreEnd.Seq)
	}

	// The new connection took the session over: carry on from it.
	c = back
	c.Send(`{"id":"st","op":"stop","sock":%d}`, sock)
	c.OK("st")
	if res := repeatEnd(c, "r1"); res.Count != 1 || res.Reason != "stopped by you" {
		t.Fatalf("answer %v", res)
	}
	c.Send(`{"id":"r4","op":"repeat","sock":%d,"count":2,"data":{"text":"four"}}`, sock)
	if res := repeatEnd(c, "r4"); res.Type != "result" || res.Count != 2 {
		t.Fatalf("answer %v", res)
	}
	if got := readN(t, p, 11); got != "onefourfour" {
		t.Fatalf("the peer read %q", got)
	}
}

// syncOf returns socket sock's state in sync message s.
func syncOf(t *testing.T, s Ev, sock int) session.SockState {
	t.Helper()
	for _, x := range s.Sockets {
		if x.Sock == sock {
			return x
		}
	}
	t.Fatalf("sync does not list socket %d: %+v", sock, s.Sockets)
	return session.SockState{}
}

// TestRepeatClose: closing the socket ends its repeat with "cancelled",
// saying after how many sends; with "now", also while its send waits for a
// peer that does not read.
func TestRepeatClose(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, _ := connectPeer(t, c, "")
	c.Send(`{"id":"r","op":"repeat","sock":%d,"interval_ms":10,"data":{"template":"{{counter}}"}}`, sock)
	repeatSent(t, c, "r", 1)
	repeatSent(t, c, "r", 2)
	c.Send(`{"id":"x","op":"close","sock":%d}`, sock)
	c.OK("x")
	wantState(t, c, sock, "closed")
	e := repeatEnd(c, "r")
	wantError(t, e, "r", "cancelled", "")
	if e.Count < 2 || !strings.Contains(e.Message, fmt.Sprintf("socket %d ended after %d sends", sock, e.Count)) {
		t.Fatalf("answer %v", e)
	}

	// A peer that does not read: the repeat's send waits in the kernel
	// until close with now interrupts it.
	sock, p := connectPeer(t, c, "")
	p.SetReadBuffer(4 << 10)
	c.Send(`{"id":"big","op":"repeat","sock":%d,"data":{"template":"{{random 65536}}"}}`, sock)
	repeatSent(t, c, "big", 1)
	c.Send(`{"id":"xn","op":"close","sock":%d,"now":true}`, sock)
	c.OK("xn")
	done := repeatEnd(c, "big")
	wantError(t, done, "big", "cancelled", "")
	sends := "sends"
	if done.Count == 1 {
		sends = "send"
	}
	if !strings.Contains(done.Message, fmt.Sprintf("ended after %d %s", done.Count, sends)) {
		t.Fatalf("answer %v", done)
	}
	carriesOn(t, c)
}

// refuseSends is the local policy, but refuses every send after the
// first allow ones: a session that ran out of its byte quota.
type refuseSends struct {
	*policy.Policy
	allow atomic.Int32
}

func (r *refuseSends) Check(a policy.Action) error {
	if a.Op == policy.OpSend && r.allow.Add(-1) < 0 {
		return &policy.Denied{Action: a, Rule: "test_quota", Reason: "this session has sent all it may"}
	}
	return r.Policy.Check(a)
}

// TestRepeatPolicy: every send of a repeat passes the policy; a refusal
// ends the repeat with that error, which says after how many sends.
func TestRepeatPolicy(t *testing.T) {
	pol := &refuseSends{Policy: policy.Local()}
	pol.allow.Store(4)
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{Policy: pol}}))
	sock, p := connectPeer(t, c, "")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.Send(`{"id":"r","op":"repeat","sock":%d,"count":10,"data":{"template":"{{counter}}."}}`, sock)
	for n := 1; n <= 4; n++ {
		repeatSent(t, c, "r", n)
	}
	e := repeatEnd(c, "r")
	wantError(t, e, "r", "policy", "")
	if e.Count != 4 || !strings.Contains(e.Message, "the repeat ended after 4 sends: refused by the server's policy: this session has sent all it may") {
		t.Fatalf("answer %v", e)
	}
	if got := readN(t, p, 8); got != "1.2.3.4." {
		t.Fatalf("the peer read %q", got)
	}
	// The refusal ended the repeat, not the socket.
	for _, e := range c.Seen {
		if e.Type == "state" && e.Sock == sock && (e.State == "failed" || e.State == "closed") {
			t.Fatalf("the socket ended: %v", e)
		}
	}
}

// TestRepeatErrors: every invalid repeat or stop is answered with an error
// that says what was wrong; the session carries on.
func TestRepeatErrors(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{MaxSend: 1000}}}))
	tcp, _ := connectPeer(t, c, "")
	c.Send(`{"id":"b","op":"bind","host":"127.0.0.1","port":0}`)
	udp := c.OK("b").Sock
	c.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("l").Sock
	for _, bad := range []struct {
		id, req, code, says string
		call                bool // refused after its call (the session checks it), not while decoding
	}{
		{"count", `"op":"repeat","sock":{tcp},"count":-1,"data":{"text":"x"}`, "bad_field", `"count" must be between 1 and 1000000`, false},
		{"count2", `"op":"repeat","sock":{tcp},"count":1000001,"data":{"text":"x"}`, "bad_field", `not 1000001`, false},
		{"interval", `"op":"repeat","sock":{tcp},"interval_ms":3600001,"data":{"text":"x"}`, "bad_field", `"interval_ms" must be between 0`, false},
		{"interval2", `"op":"repeat","sock":{tcp},"interval_ms":-5,"data":{"text":"x"}`, "bad_field", `not -5`, false},
		{"nodata", `"op":"repeat","sock":{tcp}`, "missing_field", `repeat needs field "data"`, false},
		{"tmpl", `"op":"repeat","sock":{tcp},"data":{"template":"x{{counter u7}}"}`, "bad_template", `{{counter u7}} at offset 1`, false},
		{"esc", `"op":"repeat","sock":{tcp},"data":{"template":"{{counter}}\\z"}`, "bad_escape", `\z at offset 11`, false},
		{"how", `"op":"repeat","sock":{tcp},"how":"read","data":{"text":"x"}`, "bad_field", `repeat does not take field "how"`, false},
		{"port0", `"op":"repeat","sock":{udp},"host":"127.0.0.1","port":0,"data":{"text":"x"}`, "port_range", `port 0 is out of range`, false},
		{"host", `"op":"repeat","sock":{tcp},"host":"127.0.0.1","port":9,"data":{"text":"x"}`, "bad_field", `a TCP connection: a repeat sends on it, so it takes no "host"`, true},
		{"nohost", `"op":"repeat","sock":{udp},"data":{"text":"x"}`, "bad_field", `a UDP socket: a repeat on it needs "host" and "port"`, true},
		{"noport", `"op":"repeat","sock":{udp},"host":"127.0.0.1","data":{"text":"x"}`, "bad_field", `needs "host" and "port"`, true},
		{"listener", `"op":"repeat","sock":{ln},"data":{"text":"x"}`, "bad_state", `is a tcp-listener: repeat needs a connected TCP socket or a UDP socket`, true},
		{"unknown", `"op":"repeat","sock":99,"data":{"text":"x"}`, "unknown_socket", `no socket with id 99`, true},
		{"large", `"op":"repeat","sock":{tcp},"data":{"template":"{{random 1001}}"}`, "too_large", `each send can be 1001 bytes; the most one send may carry is 1000`, true},
		{"stop", `"op":"stop","sock":{tcp}`, "bad_state", `no repeat is running on socket`, true},
		{"stopx", `"op":"stop","sock":{tcp},"count":1`, "bad_field", `stop does not take field "count"`, false},
	} {
		req := strings.NewReplacer("{tcp}", fmt.Sprint(tcp), "{udp}", fmt.Sprint(udp), "{ln}", fmt.Sprint(ln)).Replace(bad.req)
		c.Send(`{"id":%q,%s}`, bad.id, req)
		e := c.Fails(bad.id, bad.code)
		if !strings.Contains(e.Message, bad.says) {
			t.Errorf("%s: %v; want it to say %q", bad.id, e, bad.says)
		}
		called := false
		for _, s := range c.Seen {
			called = called || s.ID == bad.id && s.Type == "call"
		}
		if called != bad.call {
			t.Errorf("%s: a call was logged: %v, want %v", bad.id, called, bad.call)
		}
	}
	carriesOn(t, c)
	// Each socket still works, and a repeat on it too.
	c.Send(`{"id":"ok","op":"repeat","sock":%d,"count":2,"data":{"text":"x"}}`, tcp)
	if res := repeatEnd(c, "ok"); res.Type != "result" || res.Count != 2 {
		t.Fatalf("a repeat after the errors: %v", res)
	}
}

// stall waits until sess logs no sent event of request id for a while:
// flow control holds the repeat. It returns the number of the last send
// logged. A repeat that merely paused for that long is no failure: every
// check made at a stall holds at any moment.
func stall(t *testing.T, sess *session.Session, id string) int {
	t.Helper()
	const quiet = 500 * time.Millisecond
	log := sess.Log()
	buf := make([]*session.Event, 256)
	from, _ := log.Bounds()
	last := 0
	deadline := time.Now().Add(quiet)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		evs, err := log.Next(ctx, from, buf)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return last
		case errors.Is(err, session.ErrTrimmed):
			from, _ = log.Bounds()
			continue
		case err != nil:
			t.Fatalf("reading the log: %v", err)
		}
		for _, e := range evs {
			from = e.Seq + 1
			if e.Type == session.TypeSent && e.ID == id {
				last = e.Repeat
				deadline = time.Now().Add(quiet)
			}
		}
	}
}

// kernelHolds is about the most bytes the kernel holds for a connection
// on loopback whose peer reads nothing and has a small receive buffer: the
// sender's send buffer at its largest (Linux's tcp_wmem), and a margin.
func kernelHolds() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	f := strings.Fields(string(b))
	if err != nil || len(f) != 3 {
		return 8 << 20
	}
	most, err := strconv.Atoi(f[2])
	if err != nil {
		return 8 << 20
	}
	return most + 1<<20
}

// numbered is send n of a repeat of numberedTemplate: its number, then dots.
func numbered(n int) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	return append(b, bytes.Repeat([]byte("."), 4092)...)
}

var numberedTemplate = "{{counter u32}}" + strings.Repeat(".", 4092)

// readNumbered reads sends 1..n of numberedTemplate at p, in order.
func readNumbered(p io.Reader, n int) error {
	buf := make([]byte, 4096)
	for i := 1; i <= n; i++ {
		if _, err := io.ReadFull(p, buf); err != nil {
			return fmt.Errorf("send %d: %v", i, err)
		}
		if !bytes.Equal(buf, numbered(i)) {
			return fmt.Errorf("send %d arrived as %x…", i, buf[:8])
		}
	}
	return nil
}

// TestRepeatFlowControl: a repeat as fast as flow control allows, against
// a peer that does not read, stalls on the kernel's buffers with one send
// in progress: nothing is lost, and the log's pending bytes stay within
// the event window. Once the peer reads, every byte arrives, in order.
// (The window's own hold on a repeat is TestRepeatWindow, in the session.)
func TestRepeatFlowControl(t *testing.T) {
	n := 2 * kernelHolds() / 4096 // sends of 4 KiB: twice what the kernel can hold
	h, url := startHandler(t, bridge.Options{})
	c := dial(t, url)
	sess, ok := h.Read(c.Hello.Session, c.Hello.Key)
	if !ok {
		t.Fatal("the session is not readable with its key")
	}
	window := sess.Limits().Window
	sock, p := connectPeer(t, c, "")
	p.SetReadBuffer(64 << 10) // so the peer holds little
	c.Send(`{"id":"r","op":"repeat","sock":%d,"data":{"template":%q},"count":%d}`, sock, numberedTemplate, n)
	sent := stall(t, sess, "r")
	if sent >= n {
		t.Fatalf("all %d sends went to a peer that reads nothing: nothing held the repeat back", sent)
	}
	pending := sess.Log().Pending()
	t.Logf("stalled after %d sends (%.1f MiB); %d KiB of events pending", sent, float64(sent*4096)/(1<<20), pending>>10)
	if pending > window+64<<10 {
		t.Fatalf("%d bytes of events are pending; the window is %d", pending, window)
	}
	read := make(chan error, 1)
	p.SetReadDeadline(time.Now().Add(time.Minute))
	go func() { read <- readNumbered(p, n) }()
	for i := 1; i <= n; i++ {
		repeatSent(t, c, "r", i)
		if i%256 == 0 {
			if pending := sess.Log().Pending(); pending > window+64<<10 {
				t.Fatalf("%d bytes of events are pending; the window is %d", pending, window)
			}
			c.Seen = c.Seen[:0] // keep memory flat
		}
	}
	if res := repeatEnd(c, "r"); res.Type != "result" || res.Count != n || res.Len != n*4096 {
		t.Fatalf("answer %v", res)
	}
	if err := <-read; err != nil {
		t.Fatalf("the peer: %v", err)
	}
}

// BenchmarkRepeat: a repeat of b.N 64-byte sends, as fast as flow control
// allows, to a TCP sink on loopback, through the session and its events
// (read by the client as they come); then b.N 64-byte writes in a raw Go
// loop on a loopback connection to the same sink. "x-raw" is how many
// times longer the session took.
func BenchmarkRepeat(b *testing.B) {
	sink := serveTCP(b, func(c net.Conn) { io.Copy(io.Discard, c) })
	c := dial(b, startServer(b, bridge.Options{}))
	c.Send(`{"id":"c","op":"connect","host":"127.0.0.1","port":%s}`, port(b, sink))
	sock := c.OK("c").Sock
	payload := strings.Repeat("x", 64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	ws := c.Conn()
	ctx := context.Background()
	for left, k := b.N, 0; left > 0; k++ {
		count := min(left, session.MaxRepeat)
		id := fmt.Sprint("r", k)
		c.Send(`{"id":%q,"op":"repeat","sock":%d,"count":%d,"data":{"text":%q}}`, id, sock, count, payload)
		// The client reads every event, as a page does, and looks closer
		// only at the answers.
		end := []byte(`"id":"` + id + `","op":"repeat"`)
		for {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var e Ev
			if bytes.Contains(msg, end) && json.Unmarshal(msg, &e) == nil && e.Type != "call" && e.Type != "sent" {
				if e.Type != "result" || e.Count != count || e.Len != 64*count {
					b.Fatalf("repeat: %s", msg)
				}
				break
			}
		}
		left -= count
	}
	repeated := time.Since(start)

	raw, err := net.Dial("tcp", sink)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	buf := []byte(payload)
	start = time.Now()
	for range b.N {
		if _, err := raw.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	direct := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(repeated.Nanoseconds())/float64(b.N), "repeat-ns/send")
	b.ReportMetric(float64(direct.Nanoseconds())/float64(b.N), "raw-ns/write")
	b.ReportMetric(float64(repeated)/float64(direct), "x-raw")
}
