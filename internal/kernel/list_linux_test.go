//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestListCloseStates follows a connection that the client closes first
// through the states a page shows after the program has let go of it.
func TestListCloseStates(t *testing.T) {
	forEachLoopback(t, func(t *testing.T, host string) {
		ln := listen(t, host)
		client, server := pair(t, ln)
		cAddr, sAddr := addrPort(client.LocalAddr()), addrPort(ln.Addr())
		clientSide := Filter{Local: cAddr, Remote: sAddr}
		serverSide := Filter{Local: sAddr, Remote: cAddr}

		state := func(f Filter, want State, check func(Entry) bool) func() (bool, string) {
			return func() (bool, string) {
				es := list(t, f)
				e, ok := one(es)
				return ok && e.State == want && check(e), fmt.Sprintf("%+v", es)
			}
		}
		anyEntry := func(Entry) bool { return true }
		waitFor(t, "client ESTABLISHED", state(clientSide, StateEstablished, anyEntry))
		waitFor(t, "server ESTABLISHED", state(serverSide, StateEstablished, anyEntry))

		// The client sends ten bytes and closes: its FIN is acknowledged
		// (FIN_WAIT2, no file descriptor, a timer running) and the server
		// is told (CLOSE_WAIT) with the ten bytes still unread.
		if _, err := client.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "client FIN_WAIT2", state(clientSide, StateFinWait2, func(e Entry) bool {
			return e.Inode == 0 && e.Timer > 0
		}))
		waitFor(t, "server CLOSE_WAIT with 10 bytes unread", state(serverSide, StateCloseWait, func(e Entry) bool {
			return e.RecvQueue == 10 && e.Inode != 0
		}))
		if ti := info(t, server); ti.State != StateCloseWait || ti.RecvQueue != 10 {
			t.Errorf("server Info = %+v, want CLOSE_WAIT with RecvQueue 10", ti)
		}

		// Reading to the end of the stream empties the queue. (Unread
		// bytes would make the close below a reset, with no TIME_WAIT.)
		b, err := io.ReadAll(server)
		if err != nil || string(b) != "0123456789" {
			t.Fatalf("server read %q, %v", b, err)
		}
		waitFor(t, "server CLOSE_WAIT with nothing unread", state(serverSide, StateCloseWait, func(e Entry) bool {
			return e.RecvQueue == 0
		}))

		// The server closes too: the client waits in TIME_WAIT for at
		// most a minute, and the server's socket is gone.
		if err := server.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "client TIME_WAIT with a countdown", state(clientSide, StateTimeWait, func(e Entry) bool {
			return e.Inode == 0 && e.Timer > 0 && e.Timer <= 60*time.Second
		}))
		waitFor(t, "server gone", func() (bool, string) {
			es := list(t, serverSide)
			return len(es) == 0, fmt.Sprintf("%+v", es)
		})

		// A state filter selects it; the other method sees it too. (By the
		// whole 4-tuple: an earlier connection from the same local port may
		// still be in TIME_WAIT too.)
		if es := list(t, Filter{Local: cAddr, Remote: sAddr, States: []State{StateTimeWait, StateFinWait2}}); len(es) != 1 {
			t.Errorf("List by TIME_WAIT = %+v, want the client", es)
		}
		if es := list(t, Filter{Local: cAddr, Remote: sAddr, States: []State{StateEstablished}}); len(es) != 0 {
			t.Errorf("List by ESTABLISHED = %+v, want nothing", es)
		}
		es, err := listProc(clientSide)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := one(es); !ok || e.State != StateTimeWait || e.Timer <= 0 || e.Timer > 60*time.Second {
			t.Errorf("/proc: %+v, want the client in TIME_WAIT", es)
		}
	})
}

// TestListMethodsAgree lists the same sockets over sock_diag and from
// /proc.
func TestListMethodsAgree(t *testing.T) {
	needDiag(t)
	forEachLoopback(t, func(t *testing.T, host string) {
		ln := listen(t, host)
		client, _ := pair(t, ln)
		addr := addrPort(ln.Addr())

		listener := Filter{Local: addr, States: []State{StateListen}}
		fromDiag, err := listDiag(listener)
		if err != nil {
			t.Fatal(err)
		}
		fromProc, err := listProc(listener)
		if err != nil {
			t.Fatal(err)
		}
		d, ok1 := one(fromDiag)
		p, ok2 := one(fromProc)
		if !ok1 || !ok2 {
			t.Fatalf("sock_diag: %+v; /proc: %+v; want one listener each", fromDiag, fromProc)
		}
		if d.Backlog <= 0 || p.Backlog != 0 {
			t.Errorf("Backlog: sock_diag %d, /proc %d; want > 0 and 0 (not shown)", d.Backlog, p.Backlog)
		}
		d.Backlog = 0
		if d != p || d.State != StateListen || d.Local != addr || d.Inode == 0 {
			t.Errorf("sock_diag: %+v\n/proc:      %+v\nwant the same listener", d, p)
		}

		// Both sides of the connection, by 4-tuple. (A port alone could
		// also match a TIME_WAIT left by an earlier test.)
		cAddr := addrPort(client.LocalAddr())
		for _, f := range []Filter{{Local: cAddr, Remote: addr}, {Local: addr, Remote: cAddr}} {
			fromDiag, err := listDiag(f)
			if err != nil {
				t.Fatal(err)
			}
			fromProc, err := listProc(f)
			if err != nil {
				t.Fatal(err)
			}
			d, ok1 := one(fromDiag)
			p, ok2 := one(fromProc)
			if !ok1 || !ok2 || d.State != StateEstablished || d.State != p.State || d.Local != p.Local ||
				d.Remote != p.Remote || d.Inode != p.Inode || d.Inode == 0 {
				t.Errorf("filter %+v: sock_diag %+v; /proc %+v; want the same connection", f, fromDiag, fromProc)
			}
		}
	})
}

// TestListNotBound checks that a socket that is only bound is not listed,
// as /proc/net/tcp does not list it, although newer kernels would report
// it (as CLOSE) if asked.
func TestListNotBound(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	for _, f := range []Filter{{Local: addr}, {Local: addr, States: []State{StateClose}}, {Local: addr, States: []State{stateBoundInactive}}} {
		if es := list(t, f); len(es) != 0 {
			t.Errorf("List(%+v) = %+v, want nothing", f, es)
		}
	}
}

// TestListFallback makes sock_diag fail: List answers from /proc, and
// reports both causes when /proc fails too.
func TestListFallback(t *testing.T) {
	ln := listen(t, "127.0.0.1")
	f := Filter{Local: addrPort(ln.Addr())}

	savedDiag, savedFiles := diagList, procFiles
	t.Cleanup(func() { diagList, procFiles = savedDiag, savedFiles })
	errDiag := errors.New("no netlink here")
	diagList = func(Filter) ([]Entry, error) { return nil, errDiag }

	es := list(t, f)
	if e, ok := one(es); !ok || e.State != StateListen || e.Inode == 0 || e.Backlog != 0 {
		t.Fatalf("List from /proc = %+v, want the listener without its backlog", es)
	}

	procFiles = []string{"/nonexistent/tcp"}
	_, err := List(f)
	if !errors.Is(err, errDiag) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List with both methods failing: %v, want both errors", err)
	}
}

func TestFilterMatch(t *testing.T) {
	v4 := netip.MustParseAddrPort("127.0.0.1:8080")
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	e := Entry{State: StateEstablished, Local: v4, Remote: peer}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero", Filter{}, true},
		{"local exact", Filter{Local: v4}, true},
		{"local mapped", Filter{Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:8080")}, true},
		{"local other port", Filter{Local: netip.MustParseAddrPort("127.0.0.1:8081")}, false},
		{"local any port", Filter{Local: netip.AddrPortFrom(v4.Addr(), 0)}, true},
		{"local any address", Filter{Local: netip.AddrPortFrom(netip.Addr{}, 8080)}, true},
		{"local other address", Filter{Local: netip.MustParseAddrPort("127.0.0.2:8080")}, false},
		{"unspecified is not a wildcard", Filter{Local: netip.MustParseAddrPort("0.0.0.0:8080")}, false},
		{"4-tuple", Filter{Local: v4, Remote: peer}, true},
		{"4-tuple reversed", Filter{Local: peer, Remote: v4}, false},
		{"state", Filter{States: []State{StateListen, StateEstablished}}, true},
		{"other state", Filter{States: []State{StateTimeWait}}, false},
	}
	for _, tt := range tests {
		if got := tt.f.match(e); got != tt.want {
			t.Errorf("%s: match(%+v) = %v, want %v", tt.name, tt.f, got, tt.want)
		}
	}
}

func TestStateMask(t *testing.T) {
	tests := []struct {
		states []State
		want   uint32
	}{
		{nil, 0xffffffff &^ (1 << 13)},
		{[]State{StateListen}, 1 << 10},
		{[]State{StateTimeWait, StateFinWait2}, 1<<6 | 1<<5},
		{[]State{StateSynRecv}, 1<<3 | 1<<12},
		{[]State{stateBoundInactive}, 0},
		{[]State{200}, 0},
	}
	for _, tt := range tests {
		if got := stateMask(tt.states); got != tt.want {
			t.Errorf("stateMask(%v) = %#x, want %#x", tt.states, got, tt.want)
		}
	}
}
