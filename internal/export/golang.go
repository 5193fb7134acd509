package export

import (
	"fmt"
	"go/format"
	"net/netip"
	"slices"
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

// Go returns the session as a runnable Go program (package main, one file,
// standard library only): every call in the order the session made it,
// against the same hosts and ports, sending the same bytes, and receiving
// as many bytes as the session received. What live mode did is written
// with package net; the step-mode calls net cannot make (a socket made
// before it is bound or connected, listen's backlog, socket options,
// non-blocking calls) with package syscall, as on Linux. A call that failed
// in the session is expected to fail the same way. PLAYGROUND_TRACE=1 makes
// it print every send and receive in hex.
func Go(evs []*session.Event) string { return golang(walk(evs)) }

func golang(p *program) string {
	g := newGoWriter()
	var body []string
	for _, st := range p.stmts {
		body = append(body, g.stmt(st, false)...)
	}
	if len(p.open) > 0 {
		body = append(body, "", "// The session still had these sockets open; the program closes them as it ends.")
		for _, sv := range p.open {
			if g.declared[sv] {
				g.cur = needs{}
				body = append(body, g.closeCall(sv)+" // the error is of no interest as the program ends")
				g.commit()
				g.used[sv] = true
			}
		}
	}
	// A socket the program made and never used again (its creating call
	// succeeded, then the session did nothing more with it) would not
	// compile.
	for _, sv := range g.order {
		if !g.used[sv] {
			body = append(body, "_ = "+sv.name)
		}
	}
	return g.file(p, body)
}

// goWriter renders statements as Go, and remembers what the program needs:
// imports, helpers, and the variables main declares. What a statement
// needs counts only if the statement is code, not a comment: an import or
// a variable nothing uses would not compile.
type goWriter struct {
	imports  map[string]bool
	helpers  map[string]bool
	vars     map[string]bool // err, n, data
	declared map[*sockVar]bool
	used     map[*sockVar]bool
	order    []*sockVar // the sockets main declares, in order

	cur needs // what the statement being rendered needs
}

// needs are what one statement needs.
type needs struct {
	imports, helpers, vars []string
	uses                   []*sockVar
	decl                   *sockVar
}

func newGoWriter() *goWriter {
	return &goWriter{imports: map[string]bool{}, helpers: map[string]bool{}, vars: map[string]bool{},
		declared: map[*sockVar]bool{}, used: map[*sockVar]bool{}}
}

// need records imports the statement needs.
func (g *goWriter) need(imports ...string) { g.cur.imports = append(g.cur.imports, imports...) }

// helper records a helper function the statement calls.
func (g *goWriter) helper(name string) { g.cur.helpers = append(g.cur.helpers, name) }

// variable records variables of main's the statement reads.
func (g *goWriter) variable(names ...string) { g.cur.vars = append(g.cur.vars, names...) }

// use records that the statement uses socket sv's variable.
func (g *goWriter) use(sv *sockVar) {
	if sv != nil {
		g.cur.uses = append(g.cur.uses, sv)
	}
}

// commit makes the statement's needs the program's.
func (g *goWriter) commit() {
	for _, imp := range g.cur.imports {
		g.imports[imp] = true
	}
	for _, h := range g.cur.helpers {
		g.helpers[h] = true
	}
	for _, v := range g.cur.vars {
		g.vars[v] = true
	}
	for _, sv := range g.cur.uses {
		g.used[sv] = true
	}
	if sv := g.cur.decl; sv != nil && !g.declared[sv] {
		g.declared[sv] = true
		g.order = append(g.order, sv)
	}
}

// goDialect writes outcome comments as Go shows values.
type goDialect struct{}

func (goDialect) bytes(b []byte) string    { return goRepr(b) }
func (goDialect) addr(a string) string     { return a }
func (goDialect) failure(f failure) string { return f.goText() }

// goOptions are setsockopt's options as package syscall names them, and
// for IPv6 sockets the names where they differ. Package syscall has no
// SO_REUSEPORT: it is Linux's number, 15.
var goOptions = map[string][4]string{
	"SO_REUSEADDR": {"syscall.SOL_SOCKET", "syscall.SO_REUSEADDR"},
	"SO_REUSEPORT": {"syscall.SOL_SOCKET", "15 /* SO_REUSEPORT */"},
	"SO_BROADCAST": {"syscall.SOL_SOCKET", "syscall.SO_BROADCAST"},
	"SO_KEEPALIVE": {"syscall.SOL_SOCKET", "syscall.SO_KEEPALIVE"},
	"SO_RCVBUF":    {"syscall.SOL_SOCKET", "syscall.SO_RCVBUF"},
	"SO_SNDBUF":    {"syscall.SOL_SOCKET", "syscall.SO_SNDBUF"},
	"TCP_NODELAY":  {"syscall.IPPROTO_TCP", "syscall.TCP_NODELAY"},
	"IP_TTL":       {"syscall.IPPROTO_IP", "syscall.IP_TTL", "syscall.IPPROTO_IPV6", "syscall.IPV6_UNICAST_HOPS"},

	"IP_MULTICAST_TTL":  {"syscall.IPPROTO_IP", "syscall.IP_MULTICAST_TTL", "syscall.IPPROTO_IPV6", "syscall.IPV6_MULTICAST_HOPS"},
	"IP_MULTICAST_LOOP": {"syscall.IPPROTO_IP", "syscall.IP_MULTICAST_LOOP", "syscall.IPPROTO_IPV6", "syscall.IPV6_MULTICAST_LOOP"},
}

var goShut = map[string]string{"read": "syscall.SHUT_RD", "write": "syscall.SHUT_WR", "both": "syscall.SHUT_RDWR"}

// stmt renders one statement: as the program makes it, or (snippet) as
// the page shows it, the call alone with its outcome.
func (g *goWriter) stmt(st *stmt, snippet bool) []string {
	g.cur = needs{}
	lines, code := g.render(st, snippet)
	if code && !snippet {
		g.commit()
	}
	return lines
}

// render renders a statement, and reports whether it is code rather than
// a comment.
func (g *goWriter) render(st *stmt, snippet bool) (lines []string, code bool) {
	if st.kind == kNote {
		if st.rule != nil {
			return []string{"// " + comment(ruleNote(st.rule, goDialect{}))}, false
		}
		return []string{"// " + comment(st.note)}, false
	}
	if st.kind == kRepeat {
		return g.loop(st, snippet)
	}
	note := comment(outcome(st, goDialect{}))
	name := st.sockName()
	sv := st.sock
	ok := st.status == stOK || st.status == stPending
	// pre are the lines before the call; post what the program does with
	// a successful answer (trace it).
	var pre, call, post []string
	// check is the condition on err that stops the program, when the
	// session's call succeeded.
	check := "err != nil"
	payload := ""
	if st.kind == kSend || st.kind == kSendTo {
		var cut string
		payload, cut = sendPayload(st, snippet, goBytes)
		if payload == "" {
			payload = fmt.Sprintf("make([]byte, %d)", st.size)
		}
		note = join(note, cut)
		if !snippet {
			pre = append(pre, "data = "+payload)
			payload = "data"
			g.variable("data")
		}
	}
	// count is what a read or a step-mode write assigns its byte count
	// to: n, which only a successful call's trace reads.
	count := func() string {
		if !ok {
			return "_"
		}
		g.variable("n")
		return "n"
	}
	// made is the variable a call that creates a socket assigns: in the
	// program "_" when the call failed in the session, as the program then
	// has no socket.
	made := func(sv *sockVar) string {
		switch {
		case snippet && sv != nil:
			return sv.name
		case snippet:
			return "conn" // an accept that made no socket (yet)
		case sv == nil || !ok:
			return "_"
		}
		g.cur.decl = sv
		return sv.name
	}
	assign := func(lhs string) string {
		if strings.HasPrefix(lhs, "_") {
			return lhs + " ="
		}
		return lhs + " :="
	}
	switch st.kind {
	case kSocket, kServe, kDial, kUDP:
	default:
		g.use(sv)
	}
	switch st.kind {
	case kSocket:
		g.need("syscall")
		call = []string{fmt.Sprintf("%s syscall.Socket(%s, %s, 0)", assign(made(sv)+", err"), goFamily(sv.family), goType(sv.udp))}
	case kSetsockopt:
		call = []string{g.setsockopt(st)}
	case kSettimeout:
		call = g.settimeout(st)
	case kBind, kConnect:
		sa, known := g.sockaddr(st.to, sv.family)
		if !known {
			return g.cannot(st, "the log does not say which address "+st.to.host+" was"), false
		}
		fn := "Bind"
		if st.kind == kConnect {
			fn = "Connect"
		}
		call = []string{fmt.Sprintf("err = syscall.%s(%s, %s)", fn, name, sa)}
	case kListen:
		g.need("syscall")
		call = []string{fmt.Sprintf("err = syscall.Listen(%s, %d)", name, st.backlog)}
	case kServe:
		g.need("net")
		call = []string{fmt.Sprintf("%s net.Listen(%q, %s)", assign(made(sv)+", err"), goNetwork("tcp", st.to.host, sv.family, true), g.hostPort(st.to))}
	case kDial:
		g.need("net")
		call = []string{fmt.Sprintf("%s net.Dial(%q, %s)", assign(made(sv)+", err"), goNetwork("tcp", st.to.host, sv.family, false), g.hostPort(st.to))}
		if st.tls != nil {
			call = []string{fmt.Sprintf("%s tls.Dial(%q, %s, %s)", assign(made(sv)+", err"), goNetwork("tcp", st.to.host, sv.family, false), g.hostPort(st.to), g.tlsConfig(st))}
		}
	case kJoin:
		j, ok := g.join(st)
		if !ok {
			return g.cannot(st, "the group "+st.group+" is not an address"), false
		}
		call = []string{j}
	case kUDP:
		g.need("net")
		call = []string{fmt.Sprintf("%s net.ListenPacket(%q, %s)", assign(made(sv)+", err"), goNetwork("udp", st.to.host, sv.family, true), g.hostPort(st.to))}
	case kAccept:
		child := made(st.child)
		if sv.repr == reprFD {
			g.need("syscall")
			call = []string{fmt.Sprintf("%s syscall.Accept(%s)", assign(child+", _, err"), name)}
		} else {
			call = []string{fmt.Sprintf("%s %s.Accept()", assign(child+", err"), name)}
		}
	case kRecv, kRecvFrom:
		g.variable("data")
		pre = append(pre, fmt.Sprintf("data = make([]byte, %d)", st.n))
		switch {
		case sv.repr == reprFD && st.kind == kRecv:
			g.need("syscall")
			call = []string{fmt.Sprintf("%s, err = syscall.Read(%s, data)", count(), name)}
		case sv.repr == reprFD:
			g.need("syscall")
			call = []string{fmt.Sprintf("%s, _, err = syscall.Recvfrom(%s, data, 0)", count(), name)}
		case st.kind == kRecv:
			g.need("io")
			call = []string{fmt.Sprintf("%s, err = %s.Read(data)", count(), name)}
			check = "err != nil && err != io.EOF" // end-of-file is recv's 0 bytes
		default:
			call = []string{fmt.Sprintf("%s, _, err = %s.ReadFrom(data)", count(), name)}
		}
		post = []string{g.trace(name, "recv", "data[:n]")}
	case kRecvAll:
		g.need("io")
		g.variable("data")
		pre = append(pre, fmt.Sprintf("data = make([]byte, %d)", st.n))
		call = []string{fmt.Sprintf("_, err = io.ReadFull(%s, data)", name)}
		post = []string{g.trace(name, "recv", "data")}
	case kRecvDgram:
		g.variable("data")
		pre = append(pre, "data = make([]byte, 65535)")
		call = []string{fmt.Sprintf("%s, _, err = %s.ReadFrom(data)", count(), name)}
		post = []string{g.trace(name, "recv", "data[:n]")}
	case kRecvEOF:
		g.need("io", "log")
		g.variable("n", "err")
		call = []string{fmt.Sprintf("n, err = %s.Read(make([]byte, 1)) // %s", name, note)}
		if snippet {
			return call, true
		}
		return append(call,
			"if err != io.EOF {",
			fmt.Sprintf("\tlog.Fatalf(\"%s: recv: %%d bytes, %%v; the session read end-of-file\", n, err)", name),
			"}"), true
	case kRecvError:
		call = []string{fmt.Sprintf("_, err = %s.Read(make([]byte, 65536))", name)}
	case kSend:
		switch {
		case sv.repr == reprFD:
			g.need("syscall")
			call = []string{fmt.Sprintf("%s, err = syscall.Write(%s, %s)", count(), name, payload)}
			post = []string{g.trace(name, "send", "data[:n]")}
		case st.step:
			call = []string{fmt.Sprintf("%s, err = %s.Write(%s)", count(), name, payload)}
			post = []string{g.trace(name, "send", "data[:n]")}
		default:
			call = []string{fmt.Sprintf("_, err = %s.Write(%s)", name, payload)}
			post = []string{g.trace(name, "send", "data")}
		}
	case kSendTo:
		if sv.repr == reprFD {
			sa, known := g.sockaddr(st.to, sv.family)
			if !known {
				return g.cannot(st, "the log does not say which address "+st.to.host+" was"), false
			}
			call = []string{fmt.Sprintf("err = syscall.Sendto(%s, %s, 0, %s)", name, payload, sa)}
		} else {
			g.need("net")
			ip := st.to.ip
			if ip == "" {
				ip = st.to.host
			}
			call = []string{fmt.Sprintf("_, err = %s.WriteTo(%s, &net.UDPAddr{IP: net.ParseIP(%s), Port: %s})", name, payload, goQuote(ip), g.port(st.to))}
		}
		post = []string{g.trace(name, "send", "data")}
	case kShutdown:
		switch {
		case sv.tls:
			call = g.tlsShutdown(st)
		case sv.repr == reprFD:
			g.need("syscall")
			call = []string{fmt.Sprintf("err = syscall.Shutdown(%s, %s)", name, goShut[st.how])}
		case st.how == "write":
			g.need("net")
			call = []string{fmt.Sprintf("err = %s.(*net.TCPConn).CloseWrite()", name)}
		case st.how == "read":
			g.need("net")
			call = []string{fmt.Sprintf("err = %s.(*net.TCPConn).CloseRead()", name)}
		default:
			g.need("syscall")
			g.helper("withFD")
			call = []string{fmt.Sprintf("err = withFD(%s, func(fd int) error { return syscall.Shutdown(fd, %s) })", name, goShut[st.how])}
		}
	case kClose:
		call = []string{"err = " + g.closeCall(sv)}
	}
	if note != "" {
		call[len(call)-1] += " // " + note
	}
	if remark := remarks(st, goDialect{}); remark != "" {
		pre = append([]string{"// " + comment(remark)}, pre...)
		if snippet {
			call = append([]string{"// " + comment(remark)}, call...)
		}
	}
	if snippet {
		return call, !isComment(st)
	}
	if isComment(st) {
		// The session did not make this call: the program must not either.
		return commented(append(pre, call...)), false
	}
	g.variable("err")
	out := append(pre, call...)
	if st.status == stFailed {
		g.helper("expect")
		return append(out, fmt.Sprintf("expect(%s, err, %s)", goQuote(name+": "+st.op), g.want(st))), true
	}
	g.need("log")
	out = append(out,
		"if "+check+" {",
		fmt.Sprintf("\tlog.Fatalf(%s, err)", goQuote(name+": "+st.op+": %v")),
		"}")
	return append(out, post...), true
}

// cannot is a statement Go cannot write, as a comment saying why.
func (g *goWriter) cannot(st *stmt, why string) []string {
	return []string{fmt.Sprintf("// %s: %s is not written in Go: %s", st.sockName(), st.op, comment(why))}
}

func commented(lines []string) []string {
	for i, l := range lines {
		lines[i] = "// " + l
	}
	return lines
}

// closeCall is the call that closes sv.
func (g *goWriter) closeCall(sv *sockVar) string {
	if sv.repr == reprFD {
		g.need("syscall")
		return "syscall.Close(" + sv.name + ")"
	}
	return sv.name + ".Close()"
}

// trace is the line that traces a send or receive.
func (g *goWriter) trace(name, direction, data string) string {
	g.helper("trace")
	return fmt.Sprintf("trace(%q, %q, %s)", name, direction, data)
}

// setsockopt is the call that sets a socket option.
func (g *goWriter) setsockopt(st *stmt) string {
	g.need("syscall")
	sv := st.sock
	var set string // a call on fd
	if st.option == "SO_LINGER" {
		l := "&syscall.Linger{}"
		if st.value >= 0 {
			l = fmt.Sprintf("&syscall.Linger{Onoff: 1, Linger: %d}", st.value)
		}
		set = fmt.Sprintf("syscall.SetsockoptLinger(%%s, syscall.SOL_SOCKET, syscall.SO_LINGER, %s)", l)
	} else if st.option == "IP_MULTICAST_IF" {
		set = g.multicastIf(st)
	} else {
		o, ok := goOptions[st.option]
		if !ok {
			o = [4]string{"syscall.SOL_SOCKET", "syscall." + st.option}
		}
		level, opt := o[0], o[1]
		if sv.family == "ip6" && o[2] != "" {
			level, opt = o[2], o[3]
		}
		set = fmt.Sprintf("syscall.SetsockoptInt(%%s, %s, %s, %d)", level, opt, st.value)
	}
	if sv.repr == reprFD {
		return "err = " + fmt.Sprintf(set, sv.name)
	}
	g.helper("withFD")
	return fmt.Sprintf("err = withFD(%s, func(fd int) error { return %s })", g.raw(sv), fmt.Sprintf(set, "fd"))
}

// settimeout is Python's settimeout in Go: the settimeout helper for a
// socket made with syscall; for one package net made, a deadline.
func (g *goWriter) settimeout(st *stmt) []string {
	sv := st.sock
	if sv.repr == reprFD {
		g.helper("settimeout")
		switch st.how {
		case "non-blocking":
			return []string{fmt.Sprintf("err = settimeout(%s, 0)", sv.name)}
		case "timeout":
			g.need("time")
			return []string{fmt.Sprintf("err = settimeout(%s, %s)", sv.name, goDuration(st))}
		}
		return []string{fmt.Sprintf("err = settimeout(%s, -1)", sv.name)}
	}
	g.need("time")
	recv := sv.name
	if sv.repr == reprListener {
		g.need("net")
		recv = sv.name + ".(*net.TCPListener)"
	}
	switch st.how {
	case "non-blocking":
		return []string{
			"// Go has no non-blocking mode: a deadline already passed makes a call",
			"// fail at once (os.ErrDeadlineExceeded) where Python's would raise BlockingIOError.",
			fmt.Sprintf("err = %s.SetDeadline(time.Now())", recv),
		}
	case "timeout":
		return []string{
			"// Go's deadline is one moment for every later call, not a timeout per call.",
			fmt.Sprintf("err = %s.SetDeadline(time.Now().Add(%s))", recv, goDuration(st)),
		}
	}
	return []string{fmt.Sprintf("err = %s.SetDeadline(time.Time{})", recv)}
}

func goDuration(st *stmt) string {
	ms := st.timeout.Milliseconds()
	if ms%1000 == 0 {
		return fmt.Sprintf("%d*time.Second", ms/1000)
	}
	return fmt.Sprintf("%d*time.Millisecond", ms)
}

// want is the error an expected failure is checked against: the errno,
// or what Go reports for a timeout or a call that would block.
func (g *goWriter) want(st *stmt) string {
	f := st.fail
	if _, ok := errnos[f.errno]; ok {
		g.need("syscall")
		return "syscall." + f.errno
	}
	net := st.sock != nil && st.sock.repr != reprFD
	switch f.code {
	case session.CodeTimeout, session.CodeWouldBlock:
		switch {
		case st.kind == kDial:
			return "nil" // any error: the session gave up by its own clock
		case net:
			g.need("os")
			return "os.ErrDeadlineExceeded"
		case st.kind == kConnect:
			g.need("syscall")
			return "syscall.EINPROGRESS"
		}
		g.need("syscall")
		return "syscall.EAGAIN"
	case session.CodeInProgress:
		g.need("syscall")
		return "syscall.EINPROGRESS"
	}
	return "nil"
}

// port is a target's port as a Go expression: the number, or the port the
// program's own socket got from the kernel.
func (g *goWriter) port(t *target) string {
	sv := t.via
	if sv == nil {
		return itoa(t.port)
	}
	g.use(sv)
	switch sv.repr {
	case reprFD:
		g.helper("fdPort")
		return "fdPort(" + sv.name + ")"
	case reprListener:
		g.need("net")
		return sv.name + ".Addr().(*net.TCPAddr).Port"
	case reprPacket:
		g.need("net")
		return sv.name + ".LocalAddr().(*net.UDPAddr).Port"
	}
	g.need("net")
	return sv.name + ".LocalAddr().(*net.TCPAddr).Port"
}

// hostPort is a target as package net's address string: "127.0.0.1:7007",
// or joined with the port the program's own socket got.
func (g *goWriter) hostPort(t *target) string {
	if t.via == nil {
		return goQuote(hostPort(t.host, t.port))
	}
	g.need("net", "strconv")
	return fmt.Sprintf("net.JoinHostPort(%s, strconv.Itoa(%s))", goQuote(t.host), g.port(t))
}

// sockaddr is a target as package syscall's address: the address the
// session used, which the log has even when the call named a host.
func (g *goWriter) sockaddr(t *target, family string) (string, bool) {
	g.need("syscall")
	ip := t.ip
	if ip == "" {
		ip = t.host
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	port := g.port(t)
	if a.Is4() && family != "ip6" {
		b := a.As4()
		return fmt.Sprintf("&syscall.SockaddrInet4{Port: %s, Addr: [4]byte{%d, %d, %d, %d}}", port, b[0], b[1], b[2], b[3]), true
	}
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	var parts []string
	for i, c := range a.As16() {
		if c != 0 {
			parts = append(parts, fmt.Sprintf("%d: %#02x", i, c))
		}
	}
	return fmt.Sprintf("&syscall.SockaddrInet6{Port: %s, Addr: [16]byte{%s}} /* %s */", port, strings.Join(parts, ", "), a), true
}

func goFamily(f string) string {
	if f == "ip6" {
		return "syscall.AF_INET6"
	}
	return "syscall.AF_INET"
}

func goType(udp bool) string {
	if udp {
		return "syscall.SOCK_DGRAM"
	}
	return "syscall.SOCK_STREAM"
}

// goNetwork is package net's network for a call: "tcp" or "udp", with the
// family when the call asked for one, and for a listener on 0.0.0.0 (which
// net would make a dual-stack IPv6 socket).
func goNetwork(proto, host, family string, listen bool) string {
	switch {
	case family == "ip6" && !strings.Contains(host, ":"):
		return proto + "6"
	case listen && host == "0.0.0.0":
		return proto + "4"
	}
	return proto
}

// goQuote is s as a Go string literal.
func goQuote(s string) string { return goStr([]byte(s)) }

// goHelpers are the helper functions a program may need, with the
// imports each needs.
var goHelpers = []struct {
	name    string
	imports []string
	text    string
}{
	{"trace", []string{"fmt", "os"}, `
// tracing is set by PLAYGROUND_TRACE=1: the program then prints every send
// and receive in hex (the playground's tests compare them with the log).
var tracing = os.Getenv("PLAYGROUND_TRACE") == "1"

// trace prints what socket sock sent or received, if tracing.
func trace(sock, direction string, data []byte) {
	if tracing {
		fmt.Printf("trace %s %s %x\n", sock, direction, data)
	}
}
`},
	{"expect", []string{"errors", "fmt", "log"}, `
// expect checks that a call failed as it did in the session (with want, or
// with any error if want is nil), says so, and lets the program carry on.
func expect(what string, err, want error) {
	switch {
	case err == nil:
		log.Fatalf("%s succeeded, but in the session it failed", what)
	case want != nil && !errors.Is(err, want):
		log.Fatalf("%s: %v, but in the session it failed with %v", what, err, want)
	}
	fmt.Printf("%s: %v (as in the session)\n", what, err)
}
`},
	{"withFD", []string{"syscall"}, `
// withFD calls f with the file descriptor of a socket package net made,
// for what net has no method for.
func withFD(c any, f func(fd int) error) error {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
`},
	{"ifindex", []string{"log", "net"}, `
// ifindex is the index of the network interface called name, which
// multicast options take.
func ifindex(name string) int32 {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		log.Fatalf("interface %s: %v", name, err)
	}
	return int32(ifi.Index)
}
`},
	{"fdPort", []string{"log", "syscall"}, `
// fdPort is the port socket fd is bound to: bound to port 0, it got one
// from the kernel.
func fdPort(fd int) int {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		log.Fatalf("getsockname: %v", err)
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return sa.Port
	case *syscall.SockaddrInet6:
		return sa.Port
	}
	return 0
}
`},
	{"settimeout", []string{"syscall", "time"}, `
// settimeout is Python's settimeout for a socket made with syscall: d < 0
// blocks as long as it takes (None), 0 makes it non-blocking, and more
// makes each call wait at most d (SO_RCVTIMEO, SO_SNDTIMEO).
func settimeout(fd int, d time.Duration) error {
	if err := syscall.SetNonblock(fd, d == 0); err != nil {
		return err
	}
	tv := syscall.NsecToTimeval(max(d, 0).Nanoseconds())
	for _, opt := range []int{syscall.SO_RCVTIMEO, syscall.SO_SNDTIMEO} {
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
			return err
		}
	}
	return nil
}
`},
}

// file assembles the program: its comment, imports, main and helpers,
// formatted as gofmt would.
func (g *goWriter) file(p *program, body []string) string {
	var helpers strings.Builder
	for _, h := range goHelpers {
		if g.helpers[h.name] {
			helpers.WriteString(h.text)
			for _, imp := range h.imports {
				g.imports[imp] = true
			}
		}
	}
	var b strings.Builder
	if g.imports["syscall"] {
		b.WriteString("//go:build linux\n\n")
	}
	b.WriteString(`// Command session is a Socket Playground session as a Go program: every
// call the session made, in the order it made them, against the same hosts
// and ports, sending the same bytes. What live mode did by itself
// (accepting, reading, closing) is here as the calls a program makes for
// it, and every byte the session received is received again. A call that
// failed in the session is expected to fail the same way.
//
// It needs nothing but Go's standard library: go run session.go, with no
// module and no third-party imports. Package net makes what live mode did;
// the step-mode calls net cannot make (a socket made before it is bound or
// connected, listen's backlog, socket options, non-blocking calls) use
// package syscall, as on Linux. Run it on the machine the playground runs
// on, while what it connects to is listening (the built-in services, say).
// PLAYGROUND_TRACE=1 prints every send and receive in hex.
//
`)
	for _, l := range strings.Split(strings.TrimSpace(span(p)), "\n") {
		b.WriteString("// " + l + "\n")
	}
	b.WriteString("package main\n\n")
	imports := make([]string, 0, len(g.imports))
	for imp := range g.imports {
		imports = append(imports, imp)
	}
	slices.Sort(imports)
	if len(imports) > 0 {
		b.WriteString("import (\n")
		for _, imp := range imports {
			b.WriteString("\t" + goQuote(imp) + "\n")
		}
		b.WriteString(")\n\n")
	}
	b.WriteString("func main() {\n")
	var decl []string
	for _, v := range []struct{ name, typ string }{{"err", "error"}, {"n", "int"}, {"data", "[]byte"}} {
		if g.vars[v.name] {
			decl = append(decl, v.name+" "+v.typ)
		}
	}
	if len(decl) > 0 {
		b.WriteString("var (\n" + strings.Join(decl, "\n") + "\n)\n")
	}
	for _, l := range body {
		b.WriteString(l + "\n")
	}
	b.WriteString("}\n")
	b.WriteString(helpers.String())
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		// A bug of this package: hand out the program as it is, so the
		// compiler can point at the line.
		return b.String()
	}
	return string(src)
}
