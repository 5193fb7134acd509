//go:build linux

package bridge_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/session"
)

// Multicast and broadcast (protocol.md §16.5), on real sockets and on the
// loopback interface only: every group is joined on "lo", every sender
// sends from 127.0.0.1 (or ::1) with IP_MULTICAST_IF "lo" and a TTL of 0,
// so nothing leaves this host.

// testGroup returns an IPv4 group in the organisation-local scope
// 239.255.0.0/16, different for each call, so two test runs on one host
// do not hear each other.
func testGroup() string {
	return fmt.Sprintf("239.255.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254))
}

// loSender makes sock send its multicast on lo only, with a TTL of 0, and
// to this host's own members too.
func loSender(t *testing.T, s *stepper, sock int) {
	t.Helper()
	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":"lo"}`, sock)
	if r.Iface != "lo" || r.Option != "IP_MULTICAST_IF" {
		t.Fatalf("IP_MULTICAST_IF lo answered %v", r)
	}
	for _, o := range []struct {
		name  string
		value int
	}{{"IP_MULTICAST_TTL", 0}, {"IP_MULTICAST_LOOP", 1}} {
		r := s.ok(`{"op":"setsockopt","sock":%d,"option":%q,"value":%d}`, sock, o.name, o.value)
		if r.Actual == nil || *r.Actual != o.value {
			t.Fatalf("setsockopt %s %d: the kernel kept %v", o.name, o.value, r)
		}
	}
}

// dataOn waits for the next datagram socket sock receives.
func dataOn(s *stepper, sock int) Ev {
	return s.Wait(fmt.Sprintf("a datagram on socket %d", sock), func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
}

// TestMulticastLive: a live receiver joins a group on lo and gets a
// sender's datagram, exactly, with the sender as its peer; after leave it
// does not, which a unicast datagram sent after the multicast one proves:
// the unicast one arrives, and nothing before it.
func TestMulticastLive(t *testing.T) {
	s := newStepper(t)
	group := testGroup()
	// Binding a group address: Go's net package binds the wildcard address
	// on that port (with SO_REUSEADDR), so the socket also gets unicast.
	rb := s.ok(`{"op":"bind","host":%q,"port":0}`, group)
	recv, p := rb.Sock, port(t, rb.Local)
	if rb.Local != "0.0.0.0:"+p {
		t.Fatalf("bind %s answered %v; want it bound to 0.0.0.0 on its port", group, rb)
	}
	j := s.ok(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	if j.Op != "join" || j.Group != group || j.Iface != "lo" {
		t.Fatalf("join answered %v; want group %s on lo", j, group)
	}
	sb := s.ok(`{"op":"bind","host":"127.0.0.1","port":0}`)
	send := sb.Sock
	loSender(t, s, send)

	payload := append([]byte("to the group \x00\xff "), all256...)
	id := s.do(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"base64":%q}}`, send, group, p, base64.StdEncoding.EncodeToString(payload))
	if e := s.OK(id); e.Peer != group+":"+p || e.Len != len(payload) {
		t.Fatalf("sendto answered %v; want %d bytes to %s:%s", e, len(payload), group, p)
	}
	got := dataOn(s, recv)
	if !bytes.Equal(got.Data, payload) || got.Peer != sb.Local {
		t.Fatalf("the member got %v %q; want %q from %s", got, got.Data, payload, sb.Local)
	}

	l := s.ok(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	if l.Op != "leave" || l.Group != group || l.Iface != "lo" {
		t.Fatalf("leave answered %v", l)
	}
	s.ok(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"after leave"}}`, send, group, p)
	s.ok(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"unicast"}}`, send, p)
	if got := dataOn(s, recv); string(got.Data) != "unicast" {
		t.Fatalf("after leave the socket got %q before the unicast datagram; want only the unicast one", got.Data)
	}
}

// TestMulticastStep: a step-mode receiver bound to the group address
// itself (as C and Python bind it) joins on lo and recvfrom returns the
// datagram; after leave a datagram to the group is not queued for it, which
// a datagram after a second join proves (a socket's datagrams queue in
// order, and recvfrom returns that one first).
func TestMulticastStep(t *testing.T) {
	s := newStepper(t)
	group := testGroup()
	recv := s.socket("dgram")
	b := s.ok(`{"op":"bind","sock":%d,"host":%q,"port":0}`, recv, group)
	p := port(t, b.Local)
	if b.Local != group+":"+p {
		t.Fatalf("step bind %s answered %v; want it bound to the group address", group, b)
	}
	s.ok(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	send := s.socket("dgram")
	sb := s.ok(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, send)
	loSender(t, s, send)

	recvfrom := func(want string) {
		t.Helper()
		d := s.ok(`{"op":"recvfrom","sock":%d,"n":100}`, recv)
		if string(d.Data) != want || d.Peer != sb.Local {
			t.Fatalf("recvfrom returned %v %q; want %q from %s", d, d.Data, want, sb.Local)
		}
	}
	sendto := func(text string) {
		t.Helper()
		s.ok(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":%q}}`, send, group, p, text)
	}
	sendto("one")
	recvfrom("one")
	s.ok(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	sendto("two: not a member")
	s.ok(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	sendto("three")
	recvfrom("three")
	s.ok(`{"op":"settimeout","sock":%d,"timeout_ms":0}`, recv)
	s.Fails(s.do(`{"op":"recvfrom","sock":%d,"n":100}`, recv), "would_block")
}

// TestMulticastBadRequests: each bad join, leave or IP_MULTICAST_IF is an
// error that names what was wrong, and the session carries on.
func TestMulticastBadRequests(t *testing.T) {
	s := newStepper(t)
	group := testGroup()
	u4 := s.ok(`{"op":"bind","host":"127.0.0.1","port":0}`).Sock
	u6 := s.ok(`{"op":"bind","host":"::1","port":0}`).Sock
	ln := s.ok(`{"op":"listen","host":"127.0.0.1","port":0}`).Sock
	gone := s.ok(`{"op":"bind","host":"127.0.0.1","port":0}`).Sock
	s.ok(`{"op":"close","sock":%d}`, gone)

	var names []string
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	for _, tc := range []struct {
		name, req, code string
		says            []string // the message says each
	}{
		{"not multicast", fmt.Sprintf(`{"op":"join","sock":%d,"group":"10.1.2.3","iface":"lo"}`, u4), "bad_field", []string{"10.1.2.3", "multicast"}},
		{"not an address", fmt.Sprintf(`{"op":"join","sock":%d,"group":"lo","iface":"lo"}`, u4), "bad_field", []string{`"lo"`, "multicast"}},
		{"IPv6 group, IPv4 socket", fmt.Sprintf(`{"op":"join","sock":%d,"group":"ff12::1234","iface":"lo"}`, u4), "bad_field", []string{"IPv4 socket", "ff12::1234", "IPv6 group"}},
		{"IPv4 group, IPv6 socket", fmt.Sprintf(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, u6, group), "bad_field", []string{"IPv6 socket", group, "IPv4 group"}},
		{"unknown interface", fmt.Sprintf(`{"op":"join","sock":%d,"group":%q,"iface":"nosuch0"}`, u4, group), "bad_field", append([]string{`"nosuch0"`}, names...)},
		{"a TCP listener", fmt.Sprintf(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, ln, group), "bad_state", []string{"tcp-listener", "UDP"}},
		{"a closed socket", fmt.Sprintf(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, gone, group), "bad_state", []string{"closed"}},
		{"leave, never joined", fmt.Sprintf(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, u4, group), "bad_state", []string{"not joined", group}},
		{"IP_MULTICAST_IF unknown", fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":"nosuch0"}`, u4), "bad_field", []string{`"nosuch0"`, "lo"}},
		{"IP_MULTICAST_IF with a value", fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","value":1}`, u4), "bad_field", []string{"iface"}},
		{"IP_MULTICAST_TTL on TCP", fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_TTL","value":1}`, ln), "bad_state", []string{"IP_MULTICAST_TTL", "UDP", "tcp-listener"}},
		{"IP_MULTICAST_IF on TCP", fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":"lo"}`, ln), "bad_state", []string{"IP_MULTICAST_IF", "UDP"}},
		{"IP_MULTICAST_TTL too big", fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_TTL","value":256}`, u4), "bad_field", []string{"IP_MULTICAST_TTL", "255"}},
	} {
		id := s.do(tc.req)
		e := s.Fails(id, tc.code)
		for _, w := range tc.says {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%s: message %q does not say %q", tc.name, e.Message, w)
			}
		}
	}

	// Twice on one interface; a leave that names another interface.
	s.ok(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, u4, group)
	e := s.Fails(s.do(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, u4, group), "addr_in_use")
	if !strings.Contains(e.Message, "already joined "+group+" on lo") {
		t.Errorf("join twice: %q", e.Message)
	}
	e = s.Fails(s.do(`{"op":"leave","sock":%d,"group":%q}`, u4, group), "bad_state")
	if !strings.Contains(e.Message, "on lo") {
		t.Errorf("leave without iface of a group joined on lo: %q does not say where it was joined", e.Message)
	}
	s.ok(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, u4, group)
	s.Fails(s.do(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, u4, group), "bad_state")

	// IP_MULTICAST_IF "" gives the choice back to the kernel.
	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":""}`, u4)
	if r.Value == nil || *r.Value != 0 || r.Iface != "" {
		t.Errorf(`IP_MULTICAST_IF "" answered %v; want value 0`, r)
	}
	carriesOn(t, s.Client)
}

// TestMulticastIPv6: an IPv6 socket joins, and refuses a second join, on
// lo. Whether IPv6 multicast is then delivered on lo is the kernel's
// choice: Linux routes ff00::/8 only through interfaces with the multicast
// flag, which lo lacks, so sendto says ENETUNREACH. The test then skips,
// with the kernel's words.
func TestMulticastIPv6(t *testing.T) {
	s := newStepper(t)
	group := fmt.Sprintf("ff15::%x:%x", 1+rand.IntN(0xfffe), 1+rand.IntN(0xfffe))
	rb := s.ok(`{"op":"bind","host":"::","port":0}`)
	recv, p := rb.Sock, port(t, rb.Local)
	s.ok(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
	s.Fails(s.do(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, recv, group), "addr_in_use")

	sb := s.ok(`{"op":"bind","host":"::1","port":0}`)
	send := sb.Sock
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":"lo"}`, send)
	if r.Actual == nil || *r.Actual != lo.Index {
		t.Fatalf("IPV6_MULTICAST_IF lo: the kernel kept %v; want index %d", r, lo.Index)
	}
	loSender(t, s, send)
	e := s.Result(s.do(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"six"}}`, send, group, p))
	if e.Type == "error" {
		if e.Code != "unreachable" {
			t.Fatalf("sendto %s: %v; want it sent, or unreachable where the kernel routes no IPv6 multicast on lo", group, e)
		}
		s.ok(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
		t.Skipf("this kernel sends no IPv6 multicast on lo: %s (%s)", e.Message, e.Errno)
	}
	got := dataOn(s, recv)
	if string(got.Data) != "six" || got.Peer != sb.Local {
		t.Fatalf("the member got %v %q; want six from %s", got, got.Data, sb.Local)
	}
	s.ok(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, recv, group)
}

// TestBroadcastLoopback: SO_BROADCAST 1, then a datagram to lo's broadcast
// address 127.255.255.255 reaches a socket bound to 0.0.0.0 on that port,
// exactly, from the sender. Without the option, Linux delivers it on lo too
// (the loopback network's broadcast is local delivery); a kernel that
// refuses it must say EACCES.
func TestBroadcastLoopback(t *testing.T) {
	s := newStepper(t)
	rb := s.ok(`{"op":"bind","host":"0.0.0.0","port":0}`)
	recv, p := rb.Sock, port(t, rb.Local)
	sb := s.ok(`{"op":"bind","host":"127.0.0.1","port":0}`)
	send := sb.Sock

	e := s.Result(s.do(`{"op":"sendto","sock":%d,"host":"127.255.255.255","port":%s,"data":{"text":"no option"}}`, send, p))
	switch {
	case e.Type == "error" && e.Code == "permission" && e.Errno == "EACCES":
		t.Logf("without SO_BROADCAST this kernel refuses: %s", e.Message)
	case e.Type == "sent":
		got := dataOn(s, recv)
		if string(got.Data) != "no option" || got.Peer != sb.Local {
			t.Fatalf("without SO_BROADCAST the receiver got %v %q", got, got.Data)
		}
		t.Logf("without SO_BROADCAST this kernel delivers to 127.255.255.255 on lo")
	default:
		t.Fatalf("sendto 127.255.255.255 without SO_BROADCAST: %v; want it delivered or refused with EACCES", e)
	}

	r := s.ok(`{"op":"setsockopt","sock":%d,"option":"SO_BROADCAST","value":1}`, send)
	if r.Actual == nil || *r.Actual != 1 {
		t.Fatalf("SO_BROADCAST 1: the kernel kept %v", r)
	}
	payload := []byte("to all\x00\xff")
	id := s.do(`{"op":"sendto","sock":%d,"host":"127.255.255.255","port":%s,"data":{"base64":%q}}`, send, p, base64.StdEncoding.EncodeToString(payload))
	if e := s.OK(id); e.Peer != "127.255.255.255:"+p || e.Len != len(payload) {
		t.Fatalf("sendto answered %v", e)
	}
	got := dataOn(s, recv)
	if !bytes.Equal(got.Data, payload) || got.Peer != sb.Local {
		t.Fatalf("the receiver got %v %q; want %q from %s", got, got.Data, payload, sb.Local)
	}
}

// TestMulticastHosted: hosted mode refuses join and leave, each multicast
// option, SO_BROADCAST, and a sendto to a group or to the broadcast
// address, each with code policy and a reason; its hello lists no
// interfaces; and the socket still sends to where it may.
func TestMulticastHosted(t *testing.T) {
	p, err := policy.Hosted(policy.Config{OwnAddrs: []netip.Addr{}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, startServer(t, bridge.Options{Mode: "hosted", Session: session.Options{Policy: p}}))
	if c.Hello.Interfaces != nil {
		t.Fatalf("hosted hello lists interfaces %v; want none", c.Hello.Interfaces)
	}
	s := &stepper{Client: c, t: t}
	group := testGroup()
	b := s.ok(`{"op":"bind","host":"127.0.0.1","port":0}`)
	u, bp := b.Sock, port(t, b.Local)
	for _, tc := range []struct {
		req  string
		says []string
	}{
		{fmt.Sprintf(`{"op":"join","sock":%d,"group":%q,"iface":"lo"}`, u, group), []string{"hosted mode joins no multicast groups", group}},
		{fmt.Sprintf(`{"op":"leave","sock":%d,"group":%q,"iface":"lo"}`, u, group), []string{"hosted mode joins no multicast groups"}},
		{fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_TTL","value":0}`, u), []string{"IP_MULTICAST_TTL", "sends no multicast"}},
		{fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_LOOP","value":1}`, u), []string{"IP_MULTICAST_LOOP", "sends no multicast"}},
		{fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"IP_MULTICAST_IF","iface":"lo"}`, u), []string{"IP_MULTICAST_IF", "sends no multicast"}},
		{fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"SO_BROADCAST","value":1}`, u), []string{"SO_BROADCAST", "no broadcasts"}},
		{fmt.Sprintf(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"x"}}`, u, group, bp), []string{group, "multicast address"}},
		{fmt.Sprintf(`{"op":"sendto","sock":%d,"host":"255.255.255.255","port":%s,"data":{"text":"x"}}`, u, bp), []string{"255.255.255.255", "broadcast address"}},
	} {
		e := s.Fails(s.do(tc.req), "policy")
		for _, w := range tc.says {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%s: message %q does not say %q", tc.req, e.Message, w)
			}
		}
	}
	// The socket carries on: a datagram to itself, on its pool port.
	s.ok(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"still here"}}`, u, bp)
	if got := dataOn(s, u); string(got.Data) != "still here" {
		t.Fatalf("after the refusals the socket got %q", got.Data)
	}
}

// TestHelloInterfaces: the local hello lists the server's interfaces, lo
// among them, as the kernel knows them.
func TestHelloInterfaces(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Hello.Interfaces) != len(ifs) {
		t.Fatalf("hello lists %d interfaces, the kernel %d: %v", len(c.Hello.Interfaces), len(ifs), c.Hello.Interfaces)
	}
	i := slices.IndexFunc(c.Hello.Interfaces, func(f session.Iface) bool { return f.Name == "lo" })
	if i < 0 {
		t.Fatalf("hello's interfaces %v have no lo", c.Hello.Interfaces)
	}
	lo, kern := c.Hello.Interfaces[i], ifs[slices.IndexFunc(ifs, func(f net.Interface) bool { return f.Name == "lo" })]
	if lo.Index != kern.Index || !slices.Contains(lo.Flags, "up") || !slices.Contains(lo.Flags, "loopback") ||
		!slices.Contains(lo.Addrs, "127.0.0.1/8") {
		t.Fatalf("hello's lo is %+v; want index %d, up, loopback, 127.0.0.1/8", lo, kern.Index)
	}
	if slices.Contains(lo.Flags, "multicast") != (kern.Flags&net.FlagMulticast != 0) {
		t.Fatalf("hello's lo flags %v disagree with the kernel's %v", lo.Flags, kern.Flags)
	}
}
