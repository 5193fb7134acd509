package learn

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

func init() {
	lessons = []*Lesson{
		endpoint,
	}
}

// endpoint: an endpoint is an IP address and a port. Bind a TCP socket,
// listen, see the kernel put it in LISTEN, and name its port.
var endpoint = &Lesson{
	ID:       "endpoint",
	Steps:    []Step{{Hints: 2}, {Hints: 1}, {Ask: "number", Hints: 1}},
	Concepts: []string{"socket", "endpoint", "port", "bind", "listen"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 3)
		for _, s := range v.Socks() {
			if s.Kind != session.KindTCPListener && s.Mode != "step" {
				continue
			}
			bound, ok := firstState(s, v.Start, session.StateBound, session.StateListening)
			if !ok || s.Local == "" {
				continue
			}
			out[0] = doneAt(bound, true)
			listen, ok := Saw(s.TCP, v.Start, "LISTEN")
			if !ok {
				listen, ok = Saw(s.States, v.Start, session.StateListening)
			}
			if !ok {
				continue
			}
			out[1] = doneAt(listen, true)
			if a := v.Answer(3); a != nil && answerIsPort(a.Lesson.Answer, s.Local) {
				out[2] = done(a)
			}
			break
		}
		return out
	},
}

// firstState returns the first of the socket's states after start that is
// one of want.
func firstState(s *Sock, start uint64, want ...string) (Mark, bool) {
	for _, m := range s.States {
		if m.Seq > start && slices.Contains(want, m.Value) {
			return m, true
		}
	}
	return Mark{}, false
}

// port returns the port of an address such as "127.0.0.1:5000" or
// "[::1]:5000", or 0.
func port(addr string) int {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// answerIsPort reports whether the learner's answer names addr's port.
func answerIsPort(answer, addr string) bool {
	n, err := strconv.Atoi(strings.TrimSpace(answer))
	return err == nil && n > 0 && n == port(addr)
}
