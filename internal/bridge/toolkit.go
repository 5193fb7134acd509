package bridge

import (
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/socketplayground/playground/internal/session"
)

// toolkit decodes and checks the fields of the toolkit's operations
// (protocol.md §16). What depends on the socket is the session's to check.
func (r *Request) toolkit(w *wire) *session.Error {
	if w.TLS != nil {
		if r.Sock != 0 {
			return session.Errorf(session.CodeBadField, `a step-mode connect takes no "tls": TLS is live mode's (connect without "sock")`)
		}
		t := &session.TLSArgs{Verify: true}
		if w.TLS.SNI != nil {
			t.SNI = *w.TLS.SNI
			if !validHost(t.SNI) {
				return session.Errorf(session.CodeBadField, `"tls.sni" must be a server name (1–253 characters, no spaces), not %q`, t.SNI)
			}
		}
		if w.TLS.Verify != nil {
			t.Verify = *w.TLS.Verify
		}
		if w.TLS.ALPN != nil {
			if len(w.TLS.ALPN) < 1 || len(w.TLS.ALPN) > 8 {
				return session.Errorf(session.CodeBadField, `"tls.alpn" must list 1 to 8 protocols, not %d`, len(w.TLS.ALPN))
			}
			for _, p := range w.TLS.ALPN {
				if p == "" || len(p) > 255 {
					return session.Errorf(session.CodeBadField, `each of "tls.alpn" must be 1–255 bytes, such as "h2" or "http/1.1", not %q`, p)
				}
			}
			t.ALPN = append([]string(nil), w.TLS.ALPN...)
		}
		r.TLS = t
	}
	if w.Count != nil {
		if c := *w.Count; c < 0 || c > session.MaxRepeat {
			return session.Errorf(session.CodeBadField, `"count" must be between 1 and %d (or 0 or absent: until stopped), not %d`, session.MaxRepeat, c)
		}
		r.Count = int(*w.Count)
	}
	if w.Interval != nil {
		if i := *w.Interval; i < 0 || i > session.MaxInterval.Milliseconds() {
			return session.Errorf(session.CodeBadField, `"interval_ms" must be between 0 (as fast as flow control allows) and %d, not %d`, session.MaxInterval.Milliseconds(), i)
		}
		r.Interval = time.Duration(*w.Interval) * time.Millisecond
	}
	if w.Rule != nil {
		if n := *w.Rule; n < 1 || n > 1<<20 {
			return session.Errorf(session.CodeBadField, `"rule" must be a rule's number (from 1), not %d`, n)
		}
		r.RuleNum = int(*w.Rule)
	}
	if w.Group != nil {
		r.Group = *w.Group
		a, err := netip.ParseAddr(r.Group)
		if err != nil || !a.Unmap().IsMulticast() {
			return session.Errorf(session.CodeBadField, `"group" must be a multicast address (IPv4 224.0.0.0/4 or IPv6 ff00::/8), not %q`, r.Group)
		}
	}
	if w.Iface != nil {
		r.Iface = *w.Iface
		if len(r.Iface) > 15 || strings.ContainsAny(r.Iface, " \t\r\n/") || (r.Iface == "" && r.Op != "setsockopt") {
			return session.Errorf(session.CodeBadField, `"iface" must be an interface's name, such as "lo" or "eth0" (at most 15 characters), not %q`, r.Iface)
		}
	}
	if r.Op == "respond" {
		return r.rule(w)
	}
	return nil
}

// rule decodes respond's match, pattern and reply.
func (r *Request) rule(w *wire) *session.Error {
	a := &r.Rule
	a.Match = *w.Match
	switch a.Match {
	case "contains", "equals", "regex":
	default:
		return session.Errorf(session.CodeBadField, `"match" must be "contains", "equals" or "regex", not %q`, a.Match)
	}
	b, err := w.Pattern.bytes("pattern")
	if err != nil {
		return named("pattern", err)
	}
	if len(b) == 0 || len(b) > session.MaxPattern {
		return session.Errorf(session.CodeBadField, `"pattern" must be 1 to %d bytes, not %d`, session.MaxPattern, len(b))
	}
	a.Pattern, a.PatternSpelled = b, w.Pattern.spelled()
	if a.Match == "regex" {
		if !utf8.Valid(b) {
			return session.Errorf(session.CodeBadField, `a "regex" pattern must be UTF-8 text (an RE2 regular expression)`)
		}
		re, cerr := regexp.Compile(string(b))
		if cerr != nil {
			return session.Errorf(session.CodeBadField, `"pattern" is not a valid regular expression: %v`, cerr)
		}
		a.Regexp = re
	}
	if w.Reply == nil {
		return nil // a binary message: Decode takes the reply from the payload
	}
	t, err := w.Reply.template("reply")
	if err != nil {
		return named("reply", err)
	}
	if t.MaxLen() > session.MaxReply {
		return session.Errorf(session.CodeTooLarge, "the reply can be %d bytes; a responder's reply may be at most %d", t.MaxLen(), session.MaxReply)
	}
	a.Reply, a.ReplySpelled = t, w.Reply.spelled()
	return nil
}

// named makes a payload error say which field it is about.
func named(field string, err *session.Error) *session.Error {
	if !strings.Contains(err.Message, `"`+field) {
		err.Message = `"` + field + `": ` + err.Message
	}
	return err
}
