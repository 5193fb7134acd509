package export

import (
	"fmt"
	"net/netip"
	"strings"
)

// The toolkit's statements in Go (protocol.md §16): TLS with crypto/tls,
// multicast with package syscall's setsockopt calls (Linux), a repeat as a
// for loop. Still the standard library only.

// raw is the expression of the TCP or UDP connection under sv: for a TLS
// connection the one crypto/tls runs over, which has the file descriptor.
func (g *goWriter) raw(sv *sockVar) string {
	if sv.tls {
		return sv.name + ".NetConn()"
	}
	return sv.name
}

// tlsConfig is a TLS connect's configuration, as the connect asked.
func (g *goWriter) tlsConfig(st *stmt) string {
	g.need("crypto/tls")
	t := st.tls
	fields := []string{"ServerName: " + goQuote(serverName(st))}
	if t.Verify != nil && !*t.Verify {
		fields = append(fields, "InsecureSkipVerify: true")
	}
	if len(t.Offer) > 0 {
		protos := make([]string, len(t.Offer))
		for i, p := range t.Offer {
			protos[i] = goQuote(p)
		}
		fields = append(fields, "NextProtos: []string{"+strings.Join(protos, ", ")+"}")
	}
	return "&tls.Config{" + strings.Join(fields, ", ") + "}"
}

// tlsShutdown is shutdown of a TLS connection, as the session made it:
// writing ends with TLS's close_notify, then the TCP FIN.
func (g *goWriter) tlsShutdown(st *stmt) []string {
	g.need("net")
	name := st.sock.name
	switch st.how {
	case "write":
		return []string{
			fmt.Sprintf("err = %s.CloseWrite() // TLS's close_notify", name),
			"if err == nil {",
			fmt.Sprintf("\terr = %s.NetConn().(*net.TCPConn).CloseWrite() // then the TCP FIN", name),
			"}",
		}
	case "read":
		return []string{fmt.Sprintf("err = %s.NetConn().(*net.TCPConn).CloseRead()", name)}
	}
	g.need("syscall")
	g.helper("withFD")
	return []string{
		fmt.Sprintf("err = %s.CloseWrite() // TLS's close_notify", name),
		"if err == nil {",
		fmt.Sprintf("\terr = withFD(%s.NetConn(), func(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_RDWR) })", name),
		"}",
	}
}

// ifindexExpr is the index of interface name as the program finds it; 0
// (the kernel's choice) for "".
func (g *goWriter) ifindexExpr(name string) string {
	if name == "" {
		return "0"
	}
	g.helper("ifindex")
	return "ifindex(" + goQuote(name) + ")"
}

// join is join or leave: IP_ADD_MEMBERSHIP with an ip_mreqn, or
// IPV6_JOIN_GROUP with an ipv6_mreq; ok is false if the group is not an
// address.
func (g *goWriter) join(st *stmt) (string, bool) {
	a, err := netip.ParseAddr(st.group)
	if err != nil {
		return "", false
	}
	g.need("syscall")
	sv := st.sock
	var set string
	if a.Unmap().Is6() {
		opt := "syscall.IPV6_JOIN_GROUP"
		if st.op == "leave" {
			opt = "syscall.IPV6_LEAVE_GROUP"
		}
		set = fmt.Sprintf("syscall.SetsockoptIPv6Mreq(%%s, syscall.IPPROTO_IPV6, %s, &syscall.IPv6Mreq{Multiaddr: %s, Interface: uint32(%s)})",
			opt, goAddr16(a), g.ifindexExpr(st.iface))
	} else {
		opt := "syscall.IP_ADD_MEMBERSHIP"
		if st.op == "leave" {
			opt = "syscall.IP_DROP_MEMBERSHIP"
		}
		b := a.Unmap().As4()
		set = fmt.Sprintf("syscall.SetsockoptIPMreqn(%%s, syscall.IPPROTO_IP, %s, &syscall.IPMreqn{Multiaddr: [4]byte{%d, %d, %d, %d}, Ifindex: %s})",
			opt, b[0], b[1], b[2], b[3], g.ifindexExpr(st.iface))
	}
	if sv.repr == reprFD {
		return "err = " + fmt.Sprintf(set, sv.name), true
	}
	g.helper("withFD")
	return fmt.Sprintf("err = withFD(%s, func(fd int) error { return %s })", g.raw(sv), fmt.Sprintf(set, "fd")), true
}

// multicastIf is the call (on %s, a file descriptor) that sets
// IP_MULTICAST_IF by interface index: an ip_mreqn, or for IPv6 the index.
func (g *goWriter) multicastIf(st *stmt) string {
	if st.sock.family == "ip6" {
		return "syscall.SetsockoptInt(%s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, int(" + g.ifindexExpr(st.iface) + "))"
	}
	mreq := "&syscall.IPMreqn{}"
	if st.iface != "" {
		mreq = "&syscall.IPMreqn{Ifindex: " + g.ifindexExpr(st.iface) + "}"
	}
	return "syscall.SetsockoptIPMreqn(%s, syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, " + mreq + ")"
}

// goAddr16 is an IPv6 address as a [16]byte literal.
func goAddr16(a netip.Addr) string {
	var parts []string
	for i, c := range a.As16() {
		if c != 0 {
			parts = append(parts, fmt.Sprintf("%d: %#02x", i, c))
		}
	}
	return "[16]byte{" + strings.Join(parts, ", ") + "} /* " + a.String() + " */"
}

// loop is a repeat's sends as a for loop over their numbers.
func (g *goWriter) loop(st *stmt, snippet bool) ([]string, bool) {
	run, sv, name := st.rep, st.sock, st.sockName()
	g.use(sv)
	g.variable("data", "err")
	form, parts := run.form()
	var pre, body []string
	switch form {
	case loopSame:
		lit := goBytes(run.datas[0])
		if snippet && len(run.datas[0]) > snippetBytes {
			lit = goBytes(run.datas[0][:snippetBytes]) + " // the first " + itoa(snippetBytes) + " bytes shown"
		}
		pre = []string{"data = " + lit}
	case loopCounter:
		body = g.counterCode(parts)
	case loopList:
		list := fmt.Sprintf("sends%d", st.seq)
		items := make([]string, len(run.datas))
		for i, d := range run.datas {
			items[i] = goBytes(d) + ","
		}
		if snippet && len(items) > 3 {
			items = append(items[:3], fmt.Sprintf("// and %d more", len(run.datas)-3))
		}
		pre = append([]string{list + " := [][]byte{"}, items...)
		pre = append(pre, "}")
		body = []string{fmt.Sprintf("data = %s[k-%d]", list, run.first)}
	}
	if run.info.interval > 0 {
		g.need("time")
		body = append([]string{"if k > 1 {", "\ttime.Sleep(" + goDurationOf(run.info.interval.Milliseconds()) + ")", "}"}, body...)
	}
	if run.info.host != "" { // a UDP socket's repeat: sendto
		g.need("net")
		ip := st.to.ip
		if ip == "" {
			ip = st.to.host
		}
		body = append(body, fmt.Sprintf("if _, err = %s.WriteTo(data, &net.UDPAddr{IP: net.ParseIP(%s), Port: %s}); err != nil {", name, goQuote(ip), g.port(st.to)))
	} else {
		body = append(body, fmt.Sprintf("if _, err = %s.Write(data); err != nil {", name))
	}
	g.need("log")
	body = append(body, fmt.Sprintf("\tlog.Fatalf(%s, err)", goQuote(name+": repeat: %v")), "}")
	if !snippet {
		body = append(body, g.trace(name, "send", "data"))
	}
	code := append([]string{"// " + comment(loopRemark(st))}, pre...)
	code = append(code, fmt.Sprintf("for k := %d; k <= %d; k++ {", run.first, run.last))
	for _, l := range body {
		code = append(code, "\t"+l)
	}
	code = append(code, "}")
	if isComment(st) {
		code[len(code)-1] += " // " + comment(outcome(st, goDialect{}))
		return commented(code), false
	}
	return code, true
}

// counterCode is the Go statements that build a counter template's bytes
// for send number k in data.
func (g *goWriter) counterCode(parts []tplPart) []string {
	lines := []string{"data = nil"}
	for _, p := range parts {
		if !p.counter {
			lines = append(lines, "data = append(data, "+goStr(p.text)+"...)")
			continue
		}
		v := "uint64(k)"
		if p.from != 1 {
			v = fmt.Sprintf("uint64(k)+%d", p.from-1)
		}
		switch p.form {
		case "":
			g.need("strconv")
			lines = append(lines, "data = strconv.AppendUint(data, "+v+", 10)")
		case "hex":
			g.need("strconv")
			lines = append(lines, "data = strconv.AppendUint(data, "+v+", 16)")
		case "u8":
			lines = append(lines, "data = append(data, byte("+v+"))")
		default:
			g.need("encoding/binary")
			order := "binary.BigEndian"
			if strings.HasSuffix(p.form, "le") {
				order = "binary.LittleEndian"
			}
			bits := 8 * counterWidths[p.form]
			conv := fmt.Sprintf("uint%d(%s)", bits, v)
			if bits == 64 {
				conv = v
			}
			lines = append(lines, fmt.Sprintf("data = %s.AppendUint%d(data, %s)", order, bits, conv))
		}
	}
	return lines
}

// goDurationOf is a number of milliseconds as a Go duration.
func goDurationOf(ms int64) string {
	if ms%1000 == 0 {
		return fmt.Sprintf("%d*time.Second", ms/1000)
	}
	return fmt.Sprintf("%d*time.Millisecond", ms)
}
