//go:build linux

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestInfoEstablished(t *testing.T) {
	forEachLoopback(t, func(t *testing.T, host string) {
		ln := listen(t, host)
		client, server := pair(t, ln)

		// Some traffic both ways, so each side measures a round trip.
		buf := make([]byte, 4)
		for range 3 {
			if _, err := client.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(server, buf); err != nil {
				t.Fatal(err)
			}
			if _, err := server.Write([]byte("pong")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(client, buf); err != nil {
				t.Fatal(err)
			}
		}
		for name, c := range map[string]*net.TCPConn{"client": client, "server": server} {
			waitFor(t, name+" ESTABLISHED with an RTT", func() (bool, string) {
				ti := info(t, c)
				return ti.State == StateEstablished && ti.RTT > 0 && ti.SndCwnd > 0 &&
					ti.SendQueue == 0 && ti.RecvQueue == 0 && ti.Backlog == 0, fmt.Sprintf("%+v", ti)
			})
		}

		// Ten bytes the server does not read wait in its receive queue,
		// as Info and List both see.
		if _, err := client.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "server RecvQueue 10", func() (bool, string) {
			ti := info(t, server)
			return ti.RecvQueue == 10, fmt.Sprintf("%+v", ti)
		})
		serverSide := Filter{Local: addrPort(server.LocalAddr()), Remote: addrPort(server.RemoteAddr())}
		waitFor(t, "List to show the server's RecvQueue 10", func() (bool, string) {
			es := list(t, serverSide)
			e, ok := one(es)
			return ok && e.State == StateEstablished && e.RecvQueue == 10 && e.SendQueue == 0, fmt.Sprintf("%+v", es)
		})
		waitFor(t, "client SendQueue 0 once acknowledged", func() (bool, string) {
			ti := info(t, client)
			return ti.SendQueue == 0, fmt.Sprintf("%+v", ti)
		})

		// Reading empties it.
		if _, err := io.ReadFull(server, make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if ti := info(t, server); ti.RecvQueue != 0 {
			t.Errorf("after reading: RecvQueue %d, want 0", ti.RecvQueue)
		}
	})
}

// TestInfoSendQueue fills a peer that does not read, so written bytes stay
// unacknowledged: SendQueue counts them, and together with the peer's
// RecvQueue accounts for every byte written.
func TestInfoSendQueue(t *testing.T) {
	forEachLoopback(t, func(t *testing.T, host string) {
		// A small receive buffer on the listener, inherited by the accepted
		// socket, closes the window after a few kilobytes.
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			if cerr := rc.Control(func(fd uintptr) {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
			}); cerr != nil {
				return cerr
			}
			return err
		}}
		l, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		client, server := pair(t, l.(*net.TCPListener))

		// Write until a write stays blocked for a while: the send buffer
		// is full because the peer's window is closed.
		chunk := make([]byte, 16<<10)
		total := 0
		for {
			if err := client.SetWriteDeadline(time.Now().Add(250 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			n, err := client.Write(chunk)
			total += n
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if total > 256<<20 {
				t.Fatalf("wrote %d bytes to a peer that does not read without blocking", total)
			}
		}
		waitFor(t, "SendQueue + peer RecvQueue = bytes written", func() (bool, string) {
			c, s := info(t, client), info(t, server)
			return c.SendQueue > 0 && c.SendQueue+s.RecvQueue == total,
				fmt.Sprintf("wrote %d; client %+v; server %+v", total, c, s)
		})
	})
}

func TestInfoListener(t *testing.T) {
	forEachLoopback(t, func(t *testing.T, host string) {
		ln := listen(t, host)
		addr := addrPort(ln.Addr())

		ti := info(t, ln)
		if ti.State != StateListen || ti.RecvQueue != 0 || ti.SendQueue != 0 || ti.Backlog <= 0 {
			t.Fatalf("Info = %+v, want LISTEN, empty queue, Backlog > 0", ti)
		}
		listener := Filter{Local: addr, States: []State{StateListen}}
		e, ok := one(list(t, listener))
		if !ok || e.State != StateListen || e.Local != addr || e.Inode == 0 || e.RecvQueue != 0 {
			t.Fatalf("List(%+v) = %+v, want the listener", listener, list(t, listener))
		}
		if e.Remote.Port() != 0 || !e.Remote.Addr().IsUnspecified() {
			t.Errorf("listener's Remote = %v, want unspecified:0", e.Remote)
		}
		if _, err := openDiag(); err == nil && e.Backlog != ti.Backlog {
			t.Errorf("List Backlog %d, Info Backlog %d", e.Backlog, ti.Backlog)
		}

		// Three clients that are never accepted wait in the accept queue.
		for range 3 {
			dial(t, ln)
		}
		waitFor(t, "accept queue of 3", func() (bool, string) {
			ti := info(t, ln)
			es := list(t, listener)
			e, ok := one(es)
			return ti.RecvQueue == 3 && ok && e.RecvQueue == 3, fmt.Sprintf("Info %+v; List %+v", ti, es)
		})
		// The queued connections are established sockets on the
		// listener's address, listed without a file descriptor.
		waitFor(t, "3 queued connections", func() (bool, string) {
			es := list(t, Filter{Local: addr, States: []State{StateEstablished}})
			for _, e := range es {
				if e.Inode != 0 {
					return false, fmt.Sprintf("%+v has an inode", e)
				}
			}
			return len(es) == 3, fmt.Sprintf("%+v", es)
		})
	})
}

// TestInfoBacklog shows that Backlog is the backlog given to listen(2),
// which net.Listen does not let a program choose.
func TestInfoBacklog(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 2); err != nil {
		t.Fatal(err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ti := info(t, ln.(*net.TCPListener)); ti.State != StateListen || ti.Backlog != 2 {
		t.Errorf("Info = %+v, want LISTEN with Backlog 2", ti)
	}
}

func TestInfoErrors(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		ln := listen(t, "127.0.0.1")
		client, _ := pair(t, ln)
		rc, err := client.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		client.Close()
		if ti, err := Info(rc); err == nil {
			t.Errorf("Info on a closed socket = %+v, want an error", ti)
		}
	})
	t.Run("UDP", func(t *testing.T) {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rc, err := c.(*net.UDPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		if ti, err := Info(rc); err == nil {
			t.Errorf("Info on a UDP socket = %+v, want an error", ti)
		}
	})
}
