//go:build linux

package kernel

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitLimit bounds every wait for the kernel to reach a state. The waits
// return as soon as the state is seen; the limit only matters when
// something is wrong, or the machine is very busy.
const waitLimit = 10 * time.Second

// waitFor polls cond until it reports true, and fails the test with cond's
// last description if waitLimit passes first. The kernel announces none of
// the changes the tests wait for, so polling is the only way to see them.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last seen: %s", waitLimit, what, last)
		}
		<-tick.C
	}
}

// forEachLoopback runs f for 127.0.0.1 and for ::1, skipping ::1 when the
// host has no IPv6 loopback.
func forEachLoopback(t *testing.T, f func(t *testing.T, host string)) {
	t.Run("IPv4", func(t *testing.T) { f(t, "127.0.0.1") })
	t.Run("IPv6", func(t *testing.T) {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		ln.Close()
		f(t, "::1")
	})
}

// listen opens a TCP listener on host, port 0, closed when the test ends.
func listen(t *testing.T, host string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// dial connects to ln, closing the connection when the test ends.
func dial(t *testing.T, ln net.Listener) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// pair connects a client to ln and accepts it.
func pair(t *testing.T, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	client = dial(t, ln)
	server, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// addrPort is a's address as List reports it: IPv4 unmapped.
func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

type syscallConner interface {
	SyscallConn() (syscall.RawConn, error)
}

// info calls Info on a connection or listener.
func info(t *testing.T, c syscallConner) TCPInfo {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ti, err := Info(rc)
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// list calls List and fails the test on error.
func list(t *testing.T, f Filter) []Entry {
	t.Helper()
	es, err := List(f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// one returns the only entry in es, or false.
func one(es []Entry) (Entry, bool) {
	if len(es) != 1 {
		return Entry{}, false
	}
	return es[0], true
}

// needDiag skips the test where the kernel refuses NETLINK_SOCK_DIAG
// (some sandboxes do), so List can only fall back to /proc.
func needDiag(t *testing.T) {
	t.Helper()
	fd, err := openDiag()
	if err != nil {
		t.Skipf("no sock_diag here, List uses /proc: %v", err)
	}
	unix.Close(fd)
}
