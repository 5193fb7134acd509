package learn_test

import (
	"fmt"
	"testing"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// check runs lesson id's check over evs, numbered from 2 after its start.
func check(t *testing.T, id string, evs ...*session.Event) string {
	t.Helper()
	all := []*session.Event{{Seq: 1, Type: session.TypeLesson, Lesson: &session.Lesson{ID: id, Action: "start"}}}
	for i, e := range evs {
		e.Seq = uint64(i + 2)
		all = append(all, e)
	}
	return progress(learn.Evaluate(learn.Find(id), all))
}

func answer(id string, step int, text string) *session.Event {
	return &session.Event{Type: session.TypeAnswer, Lesson: &session.Lesson{ID: id, Step: step, Answer: text}}
}

// TestAcceptThreeClients: the question asks how many sockets a server has
// for its two clients; a learner who connected a third one still answers 3.
func TestAcceptThreeClients(t *testing.T) {
	evs := []*session.Event{{Type: session.TypeState, Sock: 1, Kind: session.KindTCPListener, State: session.StateListening, Local: "127.0.0.1:5000"}}
	for i := range 3 {
		evs = append(evs, &session.Event{Type: session.TypeState, Sock: 2 + i, Kind: session.KindTCP, State: session.StateEstablished,
			Parent: 1, Local: "127.0.0.1:5000", Remote: fmt.Sprintf("127.0.0.1:%d", 40000+i)})
	}
	if got := check(t, "accept", append(evs, answer("accept", 3, "3"))...); got != "xxx" {
		t.Errorf("three clients accepted, answered 3: %s, want every step done", got)
	}
	if got := check(t, "accept", append(evs, answer("accept", 3, "2"))...); got != "xx." {
		t.Errorf("answered 2: %s, want the question not done", got)
	}
}

// TestRefusedAnswerNamesOne: naming both errors does not answer which one
// came from the other side.
func TestRefusedAnswerNamesOne(t *testing.T) {
	for said, want := range map[string]string{"ECONNREFUSED": "..x", " econnrefused ": "..x", "ECONNREFUSED or EADDRINUSE": "...", "EADDRINUSE": "..."} {
		if got := check(t, "refused", answer("refused", 3, said)); got != want {
			t.Errorf("answered %q: %s, want %s", said, got, want)
		}
	}
}
