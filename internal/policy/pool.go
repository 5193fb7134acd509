package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// reserve hands a listen or bind a loopback pool port. The reservation is
// by port number, so it covers both address families.
func (h *hosted) reserve(a Action) (netip.AddrPort, *Denied) {
	if a.Op != OpListen && a.Op != OpBind {
		return netip.AddrPort{}, deny(a, "not_allowed", fmt.Sprintf("only listen and bind reserve a port, not %s", a.Op))
	}
	if !a.Addr.IsValid() {
		return netip.AddrPort{}, deny(a, "no_address", fmt.Sprintf("%s needs an address: use 127.0.0.1 or ::1", a.Op))
	}
	if d := notLoopback(a); d != nil {
		return netip.AddrPort{}, d
	}
	addr := a.Addr.Addr().Unmap().WithZone("")
	port := a.Addr.Port()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(a.Session)
	limit := h.limits.ListenersPerSession
	if port == 0 {
		if limit >= 0 && len(s.held) >= limit {
			return netip.AddrPort{}, h.tooManyListeners(a)
		}
		size := int(h.last) - int(h.first) + 1
		start := rand.IntN(size) // so sessions do not all crowd the first port
		for i := range size {
			p := uint16(int(h.first) + (start+i)%size)
			if _, taken := h.ports[p]; !taken {
				h.ports[p] = a.Session
				s.held[p] = 1
				return netip.AddrPortFrom(addr, p), nil
			}
		}
		return netip.AddrPort{}, deny(a, "pool_exhausted", fmt.Sprintf("all %d listener pool ports (%d–%d) are in use; close a listener or try again later",
			size, h.first, h.last))
	}
	if !h.inPool(port) {
		return netip.AddrPort{}, h.outsidePool(a, port)
	}
	if holder, taken := h.ports[port]; taken {
		if holder != a.Session {
			return netip.AddrPort{}, h.portTaken(a, port)
		}
		s.held[port]++
		return netip.AddrPortFrom(addr, port), nil
	}
	if limit >= 0 && len(s.held) >= limit {
		return netip.AddrPort{}, h.tooManyListeners(a)
	}
	h.ports[port] = a.Session
	s.held[port] = 1
	return netip.AddrPortFrom(addr, port), nil
}

func (h *hosted) tooManyListeners(a Action) *Denied {
	n := h.limits.ListenersPerSession
	return deny(a, "listeners", fmt.Sprintf("this session already holds %d listener ports, its limit; close a listener or bound socket first", n))
}

// release gives back one reservation of port by session, and frees the
// port when it was the last.
func (h *hosted) release(session string, port uint16) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[session]
	if s == nil || s.held[port] == 0 {
		return
	}
	if s.held[port]--; s.held[port] > 0 {
		return
	}
	delete(s.held, port)
	if h.ports[port] == session {
		delete(h.ports, port)
	}
}

// end frees a session's ports and forgets its counters.
func (h *hosted) end(session string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[session]
	if s == nil {
		return
	}
	for port := range s.held {
		if h.ports[port] == session {
			delete(h.ports, port)
		}
	}
	delete(h.sessions, session)
}
