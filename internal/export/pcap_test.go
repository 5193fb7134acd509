package export_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
)

// TestPCAPNG exports real sessions as pcapng and has Wireshark's tshark
// read each capture: it must read it without a complaint, find nothing to
// warn about but the RSTs the sessions caused, verify every checksum, and
// show, in every TCP stream it follows and every UDP datagram, exactly the
// bytes the session's log says each socket sent and received.
//
// The last capture is of a log that lacks its first events, as a long
// session's log does, cut in the middle of a connection between two of
// the session's own sockets: tshark still reads it cleanly, and the
// traffic after the cut is all there.
func TestPCAPNG(t *testing.T) {
	sc := play(t)
	pc := playPCAP(t)
	cut := slices.IndexFunc(sc.evs, func(e *session.Event) bool {
		return e.Type == session.TypeData && e.Sock == sc.server
	})
	if cut < 0 {
		t.Fatalf("socket %d received nothing", sc.server)
	}
	refused := []netip.AddrPort{netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sc.refusedPort))}
	for _, c := range []struct {
		name string
		evs  []*session.Event
		want capture
	}{
		{"live and step", sc.evs, capture{rstFrom: refused}},
		{"large, IPv6, own UDP, resets, timeout", pc.evs, capture{rstFrom: pc.rstFrom}},
		{"trimmed", sc.evs[cut:], capture{rstFrom: refused, trimmed: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkCapture(t, c.evs, c.want)
		})
	}
}

// capture is what a session's capture must show besides its traffic.
type capture struct {
	rstFrom []netip.AddrPort // where each RST comes from
	// trimmed is set for a log that lacks its first events: bytes an own
	// socket sent before the cut are not in the capture, even when the
	// receiver read them after it.
	trimmed bool
}

// checkCapture exports evs as pcapng and checks what tshark makes of it.
func checkCapture(t *testing.T, evs []*session.Event, want capture) {
	file := filepath.Join(t.TempDir(), "capture.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := export.PCAPNG(f, evs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			out, _ := exec.Command(tsharkPath(t), "-r", file).Output()
			t.Logf("the capture as tshark shows it:\n%s", out)
		}
	}()

	// As a person would open it: every dissector on.
	tshark(t, "-r", file)

	pkts := readPackets(t, file)
	if len(pkts) == 0 {
		t.Fatal("tshark found no packets")
	}
	log := readCapTraffic(evs)
	checkComments(t, pkts, log)
	checkExpert(t, pkts, want)
	checkFINs(t, pkts, log, want)
	checkStreams(t, file, pkts, log, want)
	checkDatagrams(t, pkts, log)
}

// capTraffic is what a log says each socket sent and received.
type capTraffic struct {
	// attempts counts the connects that made no connection: each has a
	// stream of its own, with no data.
	attempts int
	socks    map[int]bool
	tcp      map[int]*tcpLog // by socket
	udp      map[int]*udpLog
}

type tcpLog struct {
	local, remote netip.AddrPort
	sent, recv    []byte
	// finished says it shut down writing or closed; peerFinished, that
	// it read its peer's end-of-stream.
	finished, peerFinished bool
}

type udpLog struct {
	local      netip.AddrPort
	sent, recv []datagram
}

type datagram struct {
	peer netip.AddrPort
	data []byte
}

// readCapTraffic reads the log's traffic: each TCP socket's two ends (from
// its connect, its accept or its states) and bytes, each UDP socket's
// address and datagrams.
func readCapTraffic(evs []*session.Event) *capTraffic {
	lt := &capTraffic{socks: map[int]bool{}, tcp: map[int]*tcpLog{}, udp: map[int]*udpLog{}}
	tcpOf := func(id int) *tcpLog {
		if lt.tcp[id] == nil {
			lt.tcp[id] = &tcpLog{}
		}
		return lt.tcp[id]
	}
	udpOf := func(id int) *udpLog {
		if lt.udp[id] == nil {
			lt.udp[id] = &udpLog{}
		}
		return lt.udp[id]
	}
	ends := func(tl *tcpLog, local, remote string) {
		l, errL := netip.ParseAddrPort(local)
		r, errR := netip.ParseAddrPort(remote)
		if errL == nil && errR == nil && !tl.local.IsValid() {
			tl.local, tl.remote = l, r
		}
	}
	for _, e := range evs {
		lt.socks[e.Sock] = true
		switch {
		case e.Type == session.TypeResult && e.Op == "connect":
			ends(tcpOf(e.Sock), e.Local, e.Remote)
		case e.Type == session.TypeResult && e.Op == "accept" && e.Child != 0:
			lt.socks[e.Child] = true
			ends(tcpOf(e.Child), e.Local, e.Remote)
		case e.Type == session.TypeState && e.Kind == session.KindTCP &&
			(e.State == session.StateHandshaking || e.State == session.StateEstablished || e.State == session.StateHalfClosed):
			ends(tcpOf(e.Sock), e.Local, e.Remote)
		case e.Type == session.TypeState && e.Kind == session.KindUDP:
			if ap, err := netip.ParseAddrPort(e.Local); err == nil && !udpOf(e.Sock).local.IsValid() {
				udpOf(e.Sock).local = ap
			}
		case e.Type == session.TypeSent && e.Op == "send":
			tcpOf(e.Sock).sent = append(tcpOf(e.Sock).sent, e.Data...)
		case e.Type == session.TypeData && e.Op == "recv":
			tcpOf(e.Sock).recv = append(tcpOf(e.Sock).recv, e.Data...)
		case e.Type == session.TypeSent && e.Op == "sendto":
			peer, _ := netip.ParseAddrPort(e.Peer)
			udpOf(e.Sock).sent = append(udpOf(e.Sock).sent, datagram{peer, e.Data})
		case e.Type == session.TypeData && e.Op == "recvfrom":
			peer, _ := netip.ParseAddrPort(e.Peer)
			udpOf(e.Sock).recv = append(udpOf(e.Sock).recv, datagram{peer, e.Data})
		}
	}
	for id, tl := range lt.tcp {
		if !tl.local.IsValid() {
			delete(lt.tcp, id) // never connected
		}
	}
	readShut := map[int]bool{}
	for _, e := range evs {
		tl, connected := lt.tcp[e.Sock]
		switch {
		case e.Type == session.TypeState && e.State == session.StateConnecting && !connected:
			lt.attempts++
		case !connected:
		case e.Type == session.TypeResult && e.Op == "shutdown" && e.How != "write":
			readShut[e.Sock] = true
		case e.Type == session.TypeState && (e.State == session.StateClosed || e.Half == "write"),
			e.Type == session.TypeError && e.Code == session.CodeTLS: // a failed handshake closes
			tl.finished = true
		case e.Type == session.TypeState && e.Half == "read" && !readShut[e.Sock], e.Type == session.TypeData && e.EOF:
			tl.peerFinished = true
		}
	}
	return lt
}

// callComment is a packet's comment: the call, and the socket it was on.
var callComment = regexp.MustCompile(`^(connect|accept|send|recv|sendto|recvfrom|close|shutdown)\((SHUT_WR|SHUT_RDWR)?\) on socket (\d+)\b`)

// checkComments: every packet has one comment, naming a call on a socket
// of the log; a packet with data names the send at its source or the
// receive at its destination.
func checkComments(t *testing.T, pkts []packet, log *capTraffic) {
	for _, p := range pkts {
		comments := p["frame.comment"]
		if len(comments) != 1 {
			t.Errorf("%s has %d comments %q, want one", p, len(comments), comments)
			continue
		}
		m := callComment.FindStringSubmatch(comments[0])
		if m == nil {
			t.Errorf("%s: comment %q names no call on a socket", p, comments[0])
			continue
		}
		sock, _ := strconv.Atoi(m[3])
		if !log.socks[sock] {
			t.Errorf("%s: comment %q names a socket the log does not have", p, comments[0])
			continue
		}
		if n, _ := strconv.Atoi(p.get("tcp.len")); n == 0 && p.get("udp.srcport") == "" {
			continue // no data
		}
		at := p.src()
		switch m[1] {
		case "send", "sendto":
		case "recv", "recvfrom":
			at = p.dst()
		default:
			t.Errorf("%s carries data, but its comment %q names no send or receive", p, comments[0])
			continue
		}
		if local := log.local(sock); !sameEnd(local, at) {
			t.Errorf("%s (%v to %v): comment %q, but socket %d is at %v", p, p.src(), p.dst(), comments[0], sock, local)
		}
	}
}

// local is socket id's own address.
func (lt *capTraffic) local(id int) netip.AddrPort {
	if tl := lt.tcp[id]; tl != nil {
		return tl.local
	}
	if ul := lt.udp[id]; ul != nil {
		return ul.local
	}
	return netip.AddrPort{}
}

// finsFrom is where the capture's FINs come from: every socket of the log
// that shut down writing or closed, unless it aborted the connection, and
// every peer outside the log whose end-of-stream a socket read.
func (lt *capTraffic) finsFrom(aborted []netip.AddrPort) []netip.AddrPort {
	var from []netip.AddrPort
	for _, tl := range lt.tcp {
		if tl.finished && !slices.Contains(aborted, tl.local) {
			from = append(from, tl.local)
		}
		if tl.peerFinished && !lt.isSocket(tl.remote, tl.local) {
			from = append(from, tl.remote)
		}
	}
	sortAddrs(from)
	return from
}

// isSocket reports whether a TCP socket of the log is at local, connected
// to remote.
func (lt *capTraffic) isSocket(local, remote netip.AddrPort) bool {
	for _, tl := range lt.tcp {
		if tl.local == local && tl.remote == remote {
			return true
		}
	}
	return false
}

// sameEnd reports whether a packet's address at is a socket's, bound to
// local (0.0.0.0 or :: for every address of its family).
func sameEnd(local, at netip.AddrPort) bool {
	l, a := local.Addr().Unmap(), at.Addr().Unmap()
	if local.Port() != at.Port() {
		return false
	}
	if l.IsUnspecified() {
		return l.Is4() == a.Is4()
	}
	return l == a
}

// Expert severities, as tshark's _ws.expert.severity gives them.
const (
	severityWarn  = 0x00600000
	severityError = 0x00800000
)

// checkExpert: tshark finds nothing wrong (no warning, no error, which
// bad checksums are) but a RST, which it always warns of; and the RSTs
// are exactly those the session caused.
func checkExpert(t *testing.T, pkts []packet, want capture) {
	var rstFrom []netip.AddrPort
	for _, p := range pkts {
		for i, sev := range p["_ws.expert.severity"] {
			n, err := strconv.ParseInt(sev, 0, 64)
			if err != nil {
				t.Fatalf("%s: expert severity %q: %v", p, sev, err)
			}
			msg := ""
			if m := p["_ws.expert.message"]; i < len(m) {
				msg = m[i]
			}
			if n >= severityWarn && !(msg == "Connection reset (RST)" && p.get("tcp.flags.reset") == "1") {
				t.Errorf("%s: tshark says %q (severity %#x); comment %q", p, msg, n, p.get("frame.comment"))
			}
		}
		for _, field := range []string{"ip.checksum.status", "tcp.checksum.status", "udp.checksum.status"} {
			status, ok := p[field]
			if !ok {
				continue
			}
			cut := p.get("frame.cap_len") != p.get("frame.len")
			if status[0] != "1" && !(cut && field == "udp.checksum.status" && status[0] == "2") {
				t.Errorf("%s: %s is %s, not good (1)", p, field, status[0])
			}
		}
		if p.get("tcp.flags.reset") == "1" {
			rstFrom = append(rstFrom, p.src())
		}
	}
	sortAddrs(rstFrom)
	wantFrom := slices.Clone(want.rstFrom)
	sortAddrs(wantFrom)
	if !slices.Equal(rstFrom, wantFrom) {
		t.Errorf("RSTs from %v, want from %v", rstFrom, wantFrom)
	}
}

// checkFINs: the FINs are those the log shows, each once.
func checkFINs(t *testing.T, pkts []packet, log *capTraffic, want capture) {
	var from []netip.AddrPort
	for _, p := range pkts {
		if p.get("tcp.flags.fin") == "1" {
			from = append(from, p.src())
		}
	}
	sortAddrs(from)
	if wantFrom := log.finsFrom(want.rstFrom); !slices.Equal(from, wantFrom) {
		t.Errorf("FINs from %v, want from %v", from, wantFrom)
	}
}

func sortAddrs(a []netip.AddrPort) { slices.SortFunc(a, netip.AddrPort.Compare) }

// checkStreams: each TCP stream tshark follows is one connection of the
// log, each connection of the log is one stream, and each direction
// carries exactly the bytes its sender sent and its receiver received.
func checkStreams(t *testing.T, file string, pkts []packet, log *capTraffic, want capture) {
	count := 0
	for _, p := range pkts {
		if s := p.get("tcp.stream"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s: tcp.stream %q", p, s)
			}
			count = max(count, n+1)
		}
	}
	byEnds := map[[2]netip.AddrPort]int{}
	for id, tl := range log.tcp {
		byEnds[[2]netip.AddrPort{tl.local, tl.remote}] = id
	}
	seen := map[int]int{} // socket to stream
	attempts := 0
	for i, st := range followStreams(t, file, count) {
		found := false
		for dir := range 2 {
			from, to := st.nodes[dir], st.nodes[1-dir]
			if id, ok := byEnds[[2]netip.AddrPort{from, to}]; ok {
				found = true
				if prev, dup := seen[id]; dup {
					t.Errorf("socket %d's connection is in streams %d and %d", id, prev, i)
				}
				seen[id] = i
				if got := st.data[dir]; !bytes.Equal(got, log.tcp[id].sent) {
					t.Errorf("stream %d, %v to %v: %s; socket %d sent %s", i, from, to, short(got), id, short(log.tcp[id].sent))
				}
			}
			if id, ok := byEnds[[2]netip.AddrPort{to, from}]; ok {
				if _, sender := byEnds[[2]netip.AddrPort{from, to}]; want.trimmed && sender {
					continue // bytes sent before the cut may have been received after it
				}
				if got := st.data[dir]; !bytes.Equal(got, log.tcp[id].recv) {
					t.Errorf("stream %d, %v to %v: %s; socket %d received %s", i, from, to, short(got), id, short(log.tcp[id].recv))
				}
			}
		}
		if !found {
			attempts++
			if len(st.data[0]) > 0 || len(st.data[1]) > 0 {
				t.Errorf("stream %d (%v, %v) carries data but is no connection of the log", i, st.nodes[0], st.nodes[1])
			}
		}
	}
	if attempts != log.attempts {
		t.Errorf("%d streams are no connection of the log; it has %d connects that made none", attempts, log.attempts)
	}
	for id, tl := range log.tcp {
		if _, ok := seen[id]; !ok {
			t.Errorf("socket %d's connection (%v to %v) is in no stream", id, tl.local, tl.remote)
		}
	}
}

// checkDatagrams: the datagrams from each UDP socket of the log are its
// sendto's, in order, to the same places; those to it are what it
// received, in order, from the same senders.
func checkDatagrams(t *testing.T, pkts []packet, log *capTraffic) {
	var udp []packet
	for _, p := range pkts {
		if p.get("udp.srcport") != "" {
			udp = append(udp, p)
		}
	}
	for id, ul := range log.udp {
		var from, to []datagram
		for _, p := range udp {
			payload, err := hex.DecodeString(p.get("udp.payload"))
			if err != nil {
				t.Fatalf("%s: udp.payload: %v", p, err)
			}
			if sameEnd(ul.local, p.src()) {
				from = append(from, datagram{p.dst(), payload})
			}
			if sameEnd(ul.local, p.dst()) {
				to = append(to, datagram{p.src(), payload})
			}
		}
		if !slices.EqualFunc(from, ul.sent, sameDatagram) {
			t.Errorf("socket %d (%v): datagrams from it %v; it sent %v", id, ul.local, from, ul.sent)
		}
		if !slices.EqualFunc(to, ul.recv, sameDatagram) {
			t.Errorf("socket %d (%v): datagrams to it %v; it received %v", id, ul.local, to, ul.recv)
		}
	}
	for _, p := range udp {
		known := false
		for _, ul := range log.udp {
			known = known || sameEnd(ul.local, p.src()) || sameEnd(ul.local, p.dst())
		}
		if !known {
			t.Errorf("%s (%v to %v) is no socket's of the log", p, p.src(), p.dst())
		}
	}
}

func sameDatagram(a, b datagram) bool {
	return a.peer.Port() == b.peer.Port() && a.peer.Addr().Unmap() == b.peer.Addr().Unmap() && bytes.Equal(a.data, b.data)
}

func (d datagram) String() string { return fmt.Sprintf("%v:%s", d.peer, short(d.data)) }

// short shows bytes briefly: their length and their first few.
func short(b []byte) string {
	if len(b) <= 16 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%d bytes %q…", len(b), b[:16])
}
