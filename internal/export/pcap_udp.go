package export

import (
	"net/netip"
	"strconv"

	"github.com/socketplayground/playground/internal/session"
)

// Each UDP datagram is one packet: a sendto's from the socket to the
// event's peer, a received one from the event's peer to the socket. A
// datagram one of the session's sockets sent to another is its sender's.

// udpSock is what the capture knows of one UDP socket of the session.
type udpSock struct {
	local netip.AddrPort // bound to; 0.0.0.0 or :: for every address
}

func (s *synth) udpSock(id int) *udpSock {
	us, ok := s.udp[id]
	if !ok {
		us = &udpSock{}
		s.udp[id] = us
	}
	return us
}

// udpSent sends the datagram of a sendto.
func (s *synth) udpSent(e *session.Event) {
	us := s.udp[e.Sock]
	to, ok := addrOf(e.Peer)
	if us == nil || !us.local.IsValid() || !ok {
		return
	}
	s.datagram(localFor(us.local, to), to, e.Data, 0, sockCall(e.Op, e.Sock))
}

// udpData receives a datagram, unless one of the session's own sockets
// sent it.
func (s *synth) udpData(e *session.Event) {
	us := s.udp[e.Sock]
	from, ok := addrOf(e.Peer)
	if us == nil || !us.local.IsValid() || !ok {
		return
	}
	to := localFor(us.local, from)
	if s.sentTo[[2]netip.AddrPort{from, to}] {
		return
	}
	s.datagram(from, to, e.Data, e.DgramLen, sockCall(e.Op, e.Sock))
}

// datagram emits one UDP packet. size, if more than len(payload), is the
// datagram's real length, of which a recvfrom returned the first bytes:
// the packet is captured cut, as a short snapshot length cuts one.
func (s *synth) datagram(from, to netip.AddrPort, payload []byte, size int, call string) {
	most := maxUDPPayload(from, to)
	size = min(max(size, len(payload)), most)
	note := bytesNote(size, 0, 1)
	switch {
	case len(payload) > most:
		// No IP packet holds it (no real session logs one).
		payload = payload[:most]
		note = " (" + strconv.Itoa(most) + " bytes: cut to fit one IP packet)"
	case len(payload) < size:
		note = " (" + strconv.Itoa(len(payload)) + " of " + strconv.Itoa(size) + " bytes: recvfrom returned the first " + strconv.Itoa(len(payload)) + ")"
	}
	pkt, n := s.pb.udp(udpDatagram{src: from, dst: to, payload: payload, size: size})
	s.emit(s.t, pkt, n, call+note)
}
