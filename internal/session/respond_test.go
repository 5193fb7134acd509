package session

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
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
