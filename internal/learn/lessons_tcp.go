package learn

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

// handshake: connect() is the three-way handshake, made by the two
// kernels. The client's socket turns ESTABLISHED while the connection
// still waits in the listener's accept queue, before any accept(); and
// the client's kernel chose it an ephemeral port. (On loopback SYN_SENT
// lasts microseconds: the backlog lesson makes a client stay in it.)
var handshake = &Lesson{
	ID:       "handshake",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Ask: "number", Hints: 1}},
	Concepts: []string{"connect", "port", "listen", "server-client"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 3)
		for _, c := range v.Socks() {
			if !isClient(c) {
				continue
			}
			dial, ok := Saw(c.States, v.Start, session.StateConnecting)
			if !ok {
				continue
			}
			est, ok := Saw(c.TCP, dial.Seq, "ESTABLISHED")
			if !ok {
				continue
			}
			steps := make([]session.LessonStep, 3)
			if ln := listenerAt(v, c.Remote); ln != nil {
				steps[0] = doneAt(est, true)
				steps[1] = done(v.Find(func(e *session.Event) bool {
					return e.Type == session.TypeKernel && e.Sock == ln.ID && e.Seq > dial.Seq && e.TCP != nil && e.TCP.RecvQ > 0
				}))
			}
			if a := v.Answer(3); a != nil && answerIsPort(a.Lesson.Answer, c.Local) {
				steps[2] = done(a)
			}
			out = better(out, steps)
		}
		return out
	},
}

// accepting: accept() makes a new socket for each connection. Two clients
// reach one listening port; the server gets two connected sockets, told
// apart by their 4-tuples, besides the listening one.
var accepting = &Lesson{
	ID:       "accept",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Ask: "number", Hints: 1}},
	Concepts: []string{"accept", "socket", "four-tuple", "server-client"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 3)
		for _, ln := range v.Socks() {
			if ln.Kind != session.KindTCPListener {
				continue
			}
			steps := make([]session.LessonStep, 3)
			remotes := map[string]bool{}
			for _, c := range v.Socks() {
				if c.Parent != ln.ID || remotes[c.Remote] {
					continue
				}
				est, ok := firstState(c, v.Start, session.StateEstablished)
				if !ok {
					continue
				}
				remotes[c.Remote] = true
				if n := len(remotes); n <= 2 {
					steps[n-1] = doneAt(est, true)
				}
			}
			// The question is about two clients: three sockets, however
			// many more the learner connected.
			if a := v.Answer(3); a != nil && len(remotes) >= 2 {
				if n, ok := number(a.Lesson.Answer); ok && (n == 3 || n == 1+len(remotes)) {
					steps[2] = done(a)
				}
			}
			out = better(out, steps)
		}
		return out
	},
}

// hangul is "안녕", two characters: six bytes in UTF-8.
var hangul = []byte("안녕")

// byteCount: a socket carries bytes, not characters. "안녕" goes out as
// the six bytes EC 95 88 EB 85 95 of its UTF-8 encoding, and comes back
// as the same six bytes.
var byteCount = &Lesson{
	ID:       "bytes",
	Steps:    []Step{{Hints: 2}, {Hints: 1}, {Ask: "number", Hints: 1}, {Ask: "text", Hints: 2}},
	Concepts: []string{"bytes", "stream"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 4)
		for _, s := range v.Socks() {
			sent := carried(v, s, session.TypeSent, v.Start, hangul)
			if sent == nil {
				continue
			}
			steps := make([]session.LessonStep, 4)
			steps[0] = done(sent)
			// The echo's answer may be logged before the sent event,
			// never before the call.
			var back *session.Event
			for _, r := range v.Socks() {
				if e := carried(v, r, session.TypeData, asked(v, sent), hangul); e != nil && (back == nil || e.Seq < back.Seq) {
					back = e
				}
			}
			steps[1] = done(back)
			out = better(out, steps)
		}
		if a := v.Answer(3); a != nil {
			if n, ok := number(a.Lesson.Answer); ok && n == len(hangul) {
				out[2] = done(a)
			}
		}
		if a := v.Answer(4); a != nil && isHexByte(a.Lesson.Answer, hangul[0]) {
			out[3] = done(a)
		}
		return out
	},
}

// carried returns socket s's event of type typ (sent or data) after seq
// that completes want: in the stream of a TCP socket, in one datagram of
// a UDP socket.
func carried(v *View, s *Sock, typ session.Type, after uint64, want []byte) *session.Event {
	if s.Kind == session.KindUDP {
		return v.Find(func(e *session.Event) bool {
			return e.Sock == s.ID && e.Type == typ && e.Seq > after && bytes.Contains(e.Data, want)
		})
	}
	return streamUntil(v, s.ID, typ, after, contains(want))
}

// isHexByte reports whether answer names byte b in hexadecimal: "EC",
// "ec", "0xEC", `\xec`.
func isHexByte(answer string, b byte) bool {
	a := strings.ToLower(strings.TrimSpace(answer))
	for _, p := range []string{"0x", `\x`, "x"} {
		a = strings.TrimPrefix(a, p)
	}
	return a == fmt.Sprintf("%02x", b)
}

// stream: TCP carries a stream of bytes with no message boundaries. Three
// sends can come out of one recv; one send through the bad-network proxy's
// splitter comes out of several; and a framing the two ends agree on (a
// newline after each message) is what finds the messages again.
var stream = &Lesson{
	ID:       "stream",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Hints: 2}},
	Concepts: []string{"stream", "bytes"},
	Check: func(v *View) []session.LessonStep {
		return []session.LessonStep{done(threeInOne(v)), done(splitUp(v)), done(framed(v))}
	},
}

// threeInOne returns the first read that returned the bytes of three
// sends of one socket, one after the other, at once: sends made since the
// reading socket's previous read ("send all three before you call recv").
// One pass over the events: a send is tried only by the first read after
// it of each socket, so the check costs time in proportion to the events.
func threeInOne(v *View) *session.Event {
	sends := map[int][]*session.Event{} // each TCP socket's sends so far
	prev := map[int]uint64{}            // each socket's previous read
	for _, e := range v.Events {
		switch {
		case e.Type == session.TypeSent:
			if s := v.Sock(e.Sock); s != nil && s.Kind == session.KindTCP {
				sends[e.Sock] = append(sends[e.Sock], e)
			}
		case e.Type == session.TypeData && e.Op == "recv":
			since := prev[e.Sock]
			prev[e.Sock] = e.Seq
			if len(e.Data) == 0 {
				continue
			}
			for _, ss := range sends {
				i, _ := slices.BinarySearchFunc(ss, since, func(s *session.Event, seq uint64) int { return cmp.Compare(s.Seq, seq) })
				for ; i+3 <= len(ss); i++ {
					a, b, c := ss[i].Data, ss[i+1].Data, ss[i+2].Data
					if len(a) > 0 && len(b) > 0 && len(c) > 0 && len(a)+len(b)+len(c) <= len(e.Data) &&
						bytes.Contains(e.Data, bytes.Join([][]byte{a, b, c}, nil)) {
						return e
					}
				}
			}
		}
	}
	return nil
}

// splitUp returns the read that completed, in two reads or more, the
// bytes of one send that went through a TCP proxy.
func splitUp(v *View) *session.Event {
	var first *session.Event
	for _, x := range v.Socks() {
		if !isClient(x) || !throughProxy(v, x) {
			continue
		}
		for _, s := range of(v, x.ID, session.TypeSent, v.Start) {
			if len(s.Data) < 2 {
				continue
			}
			for _, y := range v.Socks() {
				if e := inPieces(of(v, y.ID, session.TypeData, asked(v, s)), s.Data); e != nil && (first == nil || e.Seq < first.Seq) {
					first = e
				}
			}
		}
	}
	return first
}

// throughProxy reports whether x is connected to one of the session's TCP
// proxies.
func throughProxy(v *View, x *Sock) bool {
	for _, p := range v.Socks() {
		if p.Kind == session.KindTCPProxy && reaches(x.Remote, p.Local) {
			return true
		}
	}
	return false
}

// inPieces returns the read that completes want when reads, in order,
// return it in two pieces or more, or nil.
func inPieces(reads []*session.Event, want []byte) *session.Event {
	for i, d := range reads {
		if len(d.Data) == 0 || len(d.Data) >= len(want) || !bytes.HasPrefix(want, d.Data) {
			continue
		}
		got := slices.Clone(d.Data)
		for _, next := range reads[i+1:] {
			got = append(got, next.Data...)
			if len(got) >= len(want) {
				if bytes.HasPrefix(got, want) {
					return next
				}
				break
			}
		}
	}
	return nil
}

// framed returns the read that brought the framing service's answers to
// two messages or more sent in one send, each ended by a newline.
func framed(v *View) *session.Event {
	for _, x := range v.Socks() {
		if x.Kind != session.KindTCP {
			continue
		}
		for _, s := range of(v, x.ID, session.TypeSent, v.Start) {
			msgs := lines(s.Data)
			if len(msgs) < 2 {
				continue
			}
			if e := streamUntil(v, x.ID, session.TypeData, asked(v, s), func(b []byte) bool {
				for _, m := range msgs {
					if !bytes.Contains(b, framingAnswer(m)) {
						return false
					}
				}
				return true
			}); e != nil {
				return e
			}
		}
	}
	return nil
}

// lines returns the complete lines of b, each without its "\n" or "\r\n".
func lines(b []byte) [][]byte {
	parts := bytes.Split(b, []byte("\n"))
	out := make([][]byte, 0, len(parts)-1)
	for _, p := range parts[:len(parts)-1] {
		out = append(out, bytes.TrimSuffix(p, []byte("\r")))
	}
	return out
}

// framingAnswer is what the framing service answers to message m.
func framingAnswer(m []byte) []byte {
	unit := "bytes"
	if len(m) == 1 {
		unit = "byte"
	}
	return fmt.Appendf(nil, "%d %s: %s\n", len(m), unit, m)
}

// refused: the two errors of a first program. ECONNREFUSED comes from the
// other side: its kernel answered the SYN with a RST, because nothing
// listens on that port. EADDRINUSE comes from your own kernel: another
// socket already holds that address and port.
var refused = &Lesson{
	ID:       "refused",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Ask: "text", Hints: 1}},
	Concepts: []string{"connect", "bind", "port"},
	Check: func(v *View) []session.LessonStep {
		out := []session.LessonStep{
			done(failed(v, "ECONNREFUSED", "connect")),
			done(failed(v, "EADDRINUSE", "bind", "listen")),
			{},
		}
		// The one from the other side: naming both is no answer.
		if a := v.Answer(3); a != nil && strings.Contains(strings.ToUpper(a.Lesson.Answer), "ECONNREFUSED") &&
			!strings.Contains(strings.ToUpper(a.Lesson.Answer), "EADDRINUSE") {
			out[2] = done(a)
		}
		return out
	},
}

// halfClose: shutdown(SHUT_WR) finishes one direction only: the peer's
// recv returns 0 bytes, and it can still answer. Once both sides close,
// the side that closed first keeps the connection in TIME_WAIT, and its
// port with it: bind() to that port fails with EADDRINUSE unless
// SO_REUSEADDR is set (on Linux, on the old socket and the new one).
// TIME_WAIT is the kernel's to tell (Linux).
var halfClose = &Lesson{
	ID:       "half-close",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Hints: 2}, {Hints: 2}, {Hints: 2}},
	Concepts: []string{"half-close", "time-wait", "bind"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 5)
		for _, sh := range v.FindAll(func(e *session.Event) bool {
			return e.Type == session.TypeResult && e.Op == "shutdown" && (e.How == "write" || e.How == "both")
		}) {
			steps := make([]session.LessonStep, 5)
			steps[0] = done(sh)
			if y := peerOf(v, v.Sock(sh.Sock)); y != nil {
				steps[1] = done(eof(v, y.ID, sh.Seq))
			}
			out = better(out, steps)
		}
		var held []session.LessonStep
		for _, s := range v.Socks() {
			tw, ok := Saw(s.TCP, v.Start, "TIME_WAIT")
			if !ok {
				continue
			}
			p := port(s.Local)
			steps := make([]session.LessonStep, 5)
			steps[2] = doneAt(tw, true)
			steps[3] = done(v.Find(func(e *session.Event) bool {
				if e.Type != session.TypeError || e.Op != "bind" || e.Errno != "EADDRINUSE" || !inTimeWait(s, e.Seq) {
					return false
				}
				c := v.Call(e)
				return c != nil && c.Port == p && !portOpen(v, p, e.Seq)
			}))
			steps[4] = done(v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeResult && e.Op == "bind" && port(e.Local) == p && inTimeWait(s, e.Seq) &&
					v.Sock(e.Sock).Opts["SO_REUSEADDR"] == 1
			}))
			held = better(held, steps)
		}
		if held != nil {
			copy(out[2:], held[2:])
		}
		return out
	},
}

// eof returns the event after seq at which socket sock saw its peer's
// end of stream: recv returned 0 bytes (step mode), or the session saw it
// (live mode).
func eof(v *View, sock int, after uint64) *session.Event {
	return v.Find(func(e *session.Event) bool {
		return e.Sock == sock && e.Seq > after &&
			(e.Type == session.TypeData && e.EOF || e.Type == session.TypeState && e.State == session.StateHalfClosed && e.Half == "read")
	})
}

// inTimeWait reports whether the kernel last said, before seq, that s is
// in TIME_WAIT.
func inTimeWait(s *Sock, seq uint64) bool {
	state := ""
	for _, m := range s.TCP {
		if m.Seq < seq {
			state = m.Value
		}
	}
	return state == "TIME_WAIT"
}

// portOpen reports whether a socket of the session held port p, open, at
// seq: then a bind to p fails whatever TIME_WAIT does.
func portOpen(v *View, p int, seq uint64) bool {
	for _, s := range v.Socks() {
		if port(s.Local) != p {
			continue
		}
		switch stateAt(s, seq) {
		case session.StateBound, session.StateListening, session.StateEstablished, session.StateHalfClosed:
			return true
		}
	}
	return false
}

// stateAt returns the session's state for s just before seq.
func stateAt(s *Sock, seq uint64) string {
	state := ""
	for _, m := range s.States {
		if m.Seq < seq {
			state = m.Value
		}
	}
	return state
}

// backlog: listen(backlog) lets the kernel finish handshakes that nobody
// has accepted yet, backlog + 1 of them on Linux. Once that queue is full
// the kernel drops further SYNs, so a client stays in SYN_SENT, retrying,
// until an accept() makes room. The queue and SYN_SENT are the kernel's to
// tell (Linux).
var backlog = &Lesson{
	ID:       "backlog",
	Steps:    []Step{{Hints: 1}, {Hints: 2}, {Hints: 2}, {Ask: "number", Hints: 1}, {Hints: 2}},
	Concepts: []string{"backlog", "listen", "accept"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 5)
		for _, ln := range v.Socks() {
			if ln.Mode != "step" {
				continue // a live listener takes the system's backlog, and accepts at once
			}
			listen := v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeResult && e.Op == "listen" && e.Sock == ln.ID
			})
			if listen == nil {
				continue
			}
			steps := make([]session.LessonStep, 5)
			steps[0] = done(listen)
			steps[1] = done(v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeKernel && e.Sock == ln.ID && e.Seq > listen.Seq && e.TCP != nil &&
					e.TCP.State == "LISTEN" && e.TCP.RecvQ > e.TCP.Backlog
			}))
			for _, c := range v.Socks() {
				if !isClient(c) || !reaches(c.Remote, ln.Local) {
					continue
				}
				syn, ok := Saw(c.TCP, listen.Seq, "SYN_SENT")
				if !ok {
					continue
				}
				if !steps[2].Done {
					steps[2] = doneAt(syn, true)
				}
				acc := v.Find(func(e *session.Event) bool {
					return e.Type == session.TypeResult && e.Op == "accept" && e.Sock == ln.ID && e.Seq > syn.Seq
				})
				if est, ok := Saw(c.TCP, syn.Seq, "ESTABLISHED"); ok && acc != nil && est.Seq > acc.Seq && !steps[4].Done {
					steps[4] = doneAt(est, true)
				}
			}
			if a := v.Answer(4); a != nil {
				if n, ok := number(a.Lesson.Answer); ok && n == ln.Backlog+1 {
					steps[3] = done(a)
				}
			}
			out = better(out, steps)
		}
		return out
	},
}

// blocking: a blocking call waits in the kernel: recv() waits until bytes
// arrive. settimeout(t) bounds the wait (a timeout error); settimeout(0)
// never waits: a call with nothing to do fails at once with EAGAIN.
var blocking = &Lesson{
	ID:       "blocking",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Hints: 2}},
	Concepts: []string{"blocking"},
	Check: func(v *View) []session.LessonStep {
		reads := []string{"recv", "recvfrom", "accept"}
		var woke *session.Event
		for _, b := range v.FindAll(func(e *session.Event) bool {
			return e.Type == session.TypeBlocked && (e.Op == "recv" || e.Op == "recvfrom")
		}) {
			woke = v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeData && e.Sock == b.Sock && e.ID == b.ID && e.Seq > b.Seq && len(e.Data) > 0
			})
			if woke != nil {
				break
			}
		}
		return []session.LessonStep{
			done(woke),
			done(v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeError && e.Code == session.CodeTimeout && slices.Contains(reads, e.Op)
			})),
			done(v.Find(func(e *session.Event) bool {
				return e.Type == session.TypeError && e.Code == session.CodeWouldBlock && slices.Contains(reads, e.Op)
			})),
		}
	},
}
