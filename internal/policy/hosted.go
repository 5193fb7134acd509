package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// hosted is hosted mode's state. Everything above mu is set by Hosted and
// read-only after.
type hosted struct {
	first, last  uint16                      // the listener pool, inclusive
	services     map[netip.AddrPort]struct{} // unmapped, no zone
	serviceList  []netip.AddrPort            // the same, in Config order, for messages
	servicePorts map[uint16]struct{}         // ports of the loopback services
	allow        []Rule                      // the allowlist
	own          map[netip.Addr]struct{}     // this host's addresses, unmapped, no zone
	limits       Limits                      // defaults filled in
	burst        int64                       // the byte bucket's size; 0 when bytes are not paced
	now          func() time.Time            // the clock
	reach        string                      // what a session can reach, for messages

	mu       sync.Mutex               // guards ports and sessions, and every sessionState
	ports    map[uint16]string        // pool port -> the session holding it
	sessions map[string]*sessionState // by session id; made on first use, dropped by End
}

// sessionState is what hosted mode remembers about one session. Guarded by
// hosted.mu.
type sessionState struct {
	connects []time.Time                  // OpConnect checks in the last minute, oldest first
	targets  map[netip.AddrPort]time.Time // allowed targets -> last allowed use, within the hour
	peers    map[netip.AddrPort]struct{}  // allowed connect targets and accepted remotes: OpSend reaches them
	bytes    int64                        // bytes sent and received
	held     map[uint16]int               // pool ports this session holds, and how many reservations each has
	tokens   float64                      // the byte bucket; negative is debt
	filled   time.Time                    // when tokens was last brought up to date
	primed   bool                         // the bucket has been filled once
}

// session returns the state of session id, making it on first use.
// h.mu must be held.
func (h *hosted) session(id string) *sessionState {
	s := h.sessions[id]
	if s == nil {
		s = &sessionState{
			targets: make(map[netip.AddrPort]time.Time),
			peers:   make(map[netip.AddrPort]struct{}),
			held:    make(map[uint16]int),
		}
		h.sessions[id] = s
	}
	return s
}

func (h *hosted) inPool(port uint16) bool { return port >= h.first && port <= h.last }

func deny(a Action, rule, reason string) *Denied {
	return &Denied{Action: a, Rule: rule, Reason: reason}
}

func (h *hosted) check(a Action) *Denied {
	switch a.Op {
	case OpRecv:
		return h.recv(a)
	case OpSocket:
		return nil // counted by the session's socket limit
	case OpSetsockopt:
		switch a.Option {
		case "SO_BROADCAST":
			return deny(a, "broadcast", "hosted mode sends no broadcasts, so SO_BROADCAST stays off")
		case "IP_MULTICAST_TTL", "IP_MULTICAST_LOOP", "IP_MULTICAST_IF":
			return deny(a, "multicast", fmt.Sprintf("hosted mode sends no multicast, so %s stays as the kernel set it; run the playground on your own machine (local mode) to try multicast", a.Option))
		}
		return nil
	case OpJoin:
		group := "a multicast group"
		if a.Addr.IsValid() {
			group = "multicast group " + a.Addr.Addr().String()
		}
		return deny(a, "multicast", fmt.Sprintf("hosted mode joins no multicast groups (%s): a join would announce the server on its own network and let a stranger hear that network's traffic; run the playground on your own machine (local mode) to try multicast", group))
	}
	if !a.Addr.IsValid() {
		return deny(a, "no_address", fmt.Sprintf("%s needs an address", a.Op))
	}
	switch a.Op {
	case OpConnect, OpSendTo:
		return h.checkTarget(a)
	case OpSend:
		return h.checkSend(a)
	case OpListen, OpBind:
		return h.checkListen(a)
	case OpAccept:
		return h.checkAccept(a)
	}
	return deny(a, "not_allowed", fmt.Sprintf("hosted mode does not know the operation %q", a.Op))
}

// checkTarget is OpConnect and OpSendTo: rates, then where, then (sendto)
// the byte quota.
func (h *hosted) checkTarget(a Action) *Denied {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(a.Session)
	now := h.now()
	t := newTarget(a.Addr.Addr())
	key := netip.AddrPortFrom(t.addr, a.Addr.Port())
	if a.Op == OpConnect {
		if d := h.connectRate(a, s, now); d != nil {
			return d
		}
	}
	if d := h.targetRate(a, s, key, now); d != nil {
		return d
	}
	if d := h.reachable(a, t, s, false); d != nil {
		return d
	}
	if a.Op == OpSendTo {
		if d := h.spend(a, s); d != nil {
			return d
		}
	}
	if h.limits.TargetsPerHour >= 0 {
		s.targets[key] = now
	}
	if a.Op == OpConnect {
		s.peers[key] = struct{}{}
	}
	return nil
}

// checkSend is OpSend on a connected socket: the peer must still be one a
// session may reach, then the byte quota.
func (h *hosted) checkSend(a Action) *Denied {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(a.Session)
	if d := h.reachable(a, newTarget(a.Addr.Addr()), s, true); d != nil {
		return d
	}
	return h.spend(a, s)
}

// reachable applies the address rules to a target, in order: services,
// loopback, the always-refused classes, the allowlist, the other classes.
// send relaxes loopback (and remembers peers) for a connection already made.
// h.mu must be held.
func (h *hosted) reachable(a Action, t target, s *sessionState, send bool) *Denied {
	port := a.Addr.Port()
	key := netip.AddrPortFrom(t.addr, port)
	if _, ok := h.services[key]; ok {
		return nil
	}
	if t.eff == loopbackBroadcast {
		return deny(a, "broadcast", h.subject(a, t)+" is the loopback network's broadcast address"+h.paren(t, nil)+"; hosted mode sends only to single hosts")
	}
	if t.addr.IsLoopback() {
		if send {
			_, svc := h.servicePorts[port]
			_, peer := s.peers[key]
			if svc || peer || h.inPool(port) {
				return nil
			}
		} else if _, held := h.ports[port]; held {
			return nil
		}
		return deny(a, "loopback_port", h.loopbackReason(a, t, port))
	}
	if t.isNAT64() && t.eff.IsLoopback() {
		return deny(a, "loopback_port", fmt.Sprintf("%s is the loopback address %s written as NAT64 (%s); hosted mode reaches loopback only at 127.0.0.1 or ::1: %s",
			t.given, t.eff, t.via, h.reach))
	}
	if d := h.forbidden(a, t, port); d != nil {
		return d
	}
	cls := classify(t.eff, h.own)
	if h.allowed(a, t, cls, port) {
		return nil
	}
	if send {
		if _, ok := s.peers[key]; ok {
			return nil
		}
	}
	if cls != nil {
		var note string
		if h.namedByHostRule(a.Host, port) {
			note = fmt.Sprintf("; the allowlist names %s, but a name on it never reaches a non-public address", normHost(a.Host))
		}
		return deny(a, cls.rule, h.subject(a, t)+" is "+cls.what+h.paren(t, cls)+note+"; "+h.reach)
	}
	name := t.given.String()
	if a.Host != "" && normHost(a.Host) != name {
		name = fmt.Sprintf("%s (%s)", a.Host, t.given)
	}
	return deny(a, "not_allowed", fmt.Sprintf("%s port %d is not on this server's allowlist; %s", name, port, h.reach))
}

// forbidden are the classes refused whatever the allowlist says.
func (h *hosted) forbidden(a Action, t target, port uint16) *Denied {
	subj := h.subject(a, t)
	switch {
	case t.eff.IsUnspecified():
		return deny(a, "unspecified", subj+" is the unspecified address"+h.paren(t, nil)+
			", which as a destination means this host itself; use 127.0.0.1 or ::1 to reach the built-in services and the listener pool")
	case isMulticast(t.eff):
		p := multicast[0]
		if t.eff.Is6() {
			p = multicast[1]
		}
		return deny(a, "multicast", subj+" is a multicast address"+h.paren(t, &addrClass{prefix: p})+"; hosted mode sends only to single hosts")
	case t.eff == broadcast:
		return deny(a, "broadcast", subj+" is the broadcast address"+h.paren(t, nil)+"; hosted mode sends only to single hosts")
	}
	if what, ok := metadata[t.eff]; ok {
		return deny(a, "metadata", subj+" is "+what+h.paren(t, nil)+"; hosted mode never reaches it, whatever the allowlist says")
	}
	if smtpPorts[port] {
		return deny(a, "smtp", fmt.Sprintf("%s port %d is a mail (SMTP) port; hosted mode never sends mail, so ports 25, 465 and 587 are refused on every address, whatever the allowlist says",
			t.given, port))
	}
	return nil
}

// allowed reports whether an allowlist rule lets a session reach t at port.
// A host rule needs the typed name and a public address; a prefix rule
// needs the address in its prefix, and reaches a non-public address only if
// the whole prefix lies inside that address's range (so 0.0.0.0/0 does not
// open private networks, but 10.1.0.0/16 opens itself) and not through
// NAT64.
func (h *hosted) allowed(a Action, t target, cls *addrClass, port uint16) bool {
	host := normHost(a.Host)
	for _, r := range h.allow {
		if !r.hasPort(port) {
			continue
		}
		switch {
		case r.host != "":
			if cls == nil && host != "" && host == r.host {
				return true
			}
		case cls == nil:
			if r.prefix.Contains(t.addr) || t.isNAT64() && r.prefix.Contains(t.eff) {
				return true
			}
		case !t.isNAT64() && r.prefix.Contains(t.addr) && within(r.prefix, cls.prefix):
			return true
		}
	}
	return false
}

func (h *hosted) namedByHostRule(host string, port uint16) bool {
	host = normHost(host)
	for _, r := range h.allow {
		if host != "" && r.host == host && r.hasPort(port) {
			return true
		}
	}
	return false
}

// subject names what the person asked for, to begin a sentence that goes
// on with " is …": "10.0.0.5", or "example.com resolved to 10.0.0.5, which".
func (h *hosted) subject(a Action, t target) string {
	if a.Host != "" && normHost(a.Host) != t.given.String() {
		return fmt.Sprintf("%s resolved to %s, which", a.Host, t.given)
	}
	return t.given.String()
}

// paren is the parenthesis after a class: its range, and the NAT64 detail.
func (h *hosted) paren(t target, cls *addrClass) string {
	var parts []string
	if cls != nil && cls.prefix.IsValid() && !cls.prefix.IsSingleIP() {
		parts = append(parts, cls.prefix.String())
	}
	if t.isNAT64() {
		parts = append(parts, fmt.Sprintf("as NAT64 of %s through %s", t.eff, t.via))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (h *hosted) loopbackReason(a Action, t target, port uint16) string {
	var b strings.Builder
	if a.Host != "" && normHost(a.Host) != t.given.String() {
		fmt.Fprintf(&b, "%s resolved to %s; ", a.Host, t.given)
	}
	if h.inPool(port) {
		fmt.Fprintf(&b, "%s port %d is in the listener pool, but no session is listening there now", t.given, port)
	} else {
		fmt.Fprintf(&b, "%s port %d is neither a built-in service nor a listener pool port", t.given, port)
	}
	b.WriteString("; on loopback, hosted mode reaches ")
	if len(h.serviceList) > 0 {
		b.WriteString("the built-in services (")
		for i, s := range h.serviceList {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.String())
		}
		b.WriteString(") and ")
	} else {
		b.WriteString("only ")
	}
	fmt.Fprintf(&b, "listeners in the pool (ports %d–%d)", h.first, h.last)
	return b.String()
}

// checkListen is OpListen and OpBind: the address must be loopback and its
// port one this session reserved.
func (h *hosted) checkListen(a Action) *Denied {
	if d := notLoopback(a); d != nil {
		return d
	}
	if a.Addr.Addr().Unmap() == loopbackBroadcast {
		return deny(a, "broadcast", "127.255.255.255 is the loopback network's broadcast address: a socket bound to it receives broadcasts, which hosted mode does not carry; bind 127.0.0.1")
	}
	port := a.Addr.Port()
	h.mu.Lock()
	defer h.mu.Unlock()
	holder, held := h.ports[port]
	switch {
	case held && holder == a.Session:
		return nil
	case !h.inPool(port):
		return h.outsidePool(a, port)
	case held:
		return h.portTaken(a, port)
	}
	return deny(a, "outside_pool", fmt.Sprintf("port %d is in the listener pool but this session has not reserved it; listen on port 0 for a free pool port", port))
}

// checkAccept is OpAccept: hosted listeners are on loopback, so every
// connection they accept comes from loopback; anything else is refused.
func (h *hosted) checkAccept(a Action) *Denied {
	t := a.Addr.Addr().Unmap().WithZone("")
	if !t.IsLoopback() {
		return deny(a, "not_loopback", fmt.Sprintf("a connection from %s was refused: hosted listeners accept only loopback connections", a.Addr.Addr()))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.session(a.Session).peers[netip.AddrPortFrom(t, a.Addr.Port())] = struct{}{}
	return nil
}

// notLoopback refuses a listen or bind address that is not loopback.
func notLoopback(a Action) *Denied {
	addr := a.Addr.Addr().Unmap()
	switch {
	case addr.IsLoopback():
		return nil
	case addr.IsUnspecified():
		return deny(a, "not_loopback", fmt.Sprintf("%s means every interface; hosted mode listens only on loopback: use 127.0.0.1 or ::1", a.Addr.Addr()))
	}
	return deny(a, "not_loopback", fmt.Sprintf("%s is not a loopback address; hosted mode listens only on loopback: use 127.0.0.1 or ::1", a.Addr.Addr()))
}

func (h *hosted) outsidePool(a Action, port uint16) *Denied {
	return deny(a, "outside_pool", fmt.Sprintf("port %d is outside the listener pool (ports %d–%d); listen on port 0 for a free pool port, or choose one inside the pool",
		port, h.first, h.last))
}

func (h *hosted) portTaken(a Action, port uint16) *Denied {
	return deny(a, "port_taken", fmt.Sprintf("port %d is held by another session; listen on port 0 for a free pool port (%d–%d)", port, h.first, h.last))
}
