package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"github.com/socketplayground/playground/internal/policy"
)

// Multicast (docs/protocol.md §16.5): a UDP socket joins and leaves groups,
// and chooses the interface its multicast leaves from. What is the same on
// every system is here; the system calls are in multicast_linux.go.

// membership is one group a socket joined, on one interface. A socket's
// memberships are in Socket.groups, guarded by its mu; they end with the
// kernel socket.
type membership struct {
	group netip.Addr
	index int    // the interface's index; 0: the kernel chose one
	iface string // the interface's name; "" when the kernel chose
}

// Iface is one of the server's network interfaces, as the local hello
// lists them (protocol.md §2.3).
type Iface struct {
	Name  string   `json:"name"`
	Index int      `json:"index"`
	Flags []string `json:"flags"` // of "up", "loopback", "multicast", "broadcast"
	Addrs []string `json:"addrs"` // its addresses with their prefix length: "127.0.0.1/8", "::1/128"
}

// Interfaces lists the server's network interfaces. It asks the kernel
// each time (one netlink dump per call), and returns nil if it cannot.
func Interfaces() []Iface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]Iface, 0, len(ifs))
	for _, ifi := range ifs {
		f := Iface{Name: ifi.Name, Index: ifi.Index, Flags: []string{}, Addrs: []string{}}
		for _, fl := range []struct {
			bit  net.Flags
			name string
		}{{net.FlagUp, "up"}, {net.FlagLoopback, "loopback"}, {net.FlagMulticast, "multicast"}, {net.FlagBroadcast, "broadcast"}} {
			if ifi.Flags&fl.bit != 0 {
				f.Flags = append(f.Flags, fl.name)
			}
		}
		if addrs, err := ifi.Addrs(); err == nil {
			for _, a := range addrs {
				f.Addrs = append(f.Addrs, a.String())
			}
		}
		out = append(out, f)
	}
	return out
}

// ifaceIndex finds interface name's index: 0 for "" (the kernel's
// choice), or a bad_field error that names the interfaces there are.
func ifaceIndex(name string) (int, *Error) {
	if name == "" {
		return 0, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err == nil {
		return ifi.Index, nil
	}
	var names []string
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			names = append(names, i.Name)
		}
	}
	if len(names) == 0 {
		return 0, Errorf(CodeBadField, "no interface named %q on this server", name)
	}
	return 0, Errorf(CodeBadField, "no interface named %q on this server; its interfaces are: %s", name, strings.Join(names, ", "))
}

// JoinGroup makes the UDP socket sock a member of a multicast group
// (op "join") or ends that (op "leave"); protocol.md §16.5. It runs on the
// socket's worker, after every operation asked for before it.
func (s *Session) JoinGroup(req Req, op string, sock int, a GroupArgs) {
	s.log.Append(&Event{Type: TypeCall, Op: op, Sock: sock, ID: req.ID, Origin: req.Origin, Group: a.Group, Iface: a.Iface})
	sk, err := s.lookup(sock)
	if err == nil {
		err = s.enqueue(sk, 0, func() { s.joinGroup(req, op, sk, a) })
	}
	if err != nil {
		s.fail(req, op, sock, err)
	}
}

func (s *Session) joinGroup(req Req, op string, sk *Socket, a GroupArgs) {
	fail := func(err *Error) { s.fail(req, op, sk.id, err) }
	group, perr := netip.ParseAddr(a.Group)
	switch {
	case perr != nil || !group.Unmap().IsMulticast():
		fail(Errorf(CodeBadField, "%q is not a multicast address: a group is in 224.0.0.0/4 (IPv4) or ff00::/8 (IPv6), such as 239.255.0.1", a.Group))
		return
	case group.Zone() != "":
		fail(Errorf(CodeBadField, "write the group without a zone (%q), and its interface in \"iface\"", a.Group))
		return
	}
	group = group.Unmap()
	if err := s.check(policy.Action{Op: policy.OpJoin, Addr: netip.AddrPortFrom(group, 0)}); err != nil {
		fail(err)
		return
	}
	sk.mu.Lock()
	kind, done := sk.kind, sk.doneLocked()
	ip6 := sk.family == "ip6" || sk.local.Addr().Is6()
	rc := sk.rawConnLocked()
	sk.mu.Unlock()
	switch {
	case done:
		fail(Errorf(CodeBadState, "socket %d is closed", sk.id))
		return
	case kind != KindUDP:
		fail(Errorf(CodeBadState, "socket %d is a %s socket: %s needs a UDP socket (multicast is for datagrams)", sk.id, kind, op))
		return
	case rc == nil:
		fail(Errorf(CodeBadState, "socket %d has no kernel socket yet: bind it first", sk.id))
		return
	case ip6 != group.Is6():
		fail(Errorf(CodeBadField, "socket %d is an %s socket; %s is an %s group: join a group of the socket's family", sk.id, familyName(familyOf(ip6)), group, familyName(familyOf(group.Is6()))))
		return
	}
	index, ierr := ifaceIndex(a.Iface)
	if ierr != nil {
		fail(ierr)
		return
	}
	m := membership{group: group, index: index, iface: a.Iface}
	on := ""
	if a.Iface != "" {
		on = " on " + a.Iface
	}
	sk.mu.Lock()
	i := slices.IndexFunc(sk.groups, func(g membership) bool { return g.group == group && g.index == index })
	var others []string
	for _, g := range sk.groups {
		if g.group == group {
			others = append(others, g.where())
		}
	}
	sk.mu.Unlock()
	switch {
	case op == "join" && i >= 0:
		fail(&Error{Code: CodeAddrInUse, Errno: "EADDRINUSE", Message: fmt.Sprintf("socket %d has already joined %s%s", sk.id, group, on)})
		return
	case op == "leave" && i < 0 && len(others) > 0:
		fail(Errorf(CodeBadState, "socket %d has not joined %s %s; it joined it %s: leave names the interface its join named", sk.id, group, m.where(), strings.Join(others, " and ")))
		return
	case op == "leave" && i < 0:
		fail(Errorf(CodeBadState, "socket %d has not joined %s: leave ends a membership that join made", sk.id, group))
		return
	}
	if err := groupSockopt(rc, op == "join", group, index); err != nil {
		fail(groupError(op, sk.id, group, on, err))
		return
	}
	sk.mu.Lock()
	if op == "join" {
		sk.groups = append(sk.groups, m)
	} else if j := slices.IndexFunc(sk.groups, func(g membership) bool { return g.group == group && g.index == index }); j >= 0 {
		sk.groups = slices.Delete(sk.groups, j, j+1)
	}
	s.log.Append(&Event{Type: TypeResult, Op: op, Sock: sk.id, ID: req.ID, Origin: req.Origin, Group: group.String(), Iface: a.Iface})
	sk.mu.Unlock()
}

// where says on which interface a membership is, for a message.
func (m membership) where() string {
	if m.iface == "" {
		return "with the kernel's choice of interface (no \"iface\")"
	}
	return "on " + m.iface
}

// groupError explains the kernel's refusal of a join or leave.
func groupError(op string, sock int, group netip.Addr, on string, err error) *Error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EADDRINUSE:
			return &Error{Code: CodeAddrInUse, Errno: "EADDRINUSE", Err: err,
				Message: fmt.Sprintf("the kernel says socket %d is already a member of %s%s (a join without \"iface\" uses the interface the group's route goes through)", sock, group, on)}
		case syscall.EADDRNOTAVAIL:
			if op == "leave" {
				return &Error{Code: CodeBadState, Errno: "EADDRNOTAVAIL", Err: err,
					Message: fmt.Sprintf("the kernel says socket %d is not a member of %s%s", sock, group, on)}
			}
		case syscall.ENOBUFS:
			return &Error{Code: CodeLimit, Errno: "ENOBUFS", Err: err,
				Message: fmt.Sprintf("socket %d has joined as many groups as the kernel allows one socket (Linux: net.ipv4.igmp_max_memberships, 20 by default); leave one first", sock)}
		case syscall.ENODEV:
			return &Error{Code: CodeBadField, Errno: "ENODEV", Err: err,
				Message: fmt.Sprintf("%s %s%s: the kernel found no interface for the group; name one with \"iface\"", op, group, on)}
		}
	}
	return Classify(op+" "+group.String()+on, err)
}

// SetMulticastIf is setsockopt IP_MULTICAST_IF (IPV6_MULTICAST_IF on an
// IPv6 socket) with an interface's name: the interface the socket's
// multicast is sent from; "" gives the choice back to the kernel.
func (s *Session) SetMulticastIf(req Req, sock int, iface string) {
	s.log.Append(&Event{Type: TypeCall, Op: "setsockopt", Sock: sock, ID: req.ID, Origin: req.Origin, Option: "IP_MULTICAST_IF", Iface: iface})
	sk, err := s.lookup(sock)
	if err == nil {
		err = s.enqueue(sk, 0, func() { s.setMulticastIf(req, sk, iface) })
	}
	if err != nil {
		s.fail(req, "setsockopt", sock, err)
	}
}

func (s *Session) setMulticastIf(req Req, sk *Socket, iface string) {
	const option = "IP_MULTICAST_IF"
	rc, ip6, err := s.optionConn(sk, option)
	if err != nil {
		s.fail(req, "setsockopt", sk.id, err)
		return
	}
	index, ierr := ifaceIndex(iface)
	if ierr != nil {
		s.fail(req, "setsockopt", sk.id, ierr)
		return
	}
	actual, serr := multicastIf(rc, ip6, index)
	if serr != nil {
		s.fail(req, "setsockopt", sk.id, Classify("setsockopt "+option, serr))
		return
	}
	e := &Event{Type: TypeResult, Op: "setsockopt", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Option: option, Iface: iface, Value: &index}
	if actual >= 0 {
		e.Actual = &actual
	}
	s.log.Append(e)
}

func familyOf(ip6 bool) string {
	if ip6 {
		return "ip6"
	}
	return "ip4"
}

// optionConn is what every setsockopt does first: ask the policy, check
// that option fits sk, and find sk's kernel socket and its family.
func (s *Session) optionConn(sk *Socket, option string) (rc syscall.RawConn, ip6 bool, err *Error) {
	if err := s.check(policy.Action{Op: policy.OpSetsockopt, Option: option}); err != nil {
		return nil, false, err
	}
	if err := multicastOption(sk, option); err != nil {
		return nil, false, err
	}
	sk.mu.Lock()
	rc, ip6 = sk.rawConnLocked(), sk.family == "ip6" || sk.local.Addr().Is6()
	sk.mu.Unlock()
	if rc == nil {
		return nil, false, Errorf(CodeBadState, "socket %d has no kernel socket (it is closed, or still being made)", sk.id)
	}
	return rc, ip6, nil
}

// multicastOption refuses an IP_MULTICAST_* option on a socket that is not
// UDP, where the kernel would only say "protocol not available".
func multicastOption(sk *Socket, option string) *Error {
	if kind := sk.kindNow(); strings.HasPrefix(option, "IP_MULTICAST_") && kind != KindUDP {
		return Errorf(CodeBadState, "%s is an option of UDP sockets, which send multicast; socket %d is a %s", option, sk.id, kind)
	}
	return nil
}
