package export

import (
	"net/netip"
	"strconv"

	"github.com/socketplayground/playground/internal/session"
)

// The capture is synthesized in two passes over the log. The plan reads it
// all first, for what later events tell about earlier ones: which sockets
// are the two ends of one connection (a client's connect is logged before
// its server is accepted), each UDP socket's address, which datagrams the
// session's own sockets sent to each other (the receiver may log one
// before the sender does), and every address the log names, so a port the
// capture must make up collides with none. Then each event, in log order,
// makes its packets, stamped with its time.
//
// One exception to the log's order: the session logs a send's "sent" event
// once the send has returned, and a fast peer's answer can be logged
// before it (UDP echo's reply before the sendto's "sent", §8). A socket's
// received data logged while one of its sends was under way is held back
// until that send's answer, so a reply never comes before its request.

// emitFunc receives each packet: its time (µs since the epoch), its
// captured bytes (valid only during the call), its real length, and its
// comment.
type emitFunc func(t int64, data []byte, origLen int, comment string)

// synth holds the synthesis's state.
type synth struct {
	emit emitFunc
	pb   packetBuilder
	t    int64 // the time of the event being turned into packets

	tcp map[int]*tcpSock
	udp map[int]*udpSock
	// waiting holds, by (local, remote), the connections of the plan
	// whose other end has not been seen as a socket of the session yet.
	waiting map[[2]netip.AddrPort][]*tcpConn
	// sentTo holds (from, to) for every datagram a socket of the session
	// sent: a datagram received from there was sent by one of its own.
	sentTo map[[2]netip.AddrPort]bool
	// usedPorts is every port the log names.
	usedPorts map[uint16]bool

	// answers pairs each call with its answer. sending holds, by socket,
	// the seq of the last answer of the sends under way on it; held, the
	// data events it received meanwhile, in order.
	answers map[uint64]*answer
	sending map[int]uint64
	held    map[int][]*session.Event
}

// synthesize turns the log's traffic into packets, passing each to emit in
// order.
func synthesize(evs []*session.Event, emit emitFunc) {
	s := &synth{
		emit:      emit,
		tcp:       make(map[int]*tcpSock),
		udp:       make(map[int]*udpSock),
		waiting:   make(map[[2]netip.AddrPort][]*tcpConn),
		sentTo:    make(map[[2]netip.AddrPort]bool),
		usedPorts: make(map[uint16]bool),
		answers:   match(evs),
		sending:   make(map[int]uint64),
		held:      make(map[int][]*session.Event),
	}
	s.plan(evs)
	for _, e := range evs {
		s.t = max(s.t, e.T)
		s.step(e)
	}
}

// step makes the packets of one event, or holds it back: data received
// while a send is under way on its socket.
func (s *synth) step(e *session.Event) {
	switch e.Type {
	case session.TypeCall:
		if e.Op == "send" || e.Op == "sendto" {
			if f := s.answers[e.Seq].final(); f != nil && f.Seq > s.sending[e.Sock] {
				s.sending[e.Sock] = f.Seq
			}
		}
		return
	case session.TypeData:
		if e.Seq < s.sending[e.Sock] {
			s.held[e.Sock] = append(s.held[e.Sock], e)
			return
		}
	case session.TypeState:
		s.release(e.Sock) // what the socket received came before its change
	}
	s.event(e)
	if until, ok := s.sending[e.Sock]; ok && e.Seq >= until {
		delete(s.sending, e.Sock)
		s.release(e.Sock)
	}
}

// release makes the packets of the data held back on a socket, now.
func (s *synth) release(sock int) {
	held := s.held[sock]
	delete(s.held, sock)
	for _, e := range held {
		s.event(e)
	}
}

// plan is the first pass.
func (s *synth) plan(evs []*session.Event) {
	for _, e := range evs {
		for _, a := range [...]string{e.Local, e.Remote, e.Addr, e.Peer} {
			if ap, ok := addrOf(a); ok {
				s.usedPorts[ap.Port()] = true
			}
		}
		s.planTCP(e)
		if e.Type == session.TypeState && e.Kind == session.KindUDP {
			us := s.udpSock(e.Sock)
			if local, ok := addrOf(e.Local); ok && !us.local.IsValid() {
				us.local = local
			}
		}
	}
	for _, e := range evs {
		if e.Type != session.TypeSent || e.Op != "sendto" {
			continue
		}
		us := s.udp[e.Sock]
		to, ok := addrOf(e.Peer)
		if us == nil || !us.local.IsValid() || !ok {
			continue
		}
		s.sentTo[[2]netip.AddrPort{localFor(us.local, to), to}] = true
	}
}

// event makes the packets of one event.
func (s *synth) event(e *session.Event) {
	switch e.Type {
	case session.TypeState:
		if ts := s.tcp[e.Sock]; ts != nil && e.Kind == session.KindTCP {
			s.tcpState(ts, e)
		}
	case session.TypeResult:
		s.tcpResult(e)
	case session.TypeError:
		if ts := s.tcp[e.Sock]; ts != nil {
			s.tcpError(ts, e)
		}
	case session.TypeSent:
		switch e.Op {
		case "send":
			s.tcpSent(e)
		case "sendto":
			s.udpSent(e)
		}
	case session.TypeData:
		switch e.Op {
		case "recv":
			s.tcpData(e)
		case "recvfrom":
			s.udpData(e)
		}
	}
}

// addrOf parses "ip:port" ("[::1]:80"), IPv4-mapped addresses as IPv4.
func addrOf(s string) (netip.AddrPort, bool) {
	if s == "" {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// localFor is the source address of a packet a socket bound to local
// sends to peer, or the destination of one it receives from peer: a
// socket bound to every address (0.0.0.0, ::) talks to a loopback peer
// from loopback, in the peer's family.
func localFor(local, peer netip.AddrPort) netip.AddrPort {
	a := local.Addr().Unmap()
	if !a.IsUnspecified() || !peer.Addr().IsLoopback() {
		return netip.AddrPortFrom(a, local.Port())
	}
	if peer.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), local.Port())
	}
	return netip.AddrPortFrom(netip.IPv6Loopback(), local.Port())
}

// freePort is a port none of the log's addresses has, for a packet whose
// port the log does not say: the same for the same seed, from Linux's
// ephemeral range (32768–60999) while one is free there.
func (s *synth) freePort(seed int) uint16 {
	const first, count = 32768, 28232
	start := uint32(seed) * 7919 % count
	for i := range uint32(count) {
		if p := uint16(first + (start+i)%count); !s.usedPorts[p] {
			s.usedPorts[p] = true
			return p
		}
	}
	for p := uint16(1024); p < first; p++ {
		if !s.usedPorts[p] {
			s.usedPorts[p] = true
			return p
		}
	}
	return first
}

// sockCall names a call on a socket, as packets' comments do:
// "send() on socket 3".
func sockCall(call string, sock int) string {
	return call + "() on socket " + strconv.Itoa(sock)
}

// bytesNote is " (5 bytes)", or, for a segment of a larger whole,
// " (204800 bytes, segment 2 of 4)".
func bytesNote(n, i, of int) string {
	unit := " bytes"
	if n == 1 {
		unit = " byte"
	}
	if of <= 1 {
		return " (" + strconv.Itoa(n) + unit + ")"
	}
	return " (" + strconv.Itoa(n) + unit + ", segment " + strconv.Itoa(i+1) + " of " + strconv.Itoa(of) + ")"
}
