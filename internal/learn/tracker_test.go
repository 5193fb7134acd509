package learn_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// observe starts lesson id on a new tracker, then gives it the events gen
// makes, 64 at a time as the bridge's writer does, until it stops the
// lesson or n events went. It returns how many went, and the stop.
func observe(id string, n int, gen func(i int) *session.Event) (int, *session.Lesson) {
	tr := learn.NewTracker(nil)
	tr.Observe([]*session.Event{{Seq: 1, Type: session.TypeLesson, Lesson: &session.Lesson{ID: id, Action: "start"}}})
	var batch []*session.Event
	for i := range n {
		e := gen(i)
		e.Seq = uint64(i + 2)
		batch = append(batch, e)
		if len(batch) == 64 || i == n-1 {
			if p := tr.Observe(batch); p != nil && p.Action == "stop" {
				return i + 1, p
			}
			batch = batch[:0]
		}
	}
	return n, nil
}

// TestTrackerHoldsLittle: a session that streams while a lesson runs gets
// the lesson stopped once its events hold MaxHeld bytes, long before
// MaxEvents of them (which could hold gigabytes the log has let go).
func TestTrackerHoldsLittle(t *testing.T) {
	chunk := make([]byte, 256<<10) // one live read, shared: the test holds nothing
	went, stop := observe("stream", 10_000, func(i int) *session.Event {
		if i == 0 {
			return &session.Event{Type: session.TypeState, Sock: 1, Kind: session.KindTCP, State: session.StateEstablished}
		}
		return &session.Event{Type: session.TypeData, Sock: 1, Op: "recv", Auto: true, Data: chunk, Len: len(chunk)}
	})
	if stop == nil || stop.Answer != "too_many_events" {
		t.Fatalf("after %d reads of %d bytes the lesson still runs, holding them all", went, len(chunk))
	}
	if held := (went - 1) * len(chunk); held > learn.MaxHeld+64*len(chunk) {
		t.Errorf("stopped after holding %d bytes, want at most about %d", held, learn.MaxHeld)
	}
}

// TestTrackerCountsAnswers: answers count towards MaxEvents like any other
// event, so answering for ever does not grow a lesson's view for ever.
func TestTrackerCountsAnswers(t *testing.T) {
	went, stop := observe("endpoint", learn.MaxEvents+64, func(int) *session.Event {
		return &session.Event{Type: session.TypeAnswer, Lesson: &session.Lesson{ID: "endpoint", Step: 3, Answer: "1"}}
	})
	if stop == nil {
		t.Fatalf("%d answers and the lesson still runs", went)
	}
}

// BenchmarkCheckCost measures what a check of a long view costs, as a number
// of plain passes over the same events ("passes/check"): it should be tens,
// not tens of thousands, because the tracker runs the check in the writer
// on every batch and a quadratic check of MaxEvents events would stall the
// session for minutes. (A benchmark, not a test: no timing is asserted.)
func BenchmarkCheckCost(b *testing.B) {
	tcp := func(i int) *session.Event {
		if i < 4 {
			return &session.Event{Type: session.TypeState, Sock: i + 1, Kind: session.KindTCP, State: session.StateEstablished,
				Local: fmt.Sprintf("127.0.0.1:%d", 5000+i), Remote: fmt.Sprintf("127.0.0.1:%d", 6000+i)}
		}
		d := fmt.Appendf(nil, "<a> line %d\n", i)
		if i%2 == 1 {
			return &session.Event{Type: session.TypeSent, Sock: 1 + i%4, Op: "send", Data: d, Len: len(d)}
		}
		return &session.Event{Type: session.TypeData, Sock: 1 + i%4, Op: "recv", Auto: true, Data: d, Len: len(d)}
	}
	udp := func(i int) *session.Event {
		if i == 0 {
			return &session.Event{Type: session.TypeState, Sock: 1, Kind: session.KindUDP, State: session.StateBound, Local: "127.0.0.1:5000"}
		}
		d := fmt.Append(nil, i/2)
		if i%2 == 1 {
			return &session.Event{Type: session.TypeSent, Sock: 1, Op: "sendto", Peer: "127.0.0.1:7", Data: d, Len: len(d)}
		}
		return &session.Event{Type: session.TypeData, Sock: 1, Op: "recvfrom", Auto: true, Peer: "127.0.0.1:9", Data: d, Len: len(d)}
	}
	// A stream that comes a byte at a time (a proxy splitting it), with
	// what the http lesson looks for at its end.
	reply := append(bytes.Repeat([]byte("x"), 20_000), "HTTP/1.1 200 OK\r\n"...)
	trickle := func(i int) *session.Event {
		switch i {
		case 0:
			return &session.Event{Type: session.TypeState, Sock: 1, Kind: session.KindTCP, State: session.StateEstablished}
		case 1:
			d := []byte("GET / HTTP/1.1\r\n")
			return &session.Event{Type: session.TypeSent, Sock: 1, Op: "send", Data: d, Len: len(d)}
		}
		return &session.Event{Type: session.TypeData, Sock: 1, Op: "recv", Auto: true, Data: reply[i%len(reply) : i%len(reply)+1], Len: 1}
	}
	// fastest is the shortest of three runs of f.
	fastest := func(f func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
		}
		return best
	}
	for _, l := range learn.All() {
		for name, gen := range map[string]func(int) *session.Event{"tcp": tcp, "udp": udp, "trickle": trickle} {
			v := learn.NewView(l.ID, 1)
			for i := range len(reply) {
				e := gen(i)
				e.Seq = uint64(i + 2)
				v.Add(e)
			}
			pass := fastest(func() { v.FindAll(func(e *session.Event) bool { return e.Type == session.TypeAnswer }) })
			b.Run(l.ID+"/"+name, func(b *testing.B) {
				for b.Loop() {
					l.Check(v)
				}
				// A check should cost a few passes over its events, not
				// a number that grows with them.
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(max(pass, time.Nanosecond)), "passes/check")
			})
		}
	}
}
