package session

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLogSequenceAndNext(t *testing.T) {
	l := NewLog(1<<20, 1<<20)
	for i := range 5 {
		l.Append(&Event{Type: TypeData, Data: []byte{byte(i)}})
	}
	buf := make([]*Event, 3)
	evs, err := l.Next(context.Background(), 1, buf)
	if err != nil || len(evs) != 3 || evs[0].Seq != 1 || evs[2].Seq != 3 {
		t.Fatalf("Next(1) = %v, %v; want seqs 1..3", evs, err)
	}
	evs, _ = l.Next(context.Background(), 4, buf)
	if len(evs) != 2 || evs[1].Seq != 5 || evs[1].Data[0] != 4 {
		t.Fatalf("Next(4) = %v; want seqs 4, 5", evs)
	}
	for i := 1; i < 5; i++ {
		if evs, _ := l.Next(context.Background(), uint64(i), buf[:1]); evs[0].T == 0 {
			t.Fatalf("event %d has no timestamp", i)
		}
	}
}

func TestLogNextWaitsForAppend(t *testing.T) {
	l := NewLog(1<<20, 1<<20)
	got := make(chan uint64)
	go func() {
		evs, err := l.Next(context.Background(), 1, make([]*Event, 1))
		if err != nil {
			got <- 0
			return
		}
		got <- evs[0].Seq
	}()
	l.Append(&Event{Type: TypeCall})
	if seq := <-got; seq != 1 {
		t.Fatalf("waiting reader got seq %d, want 1", seq)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Next(ctx, 2, make([]*Event, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v", err)
	}
	l.Close()
	if _, err := l.Next(context.Background(), 2, make([]*Event, 1)); !errors.Is(err, ErrLogClosed) {
		t.Fatalf("Next on a closed, drained log: %v", err)
	}
}

// TestLogNeverTrimsUndelivered: history is trimmed to the budget, but only
// events the owner has been delivered.
func TestLogNeverTrimsUndelivered(t *testing.T) {
	l := NewLog(1000, 1<<30)
	for range 100 {
		l.Append(&Event{Type: TypeData, Data: make([]byte, 100)})
	}
	if first, next := l.Bounds(); first != 1 || next != 101 {
		t.Fatalf("bounds before delivery = %d, %d; want nothing trimmed", first, next)
	}
	l.Delivered(50)
	first, _ := l.Bounds()
	if first != 51 {
		t.Fatalf("after delivering 50 of 100, first = %d, want 51 (the rest is undelivered)", first)
	}
	if _, err := l.Next(context.Background(), 10, make([]*Event, 1)); !errors.Is(err, ErrTrimmed) {
		t.Fatalf("Next(10) after trimming: %v, want ErrTrimmed", err)
	}
	l.Delivered(100)
	first, _ = l.Bounds()
	if kept := int64(101 - first); kept*(100+eventOverhead) > 1000 || kept == 0 {
		t.Fatalf("kept %d delivered events; the budget holds %d", kept, 1000/(100+eventOverhead))
	}
}

// TestLogWindow: WaitRoom blocks while a window's worth is undelivered and
// returns once the owner catches up.
func TestLogWindow(t *testing.T) {
	per := 100 + eventOverhead // what each event below costs
	l := NewLog(1<<20, 5*per)
	ctx := context.Background()
	if err := l.WaitRoom(ctx); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		l.Append(&Event{Type: TypeData, Data: make([]byte, 100)})
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := l.WaitRoom(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitRoom with a full window returned %v; want it to block", err)
	}
	done := make(chan error)
	go func() { done <- l.WaitRoom(ctx) }()
	l.Delivered(8)
	if err := <-done; err != nil {
		t.Fatalf("WaitRoom after delivery: %v", err)
	}
	l.Close()
	if err := l.WaitRoom(ctx); err != nil {
		t.Fatalf("WaitRoom on a closed log: %v", err)
	}
}
