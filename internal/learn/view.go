package learn

import (
	"slices"

	"github.com/socketplayground/playground/internal/session"
)

// View is what a lesson's check reads: a session's sockets as its events
// tell them, and the events since the lesson started. Events before the
// start only describe sockets that already existed (so a lesson can use a
// connection opened earlier); what counts as done must come after Start.
//
// A View is built one event at a time, in log order (Add), so a running
// lesson adds only what happened since the last check, and a recorded log
// is checked by adding its events. A check reads the whole view each time
// the tracker runs it, so it must cost time in proportion to the events,
// never their square (TestCheckCost).
type View struct {
	Start   uint64           // the seq of the lesson's start event (0: the log's start)
	Events  []*session.Event // the events after Start, lesson events left out
	Answers []*session.Event // the answer events after Start, for this lesson

	lesson string
	held   int // the payload bytes Events hold
	socks  map[int]*Sock
	ids    []int                   // socket ids in the order they first appeared
	calls  map[call]*session.Event // the calls after Start, by what answers them
}

// call is what names a call: the answers to it share its socket, request
// id and operation.
type call struct {
	sock   int
	id, op string
}

// MaxBytes is how many bytes of a TCP socket's stream each direction a View
// keeps for checks; lessons look at small, typed payloads.
const MaxBytes = 64 << 10

// Sock is one socket as the events tell it.
type Sock struct {
	ID     int
	Parent int    // the listener that accepted it
	Kind   string // session.KindTCP, KindTCPListener, KindUDP, ...
	Mode   string // "step" for a step-mode socket
	Family string
	Local  string // its own address, as the last state event said
	Remote string // its peer's address (TCP)
	State  string // the session's state for it now

	States []Mark // the session's states, in order
	TCP    []Mark // the kernel's TCP states, in order, repeats left out
	Opts   map[string]int

	// Sent and Received are the stream's bytes each way after Start, at
	// most MaxBytes each (TCP; UDP datagrams are in Datagrams).
	Sent, Received []byte
	Datagrams      []Datagram // UDP, after Start

	Backlog  int // step listen's backlog
	MaxQueue int // the most connections the kernel had in its accept queue
}

// Mark is a value seen at an event.
type Mark struct {
	Value string
	Seq   uint64
}

// Datagram is one UDP datagram sent or received.
type Datagram struct {
	Out  bool   // sent by this socket
	Peer string // the destination or the sender
	Data []byte
	Seq  uint64
	// Len is the datagram's real length when a step recvfrom cut it short.
	Len int
}

// NewView returns an empty view for lesson id, which started at seq start.
func NewView(id string, start uint64) *View {
	return &View{lesson: id, Start: start, socks: map[int]*Sock{}, calls: map[call]*session.Event{}}
}

// Sock returns socket id, or nil if no event has named it.
func (v *View) Sock(id int) *Sock { return v.socks[id] }

// Socks returns every socket in the order they first appeared.
func (v *View) Socks() []*Sock {
	out := make([]*Sock, 0, len(v.ids))
	for _, id := range v.ids {
		out = append(out, v.socks[id])
	}
	return out
}

// After reports whether seq is after the lesson started.
func (v *View) After(seq uint64) bool { return seq > v.Start }

// Add takes the next event of the log.
func (v *View) Add(e *session.Event) {
	if e.Type == session.TypeLesson {
		return
	}
	after := e.Seq > v.Start
	if after {
		if e.Type == session.TypeAnswer {
			if e.Lesson != nil && e.Lesson.ID == v.lesson {
				v.Answers = append(v.Answers, e)
			}
			return
		}
		v.Events = append(v.Events, e)
		v.held += len(e.Data)
		if e.Type == session.TypeCall {
			v.calls[call{e.Sock, e.ID, e.Op}] = e
		}
	}
	if e.Sock == 0 {
		return
	}
	s := v.socks[e.Sock]
	if s == nil {
		s = &Sock{ID: e.Sock}
		v.socks[e.Sock] = s
		v.ids = append(v.ids, e.Sock)
	}
	if e.Kind != "" {
		s.Kind = e.Kind
	}
	if e.Mode != "" {
		s.Mode = e.Mode
	}
	if e.Family != "" {
		s.Family = e.Family
	}
	switch e.Type {
	case session.TypeState:
		s.State = e.State
		s.States = append(s.States, Mark{e.State, e.Seq})
		if e.Local != "" {
			s.Local = e.Local
		}
		if e.Remote != "" {
			s.Remote = e.Remote
		}
		if e.Parent != 0 {
			s.Parent = e.Parent
		}
	case session.TypeKernel:
		if e.TCP == nil {
			break
		}
		if n := len(s.TCP); n == 0 || s.TCP[n-1].Value != e.TCP.State {
			s.TCP = append(s.TCP, Mark{e.TCP.State, e.Seq})
		}
		if s.Kind == session.KindTCPListener || e.TCP.State == "LISTEN" {
			s.MaxQueue = max(s.MaxQueue, e.TCP.RecvQ)
			if e.TCP.Backlog > 0 {
				s.Backlog = e.TCP.Backlog
			}
		}
	case session.TypeResult:
		switch e.Op {
		case "setsockopt":
			if e.Value != nil {
				if s.Opts == nil {
					s.Opts = map[string]int{}
				}
				s.Opts[e.Option] = *e.Value
			}
		case "listen":
			if e.Backlog > 0 {
				s.Backlog = e.Backlog
			}
		}
	case session.TypeSent, session.TypeData:
		if !after {
			break
		}
		out := e.Type == session.TypeSent
		if s.Kind == session.KindUDP {
			s.Datagrams = append(s.Datagrams, Datagram{Out: out, Peer: e.Peer, Data: e.Data, Seq: e.Seq, Len: e.DgramLen})
			break
		}
		if out {
			s.Sent = appendCapped(s.Sent, e.Data)
		} else {
			s.Received = appendCapped(s.Received, e.Data)
		}
	}
}

func appendCapped(b, data []byte) []byte {
	room := MaxBytes - len(b)
	if room <= 0 {
		return b
	}
	return append(b, data[:min(room, len(data))]...)
}

// Find returns the first event after Start for which f is true.
func (v *View) Find(f func(*session.Event) bool) *session.Event {
	if i := slices.IndexFunc(v.Events, f); i >= 0 {
		return v.Events[i]
	}
	return nil
}

// FindAll returns every event after Start for which f is true.
func (v *View) FindAll(f func(*session.Event) bool) []*session.Event {
	var out []*session.Event
	for _, e := range v.Events {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

// Call returns the call after Start that event e answers (a result,
// error, sent or data event of a request), or nil. What a request causes
// may be logged before its answer, never before its call: an echo's reply
// can come before the sent event of what it echoes.
func (v *View) Call(e *session.Event) *session.Event {
	if c := v.calls[call{e.Sock, e.ID, e.Op}]; c != nil && c.Seq < e.Seq {
		return c
	}
	return nil
}

// Answer returns the learner's latest answer to step (from 1), or nil.
func (v *View) Answer(step int) *session.Event {
	for i := len(v.Answers) - 1; i >= 0; i-- {
		if v.Answers[i].Lesson.Step == step {
			return v.Answers[i]
		}
	}
	return nil
}

// Saw returns the first mark after the lesson started with value want.
func Saw(marks []Mark, start uint64, want string) (Mark, bool) {
	for _, m := range marks {
		if m.Seq > start && m.Value == want {
			return m, true
		}
	}
	return Mark{}, false
}
