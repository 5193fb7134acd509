package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Responders (protocol.md §16.3): rules that answer received bytes.
//
// The rules live here, by socket id, not in Socket: heard, which every
// reader calls after logging a data event, finds them without taking the
// socket's lock. A firing is logged as a call, then sent through the
// socket's worker queue like any send, so the send path's policy check,
// queue limit and ordering apply to it.

// MaxRuleBuffer is the most unconsumed bytes a TCP rule keeps of a
// connection's stream: older bytes are dropped as new ones arrive. It bounds
// a regex rule's work: one that does not match rescans what it keeps each
// time bytes arrive (a peer trickling a byte at a time makes that a scan per
// byte), so it must be small; a regular expression's match must fit in it.
// A contains or equals rule keeps less than its pattern's length
// (MaxPattern, which is no longer).
const MaxRuleBuffer = 4 << 10

// responders holds every rule of a session.
type responders struct {
	mu    sync.Mutex        // guards everything below; taken before the session's, a socket's and the log's mu, never after
	socks map[int]*ruleSet  // by socket id: the rules set on that socket
	n     atomic.Int32      // sockets with rules, read without mu by heard's fast path
	pend  map[*rule]tcpBufs // TCP: for each rule, the unconsumed bytes of each connection it reads
}

// tcpBufs are one rule's unconsumed bytes, by connection id.
type tcpBufs map[int][]byte

// ruleSet is one socket's rules, in the order they were added.
type ruleSet struct {
	next  int // the number the next rule gets
	rules []*rule
}

// rule is one responder rule.
type rule struct {
	num   int
	sock  int // the socket it was set on
	args  RuleArgs
	fired uint64      // firings so far; guarded by responders.mu
	gone  atomic.Bool // removed, or its socket ended: pending firings are dropped
}

// firings are a rule's matches in one read, to be answered one by one: a
// count, not one value per match, since a long read can match a rule
// hundreds of thousands of times.
type firings struct {
	r    *rule
	from uint64 // the first one's firing number, from 1: its reply's {{counter}}
	n    int
}

// Respond adds a responder rule to sock (protocol.md §16.3). Its result has
// the rule's number on that socket. The call and its answer are logged
// under r.mu, so no other respond on the socket comes between them: sync's
// fold (Sockets) pairs them that way.
func (s *Session) Respond(req Req, sock int, a RuleArgs) {
	r := &s.resp
	r.mu.Lock()
	defer r.mu.Unlock()
	call := &Event{Type: TypeCall, Op: "respond", Sock: sock, ID: req.ID, Origin: req.Origin, Match: a.Match}
	if a.PatternSpelled.Kind != "" {
		p := a.PatternSpelled
		call.Pattern = &p
	}
	if a.ReplySpelled.Kind != "" {
		rp := a.ReplySpelled
		call.Reply = &rp
	}
	s.log.Append(call)
	if err := s.checkRule(&a); err != nil {
		s.fail(req, "respond", sock, err)
		return
	}
	sk, err := s.lookup(sock)
	if err == nil {
		switch kind := sk.kindNow(); kind {
		case KindTCP, KindTCPListener, KindUDP:
		default:
			err = Errorf(CodeBadState, "socket %d is a %s: responders answer on a TCP connection, a TCP listener (for every connection it accepts) or a UDP socket", sock, kind)
		}
	}
	// Checked under r.mu: a socket that ends after this drops its rules
	// (forgetRules), so none outlives it.
	if err == nil && sk.isDone() {
		err = Errorf(CodeBadState, "socket %d is closed", sock)
	}
	if err != nil {
		s.fail(req, "respond", sock, err)
		return
	}
	set := r.socks[sock]
	if set == nil {
		set = &ruleSet{next: 1}
	}
	if len(set.rules) >= MaxRules {
		s.fail(req, "respond", sock, Errorf(CodeLimit, "socket %d has %d responder rules, the most one socket may have; remove one with unrespond first", sock, MaxRules))
		return
	}
	if r.socks == nil {
		r.socks = map[int]*ruleSet{}
		r.pend = map[*rule]tcpBufs{}
	}
	if len(set.rules) == 0 {
		r.socks[sock] = set
		r.n.Add(1)
	}
	ru := &rule{num: set.next, sock: sock, args: a}
	set.next++
	set.rules = append(set.rules, ru)
	s.log.Append(&Event{Type: TypeResult, Op: "respond", Sock: sock, ID: req.ID, Origin: req.Origin, Rule: ru.num})
}

// checkRule checks what the bridge checks too, for callers that did not
// come through it, and that the reply fits one send.
func (s *Session) checkRule(a *RuleArgs) *Error {
	switch a.Match {
	case "contains", "equals", "regex":
	default:
		return Errorf(CodeBadField, `"match" must be "contains", "equals" or "regex", not %q`, a.Match)
	}
	if len(a.Pattern) == 0 || len(a.Pattern) > MaxPattern {
		return Errorf(CodeBadField, `"pattern" must be 1 to %d bytes, not %d`, MaxPattern, len(a.Pattern))
	}
	if a.Match == "regex" && a.Regexp == nil {
		re, err := regexp.Compile(string(a.Pattern))
		if err != nil {
			return Errorf(CodeBadField, `"pattern" is not a valid regular expression: %v`, err)
		}
		a.Regexp = re
	}
	if a.Reply == nil {
		return Errorf(CodeBadField, `respond needs a "reply"`)
	}
	if n := a.Reply.MaxLen(); n > MaxReply || n > s.limits.MaxSend {
		return Errorf(CodeTooLarge, "the reply can be %d bytes; a responder's reply may be at most %d", n, min(MaxReply, s.limits.MaxSend))
	}
	return nil
}

// Unrespond removes rule from sock.
func (s *Session) Unrespond(req Req, sock, num int) {
	r := &s.resp
	r.mu.Lock()
	defer r.mu.Unlock()
	s.log.Append(&Event{Type: TypeCall, Op: "unrespond", Sock: sock, ID: req.ID, Origin: req.Origin, Rule: num})
	if _, err := s.lookup(sock); err != nil {
		s.fail(req, "unrespond", sock, err)
		return
	}
	set := r.socks[sock]
	i := -1
	if set != nil {
		i = slices.IndexFunc(set.rules, func(ru *rule) bool { return ru.num == num })
	}
	if i < 0 {
		s.fail(req, "unrespond", sock, Errorf(CodeBadField, "socket %d has no rule %d (%s)", sock, num, set.list()))
		return
	}
	ru := set.rules[i]
	ru.gone.Store(true)
	delete(r.pend, ru)
	set.rules = slices.Delete(set.rules, i, i+1)
	if len(set.rules) == 0 {
		// Keep the set, so rule numbers are not given twice.
		r.n.Add(-1)
	}
	s.log.Append(&Event{Type: TypeResult, Op: "unrespond", Sock: sock, ID: req.ID, Origin: req.Origin, Rule: num})
}

// list says which rules a set has, for an error message.
func (set *ruleSet) list() string {
	if set == nil || len(set.rules) == 0 {
		return "it has none"
	}
	nums := make([]string, len(set.rules))
	for i, ru := range set.rules {
		nums[i] = strconv.Itoa(ru.num)
	}
	return "its rules: " + strings.Join(nums, ", ")
}

// forgetRules drops the rules of a socket that ended, and what its rules'
// parent listener kept of its bytes.
func (s *Session) forgetRules(sk *Socket) {
	r := &s.resp
	r.mu.Lock()
	defer r.mu.Unlock()
	if set := r.socks[sk.id]; set != nil {
		if len(set.rules) > 0 {
			r.n.Add(-1)
		}
		for _, ru := range set.rules {
			ru.gone.Store(true)
			delete(r.pend, ru)
		}
		delete(r.socks, sk.id)
	}
	if set := r.socks[sk.parent]; set != nil {
		for _, ru := range set.rules {
			delete(r.pend[ru], sk.id)
		}
	}
}

// heard gives a data event on sk to sk's responders (protocol.md §16.3).
// It is called after the event is logged, without sk.mu held, by the
// socket's reader (live mode) or worker (step mode). It never waits for
// the socket: each firing is a call event and a send queued on the
// socket's worker. Between firings it waits for room in the owner's
// window, as the reader itself does before each read, so a flood of
// matches (or two sockets whose rules answer each other) is paced by the
// client reading the events.
func (s *Session) heard(sk *Socket, e *Event) {
	if s.resp.n.Load() == 0 {
		return
	}
	first := true
	for _, f := range s.resp.match(sk, e) {
		for k := range f.n {
			if !first && s.log.WaitRoom(sk.ctx) != nil {
				return
			}
			first = false
			if f.r.gone.Load() || sk.ctx.Err() != nil {
				continue
			}
			s.fire(sk, e, f.r, f.from+uint64(k))
		}
	}
}

// match runs the rules that apply to sk (its own, then its listener's) over
// e's bytes, and returns their firings in that order.
func (r *responders) match(sk *Socket, e *Event) []firings {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A reader can deliver its last read after its socket ended and
	// forgetRules dropped what the rules kept of it: a buffer made now
	// would never be dropped. forgetRules runs after the socket is done,
	// under r.mu, so a socket not done here is forgotten after this.
	if sk.isDone() {
		return nil
	}
	var fs []firings
	for _, id := range [2]int{sk.id, sk.parent} {
		set := r.socks[id]
		if id == 0 || set == nil {
			continue
		}
		for _, ru := range set.rules {
			var n int
			if e.Op == "recvfrom" {
				n = ru.matchDatagram(e.Data)
			} else {
				n = r.matchStream(ru, sk.id, e.Data)
			}
			if n > 0 {
				fs = append(fs, firings{r: ru, from: ru.fired + 1, n: n})
				ru.fired += uint64(n)
			}
		}
	}
	return fs
}

// matchDatagram reports whether a datagram matches (1) or not (0): on UDP
// a rule fires at most once per datagram.
func (ru *rule) matchDatagram(d []byte) int {
	var ok bool
	switch ru.args.Match {
	case "contains":
		ok = bytes.Contains(d, ru.args.Pattern)
	case "equals":
		ok = bytes.Equal(d, ru.args.Pattern)
	case "regex":
		for _, m := range ru.args.Regexp.FindAllIndex(d, -1) {
			if m[1] > m[0] {
				ok = true
				break
			}
		}
	}
	if ok {
		return 1
	}
	return 0
}

// matchStream adds data to what rule ru has not consumed of connection
// conn's stream, and returns how many times it fires. Data is taken a
// buffer's worth at a time, each looked at together with what the rule
// kept before it, so every byte is looked at and a match that spans two
// reads, or two pieces of one, is found; then the rule keeps at most
// MaxRuleBuffer bytes. So a scan covers at most twice MaxRuleBuffer, and
// the buffer's array stays about that size.
func (r *responders) matchStream(ru *rule, conn int, data []byte) int {
	bufs := r.pend[ru]
	if bufs == nil {
		bufs = tcpBufs{}
		r.pend[ru] = bufs
	}
	buf := bufs[conn]
	fired := 0
	for len(data) > 0 {
		n := min(len(data), MaxRuleBuffer)
		buf = append(buf, data[:n]...)
		data = data[n:]
		var k int
		k, buf = ru.consume(buf)
		fired += k
		if over := len(buf) - MaxRuleBuffer; over > 0 {
			buf = tail(buf, over)
		}
	}
	if len(buf) == 0 {
		delete(bufs, conn)
	} else {
		bufs[conn] = buf
	}
	return fired
}

// consume finds ru's matches in buf, and returns how many there were and
// what is left to keep.
func (ru *rule) consume(buf []byte) (int, []byte) {
	p := ru.args.Pattern
	switch ru.args.Match {
	case "contains":
		n, at := 0, 0
		for {
			i := bytes.Index(buf[at:], p)
			if i < 0 {
				break
			}
			n++
			at += i + len(p)
		}
		// Only the last len(p)-1 bytes can start an occurrence still to come.
		keep := max(at, len(buf)-(len(p)-1))
		return n, tail(buf, keep)
	case "equals":
		switch {
		case bytes.Equal(buf, p):
			return 1, buf[:0]
		case bytes.HasPrefix(p, buf):
			return 0, buf
		}
		return 0, buf[:0] // it can no longer become the pattern
	case "regex":
		n, end := 0, 0
		for _, m := range ru.args.Regexp.FindAllIndex(buf, -1) {
			if m[1] > m[0] {
				n++
				end = m[1]
			}
		}
		return n, tail(buf, end)
	}
	return 0, buf
}

// tail returns buf[from:], moved to the front of buf's array so a long-lived
// buffer does not creep along it.
func tail(buf []byte, from int) []byte {
	if from == 0 {
		return buf
	}
	n := copy(buf, buf[from:])
	if n == 0 && cap(buf) > 4096 {
		return nil // let a large, now empty buffer go
	}
	return buf[:n]
}

// fire logs firing number num of rule ru, caused by data event cause on
// sk, and queues its reply on sk's worker: to the stream's peer (send), or
// to the datagram's sender (sendto).
func (s *Session) fire(sk *Socket, cause *Event, ru *rule, num uint64) {
	a := ru.args
	data := a.Reply.Expand(num, time.Now())
	call := &Event{Type: TypeCall, Sock: sk.id, Auto: true, Rule: ru.num, Cause: cause.Seq}
	if ru.sock != sk.id {
		call.Parent = ru.sock // a listener's rule, firing on one of its connections
	}
	if a.Reply.IsLiteral() {
		call.Len = len(data)
	} else {
		call.Template = a.Reply.Source()
	}
	var run func()
	if cause.Op == "recvfrom" {
		call.Op = "sendto"
		peer, err := netip.ParseAddrPort(cause.Peer)
		if err != nil { // every datagram has its sender: this is a bug
			s.log.Append(call)
			s.firingFailed(sk, call, Errorf(CodeBadState, "the datagram's sender %q is not an address", cause.Peer))
			return
		}
		to := SendToArgs{Host: peer.Addr().String(), Port: int(peer.Port()), Data: data}
		call.Host, call.Port = to.Host, to.Port
		run = func() {
			if sk.isStep() {
				s.stepSendTo(Req{}, sk, to)
			} else {
				s.sendTo(Req{}, sk, to)
			}
		}
	} else {
		call.Op = "send"
		run = func() {
			if sk.isStep() {
				s.stepSend(Req{}, sk, data)
			} else {
				s.send(Req{}, sk, data)
			}
		}
	}
	s.log.Append(call)
	if len(data) > s.limits.MaxSend {
		s.firingFailed(sk, call, Errorf(CodeTooLarge, "the reply is %d bytes; the most one send may carry is %d", len(data), s.limits.MaxSend))
		return
	}
	// A waiting firing counts at least firingCost in the send queue (or
	// the whole of a smaller queue): the queue is bounded in bytes, and a
	// reply of a byte or none would let a peer that reads nothing queue a
	// firing for every byte it sends.
	cost := max(len(data), int(min(firingCost, s.limits.SendQueue)))
	send := run
	run = func() {
		sk.dequeued(cost - len(data)) // the send path gives back len(data)
		send()
	}
	if err := s.enqueue(sk, int64(cost), run); err != nil {
		s.firingFailed(sk, call, err)
	}
}

// firingCost is the least a firing waiting in its socket's send queue
// counts there (Limits.SendQueue), whatever its reply's length: about what
// it holds while it waits, with its call event.
const firingCost = 256

// firingFailed logs that a firing could not be queued: the answer to its
// call, which like the send path's answers has no id (and no auto, which
// marks live mode's reads and accepts). Its rule stays.
func (s *Session) firingFailed(sk *Socket, call *Event, err *Error) {
	s.log.Append(&Event{Type: TypeError, Op: call.Op, Sock: sk.id, Rule: call.Rule, Parent: call.Parent,
		Code: err.Code, Errno: err.Errno, Message: fmt.Sprintf("responder rule %d: %s", call.Rule, err.Message)})
}
