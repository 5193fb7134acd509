//go:build !linux

package kernel

import "syscall"

// Info returns ErrUnsupported: only Linux exposes TCP_INFO and sock_diag
// the way this package reads them.
func Info(rc syscall.RawConn) (TCPInfo, error) {
	return TCPInfo{}, ErrUnsupported
}

// List returns ErrUnsupported: only Linux exposes sock_diag and
// /proc/net/tcp.
func List(filter Filter) ([]Entry, error) {
	return nil, ErrUnsupported
}
