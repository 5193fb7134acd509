package session

import (
	"time"
	"unsafe"
)

// Type names what an Event records. The values are part of the protocol
// (docs/protocol.md) and must not change.
type Type string

const (
	// TypeCall records an operation as it was asked for, before it runs.
	TypeCall Type = "call"
	// TypeResult records that an operation succeeded.
	TypeResult Type = "result"
	// TypeError records that an operation or a request failed.
	TypeError Type = "error"
	// TypeState records a socket's change of state.
	TypeState Type = "state"
	// TypeSent records bytes handed to the kernel by send or sendto; it is
	// the result of that call and carries the exact bytes.
	TypeSent Type = "sent"
	// TypeData records bytes received; it carries the exact bytes and, for
	// UDP, the sender's address in Peer.
	TypeData Type = "data"
	// TypeRelay records what a bad-network proxy did with the traffic
	// through it: a chunk forwarded (with its bytes), dropped or held, a
	// connection opening, finishing or being reset. Relay says which.
	TypeRelay Type = "relay"
	// TypeBlocked records that a step-mode call has started waiting in the
	// kernel; the call's answer comes later.
	TypeBlocked Type = "blocked"
	// TypeKernel records what the kernel says about a TCP socket: its TCP
	// state and numbers (TCP), sampled while they change, and after the
	// session closed the socket, while the kernel still holds it.
	TypeKernel Type = "kernel"
	// TypeLesson records a guided lesson being started or stopped, and the
	// progress its check sees in the events since it started (Lesson).
	TypeLesson Type = "lesson"
	// TypeAnswer records a learner's answer to a lesson's question, for the
	// lesson's check to judge.
	TypeAnswer Type = "answer"
)

// Socket kinds, as reported in Event.Kind.
const (
	KindTCP         = "tcp"          // a connected TCP stream
	KindTCPListener = "tcp-listener" // a listening TCP socket
	KindUDP         = "udp"          // a UDP socket
	KindTCPProxy    = "tcp-proxy"    // a bad-network proxy for TCP
	KindUDPProxy    = "udp-proxy"    // a bad-network proxy for UDP
)

// Socket states, as reported in Event.State.
const (
	StateCreated     = "created" // step mode: socket() made it; not bound or connected
	StateConnecting  = "connecting"
	StateHandshaking = "handshaking" // a TLS connect: the TCP connection is up, the TLS handshake under way
	StateEstablished = "established"
	StateListening   = "listening"
	StateBound       = "bound"    // UDP; and a step-mode TCP socket bound but not yet listening or connected
	StateProxying    = "proxying" // a proxy that listens and forwards
	StateHalfClosed  = "half-closed"
	StateClosed      = "closed" // closed by the person (or the session ending)
	StateFailed      = "failed" // ended by an error: refused, reset, ...
)

// Event is one entry of a session's log. Fields that do not apply are left
// at their zero value and omitted from JSON; docs/protocol.md says which
// fields each Type carries. An Event is immutable once appended.
type Event struct {
	Seq  uint64 `json:"seq"`
	T    int64  `json:"t"` // microseconds since the Unix epoch
	Type Type   `json:"type"`
	Sock int    `json:"sock,omitempty"`
	ID   string `json:"id,omitempty"` // the request id this event answers
	Op   string `json:"op,omitempty"`
	Auto bool   `json:"auto,omitempty"` // done by live mode, not asked for

	Kind   string `json:"kind,omitempty"`
	Parent int    `json:"parent,omitempty"` // the listener of an accepted socket; a responder's firing: the listener whose rule fired
	Child  int    `json:"child,omitempty"`  // the socket an accept created
	State  string `json:"state,omitempty"`
	Mode   string `json:"mode,omitempty"` // "step" for a step-mode socket; absent for live
	Half   string `json:"half,omitempty"` // "read" or "write": the side that is shut
	Reason string `json:"reason,omitempty"`

	Host    string   `json:"host,omitempty"`
	Port    int      `json:"port,omitempty"`
	Family  string   `json:"family,omitempty"`
	Timeout int      `json:"timeout_ms,omitempty"`
	How     string   `json:"how,omitempty"`
	Now     bool     `json:"now,omitempty"`   // close without waiting for queued sends
	Addrs   []string `json:"addrs,omitempty"` // what Host resolved to
	Addr    string   `json:"addr,omitempty"`  // the resolved address used
	Local   string   `json:"local,omitempty"`
	Remote  string   `json:"remote,omitempty"`
	Peer    string   `json:"peer,omitempty"` // UDP: a datagram's sender or destination; relay: the client
	Len     int      `json:"len,omitempty"`

	Option   string    `json:"option,omitempty"`       // setsockopt: the option's C name
	Value    *int      `json:"value,omitempty"`        // setsockopt: the value asked for
	Actual   *int      `json:"actual,omitempty"`       // setsockopt: the value getsockopt reads back
	Backlog  int       `json:"backlog,omitempty"`      // listen (step): the backlog used
	N        int       `json:"n,omitempty"`            // recv, recvfrom (step): the most bytes asked for
	EOF      bool      `json:"eof,omitempty"`          // recv (step): returned 0 bytes, the peer's end-of-stream
	DgramLen int       `json:"datagram_len,omitempty"` // recvfrom (step): a truncated datagram's real length
	TCP      *TCPStats `json:"tcp,omitempty"`          // kernel: the kernel's view

	Proto  string `json:"proto,omitempty"`  // proxy: "tcp" or "udp"
	Target string `json:"target,omitempty"` // proxy: where it forwards, as asked
	Knobs  *Knobs `json:"knobs,omitempty"`  // proxy: its knobs
	Conns  int    `json:"conns,omitempty"`  // proxy_reset: how many connections were reset
	Conn   int    `json:"conn,omitempty"`   // relay: the connection through the proxy, from 1
	Relay  string `json:"relay,omitempty"`  // relay: open, chunk, drop, hold, fin, close, reset, error
	Dir    string `json:"dir,omitempty"`    // relay: "to-target" or "to-client"
	Delay  int64  `json:"delay_us,omitempty"`

	Lesson *Lesson `json:"lesson,omitempty"` // lesson, answer

	// The toolkit (protocol.md §16).
	TLS      *TLSInfo `json:"tls,omitempty"`         // connect: asked for (call), negotiated (result), the chain (error)
	Template string   `json:"template,omitempty"`    // call of send, sendto, repeat, a responder's firing: the template's text
	Count    int      `json:"count,omitempty"`       // repeat: sends asked for (call; 0: until stopped), sends done (answer)
	Interval int      `json:"interval_ms,omitempty"` // repeat: from one send's start to the next's
	Repeat   int      `json:"repeat,omitempty"`      // sent: which send of a repeat, from 1
	Rule     int      `json:"rule,omitempty"`        // respond, unrespond, a responder's firing: the rule's number
	Cause    uint64   `json:"cause,omitempty"`       // a responder's firing: the seq of the data event it matched
	Match    string   `json:"match,omitempty"`       // respond: contains, equals or regex
	Pattern  *Spelled `json:"pattern,omitempty"`     // respond: the pattern, as the request spelled it
	Reply    *Spelled `json:"reply,omitempty"`       // respond: the reply, as the request spelled it
	Group    string   `json:"group,omitempty"`       // join, leave: the multicast group
	Iface    string   `json:"iface,omitempty"`       // join, leave, setsockopt IP_MULTICAST_IF: the interface

	Code    Code   `json:"code,omitempty"`
	Errno   string `json:"errno,omitempty"`
	Message string `json:"message,omitempty"`

	// Data is the exact bytes of a sent, data or relay event. Encoders carry it
	// outside the JSON header (see internal/bridge).
	Data []byte `json:"-"`

	// Origin identifies the connection whose request caused the event (0 for
	// none), so that connection need not be sent back bytes it sent itself.
	Origin uint64 `json:"-"`

	cum int64 // payload bytes in the log up to and including this event
}

// Lesson is what a lesson or answer event says.
type Lesson struct {
	ID     string `json:"id"`               // the lesson's name, e.g. "endpoint"
	Action string `json:"action,omitempty"` // lesson: start, progress or stop
	Step   int    `json:"step,omitempty"`   // answer: the step answered, from 1
	Answer string `json:"answer,omitempty"` // answer: what the learner said

	// Steps says, for a progress event, which steps are done and the event
	// that did each; Passed says every step is.
	Steps  []LessonStep `json:"steps,omitempty"`
	Passed bool         `json:"passed,omitempty"`
}

// LessonStep is one step's progress: done, and by which event.
type LessonStep struct {
	Done bool   `json:"done"`
	Seq  uint64 `json:"seq,omitempty"`
}

// Time returns the event's timestamp.
func (e *Event) Time() time.Time { return time.UnixMicro(e.T) }

// size is what an event costs the log's budget: about the memory it holds —
// the struct, its strings and its payload's backing array — so the window
// and the history bound memory, and a flood of small events is bounded too.
func (e *Event) size() int64 {
	n := eventOverhead + int64(cap(e.Data))
	if e.TCP != nil {
		n += int64(unsafe.Sizeof(TCPStats{}))
	}
	if e.Lesson != nil {
		n += int64(unsafe.Sizeof(Lesson{})) + int64(len(e.Lesson.Answer)) + 16*int64(len(e.Lesson.Steps))
	}
	n += e.TLS.size() + e.Pattern.size() + e.Reply.size()
	for _, s := range [...]string{e.ID, e.Host, e.Addr, e.Local, e.Remote, e.Peer, e.Reason, e.Message, e.Target, e.Template, e.Group, e.Iface} {
		n += int64(len(s))
	}
	for _, a := range e.Addrs {
		n += 16 + int64(len(a))
	}
	return n
}

// eventOverhead is an event's fixed cost: its struct (about 500 bytes).
const eventOverhead = int64(unsafe.Sizeof(Event{}))

// TCPStats is what the kernel says about one TCP socket (a kernel event).
// It is comparable, so a sample that changed nothing is not logged again.
type TCPStats struct {
	State   string `json:"state"` // as netstat spells it: "ESTABLISHED", "TIME_WAIT", ..., "CLOSED"
	RTT     int64  `json:"rtt_us,omitempty"`
	RTTVar  int64  `json:"rttvar_us,omitempty"`
	Cwnd    uint32 `json:"cwnd,omitempty"`
	Unacked uint32 `json:"unacked,omitempty"`
	Retrans uint32 `json:"retrans,omitempty"`
	Lost    uint32 `json:"lost,omitempty"`
	SendQ   int    `json:"send_q,omitempty"`
	RecvQ   int    `json:"recv_q,omitempty"` // a listener: connections in the accept queue
	Backlog int    `json:"backlog,omitempty"`
	TimerMS int64  `json:"timer_ms,omitempty"` // after close: time until the kernel lets it go
	Closed  bool   `json:"closed,omitempty"`   // the session closed it; the kernel still holds it
}
