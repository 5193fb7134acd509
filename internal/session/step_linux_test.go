package session

import (
	"sync"
	"testing"
)

// TestStepKindRace: a step-mode listen changes the socket's kind on its
// worker while requests naming it are checked on the caller's goroutine.
// Run with -race.
func TestStepKindRace(t *testing.T) {
	s := New(Options{Limits: Limits{MaxSockets: 4096}})
	defer s.Close()
	for range 100 {
		id := s.Socket(Req{}, SocketArgs{Proto: "tcp"})
		s.StepBind(Req{}, id, ListenArgs{Host: "127.0.0.1"})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				s.Shutdown(Req{}, id, "write")
				s.Send(Req{}, id, []byte("x"))
			}
		}()
		s.StepListen(Req{}, id, 1)
		wg.Wait()
		s.CloseSocket(Req{}, id, true)
	}
}
