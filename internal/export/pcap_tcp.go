package export

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"strconv"

	"github.com/socketplayground/playground/internal/session"
)

// A TCP connection in the capture: the handshake when the log shows it
// made (a connect's "connecting" state is its SYN; its result, or the
// listener's accept, the SYN-ACK and ACK), then each direction's bytes in
// segments of at most one MSS, each acknowledged at once by the other
// side, then the FIN of each side that finished, or a RST.
//
// Each direction's bytes come from the sender when the sender is a socket
// of the session (its "sent" events) and from the receiver otherwise (its
// "data" events), so a connection between two of the session's sockets
// shows each byte once. Likewise its FINs come from each end's own
// shutdown or close, and a peer's FIN is read from the receiver's
// end-of-stream only when the peer is not one of the session's sockets.

// tcpPhase is how far a connection's packets have got.
type tcpPhase uint8

const (
	phaseNone    tcpPhase = iota // no packet yet
	phaseSynSent                 // the client's SYN
	phaseOpen                    // handshake done, or assumed (a trimmed log)
	phaseReset                   // ended by a RST: no more packets
)

// tcpConn is one TCP connection; ends[0] is the client (the end that
// connected), ends[1] the server.
type tcpConn struct {
	ends  [2]tcpEnd
	phase tcpPhase
	mss   int
	// note is added to the comment of the connection's first packet: a
	// TLS connection says that it is shown as its plaintext.
	note string
}

// tlsNote is the note of a TLS connection's first packet.
const tlsNote = "TLS connection: shown as its decrypted application data; the handshake and records are not in the log"

// tcpEnd is one end of a connection.
type tcpEnd struct {
	addr netip.AddrPort
	sock int    // the session's socket at this end; 0 for a peer outside the session
	isn  uint32 // its initial sequence number, from the connection's addresses
	next uint32 // the next sequence number it sends
	fin  bool   // it has sent its FIN
}

// tcpSock is what the capture follows of one TCP socket of the session.
type tcpSock struct {
	id    int
	conn  *tcpConn       // its connection, from the plan; nil if it never had one
	end   int            // its end of conn: 0 client, 1 server
	bound netip.AddrPort // where a step-mode socket was bound before connecting
	// attempt is the connection its connect has sent a SYN for and not
	// yet seen answered: conn, or a connection the log shows only
	// through that SYN (an attempt that failed).
	attempt *tcpConn
	// lingerZero is set by SO_LINGER 0: its close sends a RST.
	lingerZero bool
	// shutHow is the last shutdown's how; readShut says the next
	// half-closed (read) state is that shutdown's, not the peer's FIN.
	shutHow  string
	readShut bool
	// tls is set for a TLS connect (protocol.md §16.4): the log has its
	// plaintext, which the capture shows as the TCP payload.
	tls bool
}

func (s *synth) tcpSock(id int) *tcpSock {
	ts, ok := s.tcp[id]
	if !ok {
		ts = &tcpSock{id: id}
		s.tcp[id] = ts
	}
	return ts
}

// planTCP notes the TCP sockets and the connection each one had: from the
// first event that names both its ends.
func (s *synth) planTCP(e *session.Event) {
	if e.Sock != 0 && ((e.TLS != nil && e.Op == "connect") || e.State == session.StateHandshaking) {
		s.tcpSock(e.Sock).tls = true
	}
	switch {
	case e.Type == session.TypeResult && e.Op == "connect":
		s.link(e.Sock, 0, e.Local, e.Remote)
	case e.Type == session.TypeResult && e.Op == "accept" && e.Child != 0:
		s.link(e.Child, e.Sock, e.Local, e.Remote)
	case e.Type == session.TypeState && e.Kind == session.KindTCP:
		ts := s.tcpSock(e.Sock)
		switch e.State {
		case session.StateHandshaking, session.StateEstablished, session.StateHalfClosed:
			s.link(e.Sock, e.Parent, e.Local, e.Remote)
		case session.StateBound:
			if local, ok := addrOf(e.Local); ok {
				ts.bound = local
			}
		}
	}
}

// link gives socket id, with its local and remote addresses, its
// connection: the one its other end, a socket of the session seen
// before, already has, or a new one, in which the socket is the client
// unless a listener (parent) accepted it.
func (s *synth) link(id, parent int, local, remote string) {
	l, okL := addrOf(local)
	r, okR := addrOf(remote)
	if id == 0 || !okL || !okR {
		return
	}
	ts := s.tcpSock(id)
	if ts.conn != nil {
		return
	}
	key := [2]netip.AddrPort{r, l}
	if q := s.waiting[key]; len(q) > 0 {
		c := q[0]
		if len(q) == 1 {
			delete(s.waiting, key)
		} else {
			s.waiting[key] = q[1:]
		}
		ts.conn, ts.end = c, 1
		if c.ends[1].sock != 0 {
			ts.end = 0
		}
		c.ends[ts.end].sock = id
		if ts.tls {
			c.note = tlsNote
		}
		return
	}
	ts.end = 0
	if parent != 0 {
		ts.end = 1
	}
	var ends [2]netip.AddrPort
	ends[ts.end], ends[1-ts.end] = l, r
	ts.conn = newConn(ends[0], ends[1])
	ts.conn.ends[ts.end].sock = id
	if ts.tls {
		ts.conn.note = tlsNote
	}
	key = [2]netip.AddrPort{l, r}
	s.waiting[key] = append(s.waiting[key], ts.conn)
}

func newConn(client, server netip.AddrPort) *tcpConn {
	c := &tcpConn{ends: [2]tcpEnd{{addr: client}, {addr: server}}}
	for i := range c.ends {
		c.ends[i].isn = isn(c.ends[i].addr, c.ends[1-i].addr)
		c.ends[i].next = c.ends[i].isn
	}
	src, _ := ipPair(client, server)
	c.mss = mssFor(src.Is6())
	return c
}

// isn is an end's initial sequence number: a hash of the connection's
// addresses, so the same session gives the same capture.
func isn(from, to netip.AddrPort) uint32 {
	h := fnv.New32a()
	for _, ap := range [...]netip.AddrPort{from, to} {
		a := ap.Addr().As16()
		h.Write(a[:])
		h.Write(binary.BigEndian.AppendUint16(nil, ap.Port()))
	}
	return h.Sum32()
}

// tcpState follows a socket's state: a connect's SYN, an established
// connection's handshake, a shutdown's or a close's FIN.
func (s *synth) tcpState(ts *tcpSock, e *session.Event) {
	c := ts.conn
	switch e.State {
	case session.StateConnecting:
		s.connecting(ts, e)
	case session.StateHandshaking, session.StateEstablished:
		// A TLS connect's TCP connection is up when it starts its
		// handshake.
		if ts.attempt != nil {
			s.connected(ts)
		}
	case session.StateHalfClosed:
		if e.Half == "write" {
			s.fin(c, ts.end, shutdownCall(ts), "")
			return
		}
		if ts.readShut {
			ts.readShut = false // the socket's own shutdown of reading
			return
		}
		s.peerFIN(ts, sockCall("recv", ts.id))
	case session.StateClosed:
		if ts.attempt != nil {
			ts.attempt = nil // closed while connecting: the SYN went unanswered
			return
		}
		call := sockCall("close", ts.id)
		if ts.lingerZero {
			s.rst(c, ts.end, call+": RST (SO_LINGER 0: an abortive close)")
			return
		}
		note := ""
		if e.Reason == "session ended" {
			note = " (the session ended)"
		}
		s.fin(c, ts.end, call, note)
	case session.StateFailed:
		ts.attempt = nil // a failed connect: its error said how
	}
}

// connecting sends the SYN of a connect: from the address the socket
// connects from, if the log says it (the attempt that succeeded, or a
// socket bound first), else from a port made up for it.
func (s *synth) connecting(ts *tcpSock, e *session.Event) {
	to, ok := addrOf(e.Addr)
	if !ok {
		if to, ok = addrOf(e.Remote); !ok {
			return
		}
	}
	c := ts.conn
	comment := sockCall("connect", ts.id) + ": SYN"
	if c == nil || ts.end != 0 || c.phase != phaseNone || c.ends[1].addr != to {
		from := localFor(ts.bound, to)
		if !from.Addr().IsValid() {
			from = localFor(netip.AddrPortFrom(unspecified(to.Addr()), 0), to)
		}
		if from.Port() == 0 {
			from = netip.AddrPortFrom(from.Addr(), s.freePort(ts.id))
			comment += " (from a port the log does not name)"
		}
		c = newConn(from, to)
	}
	ts.attempt = c
	s.segment(c, 0, flagSYN, nil, comment)
	c.phase = phaseSynSent
}

// connected completes the handshake of the socket's connect, which
// succeeded: all of it, if the SYN sent went from a port made up for it.
func (s *synth) connected(ts *tcpSock) {
	ts.attempt = nil
	if ts.conn != nil && ts.end == 0 {
		s.handshake(ts.conn, sockCall("connect", ts.id))
	}
}

// tcpResult follows the results that shape connections: connect and
// accept (the handshake), setsockopt (SO_LINGER), shutdown.
func (s *synth) tcpResult(e *session.Event) {
	if e.Op == "accept" {
		if ts := s.tcp[e.Child]; ts != nil && ts.conn != nil && e.Child != 0 {
			s.handshake(ts.conn, sockCall("accept", e.Sock))
		}
		return
	}
	ts := s.tcp[e.Sock]
	if ts == nil {
		return
	}
	switch e.Op {
	case "connect":
		s.connected(ts)
	case "setsockopt":
		if e.Option == "SO_LINGER" {
			v := e.Actual
			if v == nil {
				v = e.Value
			}
			ts.lingerZero = v != nil && *v == 0
		}
	case "shutdown":
		ts.shutHow = e.How
		if e.How == "read" || e.How == "both" {
			ts.readShut = true
		}
	}
}

// tcpSent sends the bytes a send handed to the kernel.
func (s *synth) tcpSent(e *session.Event) {
	ts := s.tcp[e.Sock]
	if ts == nil || ts.conn == nil || len(e.Data) == 0 {
		return
	}
	s.data(ts.conn, ts.end, e.Data, sockCall(e.Op, ts.id))
}

// tcpData follows what a socket received: the bytes, when their sender is
// not a socket of the session (whose sends say them), or the end of the
// stream.
func (s *synth) tcpData(e *session.Event) {
	ts := s.tcp[e.Sock]
	if ts == nil || ts.conn == nil {
		return
	}
	call := sockCall(e.Op, ts.id)
	if e.EOF {
		s.peerFIN(ts, call)
		return
	}
	if peer := 1 - ts.end; ts.conn.ends[peer].sock == 0 && len(e.Data) > 0 {
		s.data(ts.conn, peer, e.Data, call)
	}
}

// peerFIN is the FIN of a peer outside the session, which the socket read
// as the end of the stream.
func (s *synth) peerFIN(ts *tcpSock, call string) {
	if c := ts.conn; c != nil && c.ends[1-ts.end].sock == 0 {
		s.fin(c, 1-ts.end, call, " from the peer (end of stream)")
	}
}

// tcpError follows an error on a socket: a refused connect's RST, or the
// RST of a peer that reset the connection (ECONNRESET; EPIPE, unless the
// socket had shut down writing itself).
func (s *synth) tcpError(ts *tcpSock, e *session.Event) {
	switch c := ts.conn; {
	case e.Op == "connect" && ts.attempt != nil && (e.Errno == "ECONNREFUSED" || e.Code == session.CodeRefused):
		c = ts.attempt
		ts.attempt = nil
		c.ends[1].next = 0 // Linux answers a SYN it refuses from sequence number 0
		s.rst(c, 1, sockCall("connect", ts.id)+": RST from the peer (connection refused)")
	case c == nil || ts.attempt != nil:
	case e.Code == session.CodeTLS:
		// The handshake failed: the client closed the connection.
		s.fin(c, ts.end, sockCall(e.Op, ts.id), " (the TLS handshake failed)")
	case e.Errno == "ECONNRESET" || e.Code == session.CodeReset:
		s.rst(c, 1-ts.end, sockCall(e.Op, ts.id)+": RST from the peer (connection reset)")
	case e.Errno == "EPIPE" && !c.ends[ts.end].fin:
		s.rst(c, 1-ts.end, sockCall(e.Op, ts.id)+": RST from the peer (broken pipe)")
	}
}

// shutdownCall names a socket's shutdown as C does: shutdown(SHUT_WR).
func shutdownCall(ts *tcpSock) string {
	how := "SHUT_WR"
	if ts.shutHow == "both" {
		how = "SHUT_RDWR"
	}
	return "shutdown(" + how + ") on socket " + strconv.Itoa(ts.id)
}

// handshake sends what is missing of c's three-way handshake.
func (s *synth) handshake(c *tcpConn, call string) {
	if c.phase == phaseNone {
		s.segment(c, 0, flagSYN, nil, call+": SYN")
		c.phase = phaseSynSent
	}
	if c.phase == phaseSynSent {
		s.segment(c, 1, flagSYN|flagACK, nil, call+": SYN-ACK")
		s.segment(c, 0, flagACK, nil, call+": ACK")
		c.phase = phaseOpen
	}
}

// started makes sure c is open before a packet in it, and reports whether
// it can still carry one. A connection whose start is not in the log
// (a trimmed one) starts here, with no handshake.
func (s *synth) started(c *tcpConn, call string) bool {
	switch c.phase {
	case phaseNone:
		for i := range c.ends {
			c.ends[i].next = c.ends[i].isn + 1
		}
		c.phase = phaseOpen
	case phaseSynSent:
		s.handshake(c, call)
	}
	return c.phase == phaseOpen
}

// data sends b from end from of c, in segments of at most one MSS, each
// acknowledged by the other end.
func (s *synth) data(c *tcpConn, from int, b []byte, call string) {
	if !s.started(c, call) || c.ends[from].fin {
		return
	}
	n := (len(b) + c.mss - 1) / c.mss
	for i := 0; i < n; i++ {
		seg := b[i*c.mss : min(len(b), (i+1)*c.mss)]
		flags := uint8(flagACK)
		if i == n-1 {
			flags |= flagPSH
		}
		comment := call + bytesNote(len(b), i, n)
		s.segment(c, from, flags, seg, comment)
		s.segment(c, 1-from, flagACK, nil, comment+": ACK")
	}
}

// fin sends end from's FIN, acknowledged by the other end; note follows
// "FIN" in its comment.
func (s *synth) fin(c *tcpConn, from int, call, note string) {
	if c == nil || !s.started(c, call) || c.ends[from].fin {
		return
	}
	s.segment(c, from, flagFIN|flagACK, nil, call+": FIN"+note)
	c.ends[from].fin = true
	s.segment(c, 1-from, flagACK, nil, call+": ACK of the FIN")
}

// rst sends a RST from end from of c, which ends it.
func (s *synth) rst(c *tcpConn, from int, comment string) {
	if c == nil || c.phase == phaseReset {
		return
	}
	if c.phase == phaseNone {
		s.started(c, comment)
	}
	s.segment(c, from, flagRST|flagACK, nil, comment)
	c.phase = phaseReset
}

// segment emits one segment from end from of c, with the sequence number
// that end is at and the acknowledgement of all the other end sent, and
// moves that end on past it.
func (s *synth) segment(c *tcpConn, from int, flags uint8, payload []byte, comment string) {
	src, dst := &c.ends[from], &c.ends[1-from]
	seg := tcpSegment{src: src.addr, dst: dst.addr, seq: src.next, flags: flags, payload: payload}
	if flags&flagACK != 0 {
		seg.ack = dst.next
	}
	if flags&flagSYN != 0 {
		seg.mss = uint16(c.mss)
		src.next = src.isn
		seg.seq = src.isn
		src.next++
	}
	if flags&flagFIN != 0 {
		src.next++
	}
	src.next += uint32(len(payload))
	if c.note != "" {
		comment += " (" + c.note + ")"
		c.note = ""
	}
	pkt := s.pb.tcp(seg)
	s.emit(s.t, pkt, len(pkt), comment)
}

// unspecified is the address of a's family that means "any".
func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}
