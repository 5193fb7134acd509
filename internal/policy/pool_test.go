package policy_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/policy"
)

func reserve(p *policy.Policy, session, addr string) (netip.AddrPort, error) {
	return p.Reserve(policy.Action{Session: session, Op: policy.OpListen, Addr: ap(addr)})
}

func TestReservePortZero(t *testing.T) {
	p := newHosted(t, nil)
	for _, tc := range []struct{ in, addr string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"127.0.0.5:0", "127.0.0.5"},
		{"[::1]:0", "::1"},
		{"[::ffff:127.0.0.1]:0", "127.0.0.1"},
	} {
		got, err := reserve(p, "s1", tc.in)
		allowed(t, err)
		if got.Addr().String() != tc.addr || got.Port() < 30000 || got.Port() > 31999 {
			t.Errorf("Reserve(%s) = %s, want %s on a port in 30000-31999", tc.in, got, tc.addr)
		}
	}
	got, err := p.Reserve(policy.Action{Session: "s2", Op: policy.OpBind, Addr: ap("127.0.0.1:0")})
	allowed(t, err)
	if got.Port() < 30000 || got.Port() > 31999 {
		t.Errorf("bind got %s", got)
	}
}

func TestReserveRandomStart(t *testing.T) {
	// Fresh policies do not all hand out the same first port (a fixed start
	// would, every time; a random one repeats 20 times with chance 1e-57).
	seen := map[uint16]bool{}
	for range 20 {
		got, err := reserve(newHosted(t, nil), "s1", "127.0.0.1:0")
		allowed(t, err)
		seen[got.Port()] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 fresh pools all gave port %v first", seen)
	}
}

func TestReserveSessionsNeverShare(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) { c.PoolFirst, c.PoolLast = 30000, 30099 })
	owner := map[uint16]string{}
	for i := range 100 {
		s := "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		got, err := reserve(p, s, "127.0.0.1:0")
		allowed(t, err)
		if o, dup := owner[got.Port()]; dup {
			t.Fatalf("port %d given to %s and %s", got.Port(), o, s)
		}
		owner[got.Port()] = s
	}
	d := denied(t, func() error { _, err := reserve(p, "late", "[::1]:0"); return err }(), "pool_exhausted")
	if !strings.Contains(d.Reason, "30000–30099") {
		t.Errorf("reason %q does not name the pool", d.Reason)
	}
}

func TestReserveExhaustion(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) { c.PoolFirst, c.PoolLast = 30000, 30001 })
	a, err := reserve(p, "alice", "127.0.0.1:0")
	allowed(t, err)
	b, err := reserve(p, "bob", "[::1]:0")
	allowed(t, err)
	if a.Port() == b.Port() {
		t.Fatalf("both got port %d", a.Port())
	}
	_, err = reserve(p, "carol", "127.0.0.1:0")
	denied(t, err, "pool_exhausted")
	p.Release("alice", a.Port())
	c, err := reserve(p, "carol", "127.0.0.1:0")
	allowed(t, err)
	if c.Port() != a.Port() {
		t.Errorf("carol got %d, want the freed %d", c.Port(), a.Port())
	}
}

func TestReserveExplicit(t *testing.T) {
	p := newHosted(t, nil)
	got, err := reserve(p, "alice", "127.0.0.1:30123")
	allowed(t, err)
	if got != ap("127.0.0.1:30123") {
		t.Errorf("got %s", got)
	}

	_, err = reserve(p, "alice", "127.0.0.1:8080")
	d := denied(t, err, "outside_pool")
	if !strings.Contains(d.Reason, "8080") || !strings.Contains(d.Reason, "30000–31999") {
		t.Errorf("reason %q does not name the port and the pool", d.Reason)
	}
	_, err = reserve(p, "alice", "127.0.0.1:32000")
	denied(t, err, "outside_pool")

	_, err = reserve(p, "bob", "127.0.0.1:30123")
	d = denied(t, err, "port_taken")
	if !strings.Contains(d.Reason, "30123") {
		t.Errorf("reason %q does not name the port", d.Reason)
	}
	_, err = reserve(p, "bob", "[::1]:30123") // by port, both families
	denied(t, err, "port_taken")

	// The holder may reserve it again (its UDP socket on the same port);
	// each reservation is given back by one release, and the port is free
	// after the last.
	got, err = p.Reserve(policy.Action{Session: "alice", Op: policy.OpBind, Addr: ap("[::1]:30123")})
	allowed(t, err)
	if got != ap("[::1]:30123") {
		t.Errorf("again: got %s", got)
	}
	_, err = reserve(p, "alice", "127.0.0.1:30123")
	allowed(t, err)
	_, err = reserve(p, "bob", "127.0.0.1:30123")
	denied(t, err, "port_taken")
	for range 2 {
		p.Release("alice", 30123)
		_, err = reserve(p, "bob", "127.0.0.1:30123")
		denied(t, err, "port_taken") // alice still has a reservation
	}
	p.Release("alice", 30123)
	_, err = reserve(p, "bob", "127.0.0.1:30123")
	allowed(t, err)

	p.Release("alice", 30123) // not alice's any more: nothing happens
	_, err = reserve(p, "carol", "127.0.0.1:30123")
	denied(t, err, "port_taken")
	p.Release("nobody", 30123)
	p.Release("bob", 0)
}

func TestReserveNotLoopback(t *testing.T) {
	p := newHosted(t, nil)
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "0.0.0.0:30001"} {
		_, err := reserve(p, "s1", addr)
		d := denied(t, err, "not_loopback")
		if !strings.Contains(d.Reason, "127.0.0.1") || !strings.Contains(d.Reason, "::1") || !strings.Contains(d.Reason, ap(addr).Addr().String()) {
			t.Errorf("reason %q should name %s and suggest 127.0.0.1 or ::1", d.Reason, addr)
		}
	}
	for _, addr := range []string{"10.0.0.1:0", "[2001:db8::1]:0", "5.6.7.8:30001"} {
		_, err := reserve(p, "s1", addr)
		denied(t, err, "not_loopback")
	}
	_, err := p.Reserve(policy.Action{Session: "s1", Op: policy.OpListen})
	denied(t, err, "no_address")
	_, err = p.Reserve(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap("127.0.0.1:0")})
	denied(t, err, "not_allowed")
}

func TestReserveListenersPerSession(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) { c.Limits.ListenersPerSession = 2 })
	a, err := reserve(p, "s1", "127.0.0.1:0")
	allowed(t, err)
	_, err = reserve(p, "s1", "127.0.0.1:30500")
	allowed(t, err)
	_, err = reserve(p, "s1", "127.0.0.1:0")
	d := denied(t, err, "listeners")
	if !strings.Contains(d.Reason, "2") {
		t.Errorf("reason %q does not give the limit", d.Reason)
	}
	_, err = reserve(p, "s1", "127.0.0.1:30501")
	denied(t, err, "listeners")
	// A port it holds is not a new one.
	_, err = reserve(p, "s1", "127.0.0.1:30500")
	allowed(t, err)
	// Other sessions have their own allowance.
	_, err = reserve(p, "s2", "127.0.0.1:0")
	allowed(t, err)

	p.Release("s1", a.Port())
	_, err = reserve(p, "s1", "127.0.0.1:0")
	allowed(t, err)
}

func TestEndFreesPortsAndCounters(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) {
		c.Limits.ListenersPerSession = 2
		c.Limits.BytesPerSession = 100
	})
	_, err := reserve(p, "alice", "127.0.0.1:30010")
	allowed(t, err)
	_, err = reserve(p, "alice", "127.0.0.1:30010")
	allowed(t, err)
	_, err = reserve(p, "alice", "127.0.0.1:30011")
	allowed(t, err)
	allowed(t, p.Check(policy.Action{Session: "alice", Op: policy.OpRecv, Bytes: 100}))

	p.End("alice")
	for _, port := range []string{"30010", "30011"} {
		_, err := reserve(p, "bob", "127.0.0.1:"+port)
		allowed(t, err)
	}
	// A late release from alice's closing socket changes nothing.
	p.Release("alice", 30010)
	_, err = reserve(p, "carol", "127.0.0.1:30010")
	denied(t, err, "port_taken")
	// Alice's counters are gone: a new session by the same id starts afresh.
	allowed(t, p.Check(policy.Action{Session: "alice", Op: policy.OpSend, Addr: ap("127.0.0.1:7"), Bytes: 100}))
	p.End("nobody")
}
