package learn

import (
	"slices"

	"github.com/socketplayground/playground/internal/session"
)

// Lesson is a guided exercise. Its words — title, goal, each step, hints,
// and the explanation shown afterwards — are in the catalogs under
// "lesson.<ID>." (see messages/*/lessons.json); its Check says which steps
// the events since the lesson started have done.
type Lesson struct {
	ID    string
	Steps []Step
	// Concepts are the ids of the concepts (Concepts) the lesson makes
	// happen; the page links them both ways.
	Concepts []string
	// Check returns one entry per step: done, and the seq of the event that
	// did it. It reads only v, so it runs the same on a live session and
	// on a recorded log.
	Check func(v *View) []session.LessonStep
}

// Step is one step of a lesson.
type Step struct {
	// Ask, if set, makes the step a question the learner answers in the
	// lesson panel (an "answer" event); it says what kind of answer the
	// input takes: "number" or "text".
	Ask string `json:"ask,omitempty"`
	// Hints is how many hints the catalogs have for the step
	// ("lesson.<id>.step<n>.hint<k>", k from 1).
	Hints int `json:"hints,omitempty"`
}

// lessons are every lesson, in the order the page lists them.
var lessons []*Lesson

// All returns every lesson in order.
func All() []*Lesson { return lessons }

// Find returns the lesson named id, or nil.
func Find(id string) *Lesson {
	if i := slices.IndexFunc(lessons, func(l *Lesson) bool { return l.ID == id }); i >= 0 {
		return lessons[i]
	}
	return nil
}

// Evaluate runs l's check over a log, as the session's tracker would at its
// end: from l's last start event if the log has one, else from the log's
// first event.
func Evaluate(l *Lesson, evs []*session.Event) []session.LessonStep {
	var start uint64
	for _, e := range evs {
		if e.Type == session.TypeLesson && e.Lesson != nil && e.Lesson.Action == "start" && e.Lesson.ID == l.ID {
			start = e.Seq
		}
	}
	v := NewView(l.ID, start)
	for _, e := range evs {
		v.Add(e)
	}
	return l.Check(v)
}

// Passed reports whether every step is done.
func Passed(steps []session.LessonStep) bool {
	for _, s := range steps {
		if !s.Done {
			return false
		}
	}
	return len(steps) > 0
}

// PageLesson is a lesson as the page needs it; the words come from the
// catalog.
type PageLesson struct {
	ID       string   `json:"id"`
	Steps    []Step   `json:"steps"`
	Concepts []string `json:"concepts"`
}

// PageData is what the page's learning column is built from: the lessons
// and the concepts, in order. Their words are in the catalogs.
type PageData struct {
	Lessons  []PageLesson `json:"lessons"`
	Concepts []string     `json:"concepts"`
}

// Page describes the lessons and concepts for the page.
func Page() PageData {
	return PageData{Lessons: PageLessons(), Concepts: Concepts}
}

// Concepts are the ideas the concept guide explains, in its order; each has
// "concept.<id>.term" and "concept.<id>.text" in the catalogs.
var Concepts = []string{
	"socket", "endpoint", "port", "four-tuple", "server-client", "bind", "listen", "accept", "connect",
	"stream", "datagram", "bytes", "half-close", "time-wait", "backlog", "blocking", "ipc",
}

// PageLessons describes every lesson for the page.
func PageLessons() []PageLesson {
	out := make([]PageLesson, 0, len(lessons))
	for _, l := range lessons {
		out = append(out, PageLesson{ID: l.ID, Steps: l.Steps, Concepts: l.Concepts})
	}
	return out
}

// done makes a step's progress from the event that did it (nil: not done).
func done(e *session.Event) session.LessonStep {
	if e == nil {
		return session.LessonStep{}
	}
	return session.LessonStep{Done: true, Seq: e.Seq}
}

// doneAt makes a step's progress from a mark.
func doneAt(m Mark, ok bool) session.LessonStep {
	if !ok {
		return session.LessonStep{}
	}
	return session.LessonStep{Done: true, Seq: m.Seq}
}
