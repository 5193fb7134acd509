package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is one entry of hosted mode's allowlist: a host name or an address
// prefix, and the ports it opens. Build rules with ParseRule; the zero Rule
// matches nothing.
type Rule struct {
	host   string       // lower case, no trailing dot; "" for a prefix rule
	prefix netip.Prefix // masked; valid only for a prefix rule
	ports  []portRange  // never empty in a parsed rule
}

type portRange struct{ first, last uint16 }

// ParseRule parses an allowlist rule: a host name, an IPv4 address or
// prefix, or a bracketed IPv6 address or prefix, then a colon and its ports,
// a comma-separated list of ports and inclusive ranges:
//
//	example.com:80
//	example.com:80,443
//	203.0.113.0/24:7-9,13
//	[2001:db8::]/32:443
//	198.51.100.7:1-65535
//
// Every rule must name its ports. A host rule matches the name the person
// typed (case-insensitively, a trailing dot ignored), not the names of the
// addresses; it never reaches a non-public address whatever the name
// resolves to. A prefix rule matches addresses; it reaches a private or
// reserved address only when the whole prefix lies inside that range.
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Rule{}, fmt.Errorf("allowlist rule is empty: write host:ports or prefix:ports, for example example.com:80,443 or 203.0.113.0/24:7")
	}
	var r Rule
	var target, ports string
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Rule{}, fmt.Errorf("allowlist rule %q: missing ']' after the IPv6 address", s)
		}
		target, ports = s[1:end], s[end+1:]
		bits := -1
		if strings.HasPrefix(ports, "/") {
			i := strings.IndexByte(ports, ':')
			if i < 0 {
				i = len(ports)
			}
			n, err := strconv.Atoi(ports[1:i])
			if err != nil || n < 0 || n > 128 {
				return Rule{}, fmt.Errorf("allowlist rule %q: prefix length %q is not 0-128", s, ports[1:i])
			}
			bits, ports = n, ports[i:]
		}
		if !strings.HasPrefix(ports, ":") {
			return Rule{}, fmt.Errorf("allowlist rule %q names no ports: end it with :ports, for example [%s]:443 or [%s]:1-65535", s, target, target)
		}
		ports = ports[1:]
		a, err := netip.ParseAddr(target)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return Rule{}, fmt.Errorf("allowlist rule %q: %q is not an IPv6 address (brackets are for IPv6 only)", s, target)
		}
		if a.Is4In6() {
			return Rule{}, fmt.Errorf("allowlist rule %q: write the IPv4 address %s without brackets", s, a.Unmap())
		}
		if bits < 0 {
			bits = 128
		}
		r.prefix = netip.PrefixFrom(a, bits).Masked()
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return Rule{}, fmt.Errorf("allowlist rule %q names no ports: end it with :ports, for example %s:80,443 or %s:1-65535", s, s, s)
		}
		target, ports = s[:i], s[i+1:]
		switch {
		case strings.Contains(target, ":"):
			return Rule{}, fmt.Errorf("allowlist rule %q: put an IPv6 address in brackets, for example [2001:db8::]/32:443", s)
		case strings.Contains(target, "/"):
			p, err := netip.ParsePrefix(target)
			if err != nil || !p.Addr().Is4() {
				return Rule{}, fmt.Errorf("allowlist rule %q: %q is not an IPv4 prefix such as 203.0.113.0/24", s, target)
			}
			r.prefix = p.Masked()
		default:
			if a, err := netip.ParseAddr(target); err == nil {
				r.prefix = netip.PrefixFrom(a, a.BitLen())
				break
			}
			h, err := parseHost(target)
			if err != nil {
				return Rule{}, fmt.Errorf("allowlist rule %q: %w", s, err)
			}
			r.host = h
		}
	}
	pr, err := parsePorts(ports)
	if err != nil {
		return Rule{}, fmt.Errorf("allowlist rule %q: %w", s, err)
	}
	r.ports = pr
	return r, nil
}

// parseHost checks a DNS name and returns it in lower case without a
// trailing dot.
func parseHost(s string) (string, error) {
	h := normHost(s)
	if h == "" {
		return "", fmt.Errorf("no host name or address before the ports")
	}
	if strings.Contains(h, "*") {
		return "", fmt.Errorf("%q: wildcards are not supported; list each name", s)
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host name %q is longer than 253 characters", s)
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%q is not a host name: each dot-separated part must be 1-63 characters", s)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name: a part may not begin or end with '-'", s)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name or an address: %q is not allowed in a name", s, c)
			}
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return "", fmt.Errorf("%q is neither a whole IPv4 address nor a host name", s)
	}
	return h, nil
}

// normHost is how host names are compared: lower case, no trailing dot.
func normHost(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func parsePorts(s string) ([]portRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("no ports after the colon: every rule must name its ports, for example :80,443 or :1-65535")
	}
	var out []portRange
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		first, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = parsePort(hi); err != nil {
				return nil, err
			}
			if first > last {
				return nil, fmt.Errorf("port range %q runs backwards", f)
			}
		}
		out = append(out, portRange{first, last})
	}
	return out, nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port: ports are 1-65535", s)
	}
	return uint16(n), nil
}

// String returns the rule in ParseRule's syntax.
func (r Rule) String() string {
	var b strings.Builder
	switch {
	case r.host != "":
		b.WriteString(r.host)
	case !r.prefix.IsValid():
		return "(empty rule)"
	case r.prefix.Addr().Is4():
		if r.prefix.IsSingleIP() {
			b.WriteString(r.prefix.Addr().String())
		} else {
			b.WriteString(r.prefix.String())
		}
	default:
		b.WriteString("[" + r.prefix.Addr().String() + "]")
		if !r.prefix.IsSingleIP() {
			b.WriteString("/" + strconv.Itoa(r.prefix.Bits()))
		}
	}
	b.WriteByte(':')
	for i, p := range r.ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p.first)))
		if p.last != p.first {
			b.WriteString("-" + strconv.Itoa(int(p.last)))
		}
	}
	return b.String()
}

func (r Rule) hasPort(port uint16) bool {
	for _, p := range r.ports {
		if port >= p.first && port <= p.last {
			return true
		}
	}
	return false
}
