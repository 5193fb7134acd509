package learn

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"

	"github.com/socketplayground/playground/internal/session"
)

// requestLine is an HTTP/1 request line, as sent by hand.
var requestLine = regexp.MustCompile(`(?m)^[A-Z]+ \S+ HTTP/1\.[01]\r?\n`)

// httpByHand: HTTP/1.1 is lines of text over a TCP connection. Typed by
// hand — a request line, a Host header, an empty line — it gets a status
// line, headers and a body whose length Content-Length gives; leave out
// the Host line and the server says 400.
var httpByHand = &Lesson{
	ID:       "http",
	Steps:    []Step{{Hints: 2}, {Hints: 2}, {Ask: "number", Hints: 1}, {Hints: 1}},
	Concepts: []string{"stream", "server-client", "bytes"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 4)
		for _, s := range v.Socks() {
			if s.Kind != session.KindTCP {
				continue
			}
			req := streamUntil(v, s.ID, session.TypeSent, v.Start, requestLine.Match)
			if req == nil {
				continue
			}
			steps := make([]session.LessonStep, 4)
			steps[0] = done(req)
			steps[1] = done(streamUntil(v, s.ID, session.TypeData, asked(v, req), contains([]byte("HTTP/1.1 200 "))))
			if a := v.Answer(3); a != nil && steps[1].Done {
				n, ok := number(a.Lesson.Answer)
				if want, known := contentLength(s.Received); ok && known && n == want {
					steps[2] = done(a)
				}
			}
			steps[3] = done(streamUntil(v, s.ID, session.TypeData, asked(v, req), contains([]byte("HTTP/1.1 400 "))))
			out = better(out, steps)
		}
		return out
	},
}

// contentLength returns the Content-Length of the first 200 response in
// b, if its header is there.
func contentLength(b []byte) (int, bool) {
	i := bytes.Index(b, []byte("HTTP/1.1 200 "))
	if i < 0 {
		return 0, false
	}
	head, _, _ := bytes.Cut(b[i:], []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			return n, err == nil
		}
	}
	return 0, false
}

// The chat service's lines (internal/services/chat.go).
var (
	chatWelcome = []byte("* welcome, ")
	chatNick    = []byte("* you are now ")
)

// chat, the capstone: a protocol is what the two ends agree to send. The
// chat service speaks lines: several clients join, one takes a name with
// /nick, and a line one sends reaches the others as "<name> line". Then
// be the server: accept two clients and pass a line from one to the other.
var chat = &Lesson{
	ID:       "chat",
	Steps:    []Step{{Hints: 2}, {Hints: 1}, {Hints: 2}, {Hints: 2}},
	Concepts: []string{"server-client", "accept", "four-tuple", "stream"},
	Check: func(v *View) []session.LessonStep {
		var joined []uint64
		var nick *session.Event
		for _, s := range v.Socks() {
			if s.Kind != session.KindTCP {
				continue
			}
			if e := streamUntil(v, s.ID, session.TypeData, v.Start, contains(chatWelcome)); e != nil {
				joined = append(joined, e.Seq)
			}
			if e := streamUntil(v, s.ID, session.TypeData, v.Start, contains(chatNick)); e != nil && (nick == nil || e.Seq < nick.Seq) {
				nick = e
			}
		}
		out := make([]session.LessonStep, 4)
		if slices.Sort(joined); len(joined) >= 2 {
			out[0] = session.LessonStep{Done: true, Seq: joined[1]}
		}
		out[1] = done(nick)
		out[2] = done(chatted(v))
		out[3] = done(relayed(v))
		return out
	},
}

// chatted returns the read that brought a client "<name> line", where line
// is a line another socket of the session sent.
func chatted(v *View) *session.Event {
	// Who sent each line (not a command), looked up once per line read.
	senders := map[string][]int{}
	for _, o := range v.Socks() {
		if o.Kind != session.KindTCP {
			continue
		}
		for _, l := range lines(o.Sent) {
			if ids := senders[string(l)]; len(l) > 0 && l[0] != '/' && !slices.Contains(ids, o.ID) {
				senders[string(l)] = append(ids, o.ID)
			}
		}
	}
	var first *session.Event
	for _, s := range v.Socks() {
		if s.Kind != session.KindTCP {
			continue
		}
		e := streamUntil(v, s.ID, session.TypeData, v.Start, func(b []byte) bool {
			for _, l := range lines(b) {
				name, text, ok := bytes.Cut(l, []byte("> "))
				if ok && len(name) > 1 && name[0] == '<' && slices.ContainsFunc(senders[string(text)], func(id int) bool { return id != s.ID }) {
					return true
				}
			}
			return false
		})
		if e != nil && (first == nil || e.Seq < first.Seq) {
			first = e
		}
	}
	return first
}

// relayed returns the read at which a line went, through a server of the
// session's own, from one of its clients to another: client C1 sent it,
// the server's connection A1 received it, A2 sent it on, and C2 got it.
func relayed(v *View) *session.Event {
	for _, a1 := range v.Socks() {
		c1 := peerOf(v, a1)
		if a1.Parent == 0 || c1 == nil {
			continue
		}
		for _, a2 := range v.Socks() {
			c2 := peerOf(v, a2)
			if a2 == a1 || a2.Parent != a1.Parent || c2 == nil || c2 == c1 {
				continue
			}
			for _, l := range lines(c1.Sent) {
				l = slices.Concat(l, []byte("\n"))
				if len(l) < 2 || !bytes.Contains(a1.Received, l) || !bytes.Contains(a2.Sent, l) {
					continue
				}
				if e := streamUntil(v, c2.ID, session.TypeData, v.Start, contains(l)); e != nil {
					return e
				}
			}
		}
	}
	return nil
}
