package policy

import (
	"net/netip"
)

// addrClass is a range of addresses hosted mode treats specially.
type addrClass struct {
	rule   string       // Denied.Rule
	prefix netip.Prefix // the range
	what   string       // "a private address", for Reason
}

// nonPublic are the ranges a session reaches only through a prefix rule
// that lies inside them, in the order they are tried (most specific first).
// The host's own addresses come before all of them.
var nonPublic = []addrClass{
	{"private", mp("10.0.0.0/8"), "a private address"},
	{"private", mp("172.16.0.0/12"), "a private address"},
	{"private", mp("192.168.0.0/16"), "a private address"},
	{"private", mp("fc00::/7"), "a private (unique local) address"},
	{"private", mp("fec0::/10"), "a private (site-local, deprecated) address"},
	{"link_local", mp("169.254.0.0/16"), "a link-local address"},
	{"link_local", mp("fe80::/10"), "a link-local address"},
	{"cgnat", mp("100.64.0.0/10"), "a shared carrier-grade NAT address"},
	{"reserved", mp("0.0.0.0/8"), "a reserved address (\"this network\")"},
	{"reserved", mp("192.0.0.0/24"), "a reserved address (IETF protocol assignments)"},
	{"reserved", mp("192.0.2.0/24"), "a reserved documentation address"},
	{"reserved", mp("198.18.0.0/15"), "a reserved benchmarking address"},
	{"reserved", mp("198.51.100.0/24"), "a reserved documentation address"},
	{"reserved", mp("203.0.113.0/24"), "a reserved documentation address"},
	{"reserved", mp("240.0.0.0/4"), "a reserved address (future use)"},
	{"reserved", mp("2001:db8::/32"), "a reserved documentation address"},
	{"reserved", mp("3fff::/20"), "a reserved documentation address"},
	{"reserved", mp("2001:2::/48"), "a reserved benchmarking address"},
	{"reserved", mp("100::/64"), "a reserved discard-only address"},
	{"reserved", mp("::/96"), "a reserved address (IPv4-compatible, deprecated)"},
	// Transition mechanisms carry IPv4 addresses in layouts this package
	// does not decode; a gateway could turn one into any IPv4 address.
	{"reserved", mp("64:ff9b:1::/48"), "a local-use NAT64 address (its IPv4 layout depends on the gateway)"},
	{"reserved", mp("2002::/16"), "a 6to4 address (it carries an IPv4 address)"},
	{"reserved", mp("2001::/32"), "a Teredo address (it carries an IPv4 address)"},
}

// multicast ranges are refused whatever the allowlist says.
var multicast = []netip.Prefix{mp("224.0.0.0/4"), mp("ff00::/8")}

// broadcast is the limited broadcast address. A subnet's broadcast address
// cannot be known here; the kernel refuses it without SO_BROADCAST, which
// sessions never set.
var broadcast = netip.MustParseAddr("255.255.255.255")

// loopbackBroadcast is the loopback network's broadcast address. It is a
// loopback address, yet Linux delivers a datagram sent to it to every
// socket bound to its port, even without SO_BROADCAST.
var loopbackBroadcast = netip.MustParseAddr("127.255.255.255")

// metadata are cloud metadata and credential endpoints: refused whatever
// the allowlist says, even a prefix rule containing them.
var metadata = map[netip.Addr]string{
	ma("169.254.169.254"): "the cloud metadata service (AWS, Google Cloud, Azure, Oracle and others)",
	ma("169.254.170.2"):   "the AWS ECS task metadata service",
	ma("169.254.170.23"):  "the AWS EKS Pod Identity credentials service",
	ma("169.254.0.23"):    "the Tencent Cloud metadata service",
	ma("100.100.100.200"): "the Alibaba Cloud metadata service",
	ma("168.63.129.16"):   "the Azure platform service (WireServer)",
	ma("fd00:ec2::254"):   "the AWS metadata service (IPv6)",
	ma("fd00:ec2::23"):    "the AWS EKS Pod Identity credentials service (IPv6)",
}

// smtpPorts are mail ports, refused on every address: an open relay for
// strangers' mail is the first thing a hosted playground would be abused as.
var smtpPorts = map[uint16]bool{25: true, 465: true, 587: true}

// nat64 is the NAT64 prefix whose last 32 bits are an IPv4 address (RFC
// 6052's well-known prefix). RFC 8215's local-use 64:ff9b:1::/48 may put
// the IPv4 address elsewhere, so it is refused as reserved instead.
var nat64 = []netip.Prefix{mp("64:ff9b::/96")}

// target is an address as hosted mode sees it.
type target struct {
	given netip.Addr   // as the caller gave it, for messages
	addr  netip.Addr   // unmapped, without a zone
	eff   netip.Addr   // what it reaches: the embedded IPv4 for NAT64, else addr
	via   netip.Prefix // the NAT64 prefix, when it is one
}

func newTarget(a netip.Addr) target {
	t := target{given: a, addr: a.Unmap().WithZone("")}
	t.eff = t.addr
	for _, p := range nat64 {
		if p.Contains(t.addr) {
			b := t.addr.As16()
			t.eff = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
			t.via = p
			break
		}
	}
	return t
}

func (t target) isNAT64() bool { return t.via.IsValid() }

// classify returns the non-public class of t's effective address, or nil if
// it is public. own is the host's own addresses.
func classify(a netip.Addr, own map[netip.Addr]struct{}) *addrClass {
	if _, ok := own[a]; ok {
		return &addrClass{"own_address", netip.PrefixFrom(a, a.BitLen()), "this server's own address"}
	}
	for i := range nonPublic {
		if nonPublic[i].prefix.Contains(a) {
			return &nonPublic[i]
		}
	}
	return nil
}

func isMulticast(a netip.Addr) bool {
	for _, p := range multicast {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// within reports whether prefix p lies entirely inside r.
func within(p, r netip.Prefix) bool {
	return p.Addr().Is4() == r.Addr().Is4() && p.Bits() >= r.Bits() && r.Contains(p.Addr())
}

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ma(s string) netip.Addr   { return netip.MustParseAddr(s) }
