package session_test

import (
	"crypto/tls"
	"net"
	"sync"
	"testing"

	"github.com/socketplayground/playground/internal/session"
	"github.com/socketplayground/playground/internal/tlstest"
)

// TestTLSNothingAfterClose: closing a TLS socket whose peer keeps sending
// logs nothing of it after its "closed" state. (The TLS connection stays
// open a moment longer, for its close_notify; its reader must not go on
// logging what arrives meanwhile.) Each round closes a connection in the
// middle of the peer's stream, then closes the session, which waits for
// every reader, so the log is complete when it is looked at.
func TestTLSNothingAfterClose(t *testing.T) {
	ca := tlstest.NewCA(t, "Playground Test CA")
	cfg := tlstest.ServerConfig(ca.Issue(t, tlstest.Loopback()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { // a server that sends until the client goes
				tc := tls.Server(c, cfg)
				defer tc.Close()
				buf := make([]byte, 1000)
				for {
					if _, err := tc.Write(buf); err != nil {
						return
					}
				}
			})
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	for round := range 30 {
		s := session.New(session.Options{ID: "tls-close", Limits: session.Limits{Window: 64 << 20}})
		sock := s.Connect(session.Req{}, session.ConnectArgs{Host: "127.0.0.1", Port: port, TLS: &session.TLSArgs{}})
		buf := make([]*session.Event, 64)
		for from, n := uint64(1), 0; n < 10; {
			evs, err := s.Log().Next(t.Context(), from, buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				from = e.Seq + 1
				if e.Type == session.TypeError {
					t.Fatalf("round %d: %s %s", round, e.Code, e.Message)
				}
				if e.Type == session.TypeData {
					n++
				}
			}
		}
		s.CloseSocket(session.Req{ID: "x"}, sock, true)
		s.Close()
		closed := uint64(0)
		for _, e := range s.Log().Snapshot(1) {
			switch {
			case e.Type == session.TypeState && e.State == session.StateClosed:
				closed = e.Seq
			case closed != 0 && e.Type == session.TypeData:
				t.Fatalf("round %d: a data event (%d) after the socket's closed state (%d)", round, e.Seq, closed)
			}
		}
		if closed == 0 {
			t.Fatalf("round %d: the socket never closed", round)
		}
	}
}
