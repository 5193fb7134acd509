// Package kernel reads what the Linux kernel knows about TCP sockets and
// Go's net package does not show: a socket's exact state, its round-trip
// time and congestion window, how many bytes wait unread or unacknowledged,
// how full a listener's accept queue is, and sockets that no longer have a
// file descriptor at all.
//
// That last kind is why the package exists. After a program closes a TCP
// socket, the kernel keeps the connection in FIN_WAIT2 or TIME_WAIT for up
// to a minute; net.Conn is gone, but the connection is not. Step mode shows
// it, with a countdown, by finding it with List by its 4-tuple.
//
// Where each number comes from:
//
//   - Info asks a live socket, through syscall.RawConn.Control:
//     getsockopt(IPPROTO_TCP, TCP_INFO) gives the state, RTT, RTT
//     variance, congestion window, unacknowledged, lost and retransmitted
//     segments; ioctl SIOCINQ and SIOCOUTQ give the bytes received but not
//     yet read and the bytes written but not yet acknowledged. For a
//     listener, where those ioctls fail, TCP_INFO itself reports the accept
//     queue length (tcpi_unacked) and its limit, the backlog (tcpi_sacked).
//   - List asks the kernel for every TCP socket of the network namespace,
//     IPv4 and IPv6, over a NETLINK_SOCK_DIAG socket (inet_diag, the
//     interface ss(8) uses): state, addresses, queues, inode and the time
//     left on the socket's timer (idiag_expires). Sockets in TIME_WAIT and
//     orphaned ones in FIN_WAIT2 are included. If netlink is not available
//     (some sandboxes refuse it), List parses /proc/net/tcp and
//     /proc/net/tcp6 instead, which hold the same facts with coarser timers
//     (1/100 s) and without a listener's backlog.
//
// Addresses are returned as the kernel stores them, except that an
// IPv4-mapped IPv6 address (a dual-stack socket talking IPv4) is returned as
// plain IPv4.
//
// On every other platform Info and List return ErrUnsupported; the types
// and State.String work everywhere.
//
// This package only reads. It must never change a socket (no setsockopt, no
// shutdown, no close of a descriptor it did not open), never touch a socket
// other than through the syscall.RawConn it is given, and never start a
// goroutine.
package kernel
