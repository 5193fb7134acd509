package learn

import (
	"slices"

	"github.com/socketplayground/playground/internal/session"
)

// MaxEvents is how many events after a lesson's start a tracker follows. A
// lesson is a few dozen calls; a session that streams far more than that
// is told to restart the lesson instead of the check growing without end.
const MaxEvents = 50_000

// MaxHeld is how many payload bytes the events after a lesson's start may
// hold before the tracker stops the lesson as it does at MaxEvents: its
// view keeps every event a check may read, bytes and all, long after the
// session's log has let them go (hosted mode keeps 64 KiB of history).
const MaxHeld = 4 << 20

// Tracker follows a session's log and runs the current lesson's check as
// events arrive. It is a pure function of the log: a lesson starts and stops
// with "lesson" events in it, and the progress it reports goes back into the
// log as "lesson" events, so a replayed log shows the same progress.
//
// A Tracker is used by one goroutine.
type Tracker struct {
	history func(before uint64) []*session.Event

	lesson *Lesson
	view   *View
	steps  []session.LessonStep // the progress last reported
}

// NewTracker returns a tracker. history returns the log's retained events
// before a seq: a lesson starting sees the sockets that already exist.
func NewTracker(history func(before uint64) []*session.Event) *Tracker {
	return &Tracker{history: history}
}

// Observe takes the next events of the log, in order. It returns the
// progress to record when it changed, or when the learner answered a
// question (a wrong answer is told at once too), else nil.
func (t *Tracker) Observe(evs []*session.Event) *session.Lesson {
	changed, answered := false, false
	for _, e := range evs {
		if e.Type == session.TypeLesson && e.Lesson != nil {
			switch e.Lesson.Action {
			case "start":
				t.start(e)
				changed = t.lesson != nil
			case "stop":
				t.lesson, t.view, t.steps = nil, nil, nil
				changed = false
			}
			continue
		}
		if t.lesson == nil {
			continue
		}
		if len(t.view.Events)+len(t.view.Answers) >= MaxEvents || t.view.held >= MaxHeld {
			// Too much happened for a lesson: stop, and say so.
			id := t.lesson.ID
			t.lesson, t.view, t.steps = nil, nil, nil
			return &session.Lesson{ID: id, Action: "stop", Answer: "too_many_events"}
		}
		t.view.Add(e)
		changed = true
		// An answer is always judged aloud: the learner waits for it.
		answered = answered || e.Type == session.TypeAnswer && e.Lesson != nil && e.Lesson.ID == t.lesson.ID
	}
	if !changed || t.lesson == nil {
		return nil
	}
	steps := t.lesson.Check(t.view)
	// A step once done stays done, with the event that did it: the lesson
	// asks for things to happen, and they did.
	for i := range steps {
		if i < len(t.steps) && t.steps[i].Done {
			steps[i] = t.steps[i]
		}
	}
	if t.steps != nil && slices.Equal(steps, t.steps) && !answered {
		return nil
	}
	t.steps = steps
	p := &session.Lesson{ID: t.lesson.ID, Action: "progress", Steps: slices.Clone(steps), Passed: Passed(steps)}
	if p.Passed {
		t.lesson, t.view, t.steps = nil, nil, nil // nothing more to check
	}
	return p
}

func (t *Tracker) start(e *session.Event) {
	t.lesson = Find(e.Lesson.ID)
	if t.lesson == nil {
		t.view, t.steps = nil, nil
		return
	}
	t.view = NewView(t.lesson.ID, e.Seq)
	t.steps = nil
	if t.history != nil {
		for _, h := range t.history(e.Seq) {
			t.view.Add(h)
		}
	}
}

// Active returns the lesson being checked, or "".
func (t *Tracker) Active() string {
	if t.lesson == nil {
		return ""
	}
	return t.lesson.ID
}
