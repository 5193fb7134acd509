package session

import (
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupSockopt joins (or leaves) group on the interface with index (0: the
// kernel's choice): IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP with an
// ip_mreqn, or IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP.
func groupSockopt(rc syscall.RawConn, join bool, group netip.Addr, index int) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		if group.Is4() {
			name := unix.IP_ADD_MEMBERSHIP
			if !join {
				name = unix.IP_DROP_MEMBERSHIP
			}
			m := unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(index)}
			err = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, name, &m)
			return
		}
		name := unix.IPV6_JOIN_GROUP
		if !join {
			name = unix.IPV6_LEAVE_GROUP
		}
		m := unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(index)}
		err = unix.SetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IPV6, name, &m)
	})
	if cerr != nil {
		return errClosedWhileWaiting("setsockopt")
	}
	if err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// multicastIf sets the interface multicast is sent from (index 0: the
// kernel's choice), and returns the index getsockopt reads back, or -1
// where the kernel reads back none: Linux's IP_MULTICAST_IF reports an
// address (0.0.0.0 when an index was set), not an index.
func multicastIf(rc syscall.RawConn, ip6 bool, index int) (int, error) {
	var (
		actual = -1
		err    error
	)
	cerr := rc.Control(func(fd uintptr) {
		f := int(fd)
		if !ip6 {
			m := unix.IPMreqn{Ifindex: int32(index)}
			if err = unix.SetsockoptIPMreqn(f, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &m); err != nil {
				err = os.NewSyscallError("setsockopt", err)
			}
			return
		}
		if err = unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, index); err != nil {
			err = os.NewSyscallError("setsockopt", err)
			return
		}
		if actual, err = unix.GetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF); err != nil {
			err = os.NewSyscallError("getsockopt", err)
		}
	})
	if cerr != nil {
		return -1, errClosedWhileWaiting("setsockopt")
	}
	return actual, err
}
