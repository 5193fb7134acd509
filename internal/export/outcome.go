package export

import (
	"fmt"
	"net/netip"
	"time"
)

// dialect is how one language writes the values an outcome comment shows.
type dialect interface {
	bytes(b []byte) string    // received bytes: b'hel' or "hel"
	addr(a string) string     // an address: ('127.0.0.1', 80) or 127.0.0.1:80
	failure(f failure) string // an error as the language reports it
}

// outcome is the comment that says how a statement's call ended in the
// session: "→ b'hel'", "→ ConnectionRefusedError: …", "not done: …".
func outcome(st *stmt, d dialect) string {
	var s string
	switch st.status {
	case stFailed:
		s = "→ " + d.failure(st.fail)
	case stNotDone:
		return "not done: " + comment(st.why)
	case stCancelled:
		return "cancelled: " + comment(st.why)
	case stBlocked:
		return "blocked: waiting in the kernel, with no answer in the log yet"
	case stPending:
		s = "no answer in the log yet"
	default:
		s = success(st, d)
	}
	if st.waited >= 50*time.Millisecond {
		s = join(s, fmt.Sprintf("after %s blocked", seconds(st.waited)))
	}
	if st.auto {
		s = join(autoText(st), s)
	}
	if st.kind == kSend || st.kind == kSendTo {
		if !st.known && st.status != stOK {
			s = join(s, fmt.Sprintf("the log has no copy of the %d bytes: none were sent", st.size))
		}
	}
	if st.to != nil && st.to.proxy != "" {
		s = join(s, "the session went through its proxy on "+comment(st.to.proxy))
	}
	return s
}

// success is what a successful call returned, where that is worth saying.
func success(st *stmt, d dialect) string {
	switch st.kind {
	case kSetsockopt:
		if st.actual != nil && *st.actual != st.value {
			return fmt.Sprintf("getsockopt reads back %d", *st.actual)
		}
	case kBind, kUDP:
		if st.to != nil && st.to.port == 0 && st.local != "" {
			return "bound to " + d.addr(st.local)
		}
	case kServe, kListen:
		if st.local != "" {
			return "listening on " + d.addr(st.local)
		}
	case kDial, kConnect:
		s := ""
		if st.local != "" {
			s = "connected from " + d.addr(st.local)
		}
		if t := st.tlsGot; t != nil {
			s = join(s, join(t.Version+" "+t.Cipher, ifNot(t.ALPN, "ALPN "+t.ALPN)))
		}
		return s
	case kJoin:
		if st.iface != "" {
			return st.group + " on " + st.iface
		}
	case kAccept:
		if st.remote != "" {
			return "→ a connection from " + d.addr(st.remote)
		}
	case kRecv:
		if st.eof || len(st.got) == 0 {
			return "→ 0 bytes: the peer has finished sending"
		}
		return "→ " + d.bytes(st.got)
	case kRecvFrom, kRecvDgram:
		s := "→ " + d.bytes(st.got) + " from " + d.addr(st.gotPeer)
		if st.dgramLen > len(st.got) {
			s += fmt.Sprintf(" (cut: the datagram had %d bytes; the rest are lost)", st.dgramLen)
		}
		return s
	case kRecvAll:
		return fmt.Sprintf("→ %d bytes: %s", len(st.got), d.bytes(st.got))
	case kSend, kSendTo:
		if st.kind == kSendTo || st.step {
			if st.sent < st.size {
				return fmt.Sprintf("→ %d (the kernel took %d of %d bytes)", st.sent, st.sent, st.size)
			}
			return fmt.Sprintf("→ %d", st.sent)
		}
	case kClose:
		if st.now {
			return "at once: what waited to be sent is dropped"
		}
	}
	return ""
}

// autoText says what live mode did by itself.
func autoText(st *stmt) string {
	switch st.kind {
	case kAccept:
		return "live mode accepted this by itself"
	case kClose:
		if st.note == "session ended" {
			return "closed as the session ended"
		}
		if st.note != "" {
			return "live mode closed it by itself: " + comment(st.note)
		}
		return "live mode closed it by itself"
	case kRecvAll, kRecvDgram:
		return "live mode read this by itself"
	case kRecvEOF:
		return "live mode read end-of-file by itself: the peer finished sending"
	case kRecvError:
		return "live mode's read failed"
	case kSend, kSendTo:
		if st.firing != nil {
			return "a responder sent this by itself"
		}
	}
	return "live mode did this by itself"
}

// ifNot is s unless v is empty.
func ifNot(v, s string) string {
	if v == "" {
		return ""
	}
	return s
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// seconds formats d for a person: "2.4 s", "150 ms".
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// pyAddr is an address as Python shows one: ('127.0.0.1', 80), or for
// IPv6 ('::1', 80, 0, 0).
func pyAddr(a string) string {
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		return pyStr(a)
	}
	if ap.Addr().Is6() {
		return fmt.Sprintf("('%s', %d, 0, 0)", ap.Addr(), ap.Port())
	}
	return fmt.Sprintf("('%s', %d)", ap.Addr(), ap.Port())
}
