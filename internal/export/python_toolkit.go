package export

import (
	"fmt"
	"net/netip"
	"strings"
)

// The toolkit's statements in Python (protocol.md §16): TLS with the ssl
// module, multicast with setsockopt and struct, a repeat as a for loop.

// remarks are the comment lines a statement has above its call: which
// responder fired, which template made the bytes.
func remarks(st *stmt, d dialect) string {
	s := ""
	if st.firing != nil {
		s = firingRemark(st.firing, d)
	}
	return join(s, templateRemark(st))
}

// tlsDial is a TLS connect: a context as the connect asked (verify or not,
// ALPN), and the connection wrapped in it with the server name.
func (r *pyWriter) tlsDial(st *stmt) []string {
	r.ssl = true
	t := st.tls
	code := []string{"ctx = ssl.create_default_context()"}
	if t.Verify != nil && !*t.Verify {
		code = append(code, "ctx.check_hostname = False", "ctx.verify_mode = ssl.CERT_NONE  # verify: false")
	}
	if len(t.Offer) > 0 {
		protos := make([]string, len(t.Offer))
		for i, p := range t.Offer {
			protos[i] = pyStr(p)
		}
		code = append(code, "ctx.set_alpn_protocols(["+strings.Join(protos, ", ")+"])")
	}
	return append(code, fmt.Sprintf("%s = ctx.wrap_socket(socket.create_connection(%s), server_hostname=%s)",
		st.sock.name, pyTarget(st.to), pyStr(serverName(st))))
}

// serverName is the name a TLS connect sends and verifies: the one asked
// for, or the host connected to.
func serverName(st *stmt) string {
	if st.tls.SNI != "" {
		return st.tls.SNI
	}
	return st.to.host
}

// tlsShutdown is shutdown(SHUT_WR) of a TLS connection, which Python's ssl
// module cannot make: its shutdown drops TLS without close_notify, and
// unwrap() waits for the peer's close_notify. The script leaves it out.
func (r *pyWriter) tlsShutdown(st *stmt, code []string, note string) []string {
	if r.noShut == nil {
		r.noShut = map[*sockVar]bool{}
	}
	if !isComment(st) {
		r.noShut[st.sock] = true
	}
	why := "Python's ssl module cannot half-close TLS (the session sent close_notify, then the TCP FIN): the script leaves the connection open"
	return []string{"# " + code[0] + "  # " + comment(join(note, why))}
}

// join is join or leave: setsockopt with an ip_mreqn (the group, no
// address, the interface's index) or an ipv6_mreq.
func (r *pyWriter) join(st *stmt) string {
	index := "0"
	if st.iface != "" {
		index = "socket.if_nametoindex(" + pyStr(st.iface) + ")"
	}
	g, err := netip.ParseAddr(st.group)
	if err == nil && g.Unmap().Is6() {
		opt := "socket.IPV6_JOIN_GROUP"
		if st.op == "leave" {
			opt = "socket.IPV6_LEAVE_GROUP"
		}
		r.structs = true
		return fmt.Sprintf(`%s.setsockopt(socket.IPPROTO_IPV6, %s, socket.inet_pton(socket.AF_INET6, %s) + struct.pack("@I", %s))`,
			st.sock.name, opt, pyStr(st.group), index)
	}
	opt := "socket.IP_ADD_MEMBERSHIP"
	if st.op == "leave" {
		opt = "socket.IP_DROP_MEMBERSHIP"
	}
	r.structs = true
	return fmt.Sprintf(`%s.setsockopt(socket.IPPROTO_IP, %s, struct.pack("4s4si", socket.inet_aton(%s), bytes(4), %s))`,
		st.sock.name, opt, pyStr(st.group), index)
}

// multicastIf is IP_MULTICAST_IF's level, name and value: an ip_mreqn with
// the interface's index (0: the kernel's choice), or for IPv6 the index.
func (r *pyWriter) multicastIf(st *stmt) (level, opt, value string) {
	index := "0"
	if st.iface != "" {
		index = "socket.if_nametoindex(" + pyStr(st.iface) + ")"
	}
	if st.sock.family == "ip6" {
		return "socket.IPPROTO_IPV6", "socket.IPV6_MULTICAST_IF", index
	}
	r.structs = true
	return "socket.IPPROTO_IP", "socket.IP_MULTICAST_IF", `struct.pack("4s4si", bytes(4), bytes(4), ` + index + ")"
}

// groupWildcard is the wildcard address of host's family if host is a
// multicast group's address, else "".
func groupWildcard(host string) string {
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil || !a.Unmap().IsMulticast():
		return ""
	case a.Unmap().Is4():
		return "0.0.0.0"
	}
	return "::"
}

// loop is a repeat's sends as a for loop over their numbers.
func (r *pyWriter) loop(st *stmt, snippet bool) []string {
	run, name := st.rep, st.sockName()
	form, parts := run.form()
	var pre, body []string
	switch form {
	case loopSame:
		lit := pyBytes(run.datas[0])
		if snippet && len(run.datas[0]) > snippetBytes {
			lit = pyBytes(run.datas[0][:snippetBytes]) + "  # the first " + itoa(snippetBytes) + " bytes shown"
		}
		pre = []string{"data = " + lit}
	case loopCounter:
		body = []string{"data = " + r.counterExpr(parts)}
	case loopList:
		list := fmt.Sprintf("sends%d", st.seq)
		items := make([]string, len(run.datas))
		for i, d := range run.datas {
			items[i] = pyBytes(d)
		}
		more := ""
		if snippet && len(items) > 3 {
			items, more = append(items[:3], "..."), fmt.Sprintf("  # and %d more", len(run.datas)-3)
		}
		pre = []string{list + " = [" + strings.Join(items, ", ") + "]" + more}
		body = []string{fmt.Sprintf("data = %s[k - %d]", list, run.first)}
	}
	if run.info.interval > 0 {
		r.time = true
		body = append([]string{"if k > 1:", "    time.sleep(" + pySeconds(run.info.interval.Seconds()) + ")"}, body...)
	}
	if run.info.host != "" { // a UDP socket's repeat: sendto
		body = append(body, fmt.Sprintf("%s.sendto(data, %s)", name, pyTarget(st.to)))
	} else {
		body = append(body, fmt.Sprintf("%s.sendall(data)", name))
	}
	if !snippet {
		body = append(body, fmt.Sprintf("trace(%q, \"send\", data)", name))
	}
	code := append([]string{"# " + comment(loopRemark(st))}, pre...)
	code = append(code, fmt.Sprintf("for k in range(%d, %d):", run.first, run.last+1))
	for _, l := range body {
		code = append(code, "    "+l)
	}
	if isComment(st) {
		code[len(code)-1] += "  # " + comment(outcome(st, pyDialect{}))
		for i, l := range code {
			code[i] = "# " + l
		}
		return code
	}
	return code
}

// counterExpr is the Python expression of a counter template's bytes for
// send number k.
func (r *pyWriter) counterExpr(parts []tplPart) string {
	terms := make([]string, 0, len(parts))
	for _, p := range parts {
		if !p.counter {
			terms = append(terms, pyBytes(p.text))
			continue
		}
		v := "k"
		if p.from != 1 {
			v = fmt.Sprintf("(k + %d)", p.from-1)
		}
		switch p.form {
		case "":
			terms = append(terms, `b"%d" % `+v)
		case "hex":
			terms = append(terms, `b"%x" % `+v)
		default:
			r.structs = true
			order, size := ">", counterWidths[p.form]
			if strings.HasSuffix(p.form, "le") {
				order = "<"
			}
			code := map[int]string{1: "B", 2: "H", 4: "I", 8: "Q"}[size]
			terms = append(terms, fmt.Sprintf(`struct.pack("%s%s", %s & 0x%X)`, order, code, v, uint64(1)<<(8*size)-1))
		}
	}
	if len(terms) == 0 {
		return `b""`
	}
	return strings.Join(terms, " + ")
}

// pySeconds is a number of seconds as Python writes it: 0.1, 2, 1.5.
func pySeconds(s float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", s), "0"), ".")
}
