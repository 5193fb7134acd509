package session

import (
	"runtime"
	"testing"
)

// TestEnqueueWhileClosing: when the session is closing, the operation
// whose enqueue would start the socket's worker is refused; an operation
// another goroutine queued behind it meanwhile still runs. (A repeat
// queues its send so and waits for it: were that send dropped, the repeat
// would wait for ever, and Session.Close with it.)
func TestEnqueueWhileClosing(t *testing.T) {
	s := New(Options{ID: "closing"})
	defer func() { s.cancel(); s.log.Close() }()
	sk, err := s.newSocket(KindTCP, 0)
	if err != nil {
		t.Fatal(err)
	}

	// Hold the session, so the first enqueue stops in s.goroutine, after
	// it has queued its operation and marked the worker running.
	s.mu.Lock()
	first := make(chan *Error)
	go func() { first <- s.enqueue(sk, 7, func() { t.Error("the refused operation ran") }) }()
	for running := false; !running; runtime.Gosched() {
		sk.mu.Lock()
		running = sk.running
		sk.mu.Unlock()
	}
	ran := make(chan struct{})
	if err := s.enqueue(sk, 5, func() { sk.dequeued(5); close(ran) }); err != nil {
		t.Fatalf("an operation queued behind a running worker was refused: %v", err)
	}
	s.closed = true // Close has begun: no goroutine may start
	s.mu.Unlock()

	if err := <-first; err == nil || err.Code != CodeBadState {
		t.Fatalf("the enqueue that could not start the worker returned %v; want bad_state", err)
	}
	select {
	case <-ran:
	default:
		t.Fatal("the operation queued behind the refused one never ran")
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.running || len(sk.queue) != 0 || sk.queued != 0 {
		t.Fatalf("after: running %v, %d queued, %d bytes; want an idle, empty queue", sk.running, len(sk.queue), sk.queued)
	}
}
