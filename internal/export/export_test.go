package export_test

import (
	"context"
	"errors"
	"fmt"
	"go/format"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
)

// lineOf returns the index of the first line of text that contains want,
// failing the test if none does.
func lineOf(t *testing.T, lang, text, want string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, want) {
			return i
		}
	}
	t.Errorf("%s: no line has %q", lang, want)
	return -1
}

// TestPythonLines checks the lines that matter in the script of a real
// session: the calls, their order, the exact payloads and the expected
// failure.
func TestPythonLines(t *testing.T) {
	sc := play(t)
	py := export.Python(sc.evs)
	s := func(id int) string { return fmt.Sprintf("s%d", id) }
	for _, want := range []string{
		fmt.Sprintf(`%s = socket.create_connection(("127.0.0.1", %d))`, s(sc.echo), sc.echoTCP),
		`data = b"hello\n"`,
		`data = "안녕".encode()`,
		`data = b"\x00\xff\x01\x80\\\"'\x7f\r"`,
		fmt.Sprintf(`data = recv_exactly(%s, 6)`, s(sc.echo)),
		fmt.Sprintf(`%s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)`, s(sc.udp)),
		fmt.Sprintf(`%s.sendto(data, ("127.0.0.1", %d))`, s(sc.udp), sc.echoUDP),
		fmt.Sprintf(`data, addr = %s.recvfrom(65535)`, s(sc.udp)),
		fmt.Sprintf(`%s = socket.create_server(("127.0.0.1", 0))`, s(sc.ln)),
		fmt.Sprintf(`%s = socket.create_connection(("127.0.0.1", %s.getsockname()[1]))`, s(sc.client), s(sc.ln)),
		fmt.Sprintf(`%s, addr = %s.accept()  # live mode accepted this by itself`, s(sc.server), s(sc.ln)),
		fmt.Sprintf(`%s.shutdown(socket.SHUT_WR)`, s(sc.client)),
		fmt.Sprintf(`%s.close()  # live mode closed it by itself: both directions are finished`, s(sc.server)),
		fmt.Sprintf(`%s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)`, s(sc.stepLn)),
		fmt.Sprintf(`%s.bind(("127.0.0.1", 0))`, s(sc.stepLn)),
		fmt.Sprintf(`%s.listen(1)`, s(sc.stepLn)),
		fmt.Sprintf(`%s.connect(("127.0.0.1", %s.getsockname()[1]))`, s(sc.stepClient), s(sc.stepLn)),
		fmt.Sprintf(`n = %s.send(data)  # → 5`, s(sc.stepClient)),
		fmt.Sprintf(`data = %s.recv(16)  # → b'step!'`, s(sc.stepServer)),
		fmt.Sprintf(`%s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)`, s(sc.stepUDP)),
		fmt.Sprintf(`data, addr = %s.recvfrom(64)`, s(sc.stepUDP)),
		fmt.Sprintf(`    %s = socket.create_connection(("127.0.0.1", %d))  # → ConnectionRefusedError: [Errno 111] Connection refused`, s(sc.refused), sc.refusedPort),
		"except ConnectionRefusedError as err:",
	} {
		lineOf(t, "python", py, want)
	}
	// The blocked accept is made after the connect it waited for.
	accept := lineOf(t, "python", py, fmt.Sprintf("%s, addr = %s.accept()", s(sc.stepServer), s(sc.stepLn)))
	connect := lineOf(t, "python", py, fmt.Sprintf("%s.connect(", s(sc.stepClient)))
	if accept < connect {
		t.Errorf("python: the step-mode accept (line %d) comes before the connect it waited for (line %d)", accept+1, connect+1)
	}
	if strings.Contains(py, "import struct") {
		t.Errorf("python: imports struct, which only SO_LINGER needs")
	}
}

// TestGoLines checks the lines that matter in the Go program of a real
// session, and that it is formatted as gofmt would.
func TestGoLines(t *testing.T) {
	sc := play(t)
	src := export.Go(sc.evs)
	s := func(id int) string { return fmt.Sprintf("s%d", id) }
	for _, want := range []string{
		"//go:build linux",
		fmt.Sprintf(`%s, err := net.Dial("tcp", "127.0.0.1:%d")`, s(sc.echo), sc.echoTCP),
		`data = []byte("hello\n")`,
		`data = []byte("안녕")`,
		`data = []byte("\x00\xff\x01\x80\\\"'\x7f\r")`,
		fmt.Sprintf(`_, err = io.ReadFull(%s, data)`, s(sc.echo)),
		fmt.Sprintf(`%s, err := net.ListenPacket("udp", "127.0.0.1:0")`, s(sc.udp)),
		fmt.Sprintf(`_, err = %s.WriteTo(data, &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: %d})`, s(sc.udp), sc.echoUDP),
		fmt.Sprintf(`%s, err := net.Listen("tcp", "127.0.0.1:0")`, s(sc.ln)),
		fmt.Sprintf(`net.JoinHostPort("127.0.0.1", strconv.Itoa(%s.Addr().(*net.TCPAddr).Port))`, s(sc.ln)),
		fmt.Sprintf(`%s, err := %s.Accept()`, s(sc.server), s(sc.ln)),
		fmt.Sprintf(`err = %s.(*net.TCPConn).CloseWrite()`, s(sc.client)),
		fmt.Sprintf(`%s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)`, s(sc.stepLn)),
		fmt.Sprintf(`err = syscall.SetsockoptInt(%s, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)`, s(sc.stepLn)),
		fmt.Sprintf(`err = syscall.Listen(%s, 1)`, s(sc.stepLn)),
		fmt.Sprintf(`err = syscall.Connect(%s, &syscall.SockaddrInet4{Port: fdPort(%s), Addr: [4]byte{127, 0, 0, 1}})`, s(sc.stepClient), s(sc.stepLn)),
		fmt.Sprintf(`%s, _, err := syscall.Accept(%s)`, s(sc.stepServer), s(sc.stepLn)),
		fmt.Sprintf(`n, err = syscall.Read(%s, data) // → "step!"`, s(sc.stepServer)),
		fmt.Sprintf(`err = syscall.Sendto(%s, data, 0, &syscall.SockaddrInet4{Port: %d, Addr: [4]byte{127, 0, 0, 1}})`, s(sc.stepUDP), sc.echoUDP),
		fmt.Sprintf(`_, err = net.Dial("tcp", "127.0.0.1:%d") // → connection refused (ECONNREFUSED)`, sc.refusedPort),
		fmt.Sprintf(`expect("%s: connect", err, syscall.ECONNREFUSED)`, s(sc.refused)),
	} {
		lineOf(t, "go", src, want)
	}
	formatted, err := format.Source([]byte(src))
	if err != nil {
		t.Fatalf("the program does not parse: %v", err)
	}
	if string(formatted) != src {
		t.Errorf("the program is not formatted as gofmt would")
	}
}

// TestCalls checks the per-call snippets: one per call and per thing live
// mode did apart from its reads, in order, each in both languages, with
// its outcome.
func TestCalls(t *testing.T) {
	sc := play(t)
	calls := export.Calls(sc.evs)
	want := 0
	for _, e := range sc.evs {
		if e.Type == session.TypeCall || (e.Auto && e.Type == session.TypeResult) {
			want++
		}
	}
	if len(calls) != want {
		t.Fatalf("%d snippets for %d calls and things live mode did", len(calls), want)
	}
	var last uint64
	for _, c := range calls {
		if c.Seq <= last && c.Op != "accept" {
			t.Errorf("snippet of event %d (%s) after event %d", c.Seq, c.Op, last)
		}
		last = max(last, c.Seq)
		if c.Python == "" || c.Go == "" {
			t.Errorf("event %d (%s): python %q, go %q", c.Seq, c.Op, c.Python, c.Go)
		}
	}
	bySock := func(sock int, op string) export.Snippet {
		for _, c := range calls {
			if c.Sock == sock && c.Op == op {
				return c
			}
		}
		t.Fatalf("no %s snippet on socket %d", op, sock)
		return export.Snippet{}
	}
	refused := bySock(sc.refused, "connect")
	if refused.Status != "failed" || refused.Error != "ECONNREFUSED" {
		t.Errorf("the refused connect: status %q, error %q", refused.Status, refused.Error)
	}
	if send := bySock(sc.echo, "send"); send.Status != "ok" || !strings.HasPrefix(send.Python, fmt.Sprintf(`s%d.sendall(b"hello\n")`, sc.echo)) ||
		!strings.HasPrefix(send.Go, fmt.Sprintf(`_, err = s%d.Write([]byte("hello\n"))`, sc.echo)) {
		t.Errorf("the first send: %+v", send)
	}
	var long export.Snippet
	for _, c := range calls {
		if c.Sock == sc.echo && c.Op == "send" && strings.Contains(c.Python, "the first 256 of 3072 bytes shown") {
			long = c
		}
	}
	if long.Seq == 0 || !strings.Contains(long.Go, "the first 256 of 3072 bytes shown") || len(long.Python) > 2000 {
		t.Errorf("the snippet of a 3072-byte send is not cut short: %+v", long)
	}
	if a := bySock(sc.ln, "accept"); !a.Auto || a.Status != "ok" {
		t.Errorf("live mode's accept: %+v", a)
	}
	code := export.Render(sc.evs)
	if code.Total != want || len(code.Calls) != want || code.Python != export.Python(sc.evs) || code.Go != export.Go(sc.evs) {
		t.Errorf("Render differs from Calls, Python and Go: %d calls of %d", len(code.Calls), code.Total)
	}
}

// TestCallsCap checks that a long session's snippets stop at the latest
// MaxCalls, and that the programs still have every call.
func TestCallsCap(t *testing.T) {
	r := newRig(t)
	req := r.req()
	sock := r.s.Socket(req, session.SocketArgs{Proto: "tcp"})
	r.ok(req)
	n := export.MaxCalls + 50
	for i := range n {
		req = r.req()
		r.s.SetSockOpt(req, sock, "SO_RCVBUF", 4096+i)
		r.ok(req)
	}
	evs := r.end()
	code := export.Render(evs)
	if code.Total != n+2 || len(code.Calls) != export.MaxCalls {
		t.Fatalf("%d snippets of %d; want the latest %d of %d", len(code.Calls), code.Total, export.MaxCalls, n+2)
	}
	if got := code.Calls[len(code.Calls)-1]; got.Op != "close" {
		t.Errorf("the last snippet is %s, not the close as the session ended", got.Op)
	}
	if got := code.Calls[0].Python; !strings.Contains(got, fmt.Sprintf("SO_RCVBUF, %d)", 4096+n-export.MaxCalls+1)) {
		t.Errorf("the first snippet kept is %q", got)
	}
	if c := strings.Count(code.Python, "SO_RCVBUF"); c != n {
		t.Errorf("the script sets SO_RCVBUF %d times, not %d", c, n)
	}
	if c := strings.Count(code.Go, "syscall.SO_RCVBUF"); c != n {
		t.Errorf("the program sets SO_RCVBUF %d times, not %d", c, n)
	}
}

// noNames resolves no name, so a test never asks a real resolver.
type noNames struct{}

func (noNames) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("no names in this test")
}

// TestUntrustedText checks that hosts and payloads that look like code stay
// inside their literals and comments: the script and the program parse, and
// no line of them starts with the text that tried to get out.
func TestUntrustedText(t *testing.T) {
	echoTCP, _ := echo(t)
	s := session.New(session.Options{ID: "untrusted", Resolver: noNames{}})
	r := &rig{t: t, s: s, next: 1, buf: make([]*session.Event, 256)}
	t.Cleanup(s.Close)
	req := r.req()
	s.Connect(req, session.ConnectArgs{Host: "x\nprint('escaped')\u2028\"", Port: 80})
	if e := r.answer(req); e.Type != session.TypeError {
		t.Fatalf("connect to a name no resolver knows: %s", e.Type)
	}
	req = r.req()
	sock := s.Connect(req, session.ConnectArgs{Host: "127.0.0.1", Port: echoTCP})
	r.ok(req)
	payload := []byte("\"\"\"\nprint('escaped')\n\\\u2028*/\n// \r\x00`")
	req = r.req()
	s.Send(req, sock, payload)
	r.ok(req)
	r.received(sock, len(payload))
	evs := r.end()

	dir := t.TempDir()
	py, src := export.Python(evs), export.Go(evs)
	for _, text := range []string{py, src} {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "print('escaped')") {
				t.Errorf("a line of code came from an event: %q", l)
			}
		}
	}
	for _, c := range export.Calls(evs) {
		for _, text := range []string{c.Python, c.Go} {
			if strings.Contains(text, "\nprint('escaped')") {
				t.Errorf("a snippet line came from an event: %q", text)
			}
		}
	}
	parsePython(t, dir, py)
	compileGo(t, dir, src)
}

// TestPartialLogs checks programs made from part of a log: one whose first
// events are gone (calls on sockets made before them are comments), and one
// of a session still running (the program closes what is still open).
// Both must still parse and compile.
func TestPartialLogs(t *testing.T) {
	sc := play(t)
	dir := t.TempDir()
	cut := len(sc.evs) / 2
	late := sc.evs[cut:]
	py := export.Python(late)
	if !strings.Contains(py, fmt.Sprintf("Made from events %d to %d", late[0].Seq, late[len(late)-1].Seq)) {
		t.Errorf("the script does not say which events it was made from")
	}
	if !strings.Contains(py, "was made before the first event in the log") {
		t.Errorf("no call on a socket made before the log's first event became a comment")
	}
	parsePython(t, filepath.Join(dir, "late"), py)
	compileGo(t, filepath.Join(dir, "late"), export.Go(late))

	// The session as it was before it ended: its first sockets still open.
	var running []*session.Event
	for _, e := range sc.evs {
		if e.Type == session.TypeResult && e.Op == "close" && e.Auto {
			if e.ID == "" && e.Sock == sc.echo {
				break
			}
		}
		running = append(running, e)
	}
	py = export.Python(running)
	if !strings.Contains(py, fmt.Sprintf("still had these sockets open; the script closes them as it ends.\ns%d.close()", sc.echo)) {
		t.Errorf("the script of a running session does not close its open sockets:\n%s", py[max(0, len(py)-400):])
	}
	parsePython(t, filepath.Join(dir, "running"), py)
	compileGo(t, filepath.Join(dir, "running"), export.Go(running))
}

// parsePython fails the test unless python3 parses the script.
func parsePython(t *testing.T, dir, script string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed (make test checks for it; CI installs it): %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "session.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", "import ast, sys; ast.parse(open(sys.argv[1], encoding='utf-8').read())", path).CombinedOutput()
	if err != nil {
		t.Errorf("python3 does not parse the script: %v\n%s", err, out)
	}
}

// compileGo fails the test unless the program compiles.
func compileGo(t *testing.T, dir, src string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "session.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "build", "-o", os.DevNull, path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the program does not compile: %v\n%s", err, out)
	}
}

// TestProxyBypassed checks that a connection the session made through
// one of its bad-network proxies goes straight to the proxy's target in
// the programs, which have no proxy, and that the proxy's own calls are
// comments.
func TestProxyBypassed(t *testing.T) {
	ed := playEdges(t)
	var target string
	for _, e := range ed.evs {
		if e.Type == session.TypeResult && e.Op == "proxy" {
			target = e.Remote
		}
	}
	host, port, _ := strings.Cut(target, ":")
	py, src := export.Python(ed.evs), export.Go(ed.evs)
	lineOf(t, "python", py, fmt.Sprintf(`s%d = socket.create_connection((%q, %s))`, ed.viaProxy, host, port))
	lineOf(t, "python", py, fmt.Sprintf(`# s%d: a bad-network TCP proxy on 127.0.0.1:0 to %s`, ed.proxy, target))
	lineOf(t, "python", py, fmt.Sprintf(`# s%d.close()`, ed.proxy))
	lineOf(t, "go", src, fmt.Sprintf(`s%d, err := net.Dial("tcp", %q)`, ed.viaProxy, target))
}

// TestLateEOF: a log whose first events are gone may show a live socket,
// made before them, reading end-of-file; the program has no such socket,
// so it reads nothing from it, and still compiles.
func TestLateEOF(t *testing.T) {
	evs := []*session.Event{
		{Seq: 40, Type: session.TypeData, Sock: 3, Op: "recv", Auto: true, Data: []byte("hi"), Len: 2},
		{Seq: 41, Type: session.TypeState, Sock: 3, Kind: session.KindTCP, State: session.StateHalfClosed, Half: "read", Local: "127.0.0.1:5000", Remote: "127.0.0.1:7"},
		{Seq: 42, Type: session.TypeResult, Sock: 3, Op: "close", Auto: true},
		{Seq: 43, Type: session.TypeState, Sock: 3, Kind: session.KindTCP, State: session.StateClosed, Local: "127.0.0.1:5000", Remote: "127.0.0.1:7"},
	}
	py, src := export.Python(evs), export.Go(evs)
	for _, text := range []string{py, src} {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "s3.recv(") && !strings.HasPrefix(l, "#") || strings.Contains(l, "s3.Read(") && !strings.HasPrefix(strings.TrimSpace(l), "//") {
				t.Errorf("a read on a socket the program does not have: %q", l)
			}
		}
	}
	dir := t.TempDir()
	parsePython(t, dir, py)
	compileGo(t, dir, src)
}

// TestProxyEOF: a connection through a proxy reads end-of-file when the
// proxy closes (the session ending closes it first); the program, which
// goes straight to the target, must not wait for that one. An end-of-file
// the proxy passed on from the target is read as in the session.
func TestProxyEOF(t *testing.T) {
	evs := func(passed bool) []*session.Event {
		evs := []*session.Event{
			{Type: session.TypeCall, Sock: 1, ID: "1", Op: "proxy", Host: "127.0.0.1", Proto: "tcp", Target: "127.0.0.1:7"},
			{Type: session.TypeResult, Sock: 1, ID: "1", Op: "proxy", Local: "127.0.0.1:4000", Remote: "127.0.0.1:7"},
			{Type: session.TypeState, Sock: 1, Kind: session.KindTCPProxy, State: "proxying", Local: "127.0.0.1:4000", Remote: "127.0.0.1:7"},
			{Type: session.TypeCall, Sock: 2, ID: "2", Op: "connect", Host: "127.0.0.1", Port: 4000, Timeout: 10000},
			{Type: session.TypeState, Sock: 2, Kind: session.KindTCP, State: session.StateConnecting, Addr: "127.0.0.1:4000", Remote: "127.0.0.1:4000"},
			{Type: session.TypeResult, Sock: 2, ID: "2", Op: "connect", Addr: "127.0.0.1:4000", Local: "127.0.0.1:5000", Remote: "127.0.0.1:4000"},
			{Type: session.TypeState, Sock: 2, Kind: session.KindTCP, State: session.StateEstablished, Local: "127.0.0.1:5000", Remote: "127.0.0.1:4000"},
		}
		if passed {
			evs = append(evs,
				&session.Event{Type: session.TypeCall, Sock: 2, ID: "3", Op: "shutdown", How: "write"},
				&session.Event{Type: session.TypeResult, Sock: 2, ID: "3", Op: "shutdown", How: "write"},
				&session.Event{Type: session.TypeRelay, Sock: 1, Peer: "127.0.0.1:5000", Conn: 1, Relay: "fin", Dir: "to-client"})
		}
		evs = append(evs,
			&session.Event{Type: session.TypeState, Sock: 2, Kind: session.KindTCP, State: session.StateHalfClosed, Half: "read", Local: "127.0.0.1:5000", Remote: "127.0.0.1:4000"},
			&session.Event{Type: session.TypeRelay, Sock: 1, Peer: "127.0.0.1:5000", Conn: 1, Relay: "close"},
			&session.Event{Type: session.TypeResult, Sock: 1, Op: "close", Auto: true},
			&session.Event{Type: session.TypeState, Sock: 1, Kind: session.KindTCPProxy, State: session.StateClosed},
			&session.Event{Type: session.TypeResult, Sock: 2, Op: "close", Auto: true},
			&session.Event{Type: session.TypeState, Sock: 2, Kind: session.KindTCP, State: session.StateClosed, Local: "127.0.0.1:5000", Remote: "127.0.0.1:4000"})
		for i, e := range evs {
			e.Seq = uint64(i + 1)
		}
		return evs
	}
	if py := export.Python(evs(false)); strings.Contains(py, "s2.recv(1)") {
		t.Errorf("the script waits for the end-of-file its proxy made, which it never gets:\n%s", py[strings.Index(py, "s2 ="):])
	}
	if py := export.Python(evs(true)); !strings.Contains(py, "s2.recv(1)") {
		t.Errorf("the script does not read the end-of-file the target sent:\n%s", py[strings.Index(py, "s2 ="):])
	}
}
