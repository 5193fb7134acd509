package export_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
	"github.com/socketplayground/playground/internal/tlstest"
)

// TestPCAPNGTLS: a TLS connection is in the capture as its plaintext, and
// its first packet's comment says so; a failed handshake is the TCP
// connection, then the client's FIN. tshark reads it as cleanly as any.
func TestPCAPNGTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "Playground Test CA")
	echo := tlstest.StartEcho(t, "127.0.0.1:0", tlstest.ServerConfig(ca.Issue(t, tlstest.Loopback())))
	r := newRig(t)
	s := r.s

	req := r.req()
	ok := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: int(echo.Addr.Port()), TLS: &session.TLSArgs{}})
	r.ok(req)
	hello := []byte("hello over TLS\n")
	for _, b := range [][]byte{hello, bigPayload} {
		req = r.req()
		s.Send(req, ok, b)
		r.ok(req)
	}
	r.received(ok, len(hello)+len(bigPayload))
	req = r.req()
	s.Shutdown(req, ok, "write")
	r.ok(req)
	r.state(ok, func(e *session.Event) bool { return e.State == session.StateClosed })

	req = r.req()
	bad := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: int(echo.Addr.Port()), TLS: &session.TLSArgs{Verify: true}})
	if e := r.answer(req); e.Code != session.CodeTLS {
		t.Fatalf("verified connect to a private CA's server: %+v; want a tls error", e)
	}
	r.state(bad, func(e *session.Event) bool { return e.State == session.StateFailed })

	evs := r.end()
	checkCapture(t, evs, capture{})

	file := filepath.Join(t.TempDir(), "capture.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := export.PCAPNG(f, evs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pkts := readPackets(t, file)
	var noted, failedFIN []string
	for _, p := range pkts {
		c := p.get("frame.comment")
		if strings.Contains(c, "TLS connection: shown as its decrypted application data; the handshake and records are not in the log") {
			noted = append(noted, c)
		}
		if strings.Contains(c, "FIN (the TLS handshake failed)") {
			failedFIN = append(failedFIN, c)
		}
	}
	if len(noted) != 2 || !strings.HasPrefix(noted[0], "connect() on socket 1: SYN (TLS connection") || !strings.HasPrefix(noted[1], "connect() on socket 2: SYN (TLS connection") {
		t.Errorf("the TLS note is on %q; want it on each TLS connection's SYN", noted)
	}
	if len(failedFIN) != 1 || !strings.HasPrefix(failedFIN[0], "connect() on socket 2: FIN") {
		t.Errorf("failed handshake's FIN: %q", failedFIN)
	}
}
