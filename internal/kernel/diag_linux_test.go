//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// diagMsg is the inet_diag_msg fields a test sets.
type diagMsg struct {
	family, state, timer  uint8
	local, remote         netip.AddrPort
	expires, rq, wq, inod uint32
}

// encode builds a netlink message carrying m, as the kernel would.
func (m diagMsg) encode(seq uint32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.SizeofNlMsghdr+sizeofDiagMsg)
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:8], unix.NLM_F_MULTI)
	ne.PutUint32(b[8:12], seq)
	d := b[unix.SizeofNlMsghdr:]
	d[0], d[1], d[2] = m.family, m.state, m.timer
	binary.BigEndian.PutUint16(d[4:6], m.local.Port())
	binary.BigEndian.PutUint16(d[6:8], m.remote.Port())
	if m.family == unix.AF_INET {
		a, r := m.local.Addr().As4(), m.remote.Addr().As4()
		copy(d[8:], a[:])
		copy(d[24:], r[:])
	} else {
		a, r := m.local.Addr().As16(), m.remote.Addr().As16()
		copy(d[8:], a[:])
		copy(d[24:], r[:])
	}
	ne.PutUint32(d[52:], m.expires)
	ne.PutUint32(d[56:], m.rq)
	ne.PutUint32(d[60:], m.wq)
	ne.PutUint32(d[68:], m.inod)
	return b
}

// control builds a netlink message of type typ with an int32 payload.
func control(typ uint16, seq uint32, code int32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.SizeofNlMsghdr+4)
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], typ)
	ne.PutUint32(b[8:12], seq)
	ne.PutUint32(b[16:20], uint32(code))
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestDiagRequest(t *testing.T) {
	ne := binary.NativeEndian
	b := diagRequest(unix.AF_INET6, 1<<10, 42)
	if len(b) != 72 {
		t.Fatalf("request of %d bytes, want 72 (nlmsghdr 16 + inet_diag_req_v2 56)", len(b))
	}
	if got := ne.Uint32(b[0:4]); got != 72 {
		t.Errorf("nlmsg_len %d", got)
	}
	if got := ne.Uint16(b[4:6]); got != 20 {
		t.Errorf("nlmsg_type %d, want SOCK_DIAG_BY_FAMILY (20)", got)
	}
	if got := ne.Uint16(b[6:8]); got != 0x301 {
		t.Errorf("nlmsg_flags %#x, want NLM_F_REQUEST|NLM_F_DUMP", got)
	}
	if got := ne.Uint32(b[8:12]); got != 42 {
		t.Errorf("nlmsg_seq %d", got)
	}
	if b[16] != unix.AF_INET6 || b[17] != unix.IPPROTO_TCP || b[18] != 0 {
		t.Errorf("family, protocol, ext = %d, %d, %d", b[16], b[17], b[18])
	}
	if got := ne.Uint32(b[20:24]); got != 1<<10 {
		t.Errorf("idiag_states %#x", got)
	}
	for i, c := range b[24:] {
		if c != 0 {
			t.Fatalf("socket id byte %d = %d, want an all-zero id", i, c)
		}
	}
}

func TestParseDiagReply(t *testing.T) {
	ap := netip.MustParseAddrPort
	reply := cat(
		diagMsg{family: unix.AF_INET, state: 10, local: ap("127.0.0.1:8080"), remote: ap("0.0.0.0:0"), rq: 3, wq: 4096, inod: 77}.encode(7),
		diagMsg{family: unix.AF_INET, state: 6, timer: 3, local: ap("127.0.0.1:40000"), remote: ap("127.0.0.1:8080"), expires: 59500}.encode(7),
		// A dual-stack socket talking IPv4: addresses come unmapped.
		diagMsg{family: unix.AF_INET6, state: 8, timer: 2, local: ap("[::ffff:127.0.0.1]:8080"), remote: ap("[::ffff:127.0.0.2]:40001"), expires: 1500, rq: 11, wq: 5, inod: 78}.encode(7),
		diagMsg{family: unix.AF_INET6, state: 1, local: ap("[::1]:9000"), remote: ap("[::1]:9001"), expires: 999, inod: 79}.encode(7),
		// Old kernels: an overdue timer as a negative number.
		diagMsg{family: unix.AF_INET, state: 1, timer: 1, local: ap("127.0.0.1:1"), remote: ap("127.0.0.1:2"), expires: 0xfffffff0}.encode(7),
		// A late reply to another request is skipped.
		diagMsg{family: unix.AF_INET, state: 1, local: ap("127.0.0.9:1"), remote: ap("127.0.0.9:2")}.encode(6),
	)
	want := []Entry{
		{State: StateListen, Local: ap("127.0.0.1:8080"), Remote: ap("0.0.0.0:0"), RecvQueue: 3, Backlog: 4096, Inode: 77},
		{State: StateTimeWait, Local: ap("127.0.0.1:40000"), Remote: ap("127.0.0.1:8080"), Timer: 59500 * time.Millisecond},
		{State: StateCloseWait, Local: ap("127.0.0.1:8080"), Remote: ap("127.0.0.2:40001"), RecvQueue: 10, SendQueue: 5, Inode: 78, Timer: 1500 * time.Millisecond},
		{State: StateEstablished, Local: ap("[::1]:9000"), Remote: ap("[::1]:9001"), Inode: 79},
		{State: StateEstablished, Local: ap("127.0.0.1:1"), Remote: ap("127.0.0.1:2")},
	}
	got, done, err := parseDiagReply(reply, 7)
	if err != nil || done {
		t.Fatalf("done %v, err %v", done, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	got, done, err = parseDiagReply(cat(reply[:2*(unix.SizeofNlMsghdr+sizeofDiagMsg)], control(unix.NLMSG_DONE, 7, 0)), 7)
	if err != nil || !done || len(got) != 2 {
		t.Errorf("with DONE: %+v, done %v, err %v; want 2 entries and done", got, done, err)
	}
	if _, done, err := parseDiagReply(control(unix.NLMSG_DONE, 6, 0), 7); err != nil || done {
		t.Errorf("DONE of another request: done %v, err %v", done, err)
	}
	if _, _, err := parseDiagReply(control(unix.NLMSG_ERROR, 7, -int32(syscall.EPERM)), 7); !errors.Is(err, syscall.EPERM) {
		t.Errorf("NLMSG_ERROR: %v, want EPERM", err)
	}
	if _, _, err := parseDiagReply(control(unix.NLMSG_DONE, 7, -int32(syscall.EINTR)), 7); !errors.Is(err, syscall.EINTR) {
		t.Errorf("DONE with an error: %v, want EINTR", err)
	}
	if _, done, err := parseDiagReply(control(unix.NLMSG_ERROR, 7, 0), 7); err != nil || done {
		t.Errorf("acknowledgement: done %v, err %v", done, err)
	}
}

func TestParseDiagReplyMalformed(t *testing.T) {
	ap := netip.MustParseAddrPort
	msg := diagMsg{family: unix.AF_INET, state: 1, local: ap("127.0.0.1:1"), remote: ap("127.0.0.1:2")}.encode(1)
	short := append([]byte(nil), msg[:unix.SizeofNlMsghdr+10]...)
	binary.NativeEndian.PutUint32(short[0:4], uint32(len(short)))
	badFamily := append([]byte(nil), msg...)
	badFamily[unix.SizeofNlMsghdr] = 99
	tooLong := append([]byte(nil), msg...)
	binary.NativeEndian.PutUint32(tooLong[0:4], uint32(len(msg)+4))
	tooShort := append([]byte(nil), msg...)
	binary.NativeEndian.PutUint32(tooShort[0:4], 8)
	for name, b := range map[string][]byte{
		"truncated message":   msg[:len(msg)-1],
		"short inet_diag_msg": short,
		"unknown family":      badFamily,
		"length past the end": tooLong,
		"length below header": tooShort,
		"trailing bytes":      cat(msg, []byte{1, 2, 3}),
		"short error":         control(unix.NLMSG_ERROR, 1, 0)[:unix.SizeofNlMsghdr+2],
	} {
		if name == "short error" {
			binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
		}
		if es, _, err := parseDiagReply(b, 1); err == nil {
			t.Errorf("%s: parsed as %+v", name, es)
		}
	}
}

func FuzzParseDiagReply(f *testing.F) {
	ap := netip.MustParseAddrPort
	f.Add(diagMsg{family: unix.AF_INET, state: 10, local: ap("127.0.0.1:8080"), remote: ap("0.0.0.0:0"), wq: 5}.encode(1))
	f.Add(cat(diagMsg{family: unix.AF_INET6, state: 6, timer: 3, local: ap("[::1]:1"), remote: ap("[::1]:2"), expires: 60000}.encode(1), control(unix.NLMSG_DONE, 1, 0)))
	f.Add(control(unix.NLMSG_ERROR, 1, -1))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, done, err := parseDiagReply(b, 1)
		if err != nil && (es != nil || done) {
			t.Errorf("entries %+v, done %v with error %v", es, done, err)
		}
		for _, e := range es {
			if e.RecvQueue < 0 || e.SendQueue < 0 || e.Timer < 0 || e.Local.Addr().Is4In6() || e.Remote.Addr().Is4In6() {
				t.Errorf("impossible entry %+v", e)
			}
		}
	})
}
