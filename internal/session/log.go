package session

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrTrimmed is returned by Log.Next when the events asked for are no longer
// retained; the reader must resynchronise from Log.First.
var ErrTrimmed = errors.New("session: events before the log's first retained event were asked for")

// ErrLogClosed is returned by Log.Next once the log is closed and every
// event has been read.
var ErrLogClosed = errors.New("session: log closed")

// Log is a session's append-only event log.
//
// It retains recent events within a byte budget and never drops an event
// the owner has not been delivered yet. The gap between what was appended and
// what was delivered is the flow-control window: WaitRoom blocks socket
// readers while that gap is full, so the kernel stops acknowledging and TCP
// pushes back on the sender instead of anything being dropped.
type Log struct {
	budget int64 // retain at most this many bytes of delivered events
	window int64 // undelivered bytes allowed before WaitRoom blocks

	observe  func(*Event) // if set, sees every appended event, under mu
	observed func()       // if set, called once when the log closes, under mu

	mu        sync.Mutex // guards everything below
	events    []*Event   // events[head:] are retained; their seqs are consecutive
	head      int
	first     uint64  // seq of events[head]
	next      uint64  // seq the next appended event gets
	retained  int64   // size of retained events
	cum       int64   // total size ever appended
	delivered uint64  // highest seq delivered to the owner
	delCum    int64   // cum of the event with seq delivered
	base      Sockets // the sockets as the events before first left them
	closed    bool
	appended  chan struct{} // closed and replaced on Append when readers wait
	readers   bool
	drained   chan struct{} // closed and replaced on Delivered when writers wait
	writers   bool
}

// NewLog returns an empty log that retains about budget bytes of history and
// lets window bytes be outstanding to the owner.
func NewLog(budget, window int64) *Log {
	return &Log{budget: budget, window: window, first: 1, next: 1,
		appended: make(chan struct{}), drained: make(chan struct{})}
}

// Append assigns e the next sequence number and a timestamp, and stores it.
// It never blocks: callers that produce bulk data call WaitRoom first.
// Appending to a closed log is a no-op.
func (l *Log) Append(e *Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	e.Seq = l.next
	e.T = time.Now().UnixMicro()
	l.next++
	l.cum += e.size()
	e.cum = l.cum
	l.events = append(l.events, e)
	l.retained += e.size()
	if l.observe != nil {
		l.observe(e)
	}
	l.trim()
	if l.readers {
		close(l.appended)
		l.appended = make(chan struct{})
		l.readers = false
	}
}

// trim drops the oldest delivered events while the log is over budget.
func (l *Log) trim() {
	for l.retained > l.budget && l.head < len(l.events) && l.first <= l.delivered {
		e := l.events[l.head]
		l.events[l.head] = nil
		l.base.Fold(e)
		l.head++
		l.first++
		l.retained -= e.size()
	}
	// Reuse the backing array once most of it is dead.
	if l.head > 64 && l.head*2 > len(l.events) {
		n := copy(l.events, l.events[l.head:])
		clear(l.events[n:])
		l.events = l.events[:n]
		l.head = 0
	}
}

// Next returns up to len(dst) events starting at seq from, waiting until at
// least one exists. It returns ErrTrimmed if from is older than the first
// retained event, and ErrLogClosed once the log is closed and drained.
func (l *Log) Next(ctx context.Context, from uint64, dst []*Event) ([]*Event, error) {
	for {
		l.mu.Lock()
		if from < l.first {
			l.mu.Unlock()
			return dst[:0], ErrTrimmed
		}
		if from < l.next {
			i := l.head + int(from-l.first)
			n := copy(dst, l.events[i:])
			l.mu.Unlock()
			return dst[:n], nil
		}
		if l.closed {
			l.mu.Unlock()
			return dst[:0], ErrLogClosed
		}
		l.readers = true
		ch := l.appended
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return dst[:0], ctx.Err()
		}
	}
}

// Delivered records that the owner has received every event up to seq,
// which frees room in the window.
func (l *Log) Delivered(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= l.delivered || seq < l.first || seq >= l.next {
		return
	}
	l.delivered = seq
	l.delCum = l.events[l.head+int(seq-l.first)].cum
	l.trim()
	if l.writers {
		close(l.drained)
		l.drained = make(chan struct{})
		l.writers = false
	}
}

// WaitRoom blocks while the owner has a full window of undelivered events.
func (l *Log) WaitRoom(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.closed || l.cum-l.delCum < l.window {
			l.mu.Unlock()
			return nil
		}
		l.writers = true
		ch := l.drained
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Snapshot returns the retained events from seq from on (all of them when
// from is older than the first retained event), oldest first.
func (l *Log) Snapshot(from uint64) []*Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	from = max(from, l.first)
	if from >= l.next {
		return nil
	}
	return slices.Clone(l.events[l.head+int(from-l.first):])
}

// Base returns the first retained sequence number, the state every
// socket was in just before it, folded from the events no longer retained
// (docs/protocol.md §15.3), and up to len(dst) events from it on, all at
// one moment: a reader that asked for older events carries on from there,
// with no event trimmed between the state and the events.
func (l *Log) Base(dst []*Event) (first uint64, sockets []SockState, evs []*Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := copy(dst, l.events[l.head:])
	return l.first, l.base.List(), dst[:n]
}

// History returns what Base does and the retained events, all at one
// moment: a file of them starts where its header says (docs/protocol.md
// §15.6), with no event trimmed between the sockets' state and the first.
func (l *Log) History() (first uint64, sockets []SockState, evs []*Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.base.List(), slices.Clone(l.events[l.head:])
}

// Bounds reports the first retained and the next sequence number.
func (l *Log) Bounds() (first, next uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.next
}

// Close ends the log: readers get the remaining events, then ErrLogClosed,
// and waiters in WaitRoom return.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.observed != nil {
		l.observed()
	}
	l.readers, l.writers = false, false
	close(l.appended)
	close(l.drained)
}

// Pending returns the bytes of events appended but not yet delivered.
func (l *Log) Pending() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cum - l.delCum
}
