//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// List returns the TCP sockets (IPv4 and IPv6) of the calling process's
// network namespace that match filter, including those that have no file
// descriptor anymore, such as connections in TIME_WAIT. It sees every
// process's sockets, not only this one's.
//
// It asks the kernel over NETLINK_SOCK_DIAG and, if that fails, reads
// /proc/net/tcp and /proc/net/tcp6, where Entry.Backlog is always zero.
// The order of the result is the kernel's. The list is a snapshot:
// sockets come and go while it is read.
func List(filter Filter) ([]Entry, error) {
	entries, diagErr := diagList(filter)
	if diagErr == nil {
		return entries, nil
	}
	entries, procErr := listProc(filter)
	if procErr == nil {
		return entries, nil
	}
	return nil, fmt.Errorf("kernel: list tcp sockets: %w", errors.Join(diagErr, procErr))
}

// diagList is listDiag, replaced in tests to make netlink fail.
var diagList = listDiag

// stateBoundInactive (13, TCP_BOUND_INACTIVE) is not a state but a
// sock_diag request bit (Linux 6.8 and later) that asks for sockets bound
// to a port and doing nothing else; the kernel then reports them as CLOSE.
// List never sets it, so its results match /proc/net/tcp, which does not
// show such sockets.
const stateBoundInactive State = 13

// stateMask is the inet_diag idiag_states bit set for states: bit n asks
// for state n.
func stateMask(states []State) uint32 {
	if len(states) == 0 {
		return ^uint32(0) &^ (1 << stateBoundInactive)
	}
	var m uint32
	for _, s := range states {
		if s < 32 && s != stateBoundInactive {
			m |= 1 << s
		}
		if s == StateSynRecv {
			// Connection requests live in NEW_SYN_RECV and are reported
			// as SYN_RECV; older kernels add this bit themselves.
			m |= 1 << StateNewSynRecv
		}
	}
	return m
}

// recvQueue turns the kernel's rcv_nxt - copied_seq, which sock_diag and
// /proc report, into bytes not yet read. Once a FIN has arrived, rcv_nxt
// counts it too until the program reads the end of the stream, so in the
// states that follow a received FIN a non-zero count is one more than the
// data; SIOCINQ makes the same correction.
func recvQueue(s State, q uint32) int {
	if q > 0 && (s == StateCloseWait || s == StateLastAck || s == StateClosing) {
		q--
	}
	return int(q)
}

// match reports whether e passes the filter.
func (f Filter) match(e Entry) bool {
	if len(f.States) > 0 && !slices.Contains(f.States, e.State) {
		return false
	}
	return matchAddr(f.Local, e.Local) && matchAddr(f.Remote, e.Remote)
}

func matchAddr(want, got netip.AddrPort) bool {
	if want.Port() != 0 && want.Port() != got.Port() {
		return false
	}
	a := want.Addr()
	if !a.IsValid() {
		return true
	}
	return a.Unmap().WithZone("") == got.Addr().Unmap().WithZone("")
}
