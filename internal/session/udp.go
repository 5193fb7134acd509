package session

import (
	"net"
	"net/netip"
	"sync"

	"github.com/socketplayground/playground/internal/policy"
)

// Bind opens a UDP socket bound to Host:Port (port 0: an ephemeral port).
// In live mode it receives by itself; each datagram is a "data" event with
// its sender in Peer. It returns the socket's id, or 0 if none was created.
func (s *Session) Bind(req Req, a ListenArgs) int {
	return s.open(req, "bind", KindUDP, a, func(sk *Socket, addr netip.AddrPort) *Error {
		network := "udp4"
		if addr.Addr().Is6() {
			network = "udp6"
		}
		lc := net.ListenConfig{}
		c, err := lc.ListenPacket(sk.ctx, network, addr.String())
		if err != nil {
			return Classify("bind "+addr.String(), err)
		}
		sk.udp = c.(*net.UDPConn)
		sk.local = addrPortOf(c.LocalAddr())
		return nil
	}, StateBound, func(sk *Socket) { s.readDatagrams(sk) })
}

// SendToArgs are the arguments of SendTo.
type SendToArgs struct {
	Host   string
	Port   int
	Family string
	Data   []byte
}

// SendTo sends one datagram from a UDP socket. Host is resolved, and the
// policy asked, for every datagram.
func (s *Session) SendTo(req Req, sock int, a SendToArgs) {
	s.log.Append(&Event{Type: TypeCall, Op: "sendto", Sock: sock, ID: req.ID, Origin: req.Origin,
		Host: a.Host, Port: a.Port, Family: a.Family, Len: len(a.Data)})
	s.queueSend(req, "sendto", sock, Literal(a.Data), s.sendToOn(req, a))
}

func (s *Session) sendTo(req Req, sk *Socket, a SendToArgs) {
	dequeue := sync.OnceFunc(func() { sk.dequeued(len(a.Data)) })
	defer dequeue()
	sk.mu.Lock()
	c, local, done := sk.udp, sk.local, sk.doneLocked()
	sk.mu.Unlock()
	if done || c == nil {
		s.fail(req, "sendto", sk.id, Errorf(CodeCancelled, "sendto cancelled: socket %d was closed before its turn came", sk.id))
		return
	}
	family := "ip4"
	if local.Addr().Is6() {
		family = "ip6"
	}
	if a.Family != "" && a.Family != family {
		s.fail(req, "sendto", sk.id, Errorf(CodeBadField, "socket %d is an %s socket; it cannot send to %s addresses", sk.id, familyName(family), familyName(a.Family)))
		return
	}
	addrs, rerr := s.resolve(sk.ctx, a.Host, family)
	if rerr != nil {
		if rerr.Code == CodeBadField {
			rerr.Message += "; this socket is bound to " + local.String()
		}
		s.fail(req, "sendto", sk.id, rerr)
		return
	}
	to := netip.AddrPortFrom(addrs[0], uint16(a.Port))
	if err := s.check(policy.Action{Op: policy.OpSendTo, Addr: to, Host: nameOf(a.Host), Bytes: len(a.Data)}); err != nil {
		s.fail(req, "sendto", sk.id, err)
		return
	}
	if err := s.policy.Wait(sk.ctx, s.id, len(a.Data)); err != nil {
		s.fail(req, "sendto", sk.id, Errorf(CodeCancelled, "sendto cancelled: socket %d was closed while it waited for the session's byte rate", sk.id))
		return
	}
	n, err := c.WriteToUDPAddrPort(a.Data, to)
	dequeue()
	if err != nil {
		s.fail(req, "sendto", sk.id, Classify("sendto "+to.String(), err))
		return
	}
	s.log.Append(&Event{Type: TypeSent, Op: "sendto", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Repeat: req.iter, Peer: to.String(), Len: n, Data: a.Data[:n]})
}

// readDatagrams is live mode's recvfrom(): every datagram becomes an event.
// While the owner's window is full it stops reading; the kernel then drops
// datagrams once its buffer is full, which is what UDP does.
func (s *Session) readDatagrams(sk *Socket) {
	for {
		if s.log.WaitRoom(sk.live) != nil {
			return
		}
		data, from, err := readDatagram(sk.udp)
		if err != nil {
			if sk.live.Err() != nil || sk.isDone() || quiet(err) {
				return
			}
			// A UDP socket reports an ICMP error for an earlier datagram
			// (port unreachable as ECONNREFUSED) on a later read: that does
			// not end the socket. Anything else does, rather than spin.
			e := Classify("recvfrom", err)
			s.log.Append(&Event{Type: TypeError, Op: "recvfrom", Sock: sk.id, Auto: true, Code: e.Code, Errno: e.Errno, Message: e.Message})
			if e.Code == CodeRefused || e.Code == CodeUnreachable {
				continue
			}
			s.failSocket(sk, e.Message)
			return
		}
		e := &Event{Type: TypeData, Op: "recvfrom", Sock: sk.id, Auto: true, Peer: from.String(), Len: len(data), Data: data}
		s.log.Append(e)
		s.heard(sk, e)
		if !s.received(sk.live, sk, "recvfrom", from, len(data)) {
			return
		}
	}
}
