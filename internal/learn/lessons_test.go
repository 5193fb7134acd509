package learn_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// nearMiss is, for each lesson, the progress its recorded near miss ends
// with ("x" done, "." not): the steps the learner did not quite do.
var nearMiss = map[string]string{
	"endpoint":   "xx.",   // answered 0, the port asked of bind, not the one the kernel gave
	"handshake":  "..x",   // connected to the echo service, not a listener of their own
	"accept":     "x..",   // two clients connected, one accepted
	"bytes":      "xx.x",  // counted two characters, not six bytes
	"stream":     "...",   // read each send before the next; Split left at 0; the last message without its newline
	"refused":    "x..",   // listened on port 0 twice: a new port each time, no clash
	"half-close": "xxxx.", // SO_REUSEADDR never turned on
	"backlog":    "xxx..", // answered the backlog, 1, and never accepted
	"blocking":   ".x.",   // bytes were already waiting, so recv never blocked; never non-blocking
	"udp":        "x...",  // recvfrom had room for the whole datagram; the same text to the lossy service
	"http":       "xx..",  // counted the whole response, not the body; never left out Host
	"chat":       "x.x.",  // no /nick; the line relayed back to its sender, not on
}

// progress spells steps as "x" for done and "." for not, in order.
func progress(steps []session.LessonStep) string {
	var b strings.Builder
	for _, s := range steps {
		if s.Done {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// logPath is where lesson id's recorded log of kind "pass" or "fail" is.
func logPath(id, kind string) string {
	return filepath.Join("testdata", "lessons", id+"."+kind+".jsonl")
}

func readLog(t *testing.T, id, kind string) []*session.Event {
	t.Helper()
	f, err := os.Open(logPath(id, kind))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, evs, err := export.ReadLog(f)
	if err != nil {
		t.Fatalf("%s: %v", logPath(id, kind), err)
	}
	return evs
}

// TestLessonLogs checks every lesson against logs recorded from real
// sessions (TestLessonsLive -update writes them): the learner who did the
// lesson passes it, and the near miss stops at the step it missed.
func TestLessonLogs(t *testing.T) {
	for _, l := range learn.All() {
		t.Run(l.ID, func(t *testing.T) {
			pass := readLog(t, l.ID, "pass")
			got := learn.Evaluate(l, pass)
			if !learn.Passed(got) {
				t.Errorf("the recorded pass ends with %s, want every step done", progress(got))
			}
			checkSeqs(t, pass, got)

			fail := readLog(t, l.ID, "fail")
			got = learn.Evaluate(l, fail)
			if want := nearMiss[l.ID]; progress(got) != want {
				t.Errorf("the recorded near miss ends with %s, want %s", progress(got), want)
			}
			if learn.Passed(got) {
				t.Errorf("the recorded near miss passes")
			}
			checkSeqs(t, fail, got)
		})
	}
}

// checkSeqs fails unless every step done names an event of the log after
// the lesson's start.
func checkSeqs(t *testing.T, evs []*session.Event, steps []session.LessonStep) {
	t.Helper()
	var start uint64
	for _, e := range evs {
		if e.Type == session.TypeLesson && e.Lesson.Action == "start" {
			start = e.Seq
		}
	}
	for i, s := range steps {
		if !s.Done {
			continue
		}
		if s.Seq <= start || !slices.ContainsFunc(evs, func(e *session.Event) bool { return e.Seq == s.Seq }) {
			t.Errorf("step %d done by seq %d: not an event after the start (seq %d)", i+1, s.Seq, start)
		}
	}
}

// TestLessonTexts: every lesson has its words in every language — title,
// goal, each step and its hints, the question of a step that asks one, and
// the explanation — and the catalogs hold no lesson words for nothing.
func TestLessonTexts(t *testing.T) {
	want := map[string]bool{}
	for _, l := range learn.All() {
		p := "lesson." + l.ID + "."
		want[p+"title"], want[p+"goal"], want[p+"explain"] = true, true, true
		for i, s := range l.Steps {
			step := fmt.Sprintf("%sstep%d", p, i+1)
			want[step] = true
			if s.Ask != "" {
				want[step+".ask"] = true
			}
			for k := range s.Hints {
				want[fmt.Sprintf("%s.hint%d", step, k+1)] = true
			}
		}
		for _, c := range l.Concepts {
			if !slices.Contains(learn.Concepts, c) {
				t.Errorf("lesson %s: %q is not a concept", l.ID, c)
			}
		}
		if n := len(l.Steps); n < 2 || n > 6 {
			t.Errorf("lesson %s has %d steps, want 2 to 6", l.ID, n)
		}
	}
	for _, lang := range learn.Langs {
		c := learn.Messages(lang)
		for k := range want {
			if c[k] == "" {
				t.Errorf("%s: no %q", lang, k)
			}
		}
		for k := range c {
			if strings.HasPrefix(k, "lesson.") && !want[k] {
				t.Errorf("%s: %q belongs to no lesson step", lang, k)
			}
		}
	}
}

// TestLessonOrder: the lessons are the twelve of the course, in order.
func TestLessonOrder(t *testing.T) {
	var ids []string
	for _, l := range learn.All() {
		ids = append(ids, l.ID)
	}
	want := []string{"endpoint", "handshake", "accept", "bytes", "stream", "refused", "half-close", "backlog", "blocking", "udp", "http", "chat"}
	if !slices.Equal(ids, want) {
		t.Errorf("lessons %v, want %v", ids, want)
	}
}
