package learn

import (
	"cmp"
	"slices"

	"github.com/socketplayground/playground/internal/session"
)

// datagrams: UDP sends datagrams, with no connection. Each datagram
// arrives whole and on its own, or not at all: the echo sends back each
// one as it came; recvfrom(n) with a smaller n cuts a datagram, and the
// rest is gone; and the lossy service drops some, which nobody resends.
var datagrams = &Lesson{
	ID:       "udp",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Ask: "number", Hints: 1}, {Hints: 2}},
	Concepts: []string{"datagram", "socket", "bytes"},
	Check: func(v *View) []session.LessonStep {
		// The steps are independent: each is done by the first socket
		// that did it.
		out := make([]session.LessonStep, 4)
		first := func(i int, seq uint64) {
			if seq != 0 && (!out[i].Done || seq < out[i].Seq) {
				out[i] = session.LessonStep{Done: true, Seq: seq}
			}
		}
		a := v.Answer(3)
		for _, s := range v.Socks() {
			if s.Kind != session.KindUDP {
				continue
			}
			e := echoes(v, s)
			if len(e.back) >= 2 {
				first(0, e.back[1].Seq)
			}
			if e.lost != nil {
				first(3, e.lost.Seq)
			}
			for _, d := range s.Datagrams {
				if d.Out || d.Len <= len(d.Data) {
					continue
				}
				first(1, d.Seq)
				if a != nil {
					if n, ok := number(a.Lesson.Answer); ok && n == d.Len {
						first(2, a.Seq)
					}
				}
			}
		}
		return out
	},
}

// echoed is what a UDP socket's datagrams show of the peers that echo.
type echoed struct {
	back []*session.Event // the datagrams that came back whole, in order
	lost *session.Event   // the first reply that shows an earlier datagram lost
}

// echoes pairs each datagram socket s received with the earliest datagram
// it sent to that sender with the same bytes and not yet answered. An echo
// answers in order, so a reply that passes over an earlier unanswered
// datagram shows that one was lost: it will never come.
func echoes(v *View, s *Sock) echoed {
	type dgram struct {
		at uint64 // a datagram sent: its call's seq, as its reply may be logged first
		e  *session.Event
	}
	var ds []dgram
	for _, e := range v.Events {
		if e.Sock == s.ID && (e.Type == session.TypeSent || e.Type == session.TypeData) {
			ds = append(ds, dgram{asked(v, e), e})
		}
	}
	slices.SortStableFunc(ds, func(a, b dgram) int { return cmp.Compare(a.at, b.at) })

	// The datagrams sent and not yet answered, in order: to each peer, and
	// to each peer with given bytes, so a reply finds its datagram at once
	// however long the session.
	type key struct{ peer, data string }
	waiting := map[string][]int{} // indexes into ds, answered ones dropped lazily
	same := map[key][]int{}
	answered := make([]bool, len(ds))
	var out echoed
	for i, d := range ds {
		if d.e.Type == session.TypeSent {
			waiting[d.e.Peer] = append(waiting[d.e.Peer], i)
			k := key{d.e.Peer, string(d.e.Data)}
			same[k] = append(same[k], i)
			continue
		}
		if d.e.DgramLen > len(d.e.Data) {
			continue
		}
		k := key{d.e.Peer, string(d.e.Data)}
		q := same[k]
		if len(q) == 0 {
			continue
		}
		j := q[0]
		same[k] = q[1:]
		answered[j] = true
		out.back = append(out.back, d.e)
		// An earlier datagram to that peer, still unanswered, was passed
		// over: its bytes differ, or it would have been j.
		w := waiting[d.e.Peer]
		for len(w) > 0 && answered[w[0]] {
			w = w[1:]
		}
		waiting[d.e.Peer] = w
		if len(w) > 0 && w[0] < j && out.lost == nil {
			out.lost = d.e
		}
	}
	return out
}
