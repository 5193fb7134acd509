package session

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMatchStream: how a TCP rule reads a stream (protocol.md §16.3):
// each element of reads is what one read returned; fires is how many
// firings each read makes.
func TestMatchStream(t *testing.T) {
	many := strings.Repeat("z"+strings.Repeat(".", 999), 200) // 200 z, 1000 bytes apart
	for _, tc := range []struct {
		name, match, pattern string
		reads                []string
		fires                []int
	}{
		{"contains split", "contains", "PING", []string{"xxPI", "NGyy"}, []int{0, 1}},
		{"contains each occurrence", "contains", "ab", []string{"abab", "ab"}, []int{2, 1}},
		{"contains consumes through the match", "contains", "aa", []string{"aaa", "a"}, []int{1, 1}},
		{"contains in a read longer than the buffer", "contains", "z", []string{many}, []int{200}},
		{"contains across a buffer's worth", "contains", "XY", []string{strings.Repeat(".", MaxRuleBuffer-1) + "X", "Y"}, []int{0, 1}},
		{"equals split", "equals", "PING", []string{"PI", "N", "G"}, []int{0, 0, 1}},
		{"equals again", "equals", "PING", []string{"PING", "PING"}, []int{1, 1}},
		{"equals with bytes after", "equals", "PING", []string{"PINGX", "PING"}, []int{0, 1}},
		{"equals with bytes before", "equals", "PING", []string{"XPI", "NG"}, []int{0, 0}},
		{"equals coalesced", "equals", "PING", []string{"PINGPING"}, []int{0}},
		{"equals discards what cannot become it", "equals", "PING", []string{"PIX", "PING"}, []int{0, 1}},
		{"regex several in a read", "regex", "[0-9]+", []string{"a1b22c333"}, []int{3}},
		{"regex across reads", "regex", "GET [^\r\n]*\r\n", []string{"GET /a", "\r\n", "GET /b\r\n"}, []int{0, 1, 1}},
		{"regex empty matches", "regex", "z*", []string{"abc", "zz"}, []int{0, 1}},
		{"regex within the buffer", "regex", "START.*END", []string{"START", strings.Repeat(".", MaxRuleBuffer-20), "END"}, []int{0, 0, 1}},
		{"regex older bytes dropped", "regex", "START.*END", []string{"START", strings.Repeat(".", MaxRuleBuffer), "END"}, []int{0, 0, 0}},
		// A read can be 256 KiB (readBufSize): a match that spans two
		// pieces of it, or a long read and the one before, is found.
		{"contains across pieces of one read", "contains", "XY", []string{strings.Repeat(".", 64<<10-1) + "XY" + strings.Repeat(".", 100)}, []int{1}},
		{"contains across reads, the second long", "contains", "XY", []string{"X", "Y" + strings.Repeat(".", 64<<10-1)}, []int{0, 1}},
		{"equals across reads, the second long", "equals", "PING", []string{"PI", "NG" + strings.Repeat(".", 64<<10)}, []int{0, 0}},
		{"regex across pieces of one read", "regex", "GET [^\r\n]*\r\n", []string{strings.Repeat(".", 64<<10-6) + "GET /a\r\n" + strings.Repeat(".", 64<<10)}, []int{1}},
		{"regex far longer than the buffer", "regex", "<[a-z]*>", []string{"<" + strings.Repeat("a", 2*MaxRuleBuffer) + ">"}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := RuleArgs{Match: tc.match, Pattern: []byte(tc.pattern)}
			if tc.match == "regex" {
				a.Regexp = regexp.MustCompile(tc.pattern)
			}
			ru := &rule{num: 1, sock: 1, args: a}
			r := &responders{pend: map[*rule]tcpBufs{}}
			for i, rd := range tc.reads {
				if got := r.matchStream(ru, 2, []byte(rd)); got != tc.fires[i] {
					t.Fatalf("read %d (%d bytes): %d firings, want %d", i+1, len(rd), got, tc.fires[i])
				}
				if n := len(r.pend[ru][2]); n > MaxRuleBuffer {
					t.Fatalf("read %d: the rule keeps %d bytes, more than %d", i+1, n, MaxRuleBuffer)
				}
				// Nor does it hold a larger array than its scans need: a
				// long read must not leave one behind for a few bytes.
				if c := cap(r.pend[ru][2]); c > 3*MaxRuleBuffer {
					t.Fatalf("read %d: the rule's buffer holds an array of %d bytes, more than %d", i+1, c, 3*MaxRuleBuffer)
				}
				if tc.match != "regex" && len(r.pend[ru][2]) >= max(len(tc.pattern), 1) {
					t.Fatalf("read %d: a %s rule keeps %q; at most the pattern's length less one is needed", i+1, tc.match, r.pend[ru][2])
				}
			}
		})
	}
}

// TestMatchDatagram: a UDP rule fires at most once per datagram.
func TestMatchDatagram(t *testing.T) {
	for _, tc := range []struct {
		match, pattern, dgram string
		fires                 int
	}{
		{"contains", "ab", "xxabxxab", 1},
		{"contains", "ab", "a", 0},
		{"equals", "ab", "ab", 1},
		{"equals", "ab", "abc", 0},
		{"regex", "^GET ", "GET /", 1},
		{"regex", "x*", "abc", 0},
	} {
		a := RuleArgs{Match: tc.match, Pattern: []byte(tc.pattern)}
		if tc.match == "regex" {
			a.Regexp = regexp.MustCompile(tc.pattern)
		}
		ru := &rule{args: a}
		if got := ru.matchDatagram([]byte(tc.dgram)); got != tc.fires {
			t.Errorf("%s %q on datagram %q: %d firings, want %d", tc.match, tc.pattern, tc.dgram, got, tc.fires)
		}
	}
}

// TestRulesEndWithSocket: a socket's rules, and what its listener's rules
// kept of its stream, go when it ends.
func TestRulesEndWithSocket(t *testing.T) {
	s := New(Options{ID: "t"})
	defer s.Close()
	ln := s.Listen(Req{}, ListenArgs{Host: "127.0.0.1"})
	lsk, err := s.lookup(ln)
	if err != nil {
		t.Fatal(err)
	}
	s.Respond(Req{}, ln, RuleArgs{Match: "regex", Pattern: []byte("x+y"), Reply: Literal([]byte("r"))})
	s.resp.mu.Lock()
	ru := s.resp.socks[ln].rules[0]
	s.resp.pend[ru] = tcpBufs{7: bytes.Repeat([]byte("x"), 100)}
	s.resp.mu.Unlock()
	s.forgetRules(&Socket{id: 7, parent: ln})
	s.resp.mu.Lock()
	if _, ok := s.resp.pend[ru][7]; ok {
		t.Errorf("the listener's rule still keeps the bytes of connection 7 after it ended")
	}
	s.resp.mu.Unlock()
	s.CloseSocket(Req{}, ln, true)
	if !lsk.isDone() {
		t.Fatal("the listener is still open")
	}
	s.resp.mu.Lock()
	defer s.resp.mu.Unlock()
	if len(s.resp.socks) != 0 || len(s.resp.pend) != 0 || s.resp.n.Load() != 0 || !ru.gone.Load() {
		t.Errorf("after the listener closed: %d rule sets, %d buffers, %d sockets counted, rule gone %v; want none and gone",
			len(s.resp.socks), len(s.resp.pend), s.resp.n.Load(), ru.gone.Load())
	}
}

// TestRulesLateRead: a connection's last read can reach its listener's
// rules after the connection ended (its reader was between the read and
// the rules when it was closed). What the rules keep of a connection was
// dropped when it ended (forgetRules); that late read must not make them
// keep its bytes again, for as long as the listener lives.
func TestRulesLateRead(t *testing.T) {
	s := New(Options{ID: "late"})
	defer s.Close()
	ln := s.Listen(Req{}, ListenArgs{Host: "127.0.0.1"})
	var addr string
	scan(t, s.Log(), 1, 10*time.Second, func(e *Event) bool {
		addr = e.Local
		return e.Type == TypeResult && e.Op == "listen"
	})
	s.Respond(Req{}, ln, RuleArgs{Match: "regex", Pattern: []byte("x+y"), Reply: Literal([]byte("r"))})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var child int
	if _, ok := scan(t, s.Log(), 1, 10*time.Second, func(e *Event) bool {
		child = e.Child
		return e.Type == TypeResult && e.Op == "accept"
	}); !ok {
		t.Fatal("no accept")
	}
	sk, lerr := s.lookup(child)
	if lerr != nil {
		t.Fatal(lerr)
	}
	s.CloseSocket(Req{}, child, true)
	if !sk.isDone() {
		t.Fatal("the connection is still open")
	}
	s.heard(sk, &Event{Seq: 99, Type: TypeData, Op: "recv", Sock: child, Auto: true, Len: 3, Data: []byte("xxx")})
	s.resp.mu.Lock()
	defer s.resp.mu.Unlock()
	ru := s.resp.socks[ln].rules[0]
	if b, ok := s.resp.pend[ru][child]; ok {
		t.Fatalf("the listener's rule keeps %q of connection %d, which has ended", b, child)
	}
}

// BenchmarkRegexRule: the cost of one 1-byte read to a regex rule whose
// buffer is full of bytes that do not match (a peer that trickles bytes
// that never match): each read rescans what the rule keeps.
func BenchmarkRegexRule(b *testing.B) {
	for _, pattern := range []string{`GET [^\r\n]*\r\n`, `(a|b)*c[0-9]{5}`} {
		b.Run(pattern, func(b *testing.B) {
			a := RuleArgs{Match: "regex", Pattern: []byte(pattern), Regexp: regexp.MustCompile(pattern)}
			ru := &rule{num: 1, sock: 1, args: a}
			r := &responders{pend: map[*rule]tcpBufs{}}
			r.matchStream(ru, 2, bytes.Repeat([]byte("ab"), MaxRuleBuffer))
			one := []byte("a")
			b.ResetTimer()
			for b.Loop() {
				if r.matchStream(ru, 2, one) != 0 {
					b.Fatal("a match")
				}
			}
		})
	}
}

// TestFiringQueueBound: a peer that sends bytes each of which fires a
// rule, and reads none of the replies, fills the connection's send queue
// with firings. Each must count there for more than its 1-byte reply, or
// the queue (bounded in bytes) holds one firing, with its closure, per
// byte received: millions for a default 4 MiB queue. Its firings beyond
// the bound are refused with an error naming the rule.
func TestFiringQueueBound(t *testing.T) {
	const queue = 16 << 10
	const n = 50_000
	s := New(Options{ID: "fq", Limits: Limits{SendQueue: queue}})
	defer s.Close()
	ln := s.Listen(Req{}, ListenArgs{Host: "127.0.0.1"})
	var addr string
	scan(t, s.Log(), 1, 10*time.Second, func(e *Event) bool {
		addr = e.Local
		return e.Type == TypeResult && e.Op == "listen"
	})
	s.Respond(Req{}, ln, RuleArgs{Match: "contains", Pattern: []byte("a"), Reply: Literal([]byte("b"))})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(1) // the peer reads nothing, and buffers little
	var child int
	from, ok := scan(t, s.Log(), 1, 10*time.Second, func(e *Event) bool {
		child = e.Child
		return e.Type == TypeResult && e.Op == "accept"
	})
	if !ok {
		t.Fatal("no accept")
	}
	// A small send buffer: the replies stall after a few kilobytes.
	s.SetSockOpt(Req{ID: "o"}, child, "SO_SNDBUF", 4096)
	if _, ok := scan(t, s.Log(), from, 10*time.Second, func(e *Event) bool { return e.ID == "o" && e.Type == TypeResult }); !ok {
		t.Fatal("setsockopt SO_SNDBUF failed")
	}
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(bytes.Repeat([]byte("a"), n)); wrote <- err }()

	calls, refused := 0, 0
	buf := make([]*Event, 256)
	for from = 1; calls < n; {
		evs, err := s.Log().Next(context.Background(), from, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			from = e.Seq + 1
			s.Log().Delivered(e.Seq)
			switch {
			case e.Type == TypeCall && e.Rule != 0:
				calls++
			case e.Type == TypeError && e.Rule != 0:
				if e.Code != CodeLimit || !strings.HasPrefix(e.Message, "responder rule 1: send queue full") {
					t.Fatalf("a firing failed with %s %q; want limit, naming the rule", e.Code, e.Message)
				}
				refused++
			}
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	sk, lerr := s.lookup(child)
	if lerr != nil {
		t.Fatal(lerr)
	}
	sk.mu.Lock()
	waiting := len(sk.queue)
	sk.mu.Unlock()
	t.Logf("%d firings: %d waiting in the queue, %d refused", calls, waiting, refused)
	if most := queue / firingCost; waiting > most {
		t.Fatalf("%d firings wait in the send queue of %d bytes; at most %d should", waiting, queue, most)
	}
	if refused == 0 {
		t.Fatal("no firing was refused, with none of the replies read")
	}
}

// TestMatchMemory: a read that matches rules many times (16 rules, each
// firing on every byte of the longest read: 4 Mi firings) costs memory for
// the rules, not for each of its firings, which are answered one by one
// (and paced by the owner's window).
func TestMatchMemory(t *testing.T) {
	r := &responders{pend: map[*rule]tcpBufs{}, socks: map[int]*ruleSet{}}
	set := &ruleSet{}
	for i := range MaxRules {
		set.rules = append(set.rules, &rule{num: i + 1, sock: 1, args: RuleArgs{Match: "contains", Pattern: []byte("a")}})
	}
	r.socks[1] = set
	e := &Event{Op: "recv", Data: bytes.Repeat([]byte("a"), readBufSize)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fs := r.match(&Socket{id: 1}, e)
	runtime.ReadMemStats(&after)
	for _, ru := range set.rules {
		if ru.fired != readBufSize {
			t.Fatalf("rule %d fired %d times on %d bytes of its pattern", ru.num, ru.fired, readBufSize)
		}
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("matching one read of %d bytes allocated %d bytes (%d values for %d rules)", readBufSize, n, len(fs), MaxRules)
	}
}
