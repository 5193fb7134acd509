package session

import (
	"context"
	"fmt"
	"time"
)

// Repeat and stop (protocol.md §16.2): one payload, or a template expanded
// afresh each time, sent again and again on one socket.
//
// A repeat is a goroutine that queues one send at a time on the socket's
// worker, so its sends take turns with the socket's other operations, and
// waits for each to finish before the next: they never overlap, and at most
// one is ever queued. Before each it waits for the interval, counted from
// the last send's start, and for room in the owner's event window, so a
// repeat never buffers without bound. Its sends are the ordinary send path
// (tcp.go send, udp.go sendTo), with the policy's check each time; the path
// hands a failure back to the repeat (Session.fail), which logs it as the
// repeat's own answer.

// repeat is one repeat running on a socket.
type repeat struct {
	s    *Session
	sk   *Socket
	req  Req
	args RepeatArgs
	udp  bool   // sendto to args.Host:args.Port; else send on the connection
	call uint64 // the seq of its call event

	// ctx ends with a stop, the socket's end, or the session's.
	ctx    context.Context
	cancel context.CancelFunc

	// Owned by the repeat's goroutine, and by the socket's worker while it
	// runs one of the repeat's sends (the goroutine waits for it meanwhile).
	count      int       // sends done in full
	bytes      int       // their bytes
	last       time.Time // when the last send started
	sendFailed bool      // the last send failed, and ended the repeat

	// Guarded by sk.mu.
	stopped bool // stop asked for it
	ended   bool // its answer is logged; sk.rep no longer names it
}

// Repeat sends a.Data a.Count times (0: until stopped) on sock: on a TCP
// connection with send, on a UDP socket with sendto to a.Host:a.Port. Its
// answer comes when it ends.
func (s *Session) Repeat(req Req, sock int, a RepeatArgs) {
	call := &Event{Type: TypeCall, Op: "repeat", Sock: sock, ID: req.ID, Origin: req.Origin,
		Count: a.Count, Interval: int(a.Interval / time.Millisecond), Host: a.Host, Port: a.Port, Family: a.Family}
	if a.Data == nil {
		a.Data = Literal(nil)
	}
	if a.Data.Source() != "" {
		call.Template = a.Data.Source()
	} else {
		call.Len = a.Data.MaxLen()
	}
	sk, err := s.lookup(sock)
	if err != nil {
		s.log.Append(call)
		s.fail(req, "repeat", sock, err)
		return
	}
	// The call, the checks and the refusal or the start are one step under
	// sk.mu, as the repeat's end is (end): a refusal follows its own call
	// before anything else about the socket's repeats, which is what lets
	// sync tell which repeat runs (Sockets.Fold).
	sk.mu.Lock()
	s.log.Append(call)
	if err := s.repeatableLocked(sk, a); err != nil {
		s.fail(req, "repeat", sock, err)
		sk.mu.Unlock()
		return
	}
	r := &repeat{s: s, sk: sk, req: req, args: a, udp: sk.kind == KindUDP, call: call.Seq}
	r.ctx, r.cancel = context.WithCancel(sk.ctx)
	sk.rep = r
	sk.mu.Unlock()
	if !s.goroutine(r.run) {
		r.cancel()
		r.end(r.cancelled) // the session is closing, and the socket with it
	}
}

// repeatableLocked checks a repeat of a on sk. sk.mu must be held.
func (s *Session) repeatableLocked(sk *Socket, a RepeatArgs) *Error {
	dest := a.Host != "" || a.Port != 0 || a.Family != ""
	switch {
	case sk.doneLocked():
		return Errorf(CodeBadState, "socket %d is closed", sk.id)
	case sk.kind == KindTCP && dest:
		return Errorf(CodeBadField, `socket %d is a TCP connection: a repeat sends on it, so it takes no "host", "port" or "family" (those are for a UDP socket)`, sk.id)
	case sk.kind == KindUDP && (a.Host == "" || a.Port == 0):
		return Errorf(CodeBadField, `socket %d is a UDP socket: a repeat on it needs "host" and "port", where each datagram goes`, sk.id)
	case sk.kind != KindTCP && sk.kind != KindUDP:
		return Errorf(CodeBadState, "socket %d is a %s: repeat needs a connected TCP socket or a UDP socket", sk.id, sk.kind)
	case sk.step:
		return Errorf(CodeBadState, "socket %d is in step mode, where you make each call: a repeat sends by itself, which is live mode's", sk.id)
	case a.Count < 0 || a.Count > MaxRepeat:
		return Errorf(CodeBadField, `"count" must be between 1 and %d (or 0: until stopped), not %d`, MaxRepeat, a.Count)
	case a.Interval < 0 || a.Interval > MaxInterval:
		return Errorf(CodeBadField, `"interval_ms" must be between 0 and %d, not %d`, MaxInterval.Milliseconds(), a.Interval.Milliseconds())
	case a.Data.MaxLen() > s.limits.MaxSend:
		return Errorf(CodeTooLarge, "each send can be %d bytes; the most one send may carry is %d", a.Data.MaxLen(), s.limits.MaxSend)
	case sk.rep != nil:
		return Errorf(CodeBadState, "socket %d already has a repeat running, started by event %d; stop it first, or wait for it to end", sk.id, sk.rep.call)
	}
	return nil
}

// Stop ends the repeat running on sock: its answer follows the stop's
// result, once the send in progress, if any, is done.
func (s *Session) Stop(req Req, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: "stop", Sock: sock, ID: req.ID, Origin: req.Origin})
	sk, err := s.lookup(sock)
	if err != nil {
		s.fail(req, "stop", sock, err)
		return
	}
	sk.mu.Lock()
	r := sk.rep
	switch {
	case r == nil:
		err = Errorf(CodeBadState, "no repeat is running on socket %d", sock)
	case r.stopped:
		err = Errorf(CodeBadState, "the repeat on socket %d is stopping already: it ends when its send in progress is done (close the socket to interrupt that send)", sock)
	default:
		r.stopped = true
		s.log.Append(&Event{Type: TypeResult, Op: "stop", Sock: sock, ID: req.ID, Origin: req.Origin})
	}
	sk.mu.Unlock()
	if err != nil {
		s.fail(req, "stop", sock, err)
		return
	}
	r.cancel()
}

// run is the repeat's goroutine: one send after another, until the count
// is done, a send fails, or ctx ends.
func (r *repeat) run() {
	defer r.cancel()
	for i := 1; r.args.Count == 0 || i <= r.args.Count; i++ {
		if i > 1 && r.args.Interval > 0 && !r.pause(time.Until(r.last.Add(r.args.Interval))) {
			break
		}
		if r.s.log.WaitRoom(r.ctx) != nil || r.ctx.Err() != nil {
			break
		}
		done := make(chan struct{})
		if r.s.enqueue(r.sk, 0, func() { defer close(done); r.send(i) }) != nil {
			r.end(r.cancelled) // the session is closing, and the socket with it
			return
		}
		<-done
		if r.sendFailed {
			return // the send path logged the repeat's answer (failed)
		}
	}
	r.end(r.answer)
}

// pause waits d, and reports false if ctx ends first.
func (r *repeat) pause(d time.Duration) bool {
	if d <= 0 {
		return r.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// send makes the repeat's i-th send, on the socket's worker.
func (r *repeat) send(i int) {
	if r.ctx.Err() != nil {
		return // stopped, or the socket ended, before its turn came
	}
	sk := r.sk
	if sk.isStep() {
		r.failed(Errorf(CodeBadState, "socket %d was switched to step mode, where you make each call", sk.id))
		return
	}
	now := time.Now()
	r.last = now
	data := r.args.Data.Expand(uint64(i), now)
	// The send path gives this back once the kernel has the bytes. A
	// repeat has one send queued at most, so its bytes are not refused
	// for a full queue: they are bounded by one send.
	sk.mu.Lock()
	sk.queued += int64(len(data))
	sk.mu.Unlock()
	req := r.req
	req.iter, req.rep = i, r
	req = req.expanded(r.args.Data)
	if r.udp {
		r.s.sendToOn(req, SendToArgs{Host: r.args.Host, Port: r.args.Port, Family: r.args.Family})(sk, data)
	} else {
		r.s.sendOn(req)(sk, data)
	}
	if !r.sendFailed {
		r.count++
		r.bytes += len(data)
	}
}

// failed ends the repeat with the error of its send in progress. The send
// path calls it (through Session.fail) on the socket's worker, in place of
// logging the error itself, and before it ends the socket if the error
// does: so the answer comes before the socket's "failed" state, as every
// error does.
func (r *repeat) failed(err *Error) {
	r.sendFailed = true
	r.end(func(bool) *Event { return r.answerError(err) })
}

// answerError is the repeat's error answer for err.
func (r *repeat) answerError(err *Error) *Event {
	return &Event{Type: TypeError, Op: "repeat", Sock: r.sk.id, ID: r.req.ID, Origin: r.req.Origin,
		Code: err.Code, Errno: err.Errno, Count: r.count,
		Message: fmt.Sprintf("the repeat ended after %s: %s", sends(r.count), err.Message)}
}

// answer is the repeat's answer when no send failed: stopped, cancelled
// because the socket ended, or done.
func (r *repeat) answer(stopped bool) *Event {
	e := &Event{Type: TypeResult, Op: "repeat", Sock: r.sk.id, ID: r.req.ID, Origin: r.req.Origin, Count: r.count, Len: r.bytes}
	switch {
	case stopped:
		e.Reason = "stopped by you"
	case r.sk.ctx.Err() != nil:
		return r.cancelled(false)
	}
	return e
}

// cancelled is the repeat's answer when its socket ended (or the session,
// which ends every socket) while it waited.
func (r *repeat) cancelled(bool) *Event {
	return &Event{Type: TypeError, Op: "repeat", Sock: r.sk.id, ID: r.req.ID, Origin: r.req.Origin,
		Code: CodeCancelled, Count: r.count,
		Message: fmt.Sprintf("repeat cancelled: socket %d ended after %s", r.sk.id, sends(r.count))}
}

// end logs the repeat's answer, made by mk (told whether stop asked for
// it), unless it is logged already, and lets the socket have another.
func (r *repeat) end(mk func(stopped bool) *Event) {
	sk := r.sk
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if r.ended {
		return
	}
	r.ended = true
	r.s.log.Append(mk(r.stopped))
	if sk.rep == r {
		sk.rep = nil
	}
}

// sends says how many sends n is: "1 send", "3 sends".
func sends(n int) string {
	if n == 1 {
		return "1 send"
	}
	return fmt.Sprintf("%d sends", n)
}

// repeatCall is what sync's fold keeps of a socket's repeats.
type repeatCall struct {
	id      string // the running repeat's request id
	refused bool   // a call came while it ran: the next answer is that call's refusal
}

// repeat folds an event of op "repeat" into s.Repeating (sync.go). A
// refused repeat's answer follows its call before any other answer about
// the socket's repeats (Session.Repeat logs the two under sk.mu, as end
// logs a repeat's answer), so a call while one runs is answered next.
// Otherwise an answer ends the running repeat if it carries its id: an
// invalid repeat request, which has no call, gets an error too.
func (t *Sockets) repeat(s *SockState, e *Event) {
	rc := t.rep[e.Sock]
	switch {
	case e.Type == TypeCall && s.Repeating == 0:
		s.Repeating, rc = e.Seq, repeatCall{id: e.ID}
	case e.Type == TypeCall:
		rc.refused = true
	case e.Type != TypeResult && e.Type != TypeError:
	case rc.refused:
		rc.refused = false
	case s.Repeating != 0 && e.ID == rc.id:
		s.Repeating = 0
	}
	if s.Repeating == 0 {
		delete(t.rep, e.Sock)
		return
	}
	if t.rep == nil {
		t.rep = map[int]repeatCall{}
	}
	t.rep[e.Sock] = rc
}
