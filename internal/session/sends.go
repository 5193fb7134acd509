package session

import (
	"fmt"
	"time"
)

// What every send and sendto shares, of bytes or of a template
// (protocol.md §4.7, §4.8, §16.1): the checks before it is queued, and its
// turn on the socket's worker.

// SendTemplate is Send with a template, expanded once, when the send's turn
// comes on the socket's worker (protocol.md §16.1). Its call event has the
// template's text and no len.
func (s *Session) SendTemplate(req Req, sock int, t *Template) {
	s.log.Append(&Event{Type: TypeCall, Op: "send", Sock: sock, ID: req.ID, Origin: req.Origin, Template: t.Source()})
	s.queueSend(req, "send", sock, t, s.sendOn(req.expanded(t)))
}

// expanded returns req for a send of t's expansion. The client that asked
// knows the bytes it spelled, but not those a template expanded to, so
// the send's events are given no Origin: the bridge then sends their bytes
// to that client too (protocol.md §3.3, §16.1).
func (req Req) expanded(t *Template) Req {
	if t.Source() != "" {
		req.Origin = 0
	}
	return req
}

// SendToTemplate is SendTo with a template in place of a.Data, expanded
// once, when the datagram's turn comes.
func (s *Session) SendToTemplate(req Req, sock int, a SendToArgs, t *Template) {
	s.log.Append(&Event{Type: TypeCall, Op: "sendto", Sock: sock, ID: req.ID, Origin: req.Origin,
		Host: a.Host, Port: a.Port, Family: a.Family, Template: t.Source()})
	s.queueSend(req, "sendto", sock, t, s.sendToOn(req.expanded(t), a))
}

// sendOn returns how a send for req runs on a socket's worker: live mode's
// send, or step mode's.
func (s *Session) sendOn(req Req) func(*Socket, []byte) {
	return func(sk *Socket, data []byte) {
		if sk.isStep() {
			s.stepSend(req, sk, data)
		} else {
			s.send(req, sk, data)
		}
	}
}

// sendToOn returns how a sendto for req, to a's destination, runs on a
// socket's worker.
func (s *Session) sendToOn(req Req, a SendToArgs) func(*Socket, []byte) {
	return func(sk *Socket, data []byte) {
		a.Data = data
		if sk.isStep() {
			s.stepSendTo(req, sk, a)
		} else {
			s.sendTo(req, sk, a)
		}
	}
}

// queueSend checks a send or sendto (op) of t on sock, then queues it on
// the socket's worker behind every operation asked for before it. When its
// turn comes, t is expanded and run sends the bytes. The send queue holds
// t's longest expansion until then.
func (s *Session) queueSend(req Req, op string, sock int, t *Template, run func(*Socket, []byte)) {
	sk, err := s.lookup(sock)
	if err == nil {
		err = sendable(op, sk, sk.kindNow())
	}
	if max := t.MaxLen(); err == nil && max > s.limits.MaxSend {
		what := fmt.Sprintf("payload is %d bytes", max)
		if t.Source() != "" {
			what = fmt.Sprintf("the template can expand to %d bytes", max)
		}
		err = Errorf(CodeTooLarge, "%s; the most one %s may carry is %d", what, op, s.limits.MaxSend)
	}
	if err == nil {
		max := t.MaxLen()
		err = s.enqueue(sk, int64(max), func() {
			data := t.Expand(1, time.Now())
			if len(data) < max {
				sk.dequeued(max - len(data)) // the rest of the room its longest expansion held
			}
			run(sk, data)
		})
	}
	if err != nil {
		s.fail(req, op, sock, err)
	}
}

// sendable reports whether op (send or sendto) can be asked of a socket
// of kind.
func sendable(op string, sk *Socket, kind string) *Error {
	switch {
	case op == "send" && kind != KindTCP:
		return Errorf(CodeBadState, "socket %d is a %s: send needs a connected TCP socket (use sendto on a UDP socket)", sk.id, kind)
	case op == "sendto" && kind != KindUDP:
		return Errorf(CodeBadState, "socket %d is a %s: sendto needs a UDP socket (use send on a TCP connection)", sk.id, kind)
	}
	return nil
}
