package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// listenPeer listens on loopback and hands each connection to use, in a
// goroutine; it returns the port. The listener is closed, and every use
// waited for, when the test ends: use must return once its connection is
// closed by the session.
func listenPeer(t *testing.T, use func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				use(c)
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port
}

// kib is send n of a repeat of kibTemplate: its number, then dots, 1 KiB.
func kib(n int) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(n)), bytes.Repeat([]byte("."), 1020)...)
}

var kibTemplate = "{{counter u32}}" + strings.Repeat(".", 1020)

// TestRepeatWindow: while nobody takes the owner's events, a repeat stops
// when the event window is full, so the log's pending bytes stay within
// it; once the events are taken, it goes on to its count, and the peer
// reads every send, in order.
func TestRepeatWindow(t *testing.T) {
	const window = 128 << 10
	const n = 1024 // 1 MiB of sends, and 1024 events of about 1.5 KiB: far over the window
	s := New(Options{ID: "w", Limits: Limits{Window: window}})
	defer s.Close()
	got := make(chan []byte, 1)
	port := listenPeer(t, func(c net.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c, n*1024))
		got <- b
	})
	sock := s.Connect(Req{ID: "c"}, ConnectArgs{Host: "127.0.0.1", Port: port})
	tp, err := ParseTemplate(kibTemplate)
	if err != nil {
		t.Fatal(err)
	}
	s.Repeat(Req{ID: "r"}, sock, RepeatArgs{Data: tp, Count: n})

	// Read the log without delivering: until the window is full, then for
	// a while more, in which the repeat should send nothing.
	const slack = 32 << 10 // the send that found room last, and the kernel's samples
	log, last := s.Log(), 0
	held := func(e *Event) bool {
		if e.Type == TypeSent && e.ID == "r" {
			last = e.Repeat
		}
		if p := log.Pending(); p > window+slack {
			t.Fatalf("after send %d, %d bytes are pending; the window is %d", last, p, window)
		}
		return log.Pending() >= window
	}
	from, full := scan(t, log, 1, 10*time.Second, held)
	if !full {
		t.Fatalf("the window never filled: %d bytes pending after send %d", log.Pending(), last)
	}
	from, _ = scan(t, log, from, 300*time.Millisecond, func(e *Event) bool { held(e); return false })
	if last >= n {
		t.Fatalf("the repeat made all %d sends with nobody taking its events", n)
	}
	t.Logf("held after %d sends, %d bytes pending", last, log.Pending())

	// Deliver: the repeat goes on to its count.
	log.Delivered(from - 1)
	_, answered := scan(t, log, from, 10*time.Second, func(e *Event) bool {
		log.Delivered(e.Seq)
		switch {
		case e.ID == "r" && e.Type == TypeSent && e.Repeat != last+1:
			t.Fatalf("send %d follows send %d", e.Repeat, last)
		case e.ID == "r" && e.Type == TypeSent:
			last = e.Repeat
		case e.ID == "r" && (e.Type == TypeResult || e.Type == TypeError):
			if e.Type != TypeResult || e.Count != n || e.Len != n*1024 {
				t.Fatalf("answer %+v", e)
			}
			return true
		}
		return false
	})
	if !answered {
		t.Fatalf("no answer after send %d", last)
	}
	b := <-got
	for i := range n {
		if len(b) < (i+1)*1024 || !bytes.Equal(b[i*1024:(i+1)*1024], kib(i+1)) {
			t.Fatalf("the peer read %d bytes; send %d is not there as sent", len(b), i+1)
		}
	}
}

// TestRepeatSessionClose: closing the session ends every repeat, wherever
// it is waiting: in the kernel for a peer that does not read, between two
// sends of an interval, or for room in the window; each ends with an
// error, logged before the log closes. goleak (TestMain) checks that no
// goroutine is left.
func TestRepeatSessionClose(t *testing.T) {
	for range 5 {
		big := New(Options{ID: "big", Limits: Limits{Window: 64 << 20}})
		small := New(Options{ID: "small", Limits: Limits{Window: 16 << 10}})
		hold := make(chan struct{})
		stalled := listenPeer(t, func(c net.Conn) { <-hold }) // reads nothing
		reading := listenPeer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		reading2 := listenPeer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		rnd, _ := ParseTemplate("{{random 65536}}")
		a := big.Connect(Req{}, ConnectArgs{Host: "127.0.0.1", Port: stalled})
		big.Repeat(Req{ID: "a"}, a, RepeatArgs{Data: rnd})
		b := big.Connect(Req{}, ConnectArgs{Host: "127.0.0.1", Port: reading})
		big.Repeat(Req{ID: "b"}, b, RepeatArgs{Data: Literal([]byte("tick")), Interval: time.Hour})
		c := small.Connect(Req{}, ConnectArgs{Host: "127.0.0.1", Port: reading2})
		small.Repeat(Req{ID: "c"}, c, RepeatArgs{Data: rnd})
		for _, w := range []struct {
			s  *Session
			id string
		}{{big, "a"}, {big, "b"}, {small, "c"}} {
			sentBy(t, w.s, w.id)
		}
		big.Close()
		small.Close()
		close(hold)
		for _, w := range []struct {
			s  *Session
			id string
		}{{big, "a"}, {big, "b"}, {small, "c"}} {
			var answer *Event
			for _, e := range w.s.Log().Snapshot(1) {
				if e.ID == w.id && (e.Type == TypeResult || e.Type == TypeError) {
					answer = e
				}
			}
			if answer == nil || answer.Type != TypeError || answer.Code != CodeCancelled || !strings.Contains(answer.Message, "ended after") {
				t.Fatalf("repeat %s ended with %+v; want a cancelled error", w.id, answer)
			}
		}
	}
}

// TestRepeatRace: repeats started, stopped, refused, sent between and
// closed under, all at once from many goroutines, then the session closed.
// Every repeat has exactly one answer, after all its sends, which are
// numbered 1, 2, 3 …; a result counts them all, an error all but perhaps
// a last one that went part way. Run with -race.
func TestRepeatRace(t *testing.T) {
	s := New(Options{ID: "race", Limits: Limits{Window: 256 << 20, MaxSockets: 256}})
	port := listenPeer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	tp, _ := ParseTemplate("{{counter}},")
	var ids []string
	for i := range 40 {
		sock := s.Connect(Req{}, ConnectArgs{Host: "127.0.0.1", Port: port})
		id := fmt.Sprint("r", i)
		ids = append(ids, id, id+"b")
		_, next := s.Log().Bounds()
		s.Repeat(Req{ID: id}, sock, RepeatArgs{Data: tp, Count: 50 * (i % 3)})
		if i%5 != 0 { // and the others are stopped before their first send, or refused
			scan(t, s.Log(), next, 10*time.Second, func(e *Event) bool { return e.ID == id && e.Type == TypeSent })
		}
		var wg sync.WaitGroup
		wg.Go(func() { s.Stop(Req{ID: "stop"}, sock) })
		wg.Go(func() { s.Send(Req{ID: "send"}, sock, []byte("between")) })
		wg.Go(func() { s.Repeat(Req{ID: id + "b"}, sock, RepeatArgs{Data: tp, Count: 3}) })
		if i%4 != 0 {
			wg.Go(func() { s.CloseSocket(Req{ID: "close"}, sock, i%2 == 0) })
		}
		wg.Wait()
	}
	s.Close()
	evs := s.Log().Snapshot(1)
	for _, id := range ids {
		sent, bytes := 0, 0
		var answer *Event
		for _, e := range evs {
			switch {
			case e.ID != id:
			case e.Type == TypeSent && answer != nil:
				t.Fatalf("repeat %s: send %d (event %d) after its answer %+v", id, e.Repeat, e.Seq, answer)
			case e.Type == TypeSent && e.Repeat != sent+1:
				t.Fatalf("repeat %s: send %d follows send %d", id, e.Repeat, sent)
			case e.Type == TypeSent:
				sent, bytes = e.Repeat, bytes+e.Len
			case (e.Type == TypeResult || e.Type == TypeError) && answer != nil:
				t.Fatalf("repeat %s answered twice: %+v, then %+v", id, answer, e)
			case e.Type == TypeResult || e.Type == TypeError:
				answer = e
			}
		}
		switch {
		case answer == nil:
			t.Fatalf("repeat %s has no answer (%d sends)", id, sent)
		case answer.Type == TypeResult && (answer.Count != sent || answer.Len != bytes):
			t.Fatalf("repeat %s: %d sends of %d bytes, answered %+v", id, sent, bytes, answer)
		case answer.Type == TypeError && answer.Count != sent && answer.Count != sent-1:
			t.Fatalf("repeat %s: %d sends, answered %+v", id, sent, answer)
		}
	}
}

// sentBy waits until s has logged a sent event of request id.
func sentBy(t *testing.T, s *Session, id string) {
	t.Helper()
	if _, ok := scan(t, s.Log(), 1, 10*time.Second, func(e *Event) bool { return e.Type == TypeSent && e.ID == id }); !ok {
		t.Fatalf("no send of %s", id)
	}
}

// scan gives the events of log from seq from on to f, as they come, until
// f returns true or none comes for wait. It returns the seq after the last
// event given, and whether f returned true. It delivers nothing.
func scan(t *testing.T, log *Log, from uint64, wait time.Duration, f func(*Event) bool) (uint64, bool) {
	t.Helper()
	buf := make([]*Event, 64)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		evs, err := log.Next(ctx, from, buf)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return from, false
		}
		if err != nil {
			t.Fatalf("reading the log from %d: %v", from, err)
		}
		for _, e := range evs {
			from = e.Seq + 1
			if f(e) {
				return from, true
			}
		}
	}
}

// TestFoldRepeating: sync's "repeating" follows a socket's repeats from
// the events alone: a refused repeat, or an invalid request that never
// became a call, does not end the one running.
func TestFoldRepeating(t *testing.T) {
	seq := uint64(0)
	ev := func(typ Type, op, id string) *Event {
		seq++
		return &Event{Seq: seq, Type: typ, Sock: 1, Op: op, ID: id}
	}
	var f Sockets
	f.Fold(&Event{Seq: 100, Type: TypeState, Sock: 1, Kind: KindTCP, State: StateEstablished})
	for i, step := range []struct {
		e    *Event
		want uint64
	}{
		{ev(TypeCall, "repeat", "a"), 1},
		{ev(TypeSent, "send", "a"), 1},
		{ev(TypeCall, "repeat", "a"), 1},  // a second repeat, with the same id,
		{ev(TypeError, "repeat", "a"), 1}, // refused
		{ev(TypeError, "repeat", "x"), 1}, // an invalid request: no call
		{ev(TypeCall, "stop", "s"), 1},
		{ev(TypeResult, "stop", "s"), 1},
		{ev(TypeResult, "repeat", "a"), 0}, // the repeat's own answer
		{ev(TypeCall, "repeat", ""), 9},
		{ev(TypeError, "repeat", ""), 0}, // refused: bad_field, say
		{ev(TypeCall, "repeat", "b"), 11},
		{ev(TypeError, "repeat", "b"), 0}, // failed after some sends
	} {
		f.Fold(step.e)
		l := f.List()
		if len(l) != 1 || l[0].Repeating != step.want {
			t.Fatalf("after event %d (%s %s %q): %+v; want repeating %d", i+1, step.e.Type, step.e.Op, step.e.ID, l, step.want)
		}
	}
	f.Fold(ev(TypeCall, "repeat", "c"))
	f.Fold(&Event{Seq: 99, Type: TypeState, Sock: 1, Kind: KindTCP, State: StateClosed})
	if l := f.List(); len(l) != 0 || len(f.rep) != 0 {
		t.Fatalf("a closed socket is still folded: %+v, %v", l, f.rep)
	}
}
