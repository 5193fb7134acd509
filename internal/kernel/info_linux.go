//go:build linux

package kernel

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Info returns what the kernel knows about the live TCP socket behind rc,
// which comes from SyscallConn on a *net.TCPConn or *net.TCPListener. It
// reads TCP_INFO and, except for a listener, the SIOCINQ and SIOCOUTQ
// queue sizes; the socket is not changed. Each call is one snapshot: the
// numbers are read one after another, not atomically.
//
// It fails on a closed socket and on a socket that is not TCP.
func Info(rc syscall.RawConn) (TCPInfo, error) {
	var (
		ti       *unix.TCPInfo
		inq, out int
		opErr    error
	)
	err := rc.Control(func(fd uintptr) {
		s := int(fd)
		ti, opErr = unix.GetsockoptTCPInfo(s, unix.IPPROTO_TCP, unix.TCP_INFO)
		if opErr != nil {
			opErr = fmt.Errorf("getsockopt TCP_INFO: %w", opErr)
			return
		}
		if State(ti.State) == StateListen {
			return // SIOCINQ and SIOCOUTQ fail with EINVAL on a listener.
		}
		if inq, opErr = unix.IoctlGetInt(s, unix.SIOCINQ); opErr != nil {
			opErr = fmt.Errorf("ioctl SIOCINQ: %w", opErr)
			return
		}
		if out, opErr = unix.IoctlGetInt(s, unix.SIOCOUTQ); opErr != nil {
			opErr = fmt.Errorf("ioctl SIOCOUTQ: %w", opErr)
		}
	})
	if err != nil {
		return TCPInfo{}, fmt.Errorf("kernel: tcp info: %w", err)
	}
	if opErr != nil {
		return TCPInfo{}, fmt.Errorf("kernel: tcp info: %w", opErr)
	}
	return infoFrom(ti, inq, out), nil
}

// infoFrom converts the kernel's tcp_info and the queue sizes.
func infoFrom(ti *unix.TCPInfo, inq, outq int) TCPInfo {
	info := TCPInfo{State: State(ti.State)}
	if info.State == StateListen {
		// For a listener the kernel reuses two fields and fills no others
		// (tcp_get_info): tcpi_unacked is the accept queue length and
		// tcpi_sacked its limit.
		info.RecvQueue = int(ti.Unacked)
		info.Backlog = int(ti.Sacked)
		return info
	}
	info.RTT = time.Duration(ti.Rtt) * time.Microsecond
	info.RTTVar = time.Duration(ti.Rttvar) * time.Microsecond
	info.SndCwnd = ti.Snd_cwnd
	info.Unacked = ti.Unacked
	info.Retransmits = ti.Total_retrans
	info.Lost = ti.Lost
	info.RecvQueue = inq
	info.SendQueue = outq
	return info
}
