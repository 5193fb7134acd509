package session

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/socketplayground/playground/internal/policy"
)

// ConnectArgs are the arguments of Connect.
type ConnectArgs struct {
	Host    string
	Port    int
	Family  string        // "", "ip4" or "ip6"
	Timeout time.Duration // zero means Limits.ConnectTimeout
	TLS     *TLSArgs      // non-nil: a TLS handshake after the connect (protocol.md §16.4)
}

// Connect opens a TCP connection to Host:Port. Host may be a name; every
// address it resolves to is tried in turn, each checked by the policy at
// dial time, until one answers or the timeout passes. It returns the new
// socket's id, or 0 if none was created.
func (s *Session) Connect(req Req, a ConnectArgs) int {
	if a.Timeout <= 0 {
		a.Timeout = s.limits.ConnectTimeout
	}
	call := &Event{Type: TypeCall, Op: "connect", ID: req.ID, Origin: req.Origin,
		Host: a.Host, Port: a.Port, Family: a.Family, Timeout: int(a.Timeout / time.Millisecond), TLS: a.TLS.call()}
	sk, err := s.newSocket(KindTCP, 0)
	if err != nil {
		s.log.Append(call)
		s.fail(req, "connect", 0, err)
		return 0
	}
	call.Sock = sk.id
	s.log.Append(call)
	if err := s.enqueue(sk, 0, func() { s.connect(req, sk, a) }); err != nil {
		s.fail(req, "connect", sk.id, err)
		s.failSocket(sk, err.Message)
	}
	return sk.id
}

func (s *Session) connect(req Req, sk *Socket, a ConnectArgs) {
	ctx, cancel := context.WithTimeout(sk.ctx, a.Timeout)
	defer cancel()
	failed := func(err *Error) {
		s.fail(req, "connect", sk.id, err)
		s.failSocket(sk, err.Message)
	}
	addrs, rerr := s.resolve(ctx, a.Host, a.Family)
	if rerr != nil {
		failed(rerr)
		return
	}
	var last *Error
	for _, ip := range addrs {
		target := netip.AddrPortFrom(ip, uint16(a.Port))
		sk.mu.Lock()
		if sk.doneLocked() {
			sk.mu.Unlock()
			s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
			return
		}
		sk.remote = target
		e := sk.stateEvent(StateConnecting, "")
		if a.Host != ip.String() {
			e.Addrs = addrStrings(addrs)
		}
		e.Addr = target.String()
		s.log.Append(e)
		sk.mu.Unlock()

		d := net.Dialer{ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if perr := s.check(policy.Action{Op: policy.OpConnect, Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), Host: nameOf(a.Host)}); perr != nil {
				return perr
			}
			return nil
		}}
		c, err := d.DialContext(ctx, tcpNetwork(ip), target.String())
		if err != nil {
			last = Classify("connect "+target.String(), err)
			if ctx.Err() != nil || last.Code == CodePolicy {
				break
			}
			continue
		}
		tc := c.(*net.TCPConn)
		sk.mu.Lock()
		if sk.doneLocked() { // closed while dialing
			sk.mu.Unlock()
			tc.Close()
			s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
			return
		}
		sk.tcp = tc
		sk.local, sk.remote = addrPortOf(tc.LocalAddr()), addrPortOf(tc.RemoteAddr())
		if a.TLS != nil {
			s.log.Append(sk.stateEvent(StateHandshaking, ""))
			sk.mu.Unlock()
			s.handshake(ctx, req, sk, tc, target, a.Host, a.TLS)
			return
		}
		s.log.Append(&Event{Type: TypeResult, Op: "connect", Sock: sk.id, ID: req.ID, Origin: req.Origin,
			Addr: target.String(), Local: sk.local.String(), Remote: sk.remote.String()})
		s.logger.Info("connected", "sock", sk.id, "local", sk.local.String(), "remote", sk.remote.String())
		s.log.Append(sk.stateEvent(StateEstablished, ""))
		sk.mu.Unlock()
		s.runLive(sk, s.readStream)
		return
	}
	if sk.isDone() {
		// Closed by the person while connecting: that close is the story.
		s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
		return
	}
	failed(last)
}

func tcpNetwork(ip netip.Addr) string {
	if ip.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

// ListenArgs are the arguments of Listen and Bind.
type ListenArgs struct {
	Host   string // an address ("0.0.0.0" or "::" for every address) or a name
	Port   int    // 0 means an ephemeral port
	Family string // "", "ip4" or "ip6"
}

// Listen opens a TCP listener on Host:Port. In live mode it accepts every
// connection by itself; each becomes a socket of its own. It returns the
// listener's socket id, or 0 if none was created.
func (s *Session) Listen(req Req, a ListenArgs) int {
	return s.open(req, "listen", KindTCPListener, a, func(sk *Socket, addr netip.AddrPort) *Error {
		lc := net.ListenConfig{}
		ln, err := lc.Listen(sk.ctx, tcpNetwork(addr.Addr()), addr.String())
		if err != nil {
			return Classify("listen on "+addr.String(), err)
		}
		sk.ln = ln.(*net.TCPListener)
		sk.local = addrPortOf(ln.Addr())
		return nil
	}, StateListening, func(sk *Socket) { s.acceptLoop(sk) })
}

// open is the shared shape of Listen and Bind: resolve, ask the policy,
// create the kernel socket with mk, log, and start the socket's reader.
func (s *Session) open(req Req, op, kind string, a ListenArgs, mk func(*Socket, netip.AddrPort) *Error, state string, run func(*Socket)) int {
	call := &Event{Type: TypeCall, Op: op, ID: req.ID, Origin: req.Origin, Host: a.Host, Port: a.Port, Family: a.Family}
	sk, err := s.newSocket(kind, 0)
	if err != nil {
		s.log.Append(call)
		s.fail(req, op, 0, err)
		return 0
	}
	call.Sock = sk.id
	s.log.Append(call)
	if err := s.enqueue(sk, 0, func() {
		failed := func(err *Error) {
			s.fail(req, op, sk.id, err)
			s.failSocket(sk, err.Message)
		}
		addrs, rerr := s.resolve(sk.ctx, a.Host, a.Family)
		if rerr != nil {
			failed(rerr)
			return
		}
		want := netip.AddrPortFrom(addrs[0], uint16(a.Port))
		var addr netip.AddrPort
		for attempt := 1; ; attempt++ {
			var err *Error
			addr, err = s.reserve(policy.Action{Op: policy.Op(op), Addr: want, Host: nameOf(a.Host)})
			if err != nil {
				failed(err)
				return
			}
			sk.mu.Lock()
			if sk.doneLocked() {
				sk.mu.Unlock()
				s.release(addr.Port())
				s.fail(req, op, sk.id, errClosedWhileWaiting(op))
				return
			}
			err = mk(sk, addr)
			if err == nil {
				sk.held = addr.Port()
				break
			}
			sk.mu.Unlock()
			s.release(addr.Port())
			// A port the pool chose may be taken by another program: take
			// the next one.
			if err.Code == CodeAddrInUse && want.Port() == 0 && addr.Port() != 0 && attempt < 5 {
				continue
			}
			failed(err)
			return
		}
		s.log.Append(&Event{Type: TypeResult, Op: op, Sock: sk.id, ID: req.ID, Origin: req.Origin,
			Addr: addr.String(), Local: sk.local.String()})
		s.logger.Info(op, "sock", sk.id, "local", sk.local.String())
		s.log.Append(sk.stateEvent(state, ""))
		sk.mu.Unlock()
		s.runLive(sk, run)
	}); err != nil {
		s.fail(req, op, sk.id, err)
		s.failSocket(sk, err.Message)
	}
	return sk.id
}

// acceptLoop is live mode's accept(): every connection becomes a socket.
func (s *Session) acceptLoop(ln *Socket) {
	for {
		if s.log.WaitRoom(ln.live) != nil {
			return
		}
		c, err := ln.ln.AcceptTCP()
		if err != nil {
			if ln.live.Err() != nil || ln.isDone() || quiet(err) {
				if c != nil {
					c.Close()
				}
				return
			}
			e := Classify("accept on "+ln.local.String(), err)
			s.log.Append(&Event{Type: TypeError, Op: "accept", Sock: ln.id, Auto: true, Code: e.Code, Errno: e.Errno, Message: e.Message})
			// Out of descriptors and the like: back off rather than spin.
			select {
			case <-ln.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		remote := addrPortOf(c.RemoteAddr())
		refuse := func(e *Error) {
			c.SetLinger(0)
			c.Close()
			s.log.Append(&Event{Type: TypeError, Op: "accept", Sock: ln.id, Auto: true, Remote: remote.String(),
				Code: e.Code, Errno: e.Errno, Message: e.Message + " (the connection from " + remote.String() + " was reset)"})
		}
		if perr := s.check(policy.Action{Op: policy.OpAccept, Addr: remote}); perr != nil {
			refuse(perr)
			continue
		}
		sk, nerr := s.newSocket(KindTCP, ln.id)
		if nerr != nil {
			refuse(nerr)
			continue
		}
		sk.mu.Lock()
		sk.tcp = c
		sk.local, sk.remote = addrPortOf(c.LocalAddr()), remote
		s.log.Append(&Event{Type: TypeResult, Op: "accept", Sock: ln.id, Auto: true, Child: sk.id,
			Local: sk.local.String(), Remote: sk.remote.String()})
		s.logger.Info("accepted", "sock", sk.id, "local", sk.local.String(), "remote", sk.remote.String())
		s.log.Append(sk.stateEvent(StateEstablished, ""))
		sk.mu.Unlock()
		if !s.runLive(sk, s.readStream) {
			c.Close()
			return
		}
	}
}

// readStream is live mode's recv(): it reads whatever arrives and logs it,
// pausing while the owner's window is full so TCP pushes back on the peer.
func (s *Session) readStream(sk *Socket) {
	sk.mu.Lock()
	remote, tc := sk.remote, sk.tls
	sk.mu.Unlock()
	for {
		if s.log.WaitRoom(sk.live) != nil {
			return
		}
		var (
			data []byte
			err  error
		)
		if tc != nil {
			data, err = readTLS(tc)
		} else {
			data, err = readStream(sk.tcp)
		}
		if len(data) > 0 {
			e := &Event{Type: TypeData, Op: "recv", Sock: sk.id, Auto: true, Len: len(data), Data: data}
			// Nothing is logged of a socket after its end: a read that
			// returns as the socket is closed is a read of a closed socket.
			sk.mu.Lock()
			done := sk.doneLocked()
			if !done {
				s.log.Append(e)
			}
			sk.mu.Unlock()
			if done {
				return
			}
			s.heard(sk, e)
			if !s.received(sk.live, sk, "recv", remote, len(data)) {
				return
			}
		}
		if err == nil {
			continue
		}
		if sk.live.Err() != nil {
			return // switched to step mode, or closed
		}
		if errors.Is(err, io.EOF) {
			s.peerEOF(sk)
			return
		}
		if sk.isDone() || quiet(err) {
			return
		}
		e := Classify("recv", err)
		s.log.Append(&Event{Type: TypeError, Op: "recv", Sock: sk.id, Auto: true, Code: e.Code, Errno: e.Errno, Message: e.Message})
		s.failSocket(sk, e.Message)
		return
	}
}

// peerEOF records recv() returning 0: the peer will send nothing more.
func (s *Session) peerEOF(sk *Socket) {
	sk.mu.Lock()
	if sk.doneLocked() || sk.rdShut {
		sk.mu.Unlock()
		return
	}
	sk.rdShut = true
	e := sk.stateEvent(StateHalfClosed, "the peer finished sending (recv returned 0 bytes)")
	e.Half = "read"
	s.log.Append(e)
	both := sk.wrShut && !sk.step
	sk.mu.Unlock()
	if both {
		s.closeSocket(sk, Req{}, "both directions are finished", true)
	}
}

// Send writes data to a connected TCP socket. The "sent" event that answers
// it reports how many bytes the kernel took, and carries them.
func (s *Session) Send(req Req, sock int, data []byte) {
	s.log.Append(&Event{Type: TypeCall, Op: "send", Sock: sock, ID: req.ID, Origin: req.Origin, Len: len(data)})
	s.queueSend(req, "send", sock, Literal(data), s.sendOn(req))
}

func (s *Session) send(req Req, sk *Socket, data []byte) {
	// Free the queue room before the answer is logged, so a client that
	// sends again on seeing "sent" finds the room there.
	dequeue := sync.OnceFunc(func() { sk.dequeued(len(data)) })
	defer dequeue()
	sk.mu.Lock()
	c, tc, wrShut, state, remote := sk.tcp, sk.tls, sk.wrShut, sk.state, sk.remote
	sk.mu.Unlock()
	switch {
	case state == StateClosed || state == StateFailed:
		s.fail(req, "send", sk.id, Errorf(CodeCancelled, "send cancelled: socket %d was closed before its turn came", sk.id))
		return
	case c == nil:
		s.fail(req, "send", sk.id, Errorf(CodeBadState, "socket %d is not connected", sk.id))
		return
	case wrShut:
		s.fail(req, "send", sk.id, &Error{Code: CodeBrokenPipe, Errno: "EPIPE",
			Message: "broken pipe: you shut down writing on this socket, so nothing more can be sent"})
		return
	}
	if err := s.check(policy.Action{Op: policy.OpSend, Addr: remote, Bytes: len(data)}); err != nil {
		s.fail(req, "send", sk.id, err)
		return
	}
	if err := s.policy.Wait(sk.ctx, s.id, len(data)); err != nil {
		s.fail(req, "send", sk.id, Errorf(CodeCancelled, "send cancelled: socket %d was closed while it waited for the session's byte rate", sk.id))
		return
	}
	var (
		n   int
		err error
	)
	if tc != nil {
		n, err = tc.Write(data)
	} else {
		n, err = c.Write(data)
	}
	dequeue()
	if n > 0 || err == nil {
		s.log.Append(&Event{Type: TypeSent, Op: "send", Sock: sk.id, ID: req.ID, Origin: req.Origin, Repeat: req.iter, Len: n, Data: data[:n]})
	}
	if err != nil {
		if sk.isDone() {
			s.fail(req, "send", sk.id, Errorf(CodeCancelled, "send interrupted: the socket was closed after %d of %d bytes", n, len(data)))
			return
		}
		e := Classify("send", err)
		if n > 0 {
			e.Message += " (" + strconv.Itoa(n) + " of " + strconv.Itoa(len(data)) + " bytes were sent)"
		}
		s.fail(req, "send", sk.id, e)
		if e.Code == CodeReset || e.Code == CodeBrokenPipe {
			s.failSocket(sk, e.Message)
		}
	}
}

// Shutdown shuts down the read side, the write side ("write": sends FIN) or
// both of a TCP connection, after every send queued before it.
func (s *Session) Shutdown(req Req, sock int, how string) {
	s.log.Append(&Event{Type: TypeCall, Op: "shutdown", Sock: sock, ID: req.ID, Origin: req.Origin, How: how})
	sk, err := s.lookup(sock)
	if err == nil && sk.kindNow() != KindTCP {
		err = Errorf(CodeBadState, "socket %d is a %s: shutdown needs a connected TCP socket", sock, sk.kindNow())
	}
	if err == nil {
		err = s.enqueue(sk, 0, func() {
			if sk.isStep() {
				s.stepShutdown(req, sk, how)
			} else {
				s.shutdown(req, sk, how)
			}
		})
	}
	if err != nil {
		s.fail(req, "shutdown", sock, err)
	}
}

func (s *Session) shutdown(req Req, sk *Socket, how string) {
	rd, wr := how == "read" || how == "both", how == "write" || how == "both"
	var err error
	if tc, shut := sk.tlsWriting(); wr && tc != nil && !shut {
		// TLS's close_notify first; it may wait for a peer that does not
		// read, so not under sk.mu.
		err = tc.CloseWrite()
	}
	sk.mu.Lock()
	if sk.doneLocked() || sk.tcp == nil {
		sk.mu.Unlock()
		s.fail(req, "shutdown", sk.id, Errorf(CodeBadState, "socket %d is not connected", sk.id))
		return
	}
	if wr && !sk.wrShut && err == nil {
		err = sk.tcp.CloseWrite()
	}
	if rd && !sk.rdShut && err == nil {
		err = sk.tcp.CloseRead()
	}
	if err != nil {
		sk.mu.Unlock()
		s.fail(req, "shutdown", sk.id, Classify("shutdown", err))
		return
	}
	s.log.Append(&Event{Type: TypeResult, Op: "shutdown", Sock: sk.id, ID: req.ID, Origin: req.Origin, How: how})
	for _, side := range []struct {
		name string
		on   bool
		shut *bool
		why  string
	}{
		{"write", wr, &sk.wrShut, "you shut down writing: the peer gets EOF after the bytes already sent"},
		{"read", rd, &sk.rdShut, "you shut down reading: nothing more will be received"},
	} {
		if side.on && !*side.shut {
			*side.shut = true
			e := sk.stateEvent(StateHalfClosed, side.why)
			e.Half = side.name
			s.log.Append(e)
		}
	}
	both := sk.rdShut && sk.wrShut && !sk.step
	sk.mu.Unlock()
	if both {
		s.closeSocket(sk, Req{}, "both directions are finished", true)
	}
}
