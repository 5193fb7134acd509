//go:build !linux

package session

import (
	"net/netip"
	"syscall"
)

// Joining groups and choosing the multicast interface use Linux's
// interfaces; elsewhere they are refused.
func errMulticastUnsupported() *Error {
	return Errorf(CodeBadState, "multicast options need a server running on Linux")
}

func groupSockopt(rc syscall.RawConn, join bool, group netip.Addr, index int) error {
	return errMulticastUnsupported()
}

func multicastIf(rc syscall.RawConn, ip6 bool, index int) (int, error) {
	return -1, errMulticastUnsupported()
}
