package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketplayground/playground/internal/policy"
)

// Socket creates a socket in step mode, as socket.socket(family, type)
// does: blocking, SO_REUSEADDR off, neither bound nor connected. It returns
// the new socket's id, or 0 if none was created.
func (s *Session) Socket(req Req, a SocketArgs) int {
	if a.Family == "" {
		a.Family = "ip4"
	}
	call := &Event{Type: TypeCall, Op: "socket", ID: req.ID, Origin: req.Origin, Proto: a.Proto, Family: a.Family}
	kind := KindTCP
	if a.Proto == "udp" {
		kind = KindUDP
	}
	sk, err := s.newSocket(kind, 0)
	if err != nil {
		s.log.Append(call)
		s.fail(req, "socket", 0, err)
		return 0
	}
	call.Sock = sk.id
	s.log.Append(call)
	if perr := s.check(policy.Action{Op: policy.OpSocket}); perr != nil {
		s.fail(req, "socket", sk.id, perr)
		s.failSocket(sk, perr.Message)
		return sk.id
	}
	domain, typ := unix.AF_INET, unix.SOCK_STREAM
	if a.Family == "ip6" {
		domain = unix.AF_INET6
	}
	if kind == KindUDP {
		typ = unix.SOCK_DGRAM
	}
	// The kernel socket is always non-blocking underneath, so the runtime's
	// poller can wait on it; blocking is what the session does on top.
	fd, serr := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if serr != nil {
		e := Classify("socket", os.NewSyscallError("socket", serr))
		s.fail(req, "socket", sk.id, e)
		s.failSocket(sk, e.Message)
		return sk.id
	}
	sk.mu.Lock()
	sk.fd = os.NewFile(uintptr(fd), "socket")
	sk.step, sk.family = true, a.Family
	sk.stopLive()
	s.log.Append(&Event{Type: TypeResult, Op: "socket", Sock: sk.id, ID: req.ID, Origin: req.Origin})
	s.log.Append(sk.stateEvent(StateCreated, ""))
	sk.mu.Unlock()
	return sk.id
}

// Step switches live socket sock to step mode: its live loop (accepting,
// or reading) stops, and what arrives from now on waits in the kernel for
// the person's calls.
func (s *Session) Step(req Req, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: "step", Sock: sock, ID: req.ID, Origin: req.Origin})
	sk, err := s.lookup(sock)
	if err == nil {
		if kind := sk.kindNow(); kind == KindTCPProxy || kind == KindUDPProxy {
			err = Errorf(CodeBadState, "socket %d is a %s: a proxy has no step mode", sock, kind)
		}
	}
	if err == nil {
		err = s.enqueue(sk, 0, func() { s.toStep(req, sk) })
	}
	if err != nil {
		s.fail(req, "step", sock, err)
	}
}

func (s *Session) toStep(req Req, sk *Socket) {
	sk.mu.Lock()
	switch {
	case sk.doneLocked():
		sk.mu.Unlock()
		s.fail(req, "step", sk.id, Errorf(CodeBadState, "socket %d is closed", sk.id))
		return
	case sk.step:
		sk.mu.Unlock()
		s.fail(req, "step", sk.id, Errorf(CodeBadState, "socket %d is already in step mode", sk.id))
		return
	case sk.tls != nil:
		sk.mu.Unlock()
		s.fail(req, "step", sk.id, errTLSStep(sk.id))
		return
	}
	switch {
	case sk.tcp != nil:
		sk.fd = sk.tcp
	case sk.ln != nil:
		// A listener's RawConn cannot wait for readability: carry on with
		// a non-blocking duplicate the runtime's poller can wait on.
		f, err := pollableDup(sk.ln)
		if err != nil {
			sk.mu.Unlock()
			s.fail(req, "step", sk.id, Classify("step", err))
			return
		}
		sk.fd = f
	case sk.udp != nil:
		sk.fd = sk.udp
	default:
		sk.mu.Unlock()
		s.fail(req, "step", sk.id, Errorf(CodeBadState, "socket %d has no kernel socket yet", sk.id))
		return
	}
	sk.step = true
	if sk.local.Addr().Is6() {
		sk.family = "ip6"
	} else {
		sk.family = "ip4"
	}
	fd, done := sk.fd, sk.liveDone
	sk.stopLive()
	sk.mu.Unlock()
	// Wake the live loop from its wait in the kernel, and wait for it to
	// return, so no read of its overlaps the person's first call.
	if sk.ln != nil {
		sk.ln.SetDeadline(time.Unix(1, 0))
	} else {
		fd.SetReadDeadline(time.Unix(1, 0))
	}
	if done != nil {
		<-done
	}
	fd.SetReadDeadline(time.Time{})
	sk.mu.Lock()
	if sk.ln != nil {
		sk.ln.Close() // the duplicate keeps the listening socket
		sk.ln = nil
	}
	if sk.doneLocked() {
		sk.mu.Unlock()
		s.fail(req, "step", sk.id, errClosedWhileWaiting("step"))
		return
	}
	s.log.Append(&Event{Type: TypeResult, Op: "step", Sock: sk.id, ID: req.ID, Origin: req.Origin})
	s.log.Append(sk.stateEvent(sk.state, "switched to step mode: nothing is accepted or read until you make the call; what arrives waits in the kernel"))
	sk.mu.Unlock()
}

// stepCall queues the step-mode call op on socket sock, after every call
// asked for before it. The call event has been logged.
func (s *Session) stepCall(req Req, op string, sock int, f func(*Socket)) {
	sk, err := s.stepLookup(op, sock)
	if err == nil {
		err = s.enqueue(sk, 0, func() { f(sk) })
	}
	if err != nil {
		s.fail(req, op, sock, err)
	}
}

// SetSockOpt sets a socket option, on a step-mode or a live socket, and
// reads it back: the kernel may keep another value (it doubles SO_RCVBUF).
func (s *Session) SetSockOpt(req Req, sock int, option string, value int) {
	v := value
	s.log.Append(&Event{Type: TypeCall, Op: "setsockopt", Sock: sock, ID: req.ID, Origin: req.Origin, Option: option, Value: &v})
	sk, err := s.lookup(sock)
	if err == nil {
		if r, ok := Sockopts[option]; !ok || value < r.Min || value > r.Max {
			err = Errorf(CodeBadField, "%s takes a value from %d to %d, not %d", option, r.Min, r.Max, value)
		}
	}
	if err == nil {
		err = s.enqueue(sk, 0, func() { s.setSockOpt(req, sk, option, value) })
	}
	if err != nil {
		s.fail(req, "setsockopt", sock, err)
	}
}

func (s *Session) setSockOpt(req Req, sk *Socket, option string, value int) {
	rc, ip6, err := s.optionConn(sk, option)
	if err != nil {
		s.fail(req, "setsockopt", sk.id, err)
		return
	}
	level, name := unix.SOL_SOCKET, 0
	switch option {
	case "SO_REUSEADDR":
		name = unix.SO_REUSEADDR
	case "SO_REUSEPORT":
		name = unix.SO_REUSEPORT
	case "SO_BROADCAST":
		name = unix.SO_BROADCAST
	case "SO_KEEPALIVE":
		name = unix.SO_KEEPALIVE
	case "SO_RCVBUF":
		name = unix.SO_RCVBUF
	case "SO_SNDBUF":
		name = unix.SO_SNDBUF
	case "TCP_NODELAY":
		level, name = unix.IPPROTO_TCP, unix.TCP_NODELAY
	case "IP_TTL":
		level, name = unix.IPPROTO_IP, unix.IP_TTL
		if ip6 {
			level, name = unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS
		}
	case "IP_MULTICAST_TTL":
		level, name = unix.IPPROTO_IP, unix.IP_MULTICAST_TTL
		if ip6 {
			level, name = unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS
		}
	case "IP_MULTICAST_LOOP":
		level, name = unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP
		if ip6 {
			level, name = unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP
		}
	}
	var (
		actual int
		oerr   error
	)
	cerr := rc.Control(func(fd uintptr) {
		f := int(fd)
		if option == "SO_LINGER" {
			l := unix.Linger{}
			if value >= 0 {
				l.Onoff, l.Linger = 1, int32(value)
			}
			if oerr = unix.SetsockoptLinger(f, unix.SOL_SOCKET, unix.SO_LINGER, &l); oerr != nil {
				oerr = os.NewSyscallError("setsockopt", oerr)
				return
			}
			got, err := unix.GetsockoptLinger(f, unix.SOL_SOCKET, unix.SO_LINGER)
			if err != nil {
				oerr = os.NewSyscallError("getsockopt", err)
				return
			}
			actual = -1
			if got.Onoff != 0 {
				actual = int(got.Linger)
			}
			return
		}
		if oerr = unix.SetsockoptInt(f, level, name, value); oerr != nil {
			oerr = os.NewSyscallError("setsockopt", oerr)
			return
		}
		if actual, oerr = unix.GetsockoptInt(f, level, name); oerr != nil {
			oerr = os.NewSyscallError("getsockopt", oerr)
		}
	})
	if cerr != nil {
		s.fail(req, "setsockopt", sk.id, errClosedWhileWaiting("setsockopt"))
		return
	}
	if oerr != nil {
		s.fail(req, "setsockopt", sk.id, Classify("setsockopt "+option, oerr))
		return
	}
	v := value
	s.log.Append(&Event{Type: TypeResult, Op: "setsockopt", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Option: option, Value: &v, Actual: &actual})
}

// SetTimeout is settimeout: nil is None (blocking), 0 non-blocking, more
// a timeout for each later call.
func (s *Session) SetTimeout(req Req, sock int, t *time.Duration) {
	e := &Event{Type: TypeCall, Op: "settimeout", Sock: sock, ID: req.ID, Origin: req.Origin, How: "blocking"}
	mode := modeBlocking
	var d time.Duration
	if t != nil {
		d = *t
		mode, e.How = modeNonBlocking, "non-blocking"
		if d > 0 {
			mode, e.How, e.Timeout = modeTimeout, "timeout", int(d/time.Millisecond)
		}
	}
	s.log.Append(e)
	s.stepCall(req, "settimeout", sock, func(sk *Socket) {
		sk.mu.Lock()
		sk.tmode, sk.timeout = mode, d
		s.log.Append(&Event{Type: TypeResult, Op: "settimeout", Sock: sk.id, ID: req.ID, Origin: req.Origin, How: e.How, Timeout: e.Timeout})
		sk.mu.Unlock()
	})
}

// StepBind binds step-mode socket sock to Host:Port.
func (s *Session) StepBind(req Req, sock int, a ListenArgs) {
	s.log.Append(&Event{Type: TypeCall, Op: "bind", Sock: sock, ID: req.ID, Origin: req.Origin, Host: a.Host, Port: a.Port})
	s.stepCall(req, "bind", sock, func(sk *Socket) { s.stepBind(req, sk, a) })
}

func (s *Session) stepBind(req Req, sk *Socket, a ListenArgs) {
	sk.mu.Lock()
	family, state, kind := sk.family, sk.state, sk.kind
	sk.mu.Unlock()
	if state != StateCreated {
		s.fail(req, "bind", sk.id, &Error{Code: CodeBadState, Errno: "EINVAL",
			Message: fmt.Sprintf("socket %d is %s: bind comes first, on a new socket (a socket is bound once)", sk.id, state)})
		return
	}
	addrs, rerr := s.resolve(sk.ctx, a.Host, family)
	if rerr != nil {
		s.fail(req, "bind", sk.id, rerr)
		return
	}
	op := policy.OpBind
	if kind == KindTCP {
		op = policy.OpListen // a bound TCP port is a server's, in the policy's eyes
	}
	addr, perr := s.reserve(policy.Action{Op: op, Addr: netip.AddrPortFrom(addrs[0], uint16(a.Port)), Host: nameOf(a.Host)})
	if perr != nil {
		s.fail(req, "bind", sk.id, perr)
		return
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	err := s.sysLocked(sk, func(fd int) error { return unix.Bind(fd, sockaddr(addr)) }, "bind")
	if err == nil {
		sk.local, err = s.namesLocked(sk, false)
	}
	if err != nil {
		s.release(addr.Port())
		s.fail(req, "bind", sk.id, Classify("bind "+addr.String(), err))
		return
	}
	sk.held = addr.Port()
	s.log.Append(&Event{Type: TypeResult, Op: "bind", Sock: sk.id, ID: req.ID, Origin: req.Origin, Addr: addr.String(), Local: sk.local.String()})
	s.log.Append(sk.stateEvent(StateBound, ""))
}

// StepListen is listen(backlog) on step-mode socket sock; backlog < 0
// means the default.
func (s *Session) StepListen(req Req, sock, backlog int) {
	if backlog < 0 {
		backlog = DefaultBacklog
	}
	s.log.Append(&Event{Type: TypeCall, Op: "listen", Sock: sock, ID: req.ID, Origin: req.Origin, Backlog: backlog})
	s.stepCall(req, "listen", sock, func(sk *Socket) {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		if sk.kind == KindUDP {
			s.fail(req, "listen", sk.id, &Error{Code: CodeBadState, Errno: "EOPNOTSUPP", Message: fmt.Sprintf("socket %d is a UDP socket: only a stream (TCP) socket listens", sk.id)})
			return
		}
		if sk.state != StateCreated && sk.state != StateBound {
			s.fail(req, "listen", sk.id, &Error{Code: CodeBadState, Errno: "EINVAL", Message: fmt.Sprintf("socket %d is %s: listen needs a new or bound socket", sk.id, sk.state)})
			return
		}
		local := sk.local
		if !local.IsValid() {
			local = netip.AddrPortFrom(unspecified(sk.family), 0)
		}
		if perr := s.check(policy.Action{Op: policy.OpListen, Addr: local}); perr != nil {
			if !sk.local.IsValid() {
				perr.Message += " (bind the socket to an address first)"
			}
			s.fail(req, "listen", sk.id, perr)
			return
		}
		err := s.sysLocked(sk, func(fd int) error { return unix.Listen(fd, backlog) }, "listen")
		if err == nil {
			sk.local, err = s.namesLocked(sk, false)
		}
		if err != nil {
			s.fail(req, "listen", sk.id, Classify("listen", err))
			return
		}
		sk.kind = KindTCPListener
		s.log.Append(&Event{Type: TypeResult, Op: "listen", Sock: sk.id, ID: req.ID, Origin: req.Origin, Local: sk.local.String(), Backlog: backlog})
		s.log.Append(sk.stateEvent(StateListening, ""))
	})
}

// Accept is accept() on step-mode listener sock: it takes the oldest
// connection from the accept queue, waiting while there is none.
func (s *Session) Accept(req Req, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: "accept", Sock: sock, ID: req.ID, Origin: req.Origin})
	s.stepCall(req, "accept", sock, func(ln *Socket) { s.accept(req, ln) })
}

func (s *Session) accept(req Req, ln *Socket) {
	ln.mu.Lock()
	state := ln.state
	ln.mu.Unlock()
	if state != StateListening {
		s.fail(req, "accept", ln.id, &Error{Code: CodeBadState, Errno: "EINVAL", Message: fmt.Sprintf("socket %d is %s: accept needs a listening socket (call listen first)", ln.id, state)})
		return
	}
	if s.log.WaitRoom(ln.ctx) != nil {
		s.fail(req, "accept", ln.id, errClosedWhileWaiting("accept"))
		return
	}
	var (
		nfd int
		sa  unix.Sockaddr
	)
	if err := s.call(ln, req, "accept", false, func(fd int) error {
		var err error
		nfd, sa, err = unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return err
	}); err != nil {
		s.fail(req, "accept", ln.id, err)
		return
	}
	f := os.NewFile(uintptr(nfd), "socket")
	remote := fromSockaddr(sa)
	refuse := func(e *Error) {
		unix.SetsockoptLinger(nfd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
		f.Close()
		e.Message += " (the connection from " + remote.String() + " was reset)"
		s.log.Append(&Event{Type: TypeError, Op: "accept", Sock: ln.id, ID: req.ID, Origin: req.Origin, Remote: remote.String(), Code: e.Code, Errno: e.Errno, Message: e.Message})
	}
	if perr := s.check(policy.Action{Op: policy.OpAccept, Addr: remote}); perr != nil {
		refuse(perr)
		return
	}
	sk, nerr := s.newSocket(KindTCP, ln.id)
	if nerr != nil {
		refuse(nerr)
		return
	}
	sk.mu.Lock()
	if sk.doneLocked() { // the session is closing
		sk.mu.Unlock()
		f.Close()
		s.fail(req, "accept", ln.id, errClosedWhileWaiting("accept"))
		return
	}
	sk.fd, sk.step, sk.family = f, true, ln.family
	sk.stopLive()
	sk.remote = remote
	local, err := s.namesLocked(sk, false)
	if err != nil {
		sk.mu.Unlock()
		refuse(Classify("accept", err))
		s.failSocket(sk, "accept failed")
		return
	}
	sk.local = local
	s.log.Append(&Event{Type: TypeResult, Op: "accept", Sock: ln.id, ID: req.ID, Origin: req.Origin, Child: sk.id,
		Local: sk.local.String(), Remote: sk.remote.String()})
	s.logger.Info("accepted", "sock", sk.id, "local", sk.local.String(), "remote", sk.remote.String())
	s.log.Append(sk.stateEvent(StateEstablished, ""))
	sk.mu.Unlock()
}

// StepConnect is connect((host, port)) on step-mode socket sock.
func (s *Session) StepConnect(req Req, sock int, a ConnectArgs) {
	s.log.Append(&Event{Type: TypeCall, Op: "connect", Sock: sock, ID: req.ID, Origin: req.Origin, Host: a.Host, Port: a.Port})
	s.stepCall(req, "connect", sock, func(sk *Socket) { s.stepConnect(req, sk, a) })
}

func (s *Session) stepConnect(req Req, sk *Socket, a ConnectArgs) {
	sk.mu.Lock()
	family, state, kind := sk.family, sk.state, sk.kind
	sk.mu.Unlock()
	switch {
	case kind != KindTCP:
		s.fail(req, "connect", sk.id, Errorf(CodeBadState, "socket %d is a %s: step mode connects stream (TCP) sockets", sk.id, kind))
		return
	case state == StateConnecting:
		s.fail(req, "connect", sk.id, &Error{Code: CodeBadState, Errno: "EALREADY", Message: fmt.Sprintf("socket %d is already connecting", sk.id)})
		return
	case state != StateCreated && state != StateBound:
		s.fail(req, "connect", sk.id, &Error{Code: CodeBadState, Errno: "EISCONN", Message: fmt.Sprintf("socket %d is %s: connect needs a new or bound socket", sk.id, state)})
		return
	}
	addrs, rerr := s.resolve(sk.ctx, a.Host, family)
	if rerr != nil {
		s.fail(req, "connect", sk.id, rerr)
		return
	}
	target := netip.AddrPortFrom(addrs[0], uint16(a.Port))
	if perr := s.check(policy.Action{Op: policy.OpConnect, Addr: target, Host: nameOf(a.Host)}); perr != nil {
		s.fail(req, "connect", sk.id, perr)
		return
	}
	sk.mu.Lock()
	sk.remote = target
	e := sk.stateEvent(StateConnecting, "")
	e.Addr = target.String()
	s.log.Append(e)
	err := s.sysLocked(sk, func(fd int) error { return unix.Connect(fd, sockaddr(target)) }, "connect")
	mode := sk.tmode
	sk.mu.Unlock()
	failed := func(err *Error) {
		s.fail(req, "connect", sk.id, err)
		s.failSocket(sk, err.Message)
	}
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		failed(Classify("connect "+target.String(), err))
		return
	}
	if err != nil && mode == modeNonBlocking {
		s.fail(req, "connect", sk.id, &Error{Code: CodeInProgress, Errno: "EINPROGRESS",
			Message: "the connection is in progress: a non-blocking connect returns at once, and the handshake goes on (Python raises BlockingIOError); the socket becomes established, or fails, by itself"})
		s.goroutine(func() {
			if werr := s.wait(sk, Req{}, "connect", true, connected, false); werr != nil {
				if werr.Code == CodeCancelled {
					return // closed: that close is the story
				}
				s.log.Append(&Event{Type: TypeError, Op: "connect", Sock: sk.id, Auto: true, Code: werr.Code, Errno: werr.Errno, Message: werr.Message})
				s.failSocket(sk, werr.Message)
				return
			}
			s.connected(Req{}, sk, target, true)
		})
		return
	}
	if err != nil {
		if werr := s.wait(sk, req, "connect", true, connected, true); werr != nil {
			if sk.isDone() {
				s.fail(req, "connect", sk.id, werr)
				return
			}
			failed(werr)
			return
		}
	}
	s.connected(req, sk, target, false)
}

// connected is the test a waiting connect makes each time the socket is
// writable: done when the handshake has finished, with its error if any.
func connected(fd int) error {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	switch e := syscall.Errno(soerr); e {
	case 0:
		if _, err := unix.Getpeername(fd); err != nil {
			return unix.EAGAIN // not connected yet
		}
		return nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return unix.EAGAIN
	default:
		return e
	}
}

func (s *Session) connected(req Req, sk *Socket, target netip.AddrPort, auto bool) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.doneLocked() {
		if !auto {
			s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
		}
		return
	}
	local, err := s.namesLocked(sk, false)
	if err != nil {
		if !auto {
			s.fail(req, "connect", sk.id, Classify("connect", err))
		}
		return
	}
	sk.local = local
	s.log.Append(&Event{Type: TypeResult, Op: "connect", Sock: sk.id, ID: req.ID, Origin: req.Origin, Auto: auto,
		Addr: target.String(), Local: sk.local.String(), Remote: sk.remote.String()})
	s.logger.Info("connected", "sock", sk.id, "local", sk.local.String(), "remote", sk.remote.String())
	s.log.Append(sk.stateEvent(StateEstablished, ""))
}

// Recv is recv(n) on step-mode socket sock: at most n bytes, or 0 at the
// peer's end-of-stream.
func (s *Session) Recv(req Req, sock, n int) {
	s.log.Append(&Event{Type: TypeCall, Op: "recv", Sock: sock, ID: req.ID, Origin: req.Origin, N: n})
	s.stepCall(req, "recv", sock, func(sk *Socket) { s.recv(req, sk, n) })
}

func (s *Session) recv(req Req, sk *Socket, n int) {
	if kind := sk.kindNow(); kind != KindTCP {
		s.fail(req, "recv", sk.id, Errorf(CodeBadState, "socket %d is a %s: recv reads a connected stream (use recvfrom on a UDP socket)", sk.id, kind))
		return
	}
	if err := s.drainedErr(sk); err != nil {
		s.fail(req, "recv", sk.id, err)
		return
	}
	if s.log.WaitRoom(sk.ctx) != nil {
		s.fail(req, "recv", sk.id, errClosedWhileWaiting("recv"))
		return
	}
	buf := make([]byte, n)
	var got int
	if err := s.call(sk, req, "recv", false, func(fd int) error {
		var err error
		got, err = unix.Read(fd, buf)
		return err
	}); err != nil {
		s.fail(req, "recv", sk.id, err)
		if err.Code == CodeReset {
			s.failSocket(sk, err.Message)
		}
		return
	}
	sk.mu.Lock()
	remote := sk.remote
	if got == 0 {
		s.log.Append(&Event{Type: TypeData, Op: "recv", Sock: sk.id, ID: req.ID, Origin: req.Origin, N: n, EOF: true, Data: []byte{}})
		if !sk.rdShut {
			sk.rdShut = true
			e := sk.stateEvent(StateHalfClosed, "the peer finished sending (recv returned 0 bytes)")
			e.Half = "read"
			s.log.Append(e)
		}
		sk.mu.Unlock()
		return
	}
	data := buf[:got:got]
	if got < n/2 {
		data = append([]byte(nil), data...)
	}
	e := &Event{Type: TypeData, Op: "recv", Sock: sk.id, ID: req.ID, Origin: req.Origin, N: n, Len: got, Data: data}
	s.log.Append(e)
	sk.mu.Unlock()
	s.heard(sk, e)
	s.stepReceived(sk, "recv", remote, got)
}

// RecvFrom is recvfrom(n) on step-mode UDP socket sock: one datagram, cut
// to n bytes if it is longer.
func (s *Session) RecvFrom(req Req, sock, n int) {
	s.log.Append(&Event{Type: TypeCall, Op: "recvfrom", Sock: sock, ID: req.ID, Origin: req.Origin, N: n})
	s.stepCall(req, "recvfrom", sock, func(sk *Socket) { s.recvFrom(req, sk, n) })
}

func (s *Session) recvFrom(req Req, sk *Socket, n int) {
	sk.mu.Lock()
	kind, bound := sk.kind, sk.local.IsValid()
	sk.mu.Unlock()
	switch {
	case kind != KindUDP:
		s.fail(req, "recvfrom", sk.id, Errorf(CodeBadState, "socket %d is a %s: recvfrom reads datagrams from a UDP socket (use recv on a TCP connection)", sk.id, kind))
		return
	case !bound:
		s.fail(req, "recvfrom", sk.id, Errorf(CodeBadState, "socket %d is not bound: nothing can reach it, so recvfrom would wait forever; bind it first, or sendto once (which binds it)", sk.id))
		return
	}
	if err := s.drainedErr(sk); err != nil {
		s.fail(req, "recvfrom", sk.id, err)
		return
	}
	if s.log.WaitRoom(sk.ctx) != nil {
		s.fail(req, "recvfrom", sk.id, errClosedWhileWaiting("recvfrom"))
		return
	}
	buf := make([]byte, n)
	var (
		size int
		from unix.Sockaddr
	)
	if err := s.call(sk, req, "recvfrom", false, func(fd int) error {
		var err error
		// MSG_TRUNC makes Linux return the datagram's real length even
		// when only len(buf) bytes of it fit.
		size, from, err = unix.Recvfrom(fd, buf, unix.MSG_TRUNC)
		return err
	}); err != nil {
		s.fail(req, "recvfrom", sk.id, err)
		return
	}
	got := min(size, n)
	e := &Event{Type: TypeData, Op: "recvfrom", Sock: sk.id, ID: req.ID, Origin: req.Origin, N: n, Peer: fromSockaddr(from).String(), Len: got, Data: append([]byte{}, buf[:got]...)}
	if size > n {
		e.DgramLen = size
	}
	s.log.Append(e)
	s.heard(sk, e)
	s.stepReceived(sk, "recvfrom", fromSockaddr(from), got)
}

// stepSend is send() on a step-mode socket: one system call, which may take
// fewer bytes than asked.
func (s *Session) stepSend(req Req, sk *Socket, data []byte) {
	dequeue := sync.OnceFunc(func() { sk.dequeued(len(data)) })
	defer dequeue()
	sk.mu.Lock()
	remote := sk.remote
	sk.mu.Unlock()
	if err := s.check(policy.Action{Op: policy.OpSend, Addr: remote, Bytes: len(data)}); err != nil {
		s.fail(req, "send", sk.id, err)
		return
	}
	if err := s.policy.Wait(sk.ctx, s.id, len(data)); err != nil {
		s.fail(req, "send", sk.id, errClosedWhileWaiting("send"))
		return
	}
	var n int
	err := s.call(sk, req, "send", true, func(fd int) error {
		var err error
		n, err = unix.SendmsgN(fd, data, nil, nil, unix.MSG_NOSIGNAL)
		return err
	})
	dequeue()
	if err != nil {
		s.fail(req, "send", sk.id, err)
		if err.Code == CodeReset {
			s.failSocket(sk, err.Message)
		}
		return
	}
	s.log.Append(&Event{Type: TypeSent, Op: "send", Sock: sk.id, ID: req.ID, Origin: req.Origin, Len: n, Data: data[:n]})
}

// stepSendTo is sendto() on a step-mode UDP socket. An unbound socket is
// bound by the kernel to a free port first, as it is in any program.
func (s *Session) stepSendTo(req Req, sk *Socket, a SendToArgs) {
	dequeue := sync.OnceFunc(func() { sk.dequeued(len(a.Data)) })
	defer dequeue()
	sk.mu.Lock()
	family := sk.family
	sk.mu.Unlock()
	if a.Family != "" && a.Family != family {
		s.fail(req, "sendto", sk.id, Errorf(CodeBadField, "socket %d is an %s socket; it cannot send to %s addresses", sk.id, familyName(family), familyName(a.Family)))
		return
	}
	addrs, rerr := s.resolve(sk.ctx, a.Host, family)
	if rerr != nil {
		s.fail(req, "sendto", sk.id, rerr)
		return
	}
	to := netip.AddrPortFrom(addrs[0], uint16(a.Port))
	if err := s.check(policy.Action{Op: policy.OpSendTo, Addr: to, Host: nameOf(a.Host), Bytes: len(a.Data)}); err != nil {
		s.fail(req, "sendto", sk.id, err)
		return
	}
	if err := s.policy.Wait(sk.ctx, s.id, len(a.Data)); err != nil {
		s.fail(req, "sendto", sk.id, errClosedWhileWaiting("sendto"))
		return
	}
	if berr := s.autobind(sk); berr != nil {
		s.fail(req, "sendto", sk.id, berr)
		return
	}
	var n int
	err := s.call(sk, req, "sendto", true, func(fd int) error {
		var err error
		n, err = unix.SendmsgN(fd, a.Data, nil, sockaddr(to), unix.MSG_NOSIGNAL)
		return err
	})
	dequeue()
	if err != nil {
		s.fail(req, "sendto", sk.id, err)
		return
	}
	s.log.Append(&Event{Type: TypeSent, Op: "sendto", Sock: sk.id, ID: req.ID, Origin: req.Origin, Peer: to.String(), Len: n, Data: a.Data[:n]})
}

// stepShutdown is shutdown(how) on a step-mode socket; unlike live mode it
// never closes the socket by itself.
func (s *Session) stepShutdown(req Req, sk *Socket, how string) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	h := map[string]int{"read": unix.SHUT_RD, "write": unix.SHUT_WR, "both": unix.SHUT_RDWR}[how]
	if err := s.sysLocked(sk, func(fd int) error { return unix.Shutdown(fd, h) }, "shutdown"); err != nil {
		s.fail(req, "shutdown", sk.id, Classify("shutdown", err))
		return
	}
	s.log.Append(&Event{Type: TypeResult, Op: "shutdown", Sock: sk.id, ID: req.ID, Origin: req.Origin, How: how})
	rd, wr := how == "read" || how == "both", how == "write" || how == "both"
	if wr && !sk.wrShut {
		sk.wrShut = true
		e := sk.stateEvent(StateHalfClosed, "you shut down writing: the peer gets EOF after the bytes already sent")
		e.Half = "write"
		s.log.Append(e)
	}
	if rd && !sk.rdShut {
		sk.rdShut = true
		e := sk.stateEvent(StateHalfClosed, "you shut down reading: recv returns 0 bytes from now on")
		e.Half = "read"
		s.log.Append(e)
	}
}

// closeBlocked closes a step-mode socket at once if a call is blocked on
// it, as closing a socket interrupts the call waiting on it; it reports
// whether it did.
func (s *Session) closeBlocked(req Req, sk *Socket) bool {
	sk.mu.Lock()
	blocked := sk.step && sk.blocked != nil
	sk.mu.Unlock()
	if !blocked {
		sk.mu.Lock()
		if sk.step {
			sk.closing = true // a call that would block from now on is interrupted
		}
		sk.mu.Unlock()
	}
	return blocked && s.closeSocket(sk, req, "closed by you", false)
}

// sysLocked makes one system call on sk's kernel socket. sk.mu must be held.
func (s *Session) sysLocked(sk *Socket, f func(fd int) error, name string) error {
	rc := sk.rawConnLocked()
	if rc == nil || sk.doneLocked() {
		return errClosedWhileWaiting(name)
	}
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = f(int(fd)) }); cerr != nil {
		return errClosedWhileWaiting(name)
	}
	if err != nil {
		return os.NewSyscallError(name, err)
	}
	return nil
}

// namesLocked reads sk's own address (or, with peer, its peer's) from the
// kernel. sk.mu must be held.
func (s *Session) namesLocked(sk *Socket, peer bool) (netip.AddrPort, error) {
	var sa unix.Sockaddr
	err := s.sysLocked(sk, func(fd int) error {
		var err error
		if peer {
			sa, err = unix.Getpeername(fd)
		} else {
			sa, err = unix.Getsockname(fd)
		}
		return err
	}, "getsockname")
	if err != nil {
		return netip.AddrPort{}, err
	}
	return fromSockaddr(sa), nil
}

// call makes the system call f on sk as the person's socket would: once,
// and if the kernel says EAGAIN, by the socket's timeout mode — at once
// "would_block" when non-blocking; else wait (logged as blocked) until the
// socket is ready (readable, or with write, writable) and try again.
func (s *Session) call(sk *Socket, req Req, op string, write bool, f func(fd int) error) *Error {
	sk.mu.Lock()
	err := s.sysLocked(sk, f, op)
	mode := sk.tmode
	sk.mu.Unlock()
	if err == nil || !errors.Is(err, unix.EAGAIN) {
		if err != nil {
			return Classify(op, err)
		}
		return nil
	}
	if mode == modeNonBlocking {
		return &Error{Code: CodeWouldBlock, Errno: "EAGAIN", Message: op + " would block: the socket is non-blocking and the kernel has nothing for it now (Python raises BlockingIOError); try again later"}
	}
	return s.wait(sk, req, op, write, f, true)
}

// wait waits until f, tried each time sk is ready, stops saying EAGAIN:
// logged as blocked (if logged), woken by the socket's timeout, cancel or
// close.
func (s *Session) wait(sk *Socket, req Req, op string, write bool, f func(fd int) error, logged bool) *Error {
	sk.mu.Lock()
	if sk.doneLocked() || sk.fd == nil {
		sk.mu.Unlock()
		return errClosedWhileWaiting(op)
	}
	rc := sk.rawConnLocked()
	conn := sk.fd
	setDeadline := conn.SetReadDeadline
	if write {
		setDeadline = conn.SetWriteDeadline
	}
	if sk.closing {
		sk.mu.Unlock()
		return Errorf(CodeCancelled, "%s() interrupted: you closed the socket", op)
	}
	b := &blockedCall{op: op, since: time.Now(), wake: func() { setDeadline(time.Unix(1, 0)) }}
	var deadline time.Time
	if sk.tmode == modeTimeout {
		deadline = b.since.Add(sk.timeout)
	}
	setDeadline(deadline)
	if logged {
		// A call the person made: cancel and close can interrupt it. (The
		// background wait of a non-blocking connect is not such a call;
		// only close ends it.)
		sk.blocked = b
	}
	if logged {
		s.log.Append(&Event{Type: TypeBlocked, Op: op, Sock: sk.id, ID: req.ID, Origin: req.Origin})
	}
	sk.mu.Unlock()

	var ferr error
	try := func(fd uintptr) bool {
		ferr = f(int(fd))
		return !errors.Is(ferr, unix.EAGAIN)
	}
	var werr error
	if rc == nil {
		werr = errClosedWhileWaiting(op)
	} else if write {
		werr = rc.Write(try)
	} else {
		werr = rc.Read(try)
	}

	sk.mu.Lock()
	if sk.blocked == b {
		sk.blocked = nil
	}
	cancelled, done := b.cancelled, sk.doneLocked()
	if !done {
		setDeadline(time.Time{})
	}
	sk.mu.Unlock()
	waited := seconds(time.Since(b.since))
	switch {
	case werr == nil && ferr == nil:
		return nil
	case werr == nil:
		return Classify(op, os.NewSyscallError(op, ferr))
	case done:
		return Errorf(CodeCancelled, "%s() interrupted after %s: the socket was closed", op, waited)
	case cancelled:
		return Errorf(CodeCancelled, "%s() cancelled after %s", op, waited)
	case errors.Is(werr, os.ErrDeadlineExceeded):
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s() timed out after %s, the socket's timeout (Python raises TimeoutError: timed out)", op, waited), Err: werr}
	}
	return Classify(op, werr)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func unspecified(family string) netip.Addr {
	if family == "ip6" {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// pollableDup returns a non-blocking duplicate of ln's socket as an
// *os.File, which the runtime's poller can wait on.
func pollableDup(ln interface {
	SyscallConn() (syscall.RawConn, error)
}) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		if nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); derr == nil {
			derr = unix.SetNonblock(nfd, true)
		}
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		if nfd >= 0 {
			unix.Close(nfd)
		}
		return nil, os.NewSyscallError("dup", derr)
	}
	return os.NewFile(uintptr(nfd), "socket"), nil
}

// autobind binds an unbound step-mode UDP socket before its first sendto,
// as the kernel would, but through the policy: to a port it hands out
// (hosted mode: a pool port on loopback).
func (s *Session) autobind(sk *Socket) *Error {
	sk.mu.Lock()
	bound, family := sk.local.IsValid(), sk.family
	sk.mu.Unlock()
	if bound {
		return nil
	}
	addr, err := s.reserve(policy.Action{Op: policy.OpBind, Addr: netip.AddrPortFrom(unspecified(family), 0)})
	if err != nil {
		// Hosted mode binds only to loopback.
		lo := netip.AddrPortFrom(netip.IPv6Loopback(), 0)
		if family != "ip6" {
			lo = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
		}
		if addr, err = s.reserve(policy.Action{Op: policy.OpBind, Addr: lo}); err != nil {
			return err
		}
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	berr := s.sysLocked(sk, func(fd int) error { return unix.Bind(fd, sockaddr(addr)) }, "bind")
	if berr == nil {
		sk.local, berr = s.namesLocked(sk, false)
	}
	if berr != nil {
		s.release(addr.Port())
		return Classify("sendto: binding first", berr)
	}
	sk.held = addr.Port()
	s.log.Append(sk.stateEvent(StateBound, "bound to a free port for its first sendto, as the kernel does"))
	return nil
}

// stepReceived accounts for bytes a step-mode recv returned; once the
// session's byte quota is used up, the socket reads nothing more.
func (s *Session) stepReceived(sk *Socket, op string, from netip.AddrPort, n int) {
	if !s.received(sk.ctx, sk, op, from, n) {
		sk.mu.Lock()
		sk.drained = true
		sk.mu.Unlock()
	}
}

// drainedErr refuses a read on a socket the byte quota stopped.
func (s *Session) drainedErr(sk *Socket) *Error {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.drained {
		return Errorf(CodePolicy, "refused by the server's policy: this session has received all the bytes it may; this socket reads nothing more")
	}
	return nil
}
