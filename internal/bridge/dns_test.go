package bridge_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a real DNS server on loopback UDP with fixed answers: the A
// and AAAA records of the names in its table, NXDOMAIN for every other name.
// It answers whatever question it is asked, so a resolver that tries search
// domains first still gets to the name itself.
type dnsServer struct {
	pc      net.PacketConn
	records map[string][]netip.Addr // fully qualified, lower case: "echo.playground.test."
	done    chan struct{}

	mu    sync.Mutex
	asked []string // every question, as "name TYPE"
}

// startDNS starts a dnsServer, stopped and waited for when the test ends,
// and returns it with a pure-Go resolver that sends every query to it
// (whatever /etc/resolv.conf names: no query leaves loopback).
func startDNS(t testing.TB, records map[string][]netip.Addr) (*dnsServer, *net.Resolver) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{pc: pc, records: records, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		pc.Close()
		<-s.done
	})
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			// Always UDP to our server: the resolver frames messages by the
			// connection's type, so it never expects TCP framing here.
			var d net.Dialer
			return d.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
	return s, r
}

func (s *dnsServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if resp, ok := s.answer(buf[:n]); ok {
			s.pc.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query, or reports that it is not one.
func (s *dnsServer) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	s.asked = append(s.asked, name+" "+q.Type.String())
	s.mu.Unlock()

	rh := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	addrs, known := s.records[name]
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, false
		}
	}
	msg, err := b.Finish()
	return msg, err == nil
}

// Asked reports whether the server was asked about name (any type).
func (s *dnsServer) Asked(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.asked {
		if strings.HasPrefix(q, strings.ToLower(name)+" ") {
			return true
		}
	}
	return false
}

// Questions returns every question asked so far, for failure messages.
func (s *dnsServer) Questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

// TestDNSServer checks the helper itself against the resolver the session
// will use, so a failure in the hostname tests is not the helper's.
func TestDNSServer(t *testing.T) {
	srv, r := startDNS(t, map[string][]netip.Addr{
		"echo.playground.test.": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	})
	ctx := context.Background()
	for network, want := range map[string]string{"ip4": "127.0.0.1", "ip6": "::1"} {
		got, err := r.LookupNetIP(ctx, network, "echo.playground.test")
		if err != nil || len(got) != 1 || got[0].Unmap().String() != want {
			t.Fatalf("LookupNetIP(%s, echo.playground.test) = %v, %v; want [%s]", network, got, err, want)
		}
	}
	_, err := r.LookupNetIP(ctx, "ip", "nope.playground.test")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("LookupNetIP(nope.playground.test) error %v; want a not-found *net.DNSError", err)
	}
	if !srv.Asked("echo.playground.test.") || !srv.Asked("nope.playground.test.") {
		t.Fatalf("the resolver did not ask the loopback server; it was asked %v", srv.Questions())
	}
}
