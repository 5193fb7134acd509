package bridge_test

// End-to-end tests of every error a session reports: real sockets on
// loopback produce the failure, and each test checks the error event (stable
// code, errno name, plain-language message, request id) and then that the
// session carries on: another socket in the same session still works.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/session"
)

// wantError fails the test unless e is an error event answering request id
// with code and errno ("" for none) and a message a person can read.
func wantError(t testing.TB, e Ev, id, code, errno string) {
	t.Helper()
	if e.Type != "error" || e.Code != code || e.Errno != errno || e.ID != id {
		t.Fatalf("got %v; want an error event with id %q, code %q, errno %q", e, id, code, errno)
	}
	if len(strings.TrimSpace(e.Message)) < 10 {
		t.Fatalf("error event %v has no plain-language message", e)
	}
}

// opening reports whether state is one a socket passes through as it opens.
func opening(state string) bool {
	switch state {
	case "connecting", "handshaking", "established", "listening", "bound":
		return true
	}
	return false
}

// wantState waits for sock's next state event after it opened (or for
// state itself, if that is an opening state) and fails unless it is state.
func wantState(t testing.TB, c *Client, sock int, state string) Ev {
	t.Helper()
	e := c.Wait(fmt.Sprintf("state %s of socket %d", state, sock), func(e Ev) bool {
		return e.Type == "state" && e.Sock == sock && (e.State == state || !opening(e.State))
	})
	if e.State != state {
		t.Fatalf("socket %d went to %v; want state %q", sock, e, state)
	}
	return e
}

// answerAnd waits for the answer to request id and for the first event
// that matches other, in whichever order they come: a datagram's "data"
// event can precede the sender's "sent", and a listener's accept can
// precede the connect's result, because different sockets log them. It
// fails the test if the request failed.
func answerAnd(t testing.TB, c *Client, id, what string, other func(Ev) bool) (answer, ev Ev) {
	t.Helper()
	var a, o *Ev
	c.Wait("the answer to "+id+" and "+what, func(e Ev) bool {
		switch {
		case a == nil && e.ID == id && (e.Type == "result" || e.Type == "sent" || e.Type == "error"):
			a = &e
		case o == nil && other(e):
			o = &e
		}
		return a != nil && o != nil
	})
	if a.Type == "error" {
		t.Fatalf("request %s failed: %v", id, *a)
	}
	return *a, *o
}

var carrySeq atomic.Int64

// carriesOn proves the session still works: a new TCP connection from the
// session to a peer in the test carries bytes both ways, then closes.
func carriesOn(t testing.TB, c *Client) {
	t.Helper()
	n := carrySeq.Add(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	id := fmt.Sprintf("carry%d", n)
	c.Send(`{"id":"%s-c","op":"connect","host":"127.0.0.1","port":%s}`, id, port(t, ln.Addr().String()))
	sock := c.OK(id + "-c").Sock
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	p, err := ln.Accept()
	if err != nil {
		t.Fatalf("after the error, the session's connect never arrived: %v", err)
	}
	defer p.Close()
	p.SetDeadline(time.Now().Add(10 * time.Second))

	ping := fmt.Sprintf("ping %d", n)
	c.Send(`{"id":"%s-s","op":"send","sock":%d,"data":{"text":%q}}`, id, sock, ping)
	if e := c.OK(id + "-s"); e.Len != len(ping) {
		t.Fatalf("after the error, send answered %v", e)
	}
	got := make([]byte, len(ping))
	if _, err := io.ReadFull(p, got); err != nil || string(got) != ping {
		t.Fatalf("after the error, the peer read %q, %v; want %q", got, err, ping)
	}
	pong := fmt.Sprintf("pong %d", n)
	if _, err := p.Write([]byte(pong)); err != nil {
		t.Fatal(err)
	}
	var back []byte
	for len(back) < len(pong) {
		back = append(back, c.Wait("the peer's reply", func(e Ev) bool { return e.Type == "data" && e.Sock == sock }).Data...)
	}
	if string(back) != pong {
		t.Fatalf("after the error, the session received %q; want %q", back, pong)
	}
	c.Send(`{"id":"%s-x","op":"close","sock":%d}`, id, sock)
	c.OK(id + "-x")
	wantState(t, c, sock, "closed")
}

// closedPort returns a loopback address on which nothing listens: a port
// that was just listened on and closed.
func closedPort(t testing.TB, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestErrorRefused: connect to a closed loopback port is ECONNREFUSED.
func TestErrorRefused(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			c := dial(t, startServer(t, bridge.Options{}))
			addr := closedPort(t, host)
			c.Send(`{"id":"c","op":"connect","host":%q,"port":%s}`, host, port(t, addr))
			e := c.Result("c")
			wantError(t, e, "c", "refused", "ECONNREFUSED")
			if e.Op != "connect" || e.Sock <= 0 || !strings.Contains(e.Message, addr) {
				t.Fatalf("refusal %v does not name the connect, its socket and %s", e, addr)
			}
			wantState(t, c, e.Sock, "failed")
			carriesOn(t, c)
		})
	}
}

// fullListener returns the address of a loopback listener that never
// accepts and whose accept queue is full, so Linux drops every further SYN
// and a connect to it hangs until its timeout.
func fullListener(t testing.TB) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// With a backlog of 0 the queue holds one connection; dial until a
	// dial hangs, which shows the queue is full.
	for i := 0; ; i++ {
		if i == 8 {
			t.Fatalf("%d connections to %s with backlog 0 all completed: the accept queue never filled", i, addr)
		}
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr
		}
		t.Fatalf("filling the accept queue of %s: %v", addr, err)
	}
}

// TestErrorTimeout: connect with timeout_ms to a listener that never
// completes the handshake times out after about that long; closing the
// socket while it waits cancels the connect.
func TestErrorTimeout(t *testing.T) {
	addr := fullListener(t)
	c := dial(t, startServer(t, bridge.Options{}))

	t.Run("timeout", func(t *testing.T) {
		c.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%s,"timeout_ms":400}`, port(t, addr))
		call := c.Wait("the connect call", func(e Ev) bool { return e.Type == "call" && e.ID == "t" })
		e := c.Result("t")
		wantError(t, e, "t", "timeout", "ETIMEDOUT")
		if e.Op != "connect" || e.Sock != call.Sock {
			t.Fatalf("timeout %v does not name the connect on socket %d", e, call.Sock)
		}
		if waited := time.Duration(e.T-call.T) * time.Microsecond; waited < 350*time.Millisecond || waited > 5*time.Second {
			t.Fatalf("the connect timed out after %v; want about the 400ms asked for", waited)
		}
		wantState(t, c, e.Sock, "failed")
		carriesOn(t, c)
	})

	t.Run("closed while connecting", func(t *testing.T) {
		c.Send(`{"id":"w","op":"connect","host":"127.0.0.1","port":%s,"timeout_ms":60000}`, port(t, addr))
		sock := c.Wait("the connect call", func(e Ev) bool { return e.Type == "call" && e.ID == "w" }).Sock
		wantState(t, c, sock, "connecting")
		c.Send(`{"id":"x","op":"close","sock":%d,"now":true}`, sock)
		var connect, closed *Ev
		c.Wait("the connect and the close answered", func(e Ev) bool {
			switch {
			case e.ID == "w" && (e.Type == "result" || e.Type == "error"):
				connect = &e
			case e.ID == "x" && (e.Type == "result" || e.Type == "error"):
				closed = &e
			}
			return connect != nil && closed != nil
		})
		wantError(t, *connect, "w", "cancelled", "")
		if closed.Type != "result" {
			t.Fatalf("close now during connect answered %v", *closed)
		}
		carriesOn(t, c)
	})
}

// TestErrorHostname resolves names through a real DNS server on loopback:
// a known name reaches a listener and the events show what it resolved to;
// an unknown name fails with name_not_found.
func TestErrorHostname(t *testing.T) {
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	dns, r := startDNS(t, map[string][]netip.Addr{"echo.playground.test.": {v4, v6}})
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{Resolver: r}}))

	for _, tt := range []struct {
		family string
		listen string   // where the test's listener is
		addrs  []string // what the name must resolve to
	}{
		{"ip4", "127.0.0.1", []string{"127.0.0.1"}},
		{"ip6", "::1", []string{"::1"}},
		{"", "127.0.0.1", []string{"127.0.0.1", "::1"}}, // either order; ::1 may be tried first and refused
	} {
		name := "connect, family " + tt.family
		if tt.family == "" {
			name = "connect, any family"
		}
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(tt.listen, "0"))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			lport := port(t, ln.Addr().String())
			fam := ""
			if tt.family != "" {
				fam = fmt.Sprintf(`,"family":%q`, tt.family)
			}
			id := "n-" + tt.family
			c.Send(`{"id":%q,"op":"connect","host":"echo.playground.test","port":%s%s}`, id, lport, fam)
			sock := c.Wait("the connect call", func(e Ev) bool { return e.Type == "call" && e.ID == id }).Sock
			var tried []Ev
			res := c.Wait("the connect answered", func(e Ev) bool {
				if e.Type == "state" && e.Sock == sock && e.State == "connecting" {
					tried = append(tried, e)
				}
				return e.ID == id && (e.Type == "result" || e.Type == "error")
			})
			if res.Type != "result" {
				t.Fatalf("connect to echo.playground.test failed: %v", res)
			}
			want := net.JoinHostPort(tt.listen, lport)
			if res.Addr != want || res.Remote != want {
				t.Fatalf("connect result %v; want addr and remote %s", res, want)
			}
			if len(tried) == 0 {
				t.Fatal("no connecting state event")
			}
			for _, e := range tried {
				got := slices.Sorted(slices.Values(e.Addrs))
				if !slices.Equal(got, slices.Sorted(slices.Values(tt.addrs))) {
					t.Fatalf("connecting %v shows addrs %v; the name resolves to %v", e, e.Addrs, tt.addrs)
				}
				host, _, _ := net.SplitHostPort(e.Addr)
				if !slices.Contains(tt.addrs, host) || port(t, e.Addr) != lport {
					t.Fatalf("connecting %v: addr is not a resolved address with port %s", e, lport)
				}
			}
			if last := tried[len(tried)-1]; last.Addr != want {
				t.Fatalf("the last address tried is %s; the connection was made to %s", last.Addr, want)
			}
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
			p, err := ln.Accept()
			if err != nil {
				t.Fatalf("the listener got no connection: %v", err)
			}
			p.Close()
			if p.RemoteAddr().String() != res.Local {
				t.Fatalf("the listener accepted %s; the session's socket is %s", p.RemoteAddr(), res.Local)
			}
			c.Send(`{"id":"x-%s","op":"close","sock":%d,"now":true}`, tt.family, res.Sock)
			c.OK("x-" + tt.family)
		})
	}

	for _, tt := range []struct{ name, req string }{
		{"connect", `{"id":"bad-connect","op":"connect","host":"nope.playground.test","port":7}`},
		{"listen", `{"id":"bad-listen","op":"listen","host":"nope.playground.test","port":0}`},
		{"bind", `{"id":"bad-bind","op":"bind","host":"nope.playground.test","port":0}`},
	} {
		t.Run(tt.name+" unknown name", func(t *testing.T) {
			c.Send("%s", tt.req)
			e := c.Result("bad-" + tt.name)
			wantError(t, e, "bad-"+tt.name, "name_not_found", "")
			if e.Op != tt.name || !strings.Contains(e.Message, "nope.playground.test") {
				t.Fatalf("error %v does not name the %s and the name", e, tt.name)
			}
			wantState(t, c, e.Sock, "failed")
			carriesOn(t, c)
		})
	}

	t.Run("sendto unknown name", func(t *testing.T) {
		c.Send(`{"id":"u","op":"bind","host":"127.0.0.1","port":0}`)
		u := c.OK("u")
		c.Send(`{"id":"bad-sendto","op":"sendto","sock":%d,"host":"nope.playground.test","port":%s,"data":{"text":"lost"}}`, u.Sock, port(t, u.Local))
		wantError(t, c.Result("bad-sendto"), "bad-sendto", "name_not_found", "")
		// The same UDP socket carries on, and sends to a name that resolves.
		c.Send(`{"id":"good","op":"sendto","sock":%d,"host":"echo.playground.test","port":%s,"data":{"text":"found"}}`, u.Sock, port(t, u.Local))
		e, got := answerAnd(t, c, "good", "the datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == u.Sock })
		if e.Peer != u.Local {
			t.Fatalf("sendto echo.playground.test went to %v; want %s", e, u.Local)
		}
		if string(got.Data) != "found" || got.Peer != u.Local {
			t.Fatalf("received %v %q; want found from %s", got, got.Data, u.Local)
		}
		carriesOn(t, c)
	})

	if !dns.Asked("echo.playground.test.") || !dns.Asked("nope.playground.test.") {
		t.Fatalf("the session did not resolve through the loopback DNS server; it was asked %v", dns.Questions())
	}
}

// TestErrorAddrInUse: listening or binding on a port that is taken, by
// the session or by someone else, is EADDRINUSE; the holder keeps working.
func TestErrorAddrInUse(t *testing.T) {
	for _, tt := range []struct {
		op, host string
		outside  bool // the port is held by the test, not the session
	}{
		{"listen", "127.0.0.1", false},
		{"listen", "::1", false},
		{"bind", "127.0.0.1", false},
		{"bind", "::1", false},
		{"listen", "127.0.0.1", true},
		{"bind", "::1", true},
	} {
		name := fmt.Sprintf("%s %s", tt.op, tt.host)
		if tt.outside {
			name += " held outside"
		}
		t.Run(name, func(t *testing.T) {
			c := dial(t, startServer(t, bridge.Options{}))
			var first Ev
			var taken string
			switch {
			case tt.outside && tt.op == "listen":
				ln, err := net.Listen("tcp", net.JoinHostPort(tt.host, "0"))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				taken = port(t, ln.Addr().String())
			case tt.outside:
				pc, err := net.ListenPacket("udp", net.JoinHostPort(tt.host, "0"))
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				taken = port(t, pc.LocalAddr().String())
			default:
				c.Send(`{"id":"first","op":%q,"host":%q,"port":0}`, tt.op, tt.host)
				first = c.OK("first")
				taken = port(t, first.Local)
			}
			c.Send(`{"id":"again","op":%q,"host":%q,"port":%s}`, tt.op, tt.host, taken)
			e := c.Result("again")
			wantError(t, e, "again", "addr_in_use", "EADDRINUSE")
			if e.Op != tt.op || e.Sock <= 0 || !strings.Contains(e.Message, taken) {
				t.Fatalf("error %v does not name the %s, its socket and port %s", e, tt.op, taken)
			}
			wantState(t, c, e.Sock, "failed")

			if !tt.outside { // the socket that holds the port still works
				if tt.op == "listen" {
					c.Send(`{"id":"reach","op":"connect","host":%q,"port":%s}`, tt.host, taken)
					conn, acc := answerAnd(t, c, "reach", "the accept", func(e Ev) bool { return e.Type == "result" && e.Op == "accept" })
					if acc.Sock != first.Sock || acc.Remote != conn.Local {
						t.Fatalf("accept %v; want the first listener %d to accept %s", acc, first.Sock, conn.Local)
					}
				} else {
					c.Send(`{"id":"self","op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"me"}}`, first.Sock, tt.host, taken)
					_, d := answerAnd(t, c, "self", "the datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == first.Sock })
					if string(d.Data) != "me" {
						t.Fatalf("the first UDP socket received %v %q", d, d.Data)
					}
				}
			}
			carriesOn(t, c)
		})
	}
}

// permissionEnv tells a re-executed test binary to run TestPermissionHelper:
// "direct" runs the check as the process is; "netns" first brings up the
// loopback interface of the fresh network namespace the process was started
// in, as root, and then drops to uid/gid 65534.
const permissionEnv = "PLAYGROUND_PERMISSION_HELPER"

// nobody is the unprivileged user the check runs as when the tests run as
// root.
const nobody = 65534

// TestErrorPermission: listening or binding on a port below 1024 without
// privileges is EACCES. As root (CI runs as root) the check runs in a child
// process as uid 65534; it never skips: if no way to run it unprivileged
// works, it fails and says why.
func TestErrorPermission(t *testing.T) {
	if os.Geteuid() != 0 {
		checkPermission(t)
		return
	}
	ran := false
	t.Run("uid 65534", func(t *testing.T) {
		if !lowPortsPrivileged() {
			t.Skipf("net.ipv4.ip_unprivileged_port_start is %s in this network namespace: port 1 is not privileged here (the next subtest uses a fresh namespace)", unprivilegedPortStart())
		}
		runPermissionHelper(t, "direct", &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}},
		})
		ran = true
	})
	t.Run("uid 65534 in a new network namespace", func(t *testing.T) {
		runPermissionHelper(t, "netns", &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
		ran = true
	})
	if !ran && !t.Failed() {
		t.Fatalf("could not run the permission check unprivileged: port 1 is not privileged here (ip_unprivileged_port_start %s) and no new network namespace could be made", unprivilegedPortStart())
	}
}

// runPermissionHelper runs TestPermissionHelper in a copy of this test
// binary that uid 65534 can execute, with attr, and fails unless it passed.
func runPermissionHelper(t *testing.T, mode string, attr *syscall.SysProcAttr) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// go test keeps the binary under a 0700 directory: copy it into one
	// that uid 65534 may enter.
	dir, err := os.MkdirTemp("", "playground-permission-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bridge.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestPermissionHelper$", "-test.v", "-test.count=1", "-test.timeout=90s")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), permissionEnv+"="+mode)
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		if mode == "netns" && errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot create a network namespace here: %v", err)
		}
		t.Fatalf("could not start the helper as uid %d (is %s executable by it?): %v", nobody, bin, err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPermissionHelper") {
		t.Fatalf("the permission check as uid %d failed (%v):\n%s", nobody, err, out)
	}
	t.Logf("the check passed as uid %d (%s):\n%s", nobody, mode, out)
}

// TestPermissionHelper is TestErrorPermission's child process; on its own it
// does nothing.
func TestPermissionHelper(t *testing.T) {
	mode := os.Getenv(permissionEnv)
	if mode == "" {
		t.Skip("runs only as TestErrorPermission's child process")
	}
	if mode == "netns" {
		loopbackUp(t)
		// Drop root for good: every thread, groups first.
		if err := syscall.Setgroups([]int{}); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setgid(nobody); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setuid(nobody); err != nil {
			t.Fatal(err)
		}
	}
	checkPermission(t)
}

// loopbackUp brings up lo, which a new network namespace starts with down.
func loopbackUp(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
}

func unprivilegedPortStart() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return "1024" // older kernels: ports below 1024 are privileged
	}
	return strings.TrimSpace(string(b))
}

// lowPortsPrivileged reports whether port 1 needs privileges here.
func lowPortsPrivileged() bool {
	n, err := strconv.Atoi(unprivilegedPortStart())
	return err != nil || n > 1
}

// checkPermission is the check itself, run unprivileged.
func checkPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("the permission check must run unprivileged")
	}
	if !lowPortsPrivileged() {
		t.Fatalf("port 1 is not privileged here (net.ipv4.ip_unprivileged_port_start = %s), so EACCES cannot be produced", unprivilegedPortStart())
	}
	c := dial(t, startServer(t, bridge.Options{}))
	for i, tt := range []struct{ op, host string }{
		{"listen", "127.0.0.1"}, {"listen", "::1"}, {"bind", "127.0.0.1"}, {"bind", "::1"},
	} {
		id := fmt.Sprint("p", i)
		c.Send(`{"id":%q,"op":%q,"host":%q,"port":1}`, id, tt.op, tt.host)
		e := c.Result(id)
		wantError(t, e, id, "permission", "EACCES")
		t.Logf("as uid %d: %s on %s port 1: %s (%s): %s", os.Geteuid(), tt.op, tt.host, e.Code, e.Errno, e.Message)
		if e.Op != tt.op || e.Sock <= 0 {
			t.Fatalf("error %v does not name the %s and its socket", e, tt.op)
		}
		wantState(t, c, e.Sock, "failed")
		carriesOn(t, c)
	}
}

// TestErrorReset: the peer aborts the connection (close with SO_LINGER 0
// sends RST), so the session's reader fails with ECONNRESET and the socket
// ends; the session carries on.
func TestErrorReset(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	sock, p := connectPeer(t, c, "")
	if err := p.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	p.Close()
	e := c.Wait("the reset", func(e Ev) bool {
		return e.Sock == sock && (e.Type == "error" || (e.Type == "state" && !opening(e.State)))
	})
	wantError(t, e, "", "reset", "ECONNRESET")
	if e.Op != "recv" || !e.Auto {
		t.Fatalf("reset %v; want it reported by live mode's recv (op recv, auto)", e)
	}
	wantState(t, c, sock, "failed")
	c.Send(`{"id":"late","op":"send","sock":%d,"data":{"text":"x"}}`, sock)
	wantError(t, c.Result("late"), "late", "bad_state", "")
	carriesOn(t, c)
}

// TestErrorBrokenPipe: sending on a connection that can no longer carry
// bytes is EPIPE.
func TestErrorBrokenPipe(t *testing.T) {
	t.Run("peer closed", func(t *testing.T) {
		c := dial(t, startServer(t, bridge.Options{}))
		sock, p := connectPeer(t, c, "")
		// The peer has read everything (there was nothing), so its close
		// is orderly: a FIN, not a RST.
		p.Close()
		if e := wantState(t, c, sock, "half-closed"); e.Half != "read" {
			t.Fatalf("after the peer's FIN: %v; want half read", e)
		}
		// Why EPIPE and never "reset" here: the session's socket is in
		// CLOSE_WAIT, and live mode stopped reading at EOF. The first send
		// succeeds (the kernel takes the bytes) and reaches the peer's
		// closed socket, which answers with RST. Linux records a RST in
		// CLOSE_WAIT as EPIPE, not ECONNRESET (tcp_reset), and no recv is
		// pending to report it, so a later send gets EPIPE. The RST arrives
		// asynchronously, hence the bounded loop; on loopback it is
		// normally the second send.
		for i := 0; ; i++ {
			if i == 200 {
				t.Fatalf("%d sends to a closed peer all succeeded", i)
			}
			id := fmt.Sprint("s", i)
			c.Send(`{"id":%q,"op":"send","sock":%d,"data":{"text":"x"}}`, id, sock)
			e := c.Result(id)
			if e.Type == "sent" {
				continue
			}
			if i == 0 {
				t.Fatalf("the first send after the peer's FIN failed: %v; the kernel should take it", e)
			}
			wantError(t, e, id, "broken_pipe", "EPIPE")
			if e.Op != "send" || e.Sock != sock {
				t.Fatalf("error %v does not name send on socket %d", e, sock)
			}
			t.Logf("send %d got EPIPE", i)
			break
		}
		wantState(t, c, sock, "failed")
		carriesOn(t, c)
	})

	t.Run("own shutdown", func(t *testing.T) {
		c := dial(t, startServer(t, bridge.Options{}))
		sock, p := connectPeer(t, c, "")
		c.Send(`{"id":"w","op":"shutdown","sock":%d,"how":"write"}`, sock)
		c.OK("w")
		p.SetDeadline(time.Now().Add(10 * time.Second))
		if n, err := p.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("the peer read %d, %v after the shutdown; want EOF", n, err)
		}
		c.Send(`{"id":"s","op":"send","sock":%d,"data":{"text":"too late"}}`, sock)
		e := c.Result("s")
		wantError(t, e, "s", "broken_pipe", "EPIPE")
		if e.Op != "send" || e.Sock != sock {
			t.Fatalf("error %v does not name send on socket %d", e, sock)
		}
		// Only the write side is shut: the same socket still receives.
		if _, err := p.Write([]byte("still open")); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for len(got) < len("still open") {
			got = append(got, c.Wait("data on the half-closed socket", func(e Ev) bool {
				if e.Sock == sock && (e.Type == "error" || e.State == "failed" || e.State == "closed") {
					t.Fatalf("the half-closed socket ended after the refused send: %v", e)
				}
				return e.Type == "data" && e.Sock == sock
			}).Data...)
		}
		if string(got) != "still open" {
			t.Fatalf("received %q", got)
		}
		// Nothing of the refused send reached the peer.
		if n, err := p.Read(make([]byte, 16)); n != 0 || err != io.EOF {
			t.Fatalf("the peer read %d more bytes (%v) after the refused send", n, err)
		}
		carriesOn(t, c)
	})
}

// TestErrorMessageSize: a UDP datagram larger than IPv4 allows (65,507
// bytes of payload) is EMSGSIZE; the socket carries on.
func TestErrorMessageSize(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"u","op":"bind","host":"127.0.0.1","port":0}`)
	u := c.OK("u")
	c.SendBinary(fmt.Sprintf(`{"id":"big","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s}`, u.Sock, port(t, u.Local)), make([]byte, 65508))
	e := c.Result("big")
	wantError(t, e, "big", "message_size", "EMSGSIZE")
	// The same socket still sends the largest datagram there is, to itself.
	c.SendBinary(fmt.Sprintf(`{"id":"max","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s}`, u.Sock, port(t, u.Local)), make([]byte, 65507))
	sent, got := answerAnd(t, c, "max", "the datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == u.Sock })
	if sent.Type != "sent" || sent.Len != 65507 || got.Len != 65507 {
		t.Fatalf("the largest datagram: sent %v, received %v", sent, got)
	}
	carriesOn(t, c)
}

// TestInvalidRequests: every kind of invalid request is answered by an
// error event with its code, naming the request, and changes nothing: the
// session and the sockets it names carry on.
func TestInvalidRequests(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	tcp, p := connectPeer(t, c, "")
	c.Send(`{"id":"ln","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("ln").Sock
	c.Send(`{"id":"udp","op":"bind","host":"127.0.0.1","port":0}`)
	udp := c.OK("udp").Sock
	c.Send(`{"id":"gone","op":"bind","host":"127.0.0.1","port":0}`)
	closed := c.OK("gone").Sock
	c.Send(`{"id":"x","op":"close","sock":%d}`, closed)
	c.OK("x")
	carriesOn(t, c) // and reads every event the setup caused
	ids := strings.NewReplacer("{tcp}", fmt.Sprint(tcp), "{ln}", fmt.Sprint(ln), "{udp}", fmt.Sprint(udp), "{closed}", fmt.Sprint(closed))

	tests := []struct {
		name string
		msg  string // a text message, with {tcp} {ln} {udp} {closed} for socket ids
		raw  []byte // or a binary message as it is
		hdr  string // or a binary message: this header (with socket ids) and the payload "b"
		id   string // the id the error must carry ("": the message has none that can be read)
		code string
		op   string // the op the error must name, if any
		sock string // the socket the error must name, if any
	}{
		{name: "unknown op", msg: `{"id":"r1","op":"poll","sock":{ln}}`, id: "r1", code: "unknown_op", op: "poll", sock: "{ln}"},
		{name: "missing op", msg: `{"id":"r2","sock":{tcp}}`, id: "r2", code: "missing_field"},
		{name: "connect without port", msg: `{"id":"r3","op":"connect","host":"127.0.0.1"}`, id: "r3", code: "missing_field", op: "connect"},
		{name: "send without data", msg: `{"id":"r4","op":"send","sock":{tcp}}`, id: "r4", code: "missing_field", op: "send", sock: "{tcp}"},
		{name: "malformed JSON", msg: `{"id":"r5","op":"send",`, code: "bad_request"},
		{name: "not an object", msg: `["r6"]`, code: "bad_request"},
		{name: "port as a string", msg: `{"id":"r7","op":"connect","host":"127.0.0.1","port":"80"}`, id: "r7", code: "bad_field"},
		{name: "sock as a string", msg: `{"id":"r8","op":"close","sock":"{udp}"}`, id: "r8", code: "bad_field"},
		{name: "unknown field", msg: `{"id":"r9","op":"close","sock":{udp},"colour":"red"}`, id: "r9", code: "bad_field"},
		{name: "field of another op", msg: `{"id":"r10","op":"close","sock":{udp},"how":"read"}`, id: "r10", code: "bad_field", op: "close", sock: "{udp}"},
		{name: "port 70000", msg: `{"id":"r11","op":"listen","host":"127.0.0.1","port":70000}`, id: "r11", code: "port_range", op: "listen"},
		{name: "port -1", msg: `{"id":"r12","op":"bind","host":"127.0.0.1","port":-1}`, id: "r12", code: "port_range", op: "bind"},
		{name: "connect port 0", msg: `{"id":"r13","op":"connect","host":"127.0.0.1","port":0}`, id: "r13", code: "port_range", op: "connect"},
		{name: "sendto port 0", msg: `{"id":"r14","op":"sendto","sock":{udp},"host":"127.0.0.1","port":0,"data":{"text":"x"}}`, id: "r14", code: "port_range", op: "sendto", sock: "{udp}"},
		{name: "odd hex digits", msg: `{"id":"r15","op":"send","sock":{tcp},"data":{"hex":"616"}}`, id: "r15", code: "bad_hex", op: "send", sock: "{tcp}"},
		{name: "non-hex character", msg: `{"id":"r16","op":"send","sock":{tcp},"data":{"hex":"6g"}}`, id: "r16", code: "bad_hex", op: "send", sock: "{tcp}"},
		{name: `escape \q`, msg: `{"id":"r17","op":"send","sock":{tcp},"data":{"escaped":"a\\qb"}}`, id: "r17", code: "bad_escape", op: "send", sock: "{tcp}"},
		{name: `escape \x4`, msg: `{"id":"r18","op":"send","sock":{tcp},"data":{"escaped":"\\x4"}}`, id: "r18", code: "bad_escape", op: "send", sock: "{tcp}"},
		{name: `trailing \`, msg: `{"id":"r19","op":"send","sock":{tcp},"data":{"escaped":"ab\\"}}`, id: "r19", code: "bad_escape", op: "send", sock: "{tcp}"},
		{name: "two spellings", msg: `{"id":"r20","op":"send","sock":{tcp},"data":{"text":"a","hex":"61"}}`, id: "r20", code: "bad_field", op: "send", sock: "{tcp}"},
		{name: "send on a socket never opened", msg: `{"id":"r21","op":"send","sock":999,"data":{"text":"x"}}`, id: "r21", code: "unknown_socket", op: "send", sock: "999"},
		{name: "close a socket never opened", msg: `{"id":"r22","op":"close","sock":998}`, id: "r22", code: "unknown_socket", op: "close", sock: "998"},
		{name: "send on a closed socket", msg: `{"id":"r23","op":"send","sock":{closed},"data":{"text":"x"}}`, id: "r23", code: "bad_state", op: "send", sock: "{closed}"},
		{name: "sendto on a closed socket", msg: `{"id":"r24","op":"sendto","sock":{closed},"host":"127.0.0.1","port":9,"data":{"text":"x"}}`, id: "r24", code: "bad_state", op: "sendto", sock: "{closed}"},
		{name: "close a closed socket", msg: `{"id":"r25","op":"close","sock":{closed}}`, id: "r25", code: "bad_state", op: "close", sock: "{closed}"},
		{name: "send on a listener", msg: `{"id":"r26","op":"send","sock":{ln},"data":{"text":"x"}}`, id: "r26", code: "bad_state", op: "send", sock: "{ln}"},
		{name: "send on a UDP socket", msg: `{"id":"r27","op":"send","sock":{udp},"data":{"text":"x"}}`, id: "r27", code: "bad_state", op: "send", sock: "{udp}"},
		{name: "sendto on TCP", msg: `{"id":"r28","op":"sendto","sock":{tcp},"host":"127.0.0.1","port":9,"data":{"text":"x"}}`, id: "r28", code: "bad_state", op: "sendto", sock: "{tcp}"},
		{name: "shutdown a UDP socket", msg: `{"id":"r29","op":"shutdown","sock":{udp},"how":"write"}`, id: "r29", code: "bad_state", op: "shutdown", sock: "{udp}"},
		{name: "binary of 2 bytes", raw: []byte{0, 0}, code: "bad_request"},
		{name: "binary header length past the end", raw: append([]byte{0, 0, 0, 200}, `{"id":"r31","op":"send","sock":1}`...), code: "bad_request"},
		{name: "binary with data in the header", hdr: `{"id":"r32","op":"send","sock":{tcp},"data":{"text":"a"}}`, id: "r32", code: "bad_field", op: "send", sock: "{tcp}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.raw != nil:
				c.SendRaw(websocket.MessageBinary, tt.raw)
			case tt.hdr != "":
				c.SendBinary(ids.Replace(tt.hdr), []byte("b"))
			default:
				c.SendRaw(websocket.MessageText, []byte(ids.Replace(tt.msg)))
			}
			e := c.Wait("the error", func(e Ev) bool { return e.Type == "error" })
			if e.ID != tt.id {
				// Not fatal, so the test still checks that the session
				// carries on.
				t.Errorf("the error for request %q carries id %q, so the client cannot tell which request failed: %v", tt.id, e.ID, e)
				e.ID = tt.id
			}
			wantError(t, e, tt.id, tt.code, "")
			if tt.op != "" && e.Op != tt.op {
				t.Fatalf("error %v does not name op %q", e, tt.op)
			}
			if tt.sock != "" && fmt.Sprint(e.Sock) != ids.Replace(tt.sock) {
				t.Fatalf("error %v does not name socket %s", e, ids.Replace(tt.sock))
			}
			carriesOn(t, c)
			// A request that decodes is logged as a call before it is
			// refused, but it never succeeds.
			for _, e := range c.Seen {
				if tt.id != "" && e.ID == tt.id && e.Type != "call" && e.Type != "error" {
					t.Fatalf("the invalid request ran: %v", e)
				}
			}
		})
	}

	// The sockets the invalid requests named still work, and the peer got
	// none of the bytes of the refused sends.
	c.Send(`{"id":"end","op":"send","sock":%d,"data":{"text":"end"}}`, tcp)
	c.OK("end")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 3)
	if _, err := io.ReadFull(p, got); err != nil || string(got) != "end" {
		t.Fatalf("the peer read %q, %v; want exactly end", got, err)
	}
	c.Send(`{"id":"self","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"udp ok"}}`, udp, port(t, c.Seen[slices.IndexFunc(c.Seen, func(e Ev) bool { return e.ID == "udp" && e.Type == "result" })].Local))
	if _, d := answerAnd(t, c, "self", "the datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == udp }); string(d.Data) != "udp ok" {
		t.Fatalf("the UDP socket received %q", d.Data)
	}
}

func frame(header string, payload []byte) []byte {
	b := []byte{byte(len(header) >> 24), byte(len(header) >> 16), byte(len(header) >> 8), byte(len(header))}
	return append(append(b, header...), payload...)
}

// TestErrorTooLarge: a payload over Limits.MaxSend, or a WebSocket message
// over MaxMessage, is refused with too_large; the limits themselves are
// allowed, and the connection stays open.
func TestErrorTooLarge(t *testing.T) {
	const maxSend, maxMessage = 1000, 4096
	c := dial(t, startServer(t, bridge.Options{MaxMessage: maxMessage, Session: session.Options{Limits: session.Limits{MaxSend: maxSend}}}))
	sock, p := connectPeer(t, c, "")
	c.Send(`{"id":"u","op":"bind","host":"127.0.0.1","port":0}`)
	u := c.OK("u")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))

	t.Run("send", func(t *testing.T) {
		c.SendBinary(fmt.Sprintf(`{"id":"big","op":"send","sock":%d}`, sock), bytes.Repeat([]byte("a"), maxSend+1))
		e := c.Result("big")
		wantError(t, e, "big", "too_large", "")
		if e.Op != "send" || e.Sock != sock || !strings.Contains(e.Message, strconv.Itoa(maxSend)) {
			t.Fatalf("error %v does not name send on %d and the limit %d", e, sock, maxSend)
		}
		c.SendBinary(fmt.Sprintf(`{"id":"max","op":"send","sock":%d}`, sock), bytes.Repeat([]byte("b"), maxSend))
		if e := c.OK("max"); e.Len != maxSend {
			t.Fatalf("a send of exactly the limit: %v", e)
		}
		got := make([]byte, maxSend)
		if _, err := io.ReadFull(p, got); err != nil || !bytes.Equal(got, bytes.Repeat([]byte("b"), maxSend)) {
			t.Fatalf("the peer read %q, %v; want %d bytes of b and nothing of the refused send", got, err, maxSend)
		}
		carriesOn(t, c)
	})

	t.Run("sendto", func(t *testing.T) {
		c.SendBinary(fmt.Sprintf(`{"id":"bigu","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s}`, u.Sock, port(t, u.Local)), make([]byte, maxSend+1))
		wantError(t, c.Result("bigu"), "bigu", "too_large", "")
		c.SendBinary(fmt.Sprintf(`{"id":"maxu","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s}`, u.Sock, port(t, u.Local)), make([]byte, maxSend))
		if _, d := answerAnd(t, c, "maxu", "the datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == u.Sock }); d.Len != maxSend {
			t.Fatalf("received %v; want only the %d-byte datagram", d, maxSend)
		}
		carriesOn(t, c)
	})

	// A message of exactly MaxMessage bytes: a send of maxSend bytes in hex,
	// padded with the whitespace hex allows.
	exact := func(id string) string {
		msg := fmt.Sprintf(`{"id":%q,"op":"send","sock":%d,"data":{"hex":"%s"}}`, id, sock, strings.Repeat("63", maxSend))
		return strings.Replace(msg, `"hex":"`, `"hex":"`+strings.Repeat(" ", maxMessage-len(msg)), 1)
	}
	for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
		t.Run("message "+typ.String(), func(t *testing.T) {
			overID := "over-" + typ.String()
			over := []byte(exact(overID) + " ")
			if typ == websocket.MessageBinary {
				over = frame(fmt.Sprintf(`{"id":%q,"op":"send","sock":%d}`, overID, sock), make([]byte, maxMessage))
			}
			c.SendRaw(typ, over)
			e := c.Wait("the error", func(e Ev) bool { return e.Type == "error" })
			wantError(t, e, "", "too_large", "") // the message was discarded unread: no id
			if !strings.Contains(e.Message, strconv.Itoa(maxMessage)) {
				t.Fatalf("error %v does not name the limit %d", e, maxMessage)
			}
			// The connection is still open, and a message of exactly the
			// limit goes through.
			exactID := "exact-" + typ.String()
			msg := exact(exactID)
			if len(msg) != maxMessage {
				t.Fatalf("test bug: message of %d bytes", len(msg))
			}
			c.SendRaw(websocket.MessageText, []byte(msg))
			c.OK(exactID)
			for _, e := range c.Seen {
				if e.ID == overID {
					t.Fatalf("the oversized message was read as a request: %v", e)
				}
			}
			got := make([]byte, maxSend)
			if _, err := io.ReadFull(p, got); err != nil || !bytes.Equal(got, bytes.Repeat([]byte("c"), maxSend)) {
				t.Fatalf("the peer read %q, %v; want %d bytes of c and nothing of the oversized message", got, err, maxSend)
			}
			carriesOn(t, c)
		})
	}
}

// TestErrorSocketLimit: beyond Limits.MaxSockets, opening a socket is
// refused with "limit", and so is a connection a listener accepts (it is
// reset); closing one makes room again.
func TestErrorSocketLimit(t *testing.T) {
	const maxSockets = 3
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{MaxSockets: maxSockets}}}))
	c.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("l")
	var udp []int
	for i := 1; i < maxSockets; i++ {
		c.Send(`{"id":"u%d","op":"bind","host":"127.0.0.1","port":0}`, i)
		udp = append(udp, c.OK(fmt.Sprint("u", i)).Sock)
	}
	for _, tt := range []struct{ op, req string }{
		{"bind", `{"id":"over","op":"bind","host":"127.0.0.1","port":0}`},
		{"listen", `{"id":"over","op":"listen","host":"127.0.0.1","port":0}`},
		{"connect", fmt.Sprintf(`{"id":"over","op":"connect","host":"127.0.0.1","port":%s}`, port(t, ln.Local))},
	} {
		c.Send("%s", tt.req)
		e := c.Result("over")
		wantError(t, e, "over", "limit", "")
		if e.Op != tt.op || !strings.Contains(e.Message, strconv.Itoa(maxSockets)) {
			t.Fatalf("error %v does not name the %s and the limit %d", e, tt.op, maxSockets)
		}
	}

	// A connection to the listener would be a fourth socket: the kernel
	// completes the handshake, then the session resets it. The RST can
	// beat Go's check of the finished connect, so either the dial or the
	// first read reports it.
	from, err := net.ResolveTCPAddr("tcp", closedPort(t, "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: from, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", ln.Local)
	if err == nil {
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the connection over the limit: %v; want ECONNRESET", err)
	}
	e := c.Wait("the refused accept", func(e Ev) bool { return e.Op == "accept" && (e.Type == "error" || e.Type == "result") })
	wantError(t, e, "", "limit", "")
	if e.Sock != ln.Sock || !e.Auto || e.Remote != from.String() {
		t.Fatalf("refused accept %v; want listener %d, auto, remote %s", e, ln.Sock, from)
	}

	// Closing one socket makes room: the session carries on.
	c.Send(`{"id":"x","op":"close","sock":%d}`, udp[0])
	c.OK("x")
	carriesOn(t, c)
}
