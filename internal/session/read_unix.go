//go:build unix

package session

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
)

// readBufSize is the most one read takes from the kernel: large, so a bulk
// transfer costs few events and system calls. It is more than any UDP
// datagram (at most 65,507 bytes of payload over IPv4), so none is truncated.
const readBufSize = 256 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// An idle socket holds no read buffer: these readers wait for readability
// through the runtime's poller and borrow a buffer only when there are bytes
// to take. That keeps an idle session small.

// readStream waits until c is readable and returns the bytes that are there,
// or io.EOF on an orderly shutdown by the peer.
func readStream(c *net.TCPConn) ([]byte, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		data []byte
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		bp := readBufs.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *bp)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			readBufs.Put(bp)
			return false
		}
		data = keep(bp, n)
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case rerr != nil:
		return nil, os.NewSyscallError("read", rerr)
	case n == 0:
		return nil, io.EOF
	}
	return data, nil
}

// readDatagram waits until c has a datagram and returns it with its sender.
func readDatagram(c *net.UDPConn) ([]byte, netip.AddrPort, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	var (
		data []byte
		from syscall.Sockaddr
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		bp := readBufs.Get().(*[]byte)
		var n int
		for {
			n, from, rerr = syscall.Recvfrom(int(fd), *bp, 0)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			readBufs.Put(bp)
			return false
		}
		data = keep(bp, n)
		return true
	})
	if err == nil && rerr != nil {
		err = os.NewSyscallError("recvfrom", rerr)
	}
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return data, sockaddrToAddrPort(from), nil
}

// keep returns the first n bytes of a pooled buffer as a slice the caller
// owns. A mostly full buffer is handed over whole instead of copied.
func keep(bp *[]byte, n int) []byte {
	if n <= 0 {
		readBufs.Put(bp)
		return nil
	}
	if n > len(*bp)/2 {
		return (*bp)[:n:n]
	}
	data := make([]byte, n)
	copy(data, *bp)
	readBufs.Put(bp)
	return data
}

func sockaddrToAddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
