//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The sock_diag wire format (include/uapi/linux/inet_diag.h). x/sys/unix
// has the netlink header but not these structures, so they are encoded by
// hand: netlink and inet_diag integers in native byte order, ports and
// addresses in inet_diag_sockid in network byte order.
const (
	// struct inet_diag_sockid: __be16 sport, dport; __be32 src[4], dst[4];
	// __u32 if; __u32 cookie[2].
	sizeofSockID = 48
	// struct inet_diag_req_v2: __u8 family, protocol, ext, pad;
	// __u32 states; struct inet_diag_sockid id.
	sizeofReqV2 = 8 + sizeofSockID
	// struct inet_diag_msg: __u8 family, state, timer, retrans;
	// struct inet_diag_sockid id; __u32 expires, rqueue, wqueue, uid, inode.
	sizeofDiagMsg = 4 + sizeofSockID + 20

	// diagBufSize holds the largest datagram the kernel sends in a dump
	// (32 KiB) with room to spare.
	diagBufSize = 64 << 10
	// diagTimeout bounds each receive, so a kernel that never answers
	// cannot hang the caller.
	diagTimeout = 5 * time.Second
)

// diagSeq numbers requests, so replies to an earlier request are ignored.
var diagSeq atomic.Uint32

// listDiag lists TCP sockets over NETLINK_SOCK_DIAG.
func listDiag(f Filter) ([]Entry, error) {
	fd, err := openDiag()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []Entry
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		entries, err := dumpDiag(fd, family, stateMask(f.States))
		if err != nil {
			return nil, fmt.Errorf("sock_diag dump of %s: %w", familyName(family), err)
		}
		for _, e := range entries {
			if f.match(e) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func familyName(family uint8) string {
	if family == unix.AF_INET6 {
		return "AF_INET6"
	}
	return "AF_INET"
}

// openDiag opens a NETLINK_SOCK_DIAG socket with a receive timeout.
func openDiag() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("open sock_diag netlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(diagTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set sock_diag receive timeout: %w", err)
	}
	return fd, nil
}

// dumpDiag asks for every TCP socket of one address family in the given
// states and collects the replies until the kernel says it is done.
func dumpDiag(fd int, family uint8, states uint32) ([]Entry, error) {
	seq := diagSeq.Add(1)
	if err := unix.Sendto(fd, diagRequest(family, states, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, diagBufSize)
	var out []Entry
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // Not from the kernel.
		}
		entries, done, err := parseDiagReply(buf[:n], seq)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
		if done {
			return out, nil
		}
	}
}

// diagRequest encodes a netlink SOCK_DIAG_BY_FAMILY dump request for TCP
// sockets of family in states. The socket id is left zero: every socket.
func diagRequest(family uint8, states uint32, seq uint32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.SizeofNlMsghdr+sizeofReqV2)
	// struct nlmsghdr: __u32 len; __u16 type, flags; __u32 seq, pid.
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:12], seq)
	req := b[unix.SizeofNlMsghdr:]
	req[0] = family
	req[1] = unix.IPPROTO_TCP
	ne.PutUint32(req[4:8], states)
	return b
}

// parseDiagReply decodes one datagram of netlink messages. It returns the
// sockets in messages answering request seq, and done once the dump ends.
func parseDiagReply(b []byte, seq uint32) (entries []Entry, done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		msgLen := int(ne.Uint32(b[0:4]))
		typ := ne.Uint16(b[4:6])
		msgSeq := ne.Uint32(b[8:12])
		if msgLen < unix.SizeofNlMsghdr || msgLen > len(b) {
			return nil, false, fmt.Errorf("malformed netlink message: length %d of %d bytes", msgLen, len(b))
		}
		data := b[unix.SizeofNlMsghdr:msgLen]
		// Messages are padded to 4 bytes; the last one may not be.
		next := min((msgLen+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b))
		b = b[next:]
		if msgSeq != seq {
			continue // A late reply to an earlier request.
		}
		switch typ {
		case unix.NLMSG_DONE:
			// A dump's DONE carries an error code (0 on success) since
			// Linux 4.x; older kernels send it empty.
			if len(data) >= 4 {
				if errno := int32(ne.Uint32(data[0:4])); errno < 0 {
					return nil, false, syscall.Errno(-errno)
				}
			}
			return entries, true, nil
		case unix.NLMSG_ERROR:
			if len(data) < 4 {
				return nil, false, errors.New("malformed netlink error message")
			}
			if errno := int32(ne.Uint32(data[0:4])); errno < 0 {
				return nil, false, syscall.Errno(-errno)
			}
			// errno 0 is an acknowledgement, which a dump does not ask for.
		case unix.SOCK_DIAG_BY_FAMILY:
			e, err := decodeDiagMsg(data)
			if err != nil {
				return nil, false, err
			}
			entries = append(entries, e)
		}
	}
	if len(b) != 0 {
		return nil, false, fmt.Errorf("malformed netlink message: %d trailing bytes", len(b))
	}
	return entries, false, nil
}

// decodeDiagMsg decodes a struct inet_diag_msg (attributes after it are
// ignored; none are requested).
func decodeDiagMsg(b []byte) (Entry, error) {
	if len(b) < sizeofDiagMsg {
		return Entry{}, fmt.Errorf("short inet_diag_msg: %d bytes, want %d", len(b), sizeofDiagMsg)
	}
	ne := binary.NativeEndian
	family, state, timer := b[0], State(b[1]), b[2]
	id := b[4 : 4+sizeofSockID]
	sport := binary.BigEndian.Uint16(id[0:2])
	dport := binary.BigEndian.Uint16(id[2:4])
	var src, dst netip.Addr
	switch family {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(id[4:8]))
		dst = netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(id[4:20])).Unmap()
		dst = netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	default:
		return Entry{}, fmt.Errorf("inet_diag_msg of unknown address family %d", family)
	}
	rest := b[4+sizeofSockID:]
	expires := ne.Uint32(rest[0:4])
	rqueue := ne.Uint32(rest[4:8])
	wqueue := ne.Uint32(rest[8:12])
	inode := ne.Uint32(rest[16:20])

	e := Entry{
		State:     state,
		Local:     netip.AddrPortFrom(src, sport),
		Remote:    netip.AddrPortFrom(dst, dport),
		RecvQueue: recvQueue(state, rqueue),
		SendQueue: int(wqueue),
		Inode:     uint64(inode),
	}
	if state == StateListen {
		// For a listener the kernel sends the accept queue length and its
		// limit (tcp_diag_get_info).
		e.SendQueue, e.Backlog = 0, int(wqueue)
	}
	// Old kernels could send a timer already due as a negative number.
	if timer != 0 && int32(expires) > 0 {
		e.Timer = time.Duration(expires) * time.Millisecond
	}
	return e, nil
}
