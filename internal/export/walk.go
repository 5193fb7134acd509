package export

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// The walk turns the log into statements, in the order a program must make
// them, and both languages render the same statements. A session runs its
// sockets concurrently; a program runs one call after another, so the walk
// orders calls the way the log shows they happened:
//
//   - a call is made where its call event is, except a step-mode accept,
//     recv or recvfrom that blocked: it waited for a peer the session
//     served later, so it is made where its answer is, after that peer;
//   - what live mode read by itself is received just before the next
//     statement, every byte of it: all the bytes of a TCP stream read
//     since the last statement in one exact-length read (TCP may cut them
//     differently next time), each UDP datagram by one recvfrom;
//   - what live mode did by itself (accept, close when both directions are
//     finished, read end-of-file) is a statement too, marked auto.

// repr is what the Go program holds for a socket.
type repr uint8

const (
	reprConn     repr = iota + 1 // a net.Conn: live connect, or live accept
	reprListener                 // a net.Listener: live listen
	reprPacket                   // a net.PacketConn: live bind (UDP)
	reprFD                       // a file descriptor from syscall.Socket or syscall.Accept
)

// sockVar is one of the session's sockets as the program's variable s<id>.
type sockVar struct {
	id   int
	name string
	repr repr
	// family is "ip4" or "ip6"; udp is set for a datagram socket.
	family string
	udp    bool
	// step is set while the socket is in step mode.
	step bool
	// gone is set once the socket has ended.
	gone bool
	// absent says why the program has no such socket, if it has none: it
	// was made before the log's first event.
	absent string
	// kernelPort is set when the socket was bound to port 0: the port it
	// got is the kernel's choice, so a program reads it back rather than
	// using the number the session got.
	kernelPort bool
	// local is the address the socket is bound to, once known.
	local netip.AddrPort
	// readShut is set once the person shut down the read side: the next
	// half-closed (read) state is theirs, not the peer's end-of-stream.
	readShut bool
	// dialing is the step-mode connect under way, which learns the
	// address it dials from the socket's "connecting" state.
	dialing *stmt
	// proxied is set when the socket connected through one of the
	// session's proxies, which the program does without.
	proxied bool
	// tls is set for a connection made with TLS (protocol.md §16.4).
	tls bool
}

// kind is what a statement does.
type kind uint8

const (
	kSocket     kind = iota + 1 // socket(): a step-mode socket
	kSetsockopt                 // setsockopt(option, value)
	kSettimeout                 // settimeout(None | 0 | t)
	kBind                       // bind((host, port)) on a step-mode socket
	kListen                     // listen(backlog) on a step-mode socket
	kServe                      // live listen: a listening socket in one call
	kDial                       // live connect: a connected socket in one call
	kUDP                        // live bind: a bound UDP socket in one call
	kConnect                    // connect((host, port)) on a step-mode socket
	kAccept                     // accept(), asked for or live mode's
	kRecv                       // recv(n) in step mode
	kRecvFrom                   // recvfrom(n) in step mode
	kRecvAll                    // live mode's reads of a TCP stream: exactly n bytes
	kRecvDgram                  // live mode's read of one datagram
	kRecvEOF                    // live mode's read of the peer's end-of-stream
	kRecvError                  // live mode's read that failed
	kSend                       // send (step mode) or sendall (live)
	kSendTo                     // sendto
	kShutdown                   // shutdown(how)
	kClose                      // close()
	kJoin                       // join or leave a multicast group (op says which)
	kRepeat                     // sends of a repeat, one after another: a loop
	kNote                       // a comment only: what a program does not do
)

// status is how a statement's call ended in the session.
type status uint8

const (
	stOK        status = iota // it succeeded: the program expects the same
	stFailed                  // the kernel failed it: the program expects the same failure
	stNotDone                 // the playground refused it before any system call: a comment
	stCancelled               // cancel or close interrupted it while it waited: a comment
	stPending                 // the log has no answer for it yet
	stBlocked                 // it is still blocked in the session: a comment
)

// target is an address a statement connects or sends to.
type target struct {
	host string // as asked: an address or a name
	ip   string // the address the session used, when the log says
	port int
	// via is the session's own socket bound there to a port the kernel
	// chose: the program uses the port its own socket got.
	via *sockVar
	// proxy is set when the session went through one of its bad-network
	// proxies: the program goes straight to the proxy's target.
	proxy string
}

// stmt is one statement of the program: a call the session made, or one
// live mode made by itself, and how it ended.
type stmt struct {
	seq   uint64 // the event it renders
	kind  kind
	op    string // the session's op, for comments and labels
	sock  *sockVar
	child *sockVar // kAccept: the socket it made
	auto  bool     // live mode did it by itself
	step  bool     // the socket was in step mode (send is one system call)

	to      *target // kServe, kDial, kUDP, kBind, kConnect, kSendTo
	n       int     // kRecv, kRecvFrom: the most bytes; kRecvAll: exactly
	backlog int
	option  string
	value   int
	how     string        // kShutdown: read, write, both; kSettimeout: blocking, non-blocking, timeout
	timeout time.Duration // kSettimeout
	now     bool          // kClose: at once

	// data is what a send carries; known reports whether the log has its
	// bytes (a call that failed before sending has only its length).
	data  []byte
	known bool
	size  int // bytes asked to send

	note string // kNote: the comment; others: an extra remark

	// The toolkit (protocol.md §16).
	tls      *session.TLSInfo // kDial with TLS: what the connect asked for
	tlsGot   *session.TLSInfo // kDial with TLS: what was negotiated
	iface    string           // kJoin, kSetsockopt IP_MULTICAST_IF: the interface's name
	group    string           // kJoin: the group
	template string           // kSend, kSendTo: the template the bytes came from
	firing   *firing          // kSend, kSendTo: the responder's firing that sent them
	rule     *ruleInfo        // kNote of respond: the rule it added
	rep      *repRun          // kRepeat: the sends

	status status
	fail   failure // stFailed
	why    string  // stNotDone, stCancelled: the session's words

	// What the answer said, for the outcome comment.
	got      []byte
	gotPeer  string
	eof      bool
	dgramLen int
	sent     int
	local    string
	remote   string
	actual   *int
	waited   time.Duration // how long a blocked call waited
}

// program is the walk's result.
type program struct {
	stmts []*stmt
	// open lists the sockets still open when the log ends, which the
	// program closes as it ends.
	open []*sockVar
	// first and last are the first and last events' sequence numbers;
	// events before first are no longer in the log.
	first, last uint64
}

// answer is what the log says about one call.
type answer struct {
	asked   int              // send, sendto: the bytes asked to send
	events  []*session.Event // result, sent, data or error, in order
	blocked *session.Event
}

// final is the call's answer: the last of its events (a send that failed
// part way has a "sent", then the error).
func (a *answer) final() *session.Event {
	if a == nil || len(a.events) == 0 {
		return nil
	}
	return a.events[len(a.events)-1]
}

// sentEvent is the "sent" event among the answer's events, if any.
func (a *answer) sentEvent() *session.Event {
	if a == nil {
		return nil
	}
	for _, e := range a.events {
		if e.Type == session.TypeSent {
			return e
		}
	}
	return nil
}

// answerKey is how an answer finds its call: the same request id, op and
// socket. Ids need not be unique, so calls with one key queue up in order.
type answerKey struct {
	id   string
	op   string
	sock int
}

// match pairs every call event with its answer: linear in the events.
func match(evs []*session.Event) map[uint64]*answer {
	out := make(map[uint64]*answer)
	waiting := make(map[answerKey][]uint64) // call seqs, oldest first
	for _, e := range evs {
		switch e.Type {
		case session.TypeCall:
			k := answerKey{e.ID, e.Op, e.Sock}
			waiting[k] = append(waiting[k], e.Seq)
			out[e.Seq] = &answer{asked: e.Len}
		case session.TypeBlocked:
			if q := waiting[answerKey{e.ID, e.Op, e.Sock}]; len(q) > 0 {
				out[q[0]].blocked = e
			}
		case session.TypeResult, session.TypeError, session.TypeSent, session.TypeData:
			if e.Auto {
				continue
			}
			k := answerKey{e.ID, e.Op, e.Sock}
			q := waiting[k]
			if len(q) == 0 {
				continue
			}
			a := out[q[0]]
			a.events = append(a.events, e)
			if e.Type != session.TypeSent || e.Len >= a.asked {
				// Answered: a "sent" for fewer bytes than asked may
				// still be followed by the error that stopped it.
				if len(q) == 1 {
					delete(waiting, k)
				} else {
					waiting[k] = q[1:]
				}
			}
		}
	}
	return out
}

// walker holds the walk's state.
type walker struct {
	evs     []*session.Event
	answers map[uint64]*answer
	socks   map[int]*sockVar
	// bound finds the session's own sockets bound to a port the kernel
	// chose, by address; proxies finds a proxy's target by its address.
	bound   map[netip.AddrPort]*sockVar
	proxies map[netip.AddrPort]string
	// deferred holds blocked calls to make where their answer is, by the
	// answer's seq.
	deferred map[uint64][]*stmt
	// pending is what live mode read and the program has not received
	// yet, in the order it arrived; streams finds a TCP socket's reads
	// among them.
	pending []*stmt
	streams map[*sockVar]*stmt
	// fins are the client addresses a proxy passed an end-of-stream on to.
	fins map[netip.AddrPort]bool
	// firstState is each socket's first state event in the log.
	firstState map[int]*session.Event
	// reps are the repeats the log shows started, by their call's key
	// (their sends carry its id); rules the responder rules, by socket and
	// number; fired counts each rule's firings.
	reps  map[answerKey]*repInfo
	rules map[ruleKey]*ruleInfo
	out   *program
}

// walk turns the log into a program.
func walk(evs []*session.Event) *program {
	w := &walker{
		evs:      evs,
		answers:  match(evs),
		socks:    make(map[int]*sockVar),
		bound:    make(map[netip.AddrPort]*sockVar),
		proxies:  make(map[netip.AddrPort]string),
		deferred: make(map[uint64][]*stmt),
		streams:  make(map[*sockVar]*stmt),
		fins:     make(map[netip.AddrPort]bool),
		reps:     make(map[answerKey]*repInfo),
		rules:    make(map[ruleKey]*ruleInfo),
		out:      &program{},
	}
	w.firstState = make(map[int]*session.Event)
	for _, e := range evs {
		if _, ok := w.firstState[e.Sock]; e.Type == session.TypeState && !ok {
			w.firstState[e.Sock] = e
		}
	}
	if len(evs) > 0 {
		w.out.first, w.out.last = evs[0].Seq, evs[len(evs)-1].Seq
	}
	for _, e := range evs {
		w.event(e)
		if d, ok := w.deferred[e.Seq]; ok {
			delete(w.deferred, e.Seq)
			for _, st := range d {
				w.emit(st)
			}
		}
	}
	w.flush(nil)
	for id := 1; len(w.socks) > 0; id++ {
		// Sockets in the order of their ids, without sorting a map.
		sv, ok := w.socks[id]
		if !ok {
			continue
		}
		delete(w.socks, id)
		if !sv.gone && sv.absent == "" {
			w.out.open = append(w.out.open, sv)
		}
	}
	return w.out
}

// emit adds a statement, after what live mode read before it.
func (w *walker) emit(st *stmt) {
	w.flush(st.sock)
	w.out.stmts = append(w.out.stmts, st)
}

// flush receives what live mode read since the last statement: the bytes
// of each TCP socket in one exact read, each datagram by itself. An
// end-of-file waits for a statement on its own socket (or the end): the
// session closes a socket in the kernel before it logs the close, so the
// peer's end-of-file may be logged before the close that caused it, and
// reading it there would wait for ever. With next nil, everything goes.
func (w *walker) flush(next *sockVar) { w.flushBefore(next, 0) }

// flushBefore is flush, but with before > 0 only of what live mode read
// before event before, and no end-of-file: a repeat's loop leaves what
// arrived since its last send for after its next (walk_toolkit.go). Reads
// of one TCP socket that end up next to each other are one read.
func (w *walker) flushBefore(next *sockVar, before uint64) {
	kept := w.pending[:0]
	batch := len(w.out.stmts)
	for _, st := range w.pending {
		if before > 0 && (st.seq >= before || st.kind == kRecvEOF) {
			kept = append(kept, st)
			continue
		}
		if st.kind == kRecvEOF && next != nil && st.sock != next {
			kept = append(kept, st)
			continue
		}
		if l := st.sock.local; st.kind == kRecvEOF && st.sock.proxied && !w.fins[netip.AddrPortFrom(l.Addr().Unmap(), l.Port())] {
			// The proxy ended the connection, not its target: the
			// program, which goes straight to the target, would wait
			// for ever.
			continue
		}
		if w.streams[st.sock] == st {
			delete(w.streams, st.sock)
		}
		if n := len(w.out.stmts); st.kind == kRecvAll && n > batch {
			if prev := w.out.stmts[n-1]; prev.kind == kRecvAll && prev.sock == st.sock {
				prev.got = append(prev.got, st.got...)
				prev.n = len(prev.got)
				continue
			}
		}
		w.out.stmts = append(w.out.stmts, st)
	}
	clear(w.pending[len(kept):])
	w.pending = kept
	if before == 0 {
		clear(w.streams)
	}
}

// snippet reports whether a statement is one of the per-call snippets:
// every call, and what live mode did by itself apart from its reads.
func snippet(st *stmt) bool {
	switch st.kind {
	case kRecvAll, kRecvDgram, kRecvEOF:
		return false
	}
	return true
}

// isComment reports whether a statement renders as a comment only.
func isComment(st *stmt) bool {
	return st.kind == kNote || st.status == stNotDone || st.status == stCancelled || st.status == stBlocked
}

// sock returns the variable of socket id, making it if the log never
// showed the socket made (it was made before the log's first event).
func (w *walker) sock(id int) *sockVar {
	sv, ok := w.socks[id]
	if !ok {
		sv = &sockVar{id: id, name: "s" + strconv.Itoa(id), gone: true}
		sv.absent = sv.name + " was made before the first event in the log"
		w.socks[id] = sv
	}
	return sv
}

// newSock makes the variable of a socket a statement creates.
func (w *walker) newSock(id int, r repr, family string, udp bool) *sockVar {
	sv := &sockVar{id: id, name: "s" + strconv.Itoa(id), repr: r, family: family, udp: udp}
	w.socks[id] = sv
	return sv
}

func (w *walker) event(e *session.Event) {
	switch e.Type {
	case session.TypeCall:
		w.call(e)
	case session.TypeResult, session.TypeError:
		if e.Auto {
			w.auto(e)
		}
	case session.TypeData:
		if e.Auto {
			w.liveData(e)
		}
	case session.TypeSent:
		if e.Repeat > 0 {
			w.repeatSent(e)
		}
	case session.TypeState:
		w.state(e)
	case session.TypeRelay:
		if ap, err := netip.ParseAddrPort(e.Peer); err == nil && e.Relay == "fin" && e.Dir == "to-client" {
			w.fins[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		}
	}
}

// call makes the statement of a call event.
func (w *walker) call(e *session.Event) {
	a := w.answers[e.Seq]
	st := &stmt{seq: e.Seq, op: e.Op}
	if e.Sock != 0 && !w.shortcut(e) {
		st.sock = w.sock(e.Sock)
		st.step = st.sock.step
	}
	w.outcome(st, a)
	switch e.Op {
	case "socket":
		st.kind = kSocket
		family := e.Family
		if family == "" {
			family = "ip4"
		}
		if e.Sock != 0 {
			st.sock = w.newSock(e.Sock, reprFD, family, e.Proto == "udp")
			st.sock.step = true
			st.sock.kernelPort = true // until a bind names a port
			st.step = true
		}
	case "setsockopt":
		st.kind = kSetsockopt
		st.option = e.Option
		st.iface = e.Iface
		if e.Value != nil {
			st.value = *e.Value
		}
	case "settimeout":
		st.kind = kSettimeout
		st.how = e.How
		st.timeout = time.Duration(e.Timeout) * time.Millisecond
	case "bind":
		used := ""
		if r := a.final(); r != nil && r.Type == session.TypeResult {
			used = hostOf(r.Addr)
		}
		st.to = w.target(e.Host, e.Port, used)
		if st.sock != nil {
			st.kind = kBind
			if st.status == stOK && !st.sock.gone {
				st.sock.kernelPort = e.Port == 0
			}
			break
		}
		st.kind = kUDP
		if e.Sock != 0 {
			st.sock = w.newSock(e.Sock, reprPacket, familyOf(e.Host, e.Family), true)
			st.sock.kernelPort = e.Port == 0
		}
	case "listen":
		if st.sock != nil {
			st.kind = kListen
			st.backlog = e.Backlog
			break
		}
		st.kind = kServe
		st.to = w.target(e.Host, e.Port, "")
		if e.Sock != 0 {
			st.sock = w.newSock(e.Sock, reprListener, familyOf(e.Host, e.Family), false)
			st.sock.kernelPort = e.Port == 0
		}
	case "connect":
		used := ""
		if f := a.final(); f != nil && f.Type == session.TypeResult {
			used = hostOf(f.Addr)
		}
		st.to = w.target(e.Host, e.Port, used)
		if st.sock != nil {
			st.kind = kConnect
			st.sock.dialing = st
			st.sock.proxied = st.to.proxy != ""
			break
		}
		st.kind = kDial
		if e.Sock != 0 {
			st.sock = w.newSock(e.Sock, reprConn, familyOf(e.Host, e.Family), false)
			st.sock.proxied = st.to.proxy != ""
		}
		if e.TLS != nil {
			st.tls = e.TLS
			if st.sock != nil {
				st.sock.tls = true
			}
			if f := a.final(); f != nil && f.Type == session.TypeResult {
				st.tlsGot = f.TLS
			}
		}
	case "accept":
		st.kind = kAccept
		if r := a.final(); r != nil && r.Type == session.TypeResult && r.Child != 0 {
			st.child = w.acceptChild(st.sock, r.Child, true)
		}
	case "recv":
		st.kind = kRecv
		st.n = e.N
	case "recvfrom":
		st.kind = kRecvFrom
		st.n = e.N
	case "send", "sendto":
		st.kind = kSend
		st.size = e.Len
		st.template = e.Template
		if s := a.sentEvent(); s != nil {
			if e.Template != "" {
				st.size = len(s.Data) // a template's call has no len: its bytes are known once sent
			}
			st.data, st.known = s.Data, s.Len >= st.size
			st.sent = s.Len
		}
		if e.Auto && e.Rule > 0 {
			st.auto = true
			st.firing = w.fired(e)
		}
		if e.Op == "sendto" {
			st.kind = kSendTo
			peer := ""
			if s := a.sentEvent(); s != nil {
				peer = hostOf(s.Peer)
			}
			st.to = w.target(e.Host, e.Port, peer)
		}
	case "shutdown":
		st.kind = kShutdown
		st.how = e.How
		if st.sock != nil && st.status == stOK && e.How != "write" {
			st.sock.readShut = true // its half-closed (read) state is this call's
		}
	case "close":
		st.kind = kClose
		st.now = e.Now
	case "cancel":
		st.kind = kNote
		st.note = "cancel: interrupts the call blocked on " + st.sockName() + " (a program would need another thread, or a timeout)"
	case "step":
		st.kind = kNote
		st.note = st.sockName() + " in step mode from here: nothing happens on it until the program calls"
	case "proxy":
		st.kind = kNote
		if e.Sock != 0 {
			st.sock = w.newSock(e.Sock, 0, "", e.Proto == "udp")
			st.sock.absent = st.sock.name + " is a bad-network proxy, which the program has no need of"
		}
		st.note = st.sockName() + ": a bad-network " + strings.ToUpper(orDefault(e.Proto, "tcp")) + " proxy on " + hostPort(e.Host, e.Port) + " to " + e.Target + " (not part of the socket API: the program goes straight to the target)"
		if r := a.final(); r != nil && r.Type == session.TypeResult {
			if local, err := netip.ParseAddrPort(r.Local); err == nil {
				w.proxies[local] = orDefault(r.Remote, e.Target) // the target, resolved
			}
		}
	case "proxy_set":
		st.kind = kNote
		st.note = st.sockName() + ": the proxy's knobs changed"
	case "proxy_reset":
		st.kind = kNote
		st.note = st.sockName() + ": the proxy reset its connections"
	case "join", "leave":
		st.kind = kJoin
		st.group, st.iface = e.Group, e.Iface
		if st.sock == nil {
			st.kind, st.note = kNote, e.Op+" "+e.Group+" on no socket"
		}
	case "repeat":
		if !w.repeatCall(st, e, a) {
			return // its sends are the program's loops
		}
	case "stop":
		st.kind = kNote
		st.note = st.sockName() + ": stop: the repeat on it ends here; the loop above sends as many as the session did"
		if f := a.final(); f != nil && f.Type == session.TypeError {
			st.note = st.sockName() + ": stop (not done: " + f.Message + ")"
		}
	case "respond":
		w.respondCall(st, e, a)
	case "unrespond":
		st.kind = kNote
		st.note = fmt.Sprintf("%s: responder rule %d removed", st.sockName(), e.Rule)
		if f := a.final(); f != nil && f.Type == session.TypeError {
			st.note += " (not done: " + comment(f.Message) + ")"
		}
	default:
		st.kind = kNote
		st.note = st.sockName() + ": " + e.Op
	}
	w.check(st)
	switch st.kind {
	case kSocket, kServe, kDial, kUDP:
		if st.sock != nil && st.status != stOK && st.status != stPending {
			// The call made no socket in the program: what the session
			// does with its socket later (close it as it ends, say) the
			// program cannot.
			st.sock.absent = st.sock.name + " was not made: its " + st.op + " failed"
		}
	}
	// A blocked accept or read waited for something the session did
	// later: the program makes it where its answer is.
	if a != nil && a.blocked != nil && st.status == stOK {
		switch st.kind {
		case kAccept, kRecv, kRecvFrom:
			if f := a.final(); f != nil {
				w.deferred[f.Seq] = append(w.deferred[f.Seq], st)
				return
			}
		}
	}
	w.emit(st)
}

// shortcut reports whether a call event makes the socket it names: socket
// and proxy do, and so do live mode's one-call connect, listen and bind,
// which the step-mode calls of the same names (made on a socket that
// exists) are not.
func (w *walker) shortcut(e *session.Event) bool {
	switch e.Op {
	case "socket", "proxy":
		return true
	case "connect", "listen", "bind":
	default:
		return false
	}
	if _, known := w.socks[e.Sock]; known {
		return false
	}
	// A socket the log has not seen before: made by this call, or by one
	// before the log's first event. A live socket's first state (its
	// connecting, listening, bound or failed) follows its call; a
	// step-mode socket's states say "step".
	first := w.firstState[e.Sock]
	return first != nil && first.Seq > e.Seq && first.Mode == ""
}

// check turns a statement the program cannot make into a comment: one on
// a socket the program does not have, or one Go's net package cannot make
// on what the program holds.
func (w *walker) check(st *stmt) {
	if st.kind == kNote || isComment(st) || st.sock == nil {
		return
	}
	switch st.kind {
	case kSocket, kServe, kDial, kUDP:
		return
	}
	if st.sock.absent != "" {
		st.status, st.why = stNotDone, st.sock.absent
		if st.child != nil {
			st.child.gone = true
			st.child.absent = st.child.name + " was accepted by " + st.sock.name + ", which " + strings.TrimPrefix(st.sock.absent, st.sock.name+" ")
		}
		return
	}
	if st.sock.gone && st.status == stOK {
		st.status, st.why = stNotDone, st.sock.name+" has ended"
	}
}

// outcome records how the call ended, from its answer.
func (w *walker) outcome(st *stmt, a *answer) {
	f := a.final()
	switch {
	case f == nil && a != nil && a.blocked != nil:
		st.status = stBlocked
		return
	case f == nil:
		st.status = stPending
		return
	}
	if a.blocked != nil {
		st.waited = time.Duration(f.T-a.blocked.T) * time.Microsecond
	}
	if f.Type == session.TypeError {
		switch fail, ok := kernelFailure(f); {
		case f.Code == session.CodeCancelled:
			st.status, st.why = stCancelled, f.Message
		case ok:
			st.status, st.fail = stFailed, fail
		default:
			st.status, st.why = stNotDone, f.Message
		}
		return
	}
	st.status = stOK
	st.local, st.remote, st.actual = f.Local, f.Remote, f.Actual
	if f.Type == session.TypeResult && f.TLS != nil {
		st.tlsGot = f.TLS
	}
	if f.Type == session.TypeData {
		st.got, st.gotPeer, st.eof, st.dgramLen = f.Data, f.Peer, f.EOF, f.DgramLen
	}
}

// target makes the address a connect or sendto goes to, noticing the
// session's own sockets and proxies there.
func (w *walker) target(host string, port int, used string) *target {
	t := &target{host: host, ip: used, port: port}
	ip := used
	if ip == "" {
		ip = host
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return t
	}
	ap := netip.AddrPortFrom(addr.Unmap(), uint16(port))
	if to, ok := w.proxies[ap]; ok {
		if h, p, ok := splitHostPort(to); ok {
			return &target{host: h, ip: h, port: p, proxy: hostPort(host, port)}
		}
	}
	if sv := w.ownSocket(ap); sv != nil {
		t.via = sv
	}
	return t
}

// ownSocket is the session's socket bound to ap with a port the kernel
// chose, if any: by its exact address, or bound to every address.
func (w *walker) ownSocket(ap netip.AddrPort) *sockVar {
	if sv, ok := w.bound[ap]; ok && !sv.gone {
		return sv
	}
	for _, any := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		if sv, ok := w.bound[netip.AddrPortFrom(any, ap.Port())]; ok && !sv.gone {
			return sv
		}
	}
	return nil
}

// acceptChild makes the variable of a socket an accept created.
func (w *walker) acceptChild(ln *sockVar, id int, asked bool) *sockVar {
	r := reprConn
	if ln != nil && ln.repr == reprFD {
		r = reprFD
	}
	family := "ip4"
	if ln != nil {
		family = ln.family
	}
	sv := w.newSock(id, r, family, false)
	sv.step = asked && ln != nil && ln.step
	return sv
}

// auto makes the statement of what live mode did by itself.
func (w *walker) auto(e *session.Event) {
	st := &stmt{seq: e.Seq, op: e.Op, auto: true, sock: w.sock(e.Sock)}
	switch {
	case e.Type == session.TypeResult && e.Op == "accept" && e.Child != 0:
		st.kind = kAccept
		st.child = w.acceptChild(st.sock, e.Child, false)
		st.remote, st.local = e.Remote, e.Local
	case e.Type == session.TypeResult && e.Op == "close":
		st.kind = kClose
		st.note = w.closeReason(e)
	case e.Type == session.TypeResult && e.Op == "connect":
		st.kind = kNote
		st.note = st.sock.name + ": the connection the non-blocking connect started is established (" + comment(e.Local) + " to " + comment(e.Remote) + ")"
	case e.Type == session.TypeError && e.Op == "recv" && st.sock.absent == "":
		st.kind = kRecvError
		if f, ok := kernelFailure(e); ok {
			st.status, st.fail = stFailed, f
		} else {
			st.kind, st.note = kNote, st.sock.name+": live mode's read failed: "+comment(e.Message)
		}
	case e.Type == session.TypeError:
		st.kind = kNote
		st.note = st.sock.name + ": live mode's " + e.Op + " failed: " + comment(e.Message)
	default:
		return
	}
	if st.kind != kNote && st.sock.absent != "" {
		st.status, st.why = stNotDone, st.sock.absent
		if st.child != nil {
			st.child.gone = true
			st.child.absent = st.child.name + " was accepted by " + st.sock.name + ", which " + strings.TrimPrefix(st.sock.absent, st.sock.name+" ")
		}
	}
	w.emit(st)
}

// closeReason is why live mode closed a socket, from the state event that
// follows its close.
func (w *walker) closeReason(e *session.Event) string {
	i := int(e.Seq - w.evs[0].Seq)
	for j := i + 1; i >= 0 && j < len(w.evs) && j <= i+4; j++ {
		n := w.evs[j]
		if n.Type == session.TypeState && n.Sock == e.Sock && n.State == session.StateClosed {
			return n.Reason
		}
	}
	return ""
}

// liveData queues what live mode read, to be received before the next
// statement.
func (w *walker) liveData(e *session.Event) {
	sv := w.sock(e.Sock)
	if sv.absent != "" {
		return // the program has no such socket
	}
	if sv.udp {
		w.pending = append(w.pending, &stmt{seq: e.Seq, kind: kRecvDgram, op: "recvfrom", auto: true, sock: sv,
			got: e.Data, gotPeer: e.Peer, n: len(e.Data)})
		return
	}
	if p, ok := w.streams[sv]; ok {
		p.got = append(p.got, e.Data...)
		p.n = len(p.got)
		return
	}
	p := &stmt{seq: e.Seq, kind: kRecvAll, op: "recv", auto: true, sock: sv, got: append([]byte(nil), e.Data...), n: len(e.Data)}
	w.streams[sv] = p
	w.pending = append(w.pending, p)
}

// state follows a socket's state: its mode, its address, its end, and a
// live socket's end-of-stream, which live mode read.
func (w *walker) state(e *session.Event) {
	sv, ok := w.socks[e.Sock]
	if !ok {
		return
	}
	sv.step = e.Mode == "step"
	if local, err := netip.ParseAddrPort(e.Local); err == nil && !sv.local.IsValid() {
		sv.local = local
		if sv.kernelPort && (e.State == session.StateBound || e.State == session.StateListening) {
			w.bound[local] = sv
		}
	}
	switch e.State {
	case session.StateConnecting:
		if d := sv.dialing; d != nil && d.to.ip == "" {
			d.to.ip = hostOf(e.Addr)
		}
	case session.StateClosed, session.StateFailed:
		sv.gone = true
		if sv.local.IsValid() && w.bound[sv.local] == sv {
			delete(w.bound, sv.local)
		}
	case session.StateHalfClosed:
		if e.Half != "read" || sv.step || sv.absent != "" {
			return // not live mode's read, or a socket the program has not
		}
		if sv.readShut {
			sv.readShut = false
			return
		}
		w.pending = append(w.pending, &stmt{seq: e.Seq, kind: kRecvEOF, op: "recv", auto: true, sock: sv})
	}
}

// sockName is the variable a statement is about, or "a socket".
func (st *stmt) sockName() string {
	if st.sock == nil {
		return "a socket"
	}
	return st.sock.name
}

// familyOf is a live call's address family: as asked, or as its host is
// written.
func familyOf(host, family string) string {
	if family == "ip4" || family == "ip6" {
		return family
	}
	if strings.Contains(host, ":") {
		return "ip6"
	}
	return "ip4"
}

// hostOf is the host of "host:port" ("[::1]:80" gives "::1").
func hostOf(addr string) string {
	h, _, ok := splitHostPort(addr)
	if !ok {
		return ""
	}
	return h
}

func splitHostPort(addr string) (string, int, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", 0, false
	}
	return ap.Addr().Unmap().String(), int(ap.Port()), true
}

// hostPort is host and port as one address: 127.0.0.1:80, [::1]:80.
func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
