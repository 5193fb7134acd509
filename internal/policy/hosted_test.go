package policy_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/policy"
)

func TestHostedDefaults(t *testing.T) {
	p, err := policy.Hosted(policy.Config{OwnAddrs: []netip.Addr{}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "hosted" || !p.Hosted() {
		t.Errorf("Name = %q, Hosted() = %v; want hosted, true", p.Name, p.Hosted())
	}
	if first, last := p.Pool(); first != 30000 || last != 31999 {
		t.Errorf("Pool() = %d, %d; want 30000, 31999", first, last)
	}
	if policy.DefaultPoolFirst != 30000 || policy.DefaultPoolLast != 31999 {
		t.Errorf("default pool = %d-%d, want 30000-31999", policy.DefaultPoolFirst, policy.DefaultPoolLast)
	}
	want := policy.Limits{ConnectsPerMinute: 60, TargetsPerHour: 30, BytesPerSecond: 256 << 10, BytesPerSession: 64 << 20, ListenersPerSession: 4}
	if policy.DefaultHostedLimits != want {
		t.Errorf("DefaultHostedLimits = %+v, want %+v", policy.DefaultHostedLimits, want)
	}
	if got := p.Limits(); got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}

	p = newHosted(t, func(c *policy.Config) {
		c.Limits = policy.Limits{TargetsPerHour: 5, BytesPerSession: -1}
		c.PoolFirst, c.PoolLast = 50000, 50009
	})
	want.TargetsPerHour, want.BytesPerSession = 5, -1
	if got := p.Limits(); got != want {
		t.Errorf("Limits() with overrides = %+v, want %+v", got, want)
	}
	if first, last := p.Pool(); first != 50000 || last != 50009 {
		t.Errorf("Pool() = %d, %d; want 50000, 50009", first, last)
	}
}

func TestHostedReadsInterfacesWhenOwnAddrsNil(t *testing.T) {
	// net.InterfaceAddrs reads the kernel's tables; it sends nothing.
	p, err := policy.Hosted(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil || pfx.Addr().IsLoopback() || pfx.Addr().IsLinkLocalUnicast() {
			continue
		}
		// Check dials nothing: this only asks the rules.
		err = p.Check(policy.Action{Session: "s", Op: policy.OpConnect, Addr: netip.AddrPortFrom(pfx.Addr(), 8080)})
		var d *policy.Denied
		if !errors.As(err, &d) || d.Rule != "own_address" {
			t.Errorf("this host's address %s: %v, want rule own_address", pfx.Addr(), err)
		}
		return
	}
	t.Skip("this host has no address but loopback and link-local ones")
}

func TestHostedConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*policy.Config)
		want string
	}{
		{"only first pool port", func(c *policy.Config) { c.PoolFirst = 30000 }, "listener pool"},
		{"only last pool port", func(c *policy.Config) { c.PoolLast = 30000 }, "listener pool"},
		{"pool backwards", func(c *policy.Config) { c.PoolFirst, c.PoolLast = 31000, 30000 }, "listener pool"},
		{"service in pool", func(c *policy.Config) { c.Services = append(c.Services, ap("127.0.0.1:30500")) }, "inside the listener pool"},
		{"service without port", func(c *policy.Config) { c.Services = append(c.Services, ap("127.0.0.1:0")) }, "port"},
		{"service invalid", func(c *policy.Config) { c.Services = append(c.Services, netip.AddrPort{}) }, "address"},
		{"zero rule", func(c *policy.Config) { c.Allow = append(c.Allow, policy.Rule{}) }, "ParseRule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t)
			tc.edit(&c)
			_, err := policy.Hosted(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Hosted: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// TestHostedRefusedTargets is the table of targets hosted mode refuses, for
// connect and for sendto alike.
func TestHostedRefusedTargets(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		host  string // the name typed, if any
		rule  string
		names []string // the reason must mention each
	}{
		// private, in both families and disguises
		{addr: "10.0.0.5:80", rule: "private", names: []string{"10.0.0.5", "10.0.0.0/8"}},
		{addr: "172.16.3.4:80", rule: "private", names: []string{"172.16.3.4", "172.16.0.0/12"}},
		{addr: "192.168.1.1:80", rule: "private", names: []string{"192.168.1.1", "192.168.0.0/16"}},
		{addr: "[fd12::1]:80", rule: "private", names: []string{"fd12::1", "fc00::/7"}},
		{addr: "[::ffff:10.0.0.1]:80", rule: "private", names: []string{"::ffff:10.0.0.1", "10.0.0.0/8"}},
		{addr: "[64:ff9b::a00:1]:80", rule: "private", names: []string{"64:ff9b::a00:1", "as NAT64 of 10.0.0.1", "10.0.0.0/8"}},
		{addr: "[64:ff9b:1::a00:1]:80", rule: "reserved", names: []string{"64:ff9b:1::a00:1", "NAT64"}},
		{addr: "[64:ff9b:1:a00:0:100:808:808]:80", rule: "reserved", names: []string{"local-use NAT64"}},
		{addr: "[2002:a00:1::1]:80", rule: "reserved", names: []string{"6to4"}},
		{addr: "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80", rule: "reserved", names: []string{"Teredo"}},
		{addr: "10.0.0.1:8443", rule: "private", names: []string{"10.0.0.1"}},                  // 0.0.0.0/0:8443 opens public addresses only
		{addr: "10.2.0.1:22", rule: "private", names: []string{"10.2.0.1"}},                    // outside the opened 10.1.0.0/16
		{addr: "[64:ff9b::a01:204]:22", rule: "private", names: []string{"NAT64 of 10.1.2.4"}}, // NAT64 never opens a private range
		{addr: "[64:ff9b::a01:203]:22", rule: "own_address", names: []string{"NAT64 of 10.1.2.3"}},
		// metadata, even where a prefix rule covers it
		{addr: "169.254.169.254:80", rule: "metadata", names: []string{"169.254.169.254", "metadata"}},
		{addr: "[64:ff9b::a9fe:a9fe]:80", rule: "metadata", names: []string{"64:ff9b::a9fe:a9fe", "as NAT64 of 169.254.169.254"}},
		{addr: "[fd00:ec2::254]:80", rule: "metadata", names: []string{"fd00:ec2::254"}},
		{addr: "[fd00:ec2::23]:80", rule: "metadata", names: []string{"fd00:ec2::23"}},
		{addr: "169.254.170.2:80", rule: "metadata", names: []string{"169.254.170.2"}},
		{addr: "100.100.100.200:80", rule: "metadata", names: []string{"100.100.100.200", "Alibaba"}},
		{addr: "[::ffff:169.254.169.254]:80", rule: "metadata", names: []string{"::ffff:169.254.169.254"}},
		// link-local, CGNAT
		{addr: "169.254.1.1:443", rule: "link_local", names: []string{"169.254.1.1", "169.254.0.0/16"}},
		{addr: "[fe80::1]:80", rule: "link_local", names: []string{"fe80::1", "fe80::/10"}},
		{addr: "[fe80::1%eth0]:80", rule: "link_local", names: []string{"fe80::1%eth0"}},
		{addr: "100.64.0.1:443", rule: "cgnat", names: []string{"100.64.0.1", "100.64.0.0/10"}},
		// multicast, broadcast, unspecified
		{addr: "224.0.0.1:80", rule: "multicast", names: []string{"224.0.0.1"}},
		{addr: "239.255.255.250:1900", rule: "multicast", names: []string{"239.255.255.250"}},
		{addr: "[ff02::1]:80", rule: "multicast", names: []string{"ff02::1", "ff00::/8"}},
		{addr: "255.255.255.255:80", rule: "broadcast", names: []string{"255.255.255.255"}},
		{addr: "127.255.255.255:30000", rule: "broadcast", names: []string{"127.255.255.255", "loopback network's broadcast"}},
		{addr: "127.255.255.255:7", rule: "broadcast", names: []string{"127.255.255.255"}},
		{addr: "0.0.0.0:80", rule: "unspecified", names: []string{"0.0.0.0", "127.0.0.1"}},
		{addr: "[::]:80", rule: "unspecified", names: []string{"::"}},
		{addr: "[64:ff9b::]:80", rule: "unspecified", names: []string{"64:ff9b::", "NAT64"}},
		// this host's own addresses, even inside an opened private range
		{addr: "5.6.7.8:80", rule: "own_address", names: []string{"5.6.7.8", "own address"}},
		{addr: "[2a01:4f8::1]:443", rule: "own_address", names: []string{"2a01:4f8::1"}},
		{addr: "10.1.2.3:22", rule: "own_address", names: []string{"10.1.2.3"}},
		{addr: "5.6.7.8:8443", rule: "own_address", names: []string{"5.6.7.8"}},
		// SMTP on any address, even an allowlisted prefix listing the port
		{addr: "203.0.113.5:25", rule: "smtp", names: []string{"203.0.113.5", "25"}},
		{addr: "8.8.8.8:465", rule: "smtp", names: []string{"8.8.8.8", "465"}},
		{addr: "[2001:db8::1]:587", rule: "smtp", names: []string{"2001:db8::1", "587"}},
		{addr: "1.2.3.4:25", rule: "smtp", names: []string{"1.2.3.4"}},
		// loopback outside the services and the pool's held ports
		{addr: "127.0.0.1:22", rule: "loopback_port", names: []string{"127.0.0.1", "22", "127.0.0.1:7", "30000–31999"}},
		{addr: "[::1]:8080", rule: "loopback_port", names: []string{"::1", "8080"}},
		{addr: "[::ffff:127.0.0.1]:22", rule: "loopback_port", names: []string{"::ffff:127.0.0.1"}},
		{addr: "127.0.0.2:7", rule: "loopback_port", names: []string{"127.0.0.2"}},
		{addr: "127.0.0.2:30002", rule: "loopback_port", names: []string{"127.0.0.2", "30002", "no session is listening"}},
		{addr: "127.0.0.1:30000", rule: "loopback_port", names: []string{"30000"}},
		{addr: "[64:ff9b::7f00:1]:7", rule: "loopback_port", names: []string{"64:ff9b::7f00:1", "127.0.0.1", "NAT64"}},
		// reserved ranges
		{addr: "0.1.2.3:80", rule: "reserved", names: []string{"0.1.2.3", "0.0.0.0/8"}},
		{addr: "192.0.0.9:80", rule: "reserved", names: []string{"192.0.0.9"}},
		{addr: "192.0.2.1:80", rule: "reserved", names: []string{"192.0.2.1", "documentation"}},
		{addr: "198.18.0.1:80", rule: "reserved", names: []string{"198.18.0.1", "198.18.0.0/15"}},
		{addr: "198.51.100.7:80", rule: "reserved", names: []string{"198.51.100.7"}},
		{addr: "203.0.113.5:80", rule: "reserved", names: []string{"203.0.113.5"}}, // opened only on 7-9,13
		{addr: "240.0.0.1:80", rule: "reserved", names: []string{"240.0.0.1"}},
		{addr: "[2001:db8::1]:80", rule: "reserved", names: []string{"2001:db8::1", "2001:db8::/32"}},
		{addr: "[100::1]:80", rule: "reserved", names: []string{"100::1"}},
		{addr: "[3fff::1]:80", rule: "reserved", names: []string{"3fff::1"}},
		// public but not listed
		{addr: "1.1.1.1:80", rule: "not_allowed", names: []string{"1.1.1.1", "80", "allowlist", "example.com:80,443"}},
		{addr: "[2606:4700::1111]:443", rule: "not_allowed", names: []string{"2606:4700::1111"}},
		{addr: "93.184.215.14:443", rule: "not_allowed", names: []string{"93.184.215.14"}}, // a host rule needs the name
		{addr: "93.184.215.14:22", host: "example.com", rule: "not_allowed", names: []string{"example.com", "93.184.215.14", "22"}},
		{addr: "93.184.215.14:80", host: "example.org", rule: "not_allowed", names: []string{"example.org", "93.184.215.14"}},
		{addr: "93.184.215.14:80", host: "www.example.com", rule: "not_allowed", names: []string{"www.example.com"}},
		// an allowlisted name that resolves somewhere it must not go (DNS rebinding)
		{addr: "10.0.0.1:80", host: "example.com", rule: "private", names: []string{"example.com resolved to 10.0.0.1", "10.0.0.0/8", "never reaches a non-public"}},
		{addr: "10.1.0.1:80", host: "example.com", rule: "private", names: []string{"example.com resolved to 10.1.0.1"}},
		{addr: "127.0.0.1:80", host: "example.com", rule: "loopback_port", names: []string{"example.com resolved to 127.0.0.1", "port 80"}},
		{addr: "169.254.169.254:80", host: "Example.COM.", rule: "metadata", names: []string{"Example.COM. resolved to 169.254.169.254"}},
		{addr: "203.0.113.7:443", host: "example.com", rule: "reserved", names: []string{"example.com resolved to 203.0.113.7"}},
		{addr: "5.6.7.8:443", host: "example.com", rule: "own_address", names: []string{"5.6.7.8"}},
		{addr: "[64:ff9b::a00:1]:443", host: "example.com", rule: "private", names: []string{"NAT64 of 10.0.0.1"}},
	} {
		for _, op := range []policy.Op{policy.OpConnect, policy.OpSendTo} {
			t.Run(string(op)+" "+tc.host+" "+tc.addr, func(t *testing.T) {
				p := newHosted(t, nil)
				a := policy.Action{Session: "s1", Op: op, Addr: ap(tc.addr), Host: tc.host, Bytes: 10}
				d := denied(t, p.Check(a), tc.rule)
				if d.Action != a {
					t.Errorf("Denied.Action = %+v, want %+v", d.Action, a)
				}
				if d.RetryAfter != 0 {
					t.Errorf("RetryAfter = %v, want 0 for rule %s", d.RetryAfter, tc.rule)
				}
				for _, n := range tc.names {
					if !strings.Contains(d.Reason, n) {
						t.Errorf("reason %q does not mention %q", d.Reason, n)
					}
				}
			})
		}
	}
}

func TestHostedAllowedTargets(t *testing.T) {
	for _, tc := range []struct {
		addr, host, why string
	}{
		{"127.0.0.1:7", "", "a service"},
		{"[::1]:7", "", "a service over IPv6"},
		{"[::ffff:127.0.0.1]:13", "", "a service, IPv4-mapped"},
		{"127.0.0.1:13", "localhost", "a service by name"},
		{"203.0.113.5:7", "", "a documentation prefix the operator opened"},
		{"203.0.113.200:13", "", "a documentation prefix, single port"},
		{"10.1.2.4:22", "", "a private prefix the operator opened"},
		{"[2001:db8::5]:443", "", "an IPv6 prefix"},
		{"[fd00:ec2::1]:80", "", "a ULA prefix the operator opened"},
		{"169.254.1.1:80", "", "a link-local prefix the operator opened"},
		{"100.64.0.1:80", "", "a CGNAT prefix the operator opened"},
		{"93.184.215.14:443", "example.com", "a host rule with a public address"},
		{"93.184.215.14:80", "EXAMPLE.com.", "a host rule, case and trailing dot ignored"},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", "example.com", "a host rule over IPv6"},
		{"[64:ff9b::5db8:d70e]:443", "example.com", "a host rule through NAT64 of a public address"},
		{"10.1.0.1:22", "internal.example.com", "a private prefix the operator opened, whatever the name"},
		{"1.1.1.1:8443", "", "a broad prefix rule"},
		{"[::ffff:1.1.1.1]:8443", "", "a broad prefix rule, IPv4-mapped"},
		{"8.8.8.8:53", "", "a public prefix"},
		{"[64:ff9b::808:808]:53", "", "NAT64 of an allowlisted public address"},
	} {
		for _, op := range []policy.Op{policy.OpConnect, policy.OpSendTo} {
			t.Run(string(op)+" "+tc.why, func(t *testing.T) {
				p := newHosted(t, nil)
				allowed(t, p.Check(policy.Action{Session: "s1", Op: op, Addr: ap(tc.addr), Host: tc.host, Bytes: 10}))
			})
		}
	}
}

func TestHostedLoopbackPairing(t *testing.T) {
	p := newHosted(t, nil)
	got, err := p.Reserve(policy.Action{Session: "alice", Op: policy.OpListen, Addr: ap("127.0.0.1:0")})
	allowed(t, err)
	port := got.Port()
	for _, addr := range []string{"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"} {
		to := netip.AddrPortFrom(netip.MustParseAddr(addr), port)
		allowed(t, p.Check(policy.Action{Session: "bob", Op: policy.OpConnect, Addr: to}))
		allowed(t, p.Check(policy.Action{Session: "bob", Op: policy.OpSendTo, Addr: to, Bytes: 1}))
	}
	// NAT64 of loopback goes to the gateway's loopback, never ours.
	nat := netip.AddrPortFrom(netip.MustParseAddr("64:ff9b::7f00:1"), port)
	denied(t, p.Check(policy.Action{Session: "bob", Op: policy.OpConnect, Addr: nat}), "loopback_port")

	p.Release("alice", port)
	denied(t, p.Check(policy.Action{Session: "bob", Op: policy.OpConnect, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}), "loopback_port")
}

func TestHostedSend(t *testing.T) {
	p := newHosted(t, nil)
	send := func(addr, host string) error {
		return p.Check(policy.Action{Session: "s1", Op: policy.OpSend, Addr: ap(addr), Host: host, Bytes: 5})
	}
	// Loopback: services' ports and the whole pool range, held or not.
	allowed(t, send("127.0.0.1:7", ""))
	allowed(t, send("127.0.0.1:13", ""))
	allowed(t, send("[::1]:13", ""))
	allowed(t, send("127.0.0.1:30000", ""))
	allowed(t, send("[::1]:31999", ""))
	denied(t, send("127.0.0.1:22", ""), "loopback_port")
	denied(t, send("127.0.0.1:51234", ""), "loopback_port")
	// A remote this session accepted stays reachable.
	allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpAccept, Addr: ap("127.0.0.1:51234")}))
	allowed(t, send("127.0.0.1:51234", ""))
	allowed(t, send("[::ffff:127.0.0.1]:51234", ""))
	denied(t, p.Check(policy.Action{Session: "s2", Op: policy.OpSend, Addr: ap("127.0.0.1:51234"), Bytes: 1}), "loopback_port")

	// The stateless rules again.
	denied(t, send("10.0.0.1:80", ""), "private")
	denied(t, send("169.254.169.254:80", ""), "metadata")
	denied(t, send("203.0.113.5:25", ""), "smtp")
	denied(t, send("[64:ff9b::a00:1]:80", ""), "private")
	denied(t, send("1.1.1.1:80", ""), "not_allowed")
	denied(t, send("224.0.0.1:80", ""), "multicast")
	// An allowlisted address stays allowed.
	allowed(t, send("203.0.113.5:7", ""))
	allowed(t, send("10.1.9.9:22", ""))
	allowed(t, send("93.184.215.14:443", "example.com"))

	// A peer reached by name stays allowed when the send does not repeat
	// the name; another session's peer does not.
	denied(t, send("93.184.215.15:443", ""), "not_allowed")
	allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap("93.184.215.15:443"), Host: "example.com"}))
	allowed(t, send("93.184.215.15:443", ""))
	denied(t, p.Check(policy.Action{Session: "s2", Op: policy.OpSend, Addr: ap("93.184.215.15:443"), Bytes: 1}), "not_allowed")
	// A refused connect leaves nothing behind.
	denied(t, p.Check(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap("10.0.0.1:443"), Host: "example.com"}), "private")
	denied(t, send("10.0.0.1:443", ""), "private")
}

func TestHostedAccept(t *testing.T) {
	p := newHosted(t, nil)
	for _, a := range []string{"127.0.0.1:5000", "127.3.4.5:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"} {
		allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpAccept, Addr: ap(a)}))
	}
	for _, a := range []string{"10.0.0.1:5000", "8.8.8.8:5000", "[2001:db8::1]:5000", "[64:ff9b::7f00:1]:5000"} {
		d := denied(t, p.Check(policy.Action{Session: "s1", Op: policy.OpAccept, Addr: ap(a)}), "not_loopback")
		if !strings.Contains(d.Reason, ap(a).Addr().String()) {
			t.Errorf("reason %q does not name %s", d.Reason, a)
		}
	}
}

func TestHostedListenCheck(t *testing.T) {
	p := newHosted(t, nil)
	got, err := p.Reserve(policy.Action{Session: "alice", Op: policy.OpListen, Addr: ap("127.0.0.1:0")})
	allowed(t, err)
	port := got.Port()
	on := func(addr string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(addr), port) }
	for _, op := range []policy.Op{policy.OpListen, policy.OpBind} {
		allowed(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: on("127.0.0.1")}))
		allowed(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: on("::1")}))
		denied(t, p.Check(policy.Action{Session: "bob", Op: op, Addr: on("127.0.0.1")}), "port_taken")
		denied(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: on("0.0.0.0")}), "not_loopback")
		// Bound to the loopback broadcast address, a socket would receive broadcasts.
		denied(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: on("127.255.255.255")}), "broadcast")
		denied(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: on("10.0.0.1")}), "not_loopback")
		denied(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: ap("127.0.0.1:8080")}), "outside_pool")
		other := port + 1
		if other > 31999 {
			other = 30000
		}
		denied(t, p.Check(policy.Action{Session: "alice", Op: op, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), other)}), "outside_pool")
	}
}

func TestHostedNoAddress(t *testing.T) {
	p := newHosted(t, nil)
	for _, op := range []policy.Op{policy.OpConnect, policy.OpSendTo, policy.OpSend, policy.OpListen, policy.OpBind, policy.OpAccept} {
		denied(t, p.Check(policy.Action{Session: "s1", Op: op}), "no_address")
	}
	allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpRecv, Bytes: 10}))
	denied(t, p.Check(policy.Action{Session: "s1", Op: "frobnicate", Addr: ap("127.0.0.1:7")}), "not_allowed")
}

// Step mode's socket and setsockopt have no address; hosted mode allows
// them, but keeps broadcasts and multicast off.
func TestHostedStepCalls(t *testing.T) {
	p := newHosted(t, nil)
	local := policy.Local()
	allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpSocket}))
	allowed(t, local.Check(policy.Action{Session: "s1", Op: policy.OpSocket}))
	for _, tc := range []struct {
		option string
		rule   string // hosted mode's refusal; "" allowed
	}{
		{"SO_REUSEADDR", ""},
		{"SO_LINGER", ""},
		{"TCP_NODELAY", ""},
		{"SO_RCVBUF", ""},
		{"IP_TTL", ""},
		{"SO_BROADCAST", "broadcast"},
		{"IP_MULTICAST_TTL", "multicast"},
		{"IP_MULTICAST_LOOP", "multicast"},
		{"IP_MULTICAST_IF", "multicast"},
	} {
		a := policy.Action{Session: "s1", Op: policy.OpSetsockopt, Option: tc.option}
		allowed(t, local.Check(a))
		if tc.rule == "" {
			allowed(t, p.Check(a))
			continue
		}
		d := denied(t, p.Check(a), tc.rule)
		if !strings.Contains(d.Reason, tc.option) && tc.rule == "multicast" {
			t.Errorf("%s: reason %q does not name the option", tc.option, d.Reason)
		}
	}
}

// Joining (or leaving) a multicast group: local mode allows it, hosted mode
// never, whatever the group.
func TestHostedJoin(t *testing.T) {
	p := newHosted(t, nil)
	local := policy.Local()
	for _, g := range []string{"239.255.0.1", "224.0.0.251", "ff02::fb", "ff15::1234"} {
		a := policy.Action{Session: "s1", Op: policy.OpJoin, Addr: netip.AddrPortFrom(netip.MustParseAddr(g), 0)}
		allowed(t, local.Check(a))
		d := denied(t, p.Check(a), "multicast")
		for _, want := range []string{g, "hosted mode joins no multicast groups", "local mode"} {
			if !strings.Contains(d.Reason, want) {
				t.Errorf("join %s: reason %q does not say %q", g, d.Reason, want)
			}
		}
	}
	// Without a group, local mode asks for one like any addressed action.
	denied(t, local.Check(policy.Action{Session: "s1", Op: policy.OpJoin}), "no_address")
	denied(t, p.Check(policy.Action{Session: "s1", Op: policy.OpJoin}), "multicast")
}
