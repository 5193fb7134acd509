//go:build !unix

package session

import (
	"net"
	"net/netip"
)

const readBufSize = 64 << 10

// On systems without the unix poller hooks, readers hold a buffer while they
// wait. Correct, but an idle session costs more memory there.

func readStream(c *net.TCPConn) ([]byte, error) {
	buf := make([]byte, readBufSize)
	n, err := c.Read(buf)
	if n > 0 {
		return buf[:n:n], nil
	}
	return nil, err
}

func readDatagram(c *net.UDPConn) ([]byte, netip.AddrPort, error) {
	buf := make([]byte, readBufSize)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, from, err
	}
	return buf[:n:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), nil
}
