package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// ErrUnsupported is returned by Info and List on platforms other than
// Linux. It matches errors.ErrUnsupported too.
var ErrUnsupported = fmt.Errorf("kernel: TCP socket introspection needs Linux: %w", errors.ErrUnsupported)

// TCPInfo is what the kernel knows about one live TCP socket.
type TCPInfo struct {
	State State
	// RTT is the smoothed round-trip time and RTTVar its variation, as TCP
	// estimates them from acknowledgements (microsecond resolution). Both
	// are zero until the first measurement, and for a listener.
	RTT, RTTVar time.Duration
	// SndCwnd is the congestion window, in segments.
	SndCwnd uint32
	// Unacked is the number of segments sent and not yet acknowledged.
	Unacked uint32
	// Retransmits is the number of segments retransmitted over the
	// connection's life (tcpi_total_retrans).
	Retransmits uint32
	// Lost is the number of segments currently considered lost.
	Lost uint32
	// SendQueue is the number of bytes written and not yet acknowledged by
	// the peer (sent or not); RecvQueue the number of bytes received and
	// not yet read by the program.
	//
	// For a listener, RecvQueue is instead the number of connections
	// waiting in the accept queue, and SendQueue is zero.
	SendQueue, RecvQueue int
	// Backlog is, for a listener, the accept queue's limit as the kernel
	// applies it (the backlog given to listen, capped by
	// net.core.somaxconn). Zero for any other socket.
	Backlog int
}

// Entry is one TCP socket in the kernel's table, as List reports it. It
// may have no file descriptor anymore (TIME_WAIT, orphaned FIN_WAIT2).
type Entry struct {
	State State
	// Local and Remote are the socket's addresses. A listener's Remote is
	// the unspecified address with port 0. IPv4-mapped IPv6 addresses are
	// returned as IPv4, and addresses carry no zone.
	Local, Remote netip.AddrPort
	// RecvQueue and SendQueue are as in TCPInfo: bytes received and not
	// read, bytes written and not acknowledged. For a listener RecvQueue
	// is the accept queue length and SendQueue is zero.
	RecvQueue, SendQueue int
	// Backlog is a listener's accept queue limit. Zero for other sockets,
	// and zero for listeners when List had to fall back to /proc, which
	// does not show it.
	Backlog int
	// Inode is the socket's inode number, the one in /proc/<pid>/fd links
	// ("socket:[inode]"). Zero when no file refers to the socket: in
	// TIME_WAIT, after close, and for a connection not yet accepted.
	Inode uint64
	// Timer is the time left on the socket's pending timer, if any: the
	// countdown until a TIME_WAIT or orphaned FIN_WAIT2 socket is
	// released, or the next retransmission, keepalive or window probe.
	// Zero when no timer is pending. Millisecond resolution over netlink,
	// 10 ms from /proc.
	Timer time.Duration
}

// Filter selects sockets in List. The zero Filter selects every socket.
type Filter struct {
	// Local and Remote select by address. The zero AddrPort matches any
	// address; otherwise the zero (invalid) Addr matches any address and
	// port 0 matches any port, so AddrPortFrom(netip.Addr{}, 8080) selects
	// every socket on port 8080. An address is compared exactly (after
	// unmapping IPv4-mapped addresses and dropping zones):
	// 127.0.0.1 does not match a socket bound to 0.0.0.0.
	Local, Remote netip.AddrPort
	// States selects by state; empty means every state. A connection
	// request that is not yet established is StateSynRecv.
	States []State
}
