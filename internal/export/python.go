package export

import (
	"fmt"
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

// Python returns the session as a runnable Python 3 script of the socket
// module: every call in the order the session made it, against the same
// hosts and ports, sending the same bytes, and receiving as many bytes as
// the session received. A call that failed in the session is made in a
// try block that expects the same exception, so the script carries on as
// the session did. PLAYGROUND_TRACE=1 makes it print every send and
// receive in hex.
func Python(evs []*session.Event) string { return python(walk(evs)) }

func python(p *program) string {
	r := &pyWriter{}
	var body strings.Builder
	for _, st := range p.stmts {
		for _, l := range r.stmt(st, false) {
			body.WriteString(l)
			body.WriteByte('\n')
		}
	}
	if len(p.open) > 0 {
		body.WriteString("\n# The session still had these sockets open; the script closes them as it ends.\n")
		for _, sv := range p.open {
			body.WriteString(sv.name + ".close()\n")
		}
	}

	var out strings.Builder
	out.WriteString(`#!/usr/bin/env python3
"""A Socket Playground session as a Python script.

Every call the session made, in the order it made them, against the same
hosts and ports, sending the same bytes. What live mode did by itself
(accepting, reading, closing) is here as the calls a program makes for it,
and every byte the session received is received again. A call that failed
in the session is expected to fail the same way.

Run it with python3 on the machine the playground runs on, while what it
connects to is listening (the playground's built-in services, say).
PLAYGROUND_TRACE=1 prints every send and receive in hex.
`)
	out.WriteString(span(p))
	out.WriteString("\"\"\"\n\nimport os\nimport socket\n")
	if r.ssl {
		out.WriteString("import ssl\n")
	}
	if r.structs {
		out.WriteString("import struct\n")
	}
	if r.time {
		out.WriteString("import time\n")
	}
	out.WriteString(`
TRACE = os.environ.get("PLAYGROUND_TRACE") == "1"


def trace(sock, direction, data):
    """Prints what a socket sent or received, in hex, if PLAYGROUND_TRACE=1."""
    if TRACE:
        print("trace", sock, direction, data.hex(), flush=True)
`)
	if r.exactly {
		out.WriteString(`

def recv_exactly(sock, n):
    """Receives exactly n bytes: TCP may cut them into other pieces than it did in the session."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"the peer finished sending after {len(data)} of {n} bytes")
        data += chunk
    return data
`)
	}
	out.WriteString("\n\n")
	out.WriteString(body.String())
	return out.String()
}

// span says which events a program was made from.
func span(p *program) string {
	switch {
	case p.last == 0:
		return "\nThe session's log has no events yet.\n"
	case p.first > 1:
		return fmt.Sprintf("\nMade from events %d to %d of the session's log: the %d before them are no longer kept,\nso calls on sockets made before them are comments.\n", p.first, p.last, p.first-1)
	}
	return fmt.Sprintf("\nMade from events %d to %d of the session's log.\n", p.first, p.last)
}

// pyWriter renders statements as Python, and remembers what the script
// needs besides the socket module.
type pyWriter struct {
	structs bool // SO_LINGER's value, a multicast membership: a struct
	exactly bool // recv_exactly is used
	ssl     bool // a TLS connection
	time    bool // a repeat sleeps between its sends
	// noShut are TLS connections whose half-close the script could not
	// make: the peer's end-of-stream never comes (python_toolkit.go).
	noShut map[*sockVar]bool
}

// pyDialect writes outcome comments as Python shows values.
type pyDialect struct{}

func (pyDialect) bytes(b []byte) string    { return pyRepr(b) }
func (pyDialect) addr(a string) string     { return pyAddr(a) }
func (pyDialect) failure(f failure) string { return f.python() }

var pyShut = map[string]string{"read": "socket.SHUT_RD", "write": "socket.SHUT_WR", "both": "socket.SHUT_RDWR"}

// pyOptions are setsockopt's options as Python names them: level and
// name, and for IPv6 sockets the names where they differ.
var pyOptions = map[string][4]string{
	"SO_REUSEADDR": {"socket.SOL_SOCKET", "socket.SO_REUSEADDR"},
	"SO_REUSEPORT": {"socket.SOL_SOCKET", "socket.SO_REUSEPORT"},
	"SO_BROADCAST": {"socket.SOL_SOCKET", "socket.SO_BROADCAST"},
	"SO_KEEPALIVE": {"socket.SOL_SOCKET", "socket.SO_KEEPALIVE"},
	"SO_RCVBUF":    {"socket.SOL_SOCKET", "socket.SO_RCVBUF"},
	"SO_SNDBUF":    {"socket.SOL_SOCKET", "socket.SO_SNDBUF"},
	"SO_LINGER":    {"socket.SOL_SOCKET", "socket.SO_LINGER"},
	"TCP_NODELAY":  {"socket.IPPROTO_TCP", "socket.TCP_NODELAY"},
	"IP_TTL":       {"socket.IPPROTO_IP", "socket.IP_TTL", "socket.IPPROTO_IPV6", "socket.IPV6_UNICAST_HOPS"},

	"IP_MULTICAST_TTL":  {"socket.IPPROTO_IP", "socket.IP_MULTICAST_TTL", "socket.IPPROTO_IPV6", "socket.IPV6_MULTICAST_HOPS"},
	"IP_MULTICAST_LOOP": {"socket.IPPROTO_IP", "socket.IP_MULTICAST_LOOP", "socket.IPPROTO_IPV6", "socket.IPV6_MULTICAST_LOOP"},
}

// stmt renders one statement: as the script makes it, or (snippet) as the
// page shows it, the call alone with its outcome and payloads cut short.
func (r *pyWriter) stmt(st *stmt, snippet bool) []string {
	name := st.sockName()
	note := comment(outcome(st, pyDialect{}))
	if st.kind == kNote {
		if st.rule != nil {
			return []string{"# " + comment(ruleNote(st.rule, pyDialect{}))}
		}
		return []string{"# " + comment(st.note)}
	}
	if st.kind == kRepeat {
		return r.loop(st, snippet)
	}
	// The payload: in the script a variable the call and the trace share.
	payload := ""
	if st.kind == kSend || st.kind == kSendTo {
		var cut string
		payload, cut = sendPayload(st, snippet, pyBytes)
		note = join(note, cut)
	}
	var code, traced []string
	if payload == "" && (st.kind == kSend || st.kind == kSendTo) {
		payload = fmt.Sprintf("bytes(%d)", st.size)
	}
	send := "data"
	if snippet {
		send = payload
	}
	switch st.kind {
	case kSocket:
		code = []string{fmt.Sprintf("%s = socket.socket(%s, %s)", name, pyFamily(st.sock.family), pyType(st.sock.udp))}
	case kSetsockopt:
		o, ok := pyOptions[st.option]
		if !ok {
			o = [4]string{"socket.SOL_SOCKET", "socket." + st.option}
		}
		level, opt := o[0], o[1]
		if st.sock.family == "ip6" && o[2] != "" {
			level, opt = o[2], o[3]
		}
		value := itoa(st.value)
		if st.option == "IP_MULTICAST_IF" {
			level, opt, value = r.multicastIf(st)
		}
		if st.option == "SO_LINGER" {
			r.structs = true
			value = `struct.pack("ii", 0, 0)`
			if st.value >= 0 {
				value = fmt.Sprintf(`struct.pack("ii", 1, %d)`, st.value)
			}
		}
		code = []string{fmt.Sprintf("%s.setsockopt(%s, %s, %s)", name, level, opt, value)}
	case kSettimeout:
		code = []string{fmt.Sprintf("%s.settimeout(%s)", name, pyTimeout(st))}
	case kBind:
		code = []string{fmt.Sprintf("%s.bind(%s)", name, pyTarget(st.to))}
	case kListen:
		code = []string{fmt.Sprintf("%s.listen(%d)", name, st.backlog)}
	case kServe:
		fam := ""
		if st.sock.family == "ip6" {
			fam = ", family=socket.AF_INET6"
		}
		code = []string{fmt.Sprintf("%s = socket.create_server(%s%s)", name, pyTarget(st.to), fam)}
	case kDial:
		code = []string{fmt.Sprintf("%s = socket.create_connection(%s)", name, pyTarget(st.to))}
		if st.tls != nil {
			code = r.tlsDial(st)
		}
	case kJoin:
		code = []string{r.join(st)}
	case kUDP:
		code = []string{
			fmt.Sprintf("%s = socket.socket(%s, socket.SOCK_DGRAM)", name, pyFamily(st.sock.family)),
			fmt.Sprintf("%s.bind(%s)", name, pyTarget(st.to)),
		}
		if any := groupWildcard(st.to.host); any != "" {
			// Go's net package, which made the session's socket, binds the
			// wildcard address for a group's: so does the script, to get
			// what the session got (unicast to the port too).
			w := *st.to
			w.host = any
			code = []string{code[0],
				"# the wildcard address: for the group " + comment(st.to.host) + ", Go's net package (the session's) binds it",
				fmt.Sprintf("%s.bind(%s)", name, pyTarget(&w))}
		}
	case kConnect:
		code = []string{fmt.Sprintf("%s.connect(%s)", name, pyTarget(st.to))}
	case kAccept:
		child := "conn" // a call that made no socket
		if st.child != nil && st.status == stOK {
			child = st.child.name
		}
		code = []string{fmt.Sprintf("%s, addr = %s.accept()", child, name)}
	case kRecv:
		code = []string{fmt.Sprintf("data = %s.recv(%d)", name, st.n)}
		traced = []string{fmt.Sprintf("trace(%q, \"recv\", data)", name)}
	case kRecvFrom:
		code = []string{fmt.Sprintf("data, addr = %s.recvfrom(%d)", name, st.n)}
		traced = []string{fmt.Sprintf("trace(%q, \"recv\", data)", name)}
	case kRecvAll:
		r.exactly = true
		code = []string{fmt.Sprintf("data = recv_exactly(%s, %d)", name, st.n)}
		traced = []string{fmt.Sprintf("trace(%q, \"recv\", data)", name)}
	case kRecvDgram:
		code = []string{fmt.Sprintf("data, addr = %s.recvfrom(65535)", name)}
		traced = []string{fmt.Sprintf("trace(%q, \"recv\", data)", name)}
	case kRecvEOF:
		code = []string{fmt.Sprintf("data = %s.recv(1)", name)}
		traced = []string{fmt.Sprintf("trace(%q, \"recv\", data)", name)}
		if r.noShut[st.sock] {
			return []string{"# " + code[0] + "  # " + comment(note) + "; not here: the script could not half-close TLS above, so the peer does not finish"}
		}
	case kRecvError:
		code = []string{fmt.Sprintf("data = %s.recv(65536)", name)}
	case kSend:
		if st.step {
			code = []string{fmt.Sprintf("n = %s.send(%s)", name, send)}
			traced = []string{fmt.Sprintf("trace(%q, \"send\", data[:n])", name)}
		} else {
			code = []string{fmt.Sprintf("%s.sendall(%s)", name, send)}
			traced = []string{fmt.Sprintf("trace(%q, \"send\", data)", name)}
		}
	case kSendTo:
		code = []string{fmt.Sprintf("%s.sendto(%s, %s)", name, send, pyTarget(st.to))}
		traced = []string{fmt.Sprintf("trace(%q, \"send\", data)", name)}
	case kShutdown:
		code = []string{fmt.Sprintf("%s.shutdown(%s)", name, pyShut[st.how])}
		if st.sock != nil && st.sock.tls && st.how != "read" {
			return r.tlsShutdown(st, code, note)
		}
	case kClose:
		code = []string{name + ".close()"}
	}
	if note != "" {
		code[len(code)-1] += "  # " + note
	}
	remark := remarks(st, pyDialect{})
	if remark != "" {
		remark = "# " + comment(remark)
	}
	if snippet {
		if remark != "" {
			code = append([]string{remark}, code...)
		}
		return code
	}
	if isComment(st) {
		// The session did not make this call: the script must not either.
		for i, l := range code {
			code[i] = "# " + l
		}
		if remark != "" {
			code = append([]string{remark}, code...)
		}
		return code
	}
	var out []string
	if remark != "" {
		out = append(out, remark)
	}
	if payload != "" {
		out = append(out, "data = "+payload)
	}
	if st.status != stFailed {
		return append(append(out, code...), traced...)
	}
	out = append(out, "try:")
	for _, l := range append(code, traced...) {
		out = append(out, "    "+l)
	}
	return append(out,
		fmt.Sprintf("except %s as err:", st.fail.pythonClass()),
		fmt.Sprintf("    print(%s, err, \"(as in the session)\")", pyStr(name+": "+st.op+":")))
}

// sendPayload is a send's bytes as an expression of the language lit
// writes literals for: all of them for a program, the first snippetBytes
// for a snippet (cut says so). A send the log has no bytes of (it failed
// before sending) sends as many zero bytes.
func sendPayload(st *stmt, snippet bool, lit func([]byte) string) (expr, cut string) {
	if len(st.data) == 0 && st.size > 0 {
		return "", ""
	}
	if snippet && len(st.data) > snippetBytes {
		return lit(st.data[:snippetBytes]), fmt.Sprintf("the first %d of %d bytes shown", snippetBytes, len(st.data))
	}
	return lit(st.data), ""
}

func pyFamily(f string) string {
	if f == "ip6" {
		return "socket.AF_INET6"
	}
	return "socket.AF_INET"
}

func pyType(udp bool) string {
	if udp {
		return "socket.SOCK_DGRAM"
	}
	return "socket.SOCK_STREAM"
}

func pyTimeout(st *stmt) string {
	switch st.how {
	case "non-blocking":
		return "0"
	case "timeout":
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", st.timeout.Seconds()), "0"), ".")
	}
	return "None"
}

// pyTarget is an address as a Python tuple; the port of the program's
// own socket when the kernel chose it.
func pyTarget(t *target) string {
	port := itoa(t.port)
	if t.via != nil {
		port = t.via.name + ".getsockname()[1]"
	}
	return "(" + pyStr(t.host) + ", " + port + ")"
}
