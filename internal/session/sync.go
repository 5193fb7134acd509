package session

import (
	"maps"
	"net"
	"slices"
	"strconv"
)

// SockState is what a socket had become by some point of the log: the
// view a reader that missed the events before that point needs to carry on
// from it (docs/protocol.md §15.3, the sync message). It is folded from the
// events themselves, as any view of the log is.
type SockState struct {
	Sock    int            `json:"sock"`
	Kind    string         `json:"kind,omitempty"`
	State   string         `json:"state,omitempty"`
	Mode    string         `json:"mode,omitempty"`
	Family  string         `json:"family,omitempty"`
	Local   string         `json:"local,omitempty"`
	Remote  string         `json:"remote,omitempty"`
	Parent  int            `json:"parent,omitempty"`
	Target  string         `json:"target,omitempty"`
	Half    []string       `json:"half,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Knobs   *Knobs         `json:"knobs,omitempty"`
	Backlog int            `json:"backlog,omitempty"`
	Options map[string]int `json:"options,omitempty"`
	Timeout *SockTimeout   `json:"timeout,omitempty"`
	Rules   []SockRule     `json:"rules,omitempty"`  // responders (protocol.md §16.3), by number
	Groups  []SockGroup    `json:"groups,omitempty"` // multicast groups joined (protocol.md §16.5), in order
	// TLS is what a TLS connect negotiated (protocol.md §16.4).
	TLS *TLSInfo `json:"tls,omitempty"`
	// Repeating is the seq of the call of the repeat running on the
	// socket (protocol.md §16.2), 0 if none.
	Repeating uint64 `json:"repeating,omitempty"`

	InBytes  int64 `json:"in_bytes,omitempty"`
	InMsgs   int64 `json:"in_msgs,omitempty"`
	OutBytes int64 `json:"out_bytes,omitempty"`
	OutMsgs  int64 `json:"out_msgs,omitempty"`

	TCP *TCPStats `json:"tcp,omitempty"`
}

// SockTimeout is a socket's timeout as its last settimeout set it.
type SockTimeout struct {
	How string `json:"how"`
	MS  int    `json:"timeout_ms,omitempty"`
}

// SockRule is a responder rule as its respond call spelled it.
type SockRule struct {
	Rule    int     `json:"rule"`
	Match   string  `json:"match"`
	Pattern Spelled `json:"pattern"`
	Reply   Spelled `json:"reply"`
}

// SockGroup is a multicast group a socket joined, and where.
type SockGroup struct {
	Group string `json:"group"`
	Iface string `json:"iface,omitempty"`
}

// Sockets folds events into the state of every socket they leave open.
// The zero value is empty and ready to use. It is not safe for concurrent
// use.
type Sockets struct {
	m    map[int]*SockState
	gone map[int]struct{} // closed or failed: a later call does not bring it back
	rule map[int]SockRule // by socket: the respond call its result will answer

	// By socket: the calls of its repeats not yet answered (repeat.go).
	rep map[int]repeatCall
}

// Fold applies e. Only a call and a state make a socket known, as for the
// page: a late event about a socket already gone does not bring it back.
func (t *Sockets) Fold(e *Event) {
	if e.Sock == 0 {
		return
	}
	s := t.m[e.Sock]
	if _, gone := t.gone[e.Sock]; s == nil && gone && e.Type == TypeCall {
		// A request naming a socket that ended gets a call (§5.4); the
		// page keeps the socket as it was, closed.
		return
	}
	if s == nil && (e.Type == TypeCall || e.Type == TypeState) {
		if t.m == nil {
			t.m = map[int]*SockState{}
		}
		s = &SockState{Sock: e.Sock}
		t.m[e.Sock] = s
	}
	if s == nil {
		return
	}
	if e.Op == "repeat" {
		t.repeat(s, e)
	}
	switch e.Type {
	case TypeCall:
		t.call(s, e)
	case TypeResult:
		t.result(s, e)
	case TypeState:
		if e.Kind != "" {
			s.Kind = e.Kind
		}
		s.State = e.State
		if e.Mode != "" {
			s.Mode = e.Mode
		}
		if e.Local != "" {
			s.Local = e.Local
		}
		if e.Remote != "" {
			s.Remote = e.Remote
		}
		if e.Parent != 0 && s.Parent == 0 {
			s.Parent = e.Parent
		}
		if e.Half != "" && !slices.Contains(s.Half, e.Half) {
			s.Half = append(s.Half, e.Half)
			slices.Sort(s.Half)
		}
		s.Reason = e.Reason
		if e.State == StateClosed || e.State == StateFailed {
			delete(t.m, e.Sock)
			delete(t.rule, e.Sock)
			delete(t.rep, e.Sock)
			if t.gone == nil {
				t.gone = map[int]struct{}{}
			}
			t.gone[e.Sock] = struct{}{}
		}
	case TypeSent:
		s.OutBytes += int64(e.Len)
		s.OutMsgs++
	case TypeData:
		s.InBytes += int64(e.Len)
		s.InMsgs++
	case TypeKernel:
		if e.TCP != nil {
			k := *e.TCP
			s.TCP = &k
		}
	}
}

func (t *Sockets) call(s *SockState, e *Event) {
	switch e.Op {
	case "connect":
		if s.Kind == "" {
			s.Kind = KindTCP
		}
		if s.State == "" {
			s.State = StateConnecting
		}
		if e.Host != "" {
			s.Target = net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
		}
	case "listen":
		if s.Kind == "" {
			s.Kind = KindTCPListener
		}
	case "bind":
		if s.Kind == "" {
			s.Kind = KindUDP
		}
	case "proxy":
		if s.Kind == "" {
			s.Kind = KindTCPProxy
			if e.Proto == "udp" {
				s.Kind = KindUDPProxy
			}
		}
		s.Target = e.Target
	case "socket":
		s.Mode = "step"
		s.Family = e.Family
		if s.Family == "" {
			s.Family = "ip4"
		}
	case "respond":
		// Its result, with the rule's number, follows before any other
		// respond on the socket (the session logs both under one lock).
		r := SockRule{Match: e.Match}
		if e.Pattern != nil {
			r.Pattern = *e.Pattern
		}
		if e.Reply != nil {
			r.Reply = *e.Reply
		}
		if t.rule == nil {
			t.rule = map[int]SockRule{}
		}
		t.rule[e.Sock] = r
	}
}

func (t *Sockets) result(s *SockState, e *Event) {
	if e.Local != "" {
		s.Local = e.Local
	}
	if e.Remote != "" && e.Op != "accept" {
		s.Remote = e.Remote
	}
	switch e.Op {
	case "connect":
		if e.TLS != nil {
			s.TLS = e.TLS // events are immutable: it can be shared
		}
	case "proxy", "proxy_set":
		k := Knobs{}
		if e.Knobs != nil {
			k = *e.Knobs
		}
		s.Knobs = &k
	case "settimeout":
		how := e.How
		if how == "" {
			how = "blocking"
		}
		s.Timeout = &SockTimeout{How: how, MS: e.Timeout}
	case "setsockopt":
		if e.Option == "" {
			break
		}
		v := 0
		if e.Actual != nil {
			v = *e.Actual
		} else if e.Value != nil {
			v = *e.Value
		}
		if s.Options == nil {
			s.Options = map[string]int{}
		}
		s.Options[e.Option] = v
	case "listen":
		if e.Backlog != 0 {
			s.Backlog = e.Backlog
		}
	case "respond":
		if r, ok := t.rule[e.Sock]; ok && e.Rule > 0 {
			r.Rule = e.Rule
			s.Rules = append(s.Rules, r)
			delete(t.rule, e.Sock)
		}
	case "unrespond":
		s.Rules = slices.DeleteFunc(s.Rules, func(r SockRule) bool { return r.Rule == e.Rule })
	case "join":
		s.Groups = append(s.Groups, SockGroup{Group: e.Group, Iface: e.Iface})
	case "leave":
		s.Groups = slices.DeleteFunc(s.Groups, func(g SockGroup) bool { return g == SockGroup{Group: e.Group, Iface: e.Iface} })
	}
}

// List returns a copy of every socket's state, by socket id.
func (t *Sockets) List() []SockState {
	out := make([]SockState, 0, len(t.m))
	for _, s := range t.m {
		c := *s
		c.Half = slices.Clone(s.Half)
		c.Options = maps.Clone(s.Options)
		c.Rules = slices.Clone(s.Rules)
		c.Groups = slices.Clone(s.Groups)
		if s.Knobs != nil {
			k := *s.Knobs
			c.Knobs = &k
		}
		if s.Timeout != nil {
			to := *s.Timeout
			c.Timeout = &to
		}
		if s.TCP != nil {
			k := *s.TCP
			c.TCP = &k
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b SockState) int { return a.Sock - b.Sock })
	return out
}
