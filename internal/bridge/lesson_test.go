//go:build linux

package bridge_test

import (
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/bridge"
)

// Lessons (protocol.md §4.15): the session checks the current lesson as
// events go out, and records its progress as "lesson" events.

// progress waits for lesson id's next progress event.
func (s *stepper) progress(id string) Ev {
	s.t.Helper()
	return s.Wait("progress of "+id, func(e Ev) bool {
		return e.Type == "lesson" && e.Lesson != nil && e.Lesson.ID == id && e.Lesson.Action == "progress"
	})
}

// lesson makes a lesson request and waits for its event.
func (s *stepper) lesson(req string) Ev {
	s.t.Helper()
	id := s.do(req)
	return s.Wait("lesson request "+id, func(e Ev) bool { return e.ID == id && (e.Type == "lesson" || e.Type == "error") })
}

// steps says which steps an event reports done, as "x.." for done,
// not done, not done.
func steps(e Ev) string {
	var b strings.Builder
	for _, st := range e.Lesson.Steps {
		if st.Done {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// TestLessonEndpoint does lesson 1 as a learner would, one step at a time,
// and sees each step's check pass when, and only when, it is done.
func TestLessonEndpoint(t *testing.T) {
	s := newStepper(t)
	start := s.do(`{"op":"lesson","lesson":"endpoint"}`)
	st := s.Wait("the lesson's start", func(e Ev) bool { return e.Type == "lesson" && e.ID == start })
	if st.Lesson.Action != "start" || st.Lesson.ID != "endpoint" {
		t.Fatalf("start event %v", st)
	}
	if p := s.progress("endpoint"); steps(p) != "..." || p.Lesson.Passed {
		t.Fatalf("a lesson just started reports %s, want nothing done", steps(p))
	}

	ln := s.socket("stream")
	s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, ln)
	if p := s.progress("endpoint"); steps(p) != "x.." {
		t.Fatalf("after bind: %s, want the first step done", steps(p))
	}
	r := s.ok(`{"op":"listen","sock":%d,"backlog":5}`, ln)
	if p := s.progress("endpoint"); steps(p) != "xx." {
		t.Fatalf("after listen: %s, want two steps done", steps(p))
	}

	// A wrong answer changes nothing; the right one passes the lesson.
	wrong := s.do(`{"op":"answer","lesson":"endpoint","step":3,"answer":"1"}`)
	s.Wait("the wrong answer", func(e Ev) bool { return e.Type == "answer" && e.ID == wrong })
	if p := s.progress("endpoint"); steps(p) != "xx." || p.Lesson.Passed {
		t.Fatalf("after a wrong answer: %s, want it judged at once, and not done", steps(p))
	}
	right := s.do(`{"op":"answer","lesson":"endpoint","step":3,"answer":" %s "}`, port(t, r.Local))
	a := s.Wait("the right answer", func(e Ev) bool { return e.Type == "answer" && e.ID == right })
	p := s.progress("endpoint")
	if steps(p) != "xxx" || !p.Lesson.Passed {
		t.Fatalf("after the right answer: %s passed=%v, want the lesson passed (events: %s)", steps(p), p.Lesson.Passed, s.dump())
	}
	if p.Lesson.Steps[2].Seq != a.Seq {
		t.Errorf("step 3 done by seq %d, want the answer's %d", p.Lesson.Steps[2].Seq, a.Seq)
	}
}

// TestLessonRestart: sockets made before a lesson (re)starts do not count,
// and a stopped lesson reports nothing more.
func TestLessonRestart(t *testing.T) {
	s := newStepper(t)
	s.server(1)
	s.lesson(`{"op":"lesson","lesson":"endpoint"}`)
	if p := s.progress("endpoint"); steps(p) != "..." {
		t.Fatalf("a listener made before the lesson counts: %s", steps(p))
	}
	s.lesson(`{"op":"lesson","lesson":""}`)
	s.server(1)
	// Start again. Progress events are waited for in order, so a stopped
	// lesson that still reported the second listener would fail here too.
	s.lesson(`{"op":"lesson","lesson":"endpoint"}`)
	if p := s.progress("endpoint"); steps(p) != "..." {
		t.Fatalf("after a restart: %s, want nothing done", steps(p))
	}
}

// TestLessonBadRequests: each bad lesson request gets an error event that
// names what was wrong, and the session carries on.
func TestLessonBadRequests(t *testing.T) {
	s := newStepper(t)
	for _, c := range []struct{ req, code, says string }{
		{`{"op":"lesson","lesson":"nope"}`, "bad_field", `no lesson "nope"`},
		{`{"op":"lesson"}`, "missing_field", `"lesson"`},
		{`{"op":"answer","lesson":"endpoint","step":1,"answer":"5"}`, "bad_field", "asks no question"},
		{`{"op":"answer","lesson":"endpoint","step":9,"answer":"5"}`, "bad_field", "asks no question"},
		{`{"op":"answer","lesson":"","step":3,"answer":"5"}`, "bad_field", `no lesson ""`},
		{`{"op":"answer","lesson":"endpoint","step":3,"answer":"` + strings.Repeat("9", 300) + `"}`, "bad_field", "at most 256 bytes"},
		{`{"op":"answer","lesson":"endpoint","step":3}`, "missing_field", `"answer"`},
		{`{"op":"lesson","lesson":"endpoint","sock":1}`, "bad_field", `"sock"`},
	} {
		e := s.Fails(s.do(c.req), c.code)
		if !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: message %q does not say %q", c.req, e.Message, c.says)
		}
	}
	s.server(1) // the session carries on
}

// TestLessonResume: a lesson carries on across a dropped WebSocket; the
// steps done before the drop stay done, and what the owner does after it
// counts.
func TestLessonResume(t *testing.T) {
	base := startServer(t, bridge.Options{})
	s := &stepper{Client: dial(t, base), t: t}
	s.lesson(`{"op":"lesson","lesson":"endpoint"}`)
	s.progress("endpoint")
	ln := s.socket("stream")
	s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, ln)
	if p := s.progress("endpoint"); steps(p) != "x.." {
		t.Fatalf("after bind: %s", steps(p))
	}
	last := s.Seen[len(s.Seen)-1].Seq
	s.ws.CloseNow()

	back := &stepper{Client: dial(t, resumeURL(base, s.Hello, last+1)), t: t, next: s.next}
	r := back.ok(`{"op":"listen","sock":%d,"backlog":5}`, ln)
	if p := back.progress("endpoint"); steps(p) != "xx." {
		t.Fatalf("after resuming and listening: %s, want the first two steps done", steps(p))
	}
	back.do(`{"op":"answer","lesson":"endpoint","step":3,"answer":"%s"}`, port(t, r.Local))
	if p := back.progress("endpoint"); steps(p) != "xxx" || !p.Lesson.Passed {
		t.Fatalf("after the answer: %s passed=%v", steps(p), p.Lesson.Passed)
	}
}
