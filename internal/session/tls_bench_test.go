package session_test

import (
	"context"
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/session"
	"github.com/socketplayground/playground/internal/tlstest"
)

// BenchmarkTLSRoundTrip: 64-byte round trips to a loopback TLS echo, one
// at a time, through a session's TLS socket (send, then the echo's bytes
// read back from the log as the owner reads them) and, in the same run,
// through a Go tls.Conn to the same echo. session-ns/op is the session's
// round trip, raw-ns/op the tls.Conn's, x-raw their ratio (ns/op is both).
func BenchmarkTLSRoundTrip(b *testing.B) {
	ca := tlstest.NewCA(b, "Playground Bench CA")
	echo := tlstest.StartEcho(b, "127.0.0.1:0", tlstest.ServerConfig(ca.Issue(b, tlstest.Loopback())))
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	s := session.New(session.Options{ID: "bench", TLSRoots: ca.Pool})
	defer s.Close()
	log := s.Log()
	buf := make([]*session.Event, 64)
	next := uint64(1)
	// wait reads the log, as the owner does, until f accepts an event.
	wait := func(f func(*session.Event) bool) {
		for {
			evs, err := log.Next(ctx, next, buf)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range evs {
				next = e.Seq + 1
				log.Delivered(e.Seq)
				if e.Type == session.TypeError {
					b.Fatalf("error event: %+v", e)
				}
				if f(e) {
					return
				}
			}
		}
	}
	sock := s.Connect(session.Req{ID: "c"}, session.ConnectArgs{Host: "127.0.0.1", Port: int(echo.Addr.Port()),
		TLS: &session.TLSArgs{Verify: true}})
	wait(func(e *session.Event) bool { return e.Type == session.TypeState && e.State == session.StateEstablished })

	raw, err := tls.Dial("tcp", echo.Addr.String(), &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	back := make([]byte, len(msg))

	// The two alternate, so a machine busy with something else slows
	// both alike: the ratio is the figure to read.
	var took, rawTook time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		s.Send(session.Req{}, sock, msg)
		got := 0
		wait(func(e *session.Event) bool {
			if e.Type == session.TypeData && e.Sock == sock {
				got += e.Len
			}
			return got >= len(msg)
		})
		mid := time.Now()
		if _, err := raw.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(raw, back); err != nil {
			b.Fatal(err)
		}
		took += mid.Sub(start)
		rawTook += time.Since(mid)
	}
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "session-ns/op")
	b.ReportMetric(float64(rawTook.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(took)/float64(rawTook), "x-raw")
}
