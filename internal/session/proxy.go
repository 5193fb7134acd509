package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/services/badnet"
)

// Knobs are a bad-network proxy's settings as the protocol spells them
// (docs/protocol.md): whole milliseconds, bytes, and shares from 0 to 1.
// The zero value is a proxy that only forwards.
type Knobs struct {
	LatencyMS  int     `json:"latency_ms,omitempty"`   // added to every chunk, each way
	JitterMS   int     `json:"jitter_ms,omitempty"`    // each delay is latency ± up to this
	Bandwidth  int     `json:"bandwidth,omitempty"`    // bytes per second each way; 0 = unlimited
	Split      int     `json:"split,omitempty"`        // TCP: forward in pieces of at most this many bytes
	SplitGapMS int     `json:"split_gap_ms,omitempty"` // TCP: the least gap between pieces; 0 = 1 ms
	CoalesceMS int     `json:"coalesce_ms,omitempty"`  // TCP: merge what arrives within this quiet time
	Loss       float64 `json:"loss,omitempty"`         // UDP: the share of datagrams dropped
	Reorder    float64 `json:"reorder,omitempty"`      // UDP: the share held back behind the next one
}

// maxKnobMS bounds the millisecond knobs before they become durations.
const maxKnobMS = int(badnet.MaxDelay / time.Millisecond)

// check refuses knobs out of range, or for the other protocol, by name.
func (k Knobs) check(proto string) *Error {
	for _, ms := range []struct {
		name string
		v    int
	}{{"latency_ms", k.LatencyMS}, {"jitter_ms", k.JitterMS}, {"split_gap_ms", k.SplitGapMS}, {"coalesce_ms", k.CoalesceMS}} {
		if ms.v < 0 || ms.v > maxKnobMS {
			return Errorf(CodeBadField, "knob %s must be from 0 to %d (ms), not %d", ms.name, maxKnobMS, ms.v)
		}
	}
	if k.Bandwidth < 0 || k.Bandwidth > 1<<30 {
		return Errorf(CodeBadField, "knob bandwidth must be from 0 (unlimited) to %d bytes a second, not %d", 1<<30, k.Bandwidth)
	}
	if k.Split < 0 || k.Split > 1<<20 {
		return Errorf(CodeBadField, "knob split must be from 0 (off) to %d bytes, not %d", 1<<20, k.Split)
	}
	if proto == "udp" && (k.Split != 0 || k.SplitGapMS != 0 || k.CoalesceMS != 0) {
		return Errorf(CodeBadField, "knobs split, split_gap_ms and coalesce_ms are for TCP proxies: a UDP proxy forwards whole datagrams")
	}
	if proto == "tcp" && (k.Loss != 0 || k.Reorder != 0) {
		return Errorf(CodeBadField, "knobs loss and reorder are for UDP proxies: TCP delivers every byte, in order")
	}
	if err := k.engine().Validate(); err != nil {
		return Errorf(CodeBadField, "%s", knobMessage(err))
	}
	return nil
}

// pickFamily is the first address of the family asked for, or the first.
func pickFamily(addrs []netip.Addr, v4 bool) netip.Addr {
	for _, a := range addrs {
		if a.Is4() == v4 {
			return a
		}
	}
	return addrs[0]
}

func (k Knobs) engine() badnet.Knobs {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	return badnet.Knobs{Latency: ms(k.LatencyMS), Jitter: ms(k.JitterMS), Bandwidth: k.Bandwidth, Split: k.Split,
		SplitGap: ms(k.SplitGapMS), Coalesce: ms(k.CoalesceMS), Loss: k.Loss, Reorder: k.Reorder}
}

// ProxyArgs says where a proxy listens and where it forwards.
type ProxyArgs struct {
	Proto      string // "tcp" or "udp"
	Host       string // where to listen
	Port       int    // 0 means an ephemeral port
	Family     string // "", "ip4" or "ip6", for both Host and TargetHost
	TargetHost string
	TargetPort int
	Knobs      Knobs
}

// Proxy starts a bad-network proxy: it listens on Host:Port and forwards
// to TargetHost:TargetPort, misbehaving as its knobs say. Every chunk it
// forwards, drops or holds is a relay event. The policy is asked for the
// listening address, and again for every connection and every datagram to
// the target. It returns the proxy's socket id, or 0 if none was created.
func (s *Session) Proxy(req Req, a ProxyArgs) int {
	kind := KindTCPProxy
	if a.Proto == "udp" {
		kind = KindUDPProxy
	}
	k := a.Knobs
	call := &Event{Type: TypeCall, Op: "proxy", ID: req.ID, Origin: req.Origin, Proto: a.Proto, Host: a.Host, Port: a.Port,
		Family: a.Family, Target: hostPort(a.TargetHost, a.TargetPort), Knobs: &k}
	sk, err := s.newSocket(kind, 0)
	if err != nil {
		s.log.Append(call)
		s.fail(req, "proxy", 0, err)
		return 0
	}
	call.Sock = sk.id
	s.log.Append(call)
	if err := s.enqueue(sk, 0, func() { s.startProxy(req, sk, a) }); err != nil {
		s.fail(req, "proxy", sk.id, err)
		s.failSocket(sk, err.Message)
	}
	return sk.id
}

func (s *Session) startProxy(req Req, sk *Socket, a ProxyArgs) {
	failed := func(err *Error) {
		s.fail(req, "proxy", sk.id, err)
		s.failSocket(sk, err.Message)
	}
	if err := a.Knobs.check(a.Proto); err != nil {
		failed(err)
		return
	}
	listen, rerr := s.resolve(sk.ctx, a.Host, a.Family)
	if rerr != nil {
		failed(rerr)
		return
	}
	target, rerr := s.resolve(sk.ctx, a.TargetHost, a.Family)
	if rerr != nil {
		failed(rerr)
		return
	}
	laddr := netip.AddrPortFrom(listen[0], uint16(a.Port))
	taddr := netip.AddrPortFrom(pickFamily(target, listen[0].Is4()), uint16(a.TargetPort))
	if laddr.Addr().Is4() != taddr.Addr().Is4() {
		failed(Errorf(CodeBadField, "the proxy listens on %s but its target %s is in the other address family; give both IPv4 or both IPv6 addresses", laddr.Addr(), taddr.Addr()))
		return
	}
	listenOp, sendOp := policy.OpListen, policy.OpConnect
	if a.Proto == "udp" {
		listenOp, sendOp = policy.OpBind, policy.OpSendTo
	}
	laddr, perr := s.reserve(policy.Action{Op: listenOp, Addr: laddr, Host: nameOf(a.Host)})
	if perr != nil {
		failed(perr)
		return
	}
	sk.mu.Lock()
	if sk.doneLocked() { // closed meanwhile: it will not release the port
		sk.mu.Unlock()
		s.release(laddr.Port())
		s.fail(req, "proxy", sk.id, errClosedWhileWaiting("proxy"))
		return
	}
	sk.held = laddr.Port() // released when the socket ends, however it ends
	sk.mu.Unlock()
	if err := s.check(policy.Action{Op: sendOp, Addr: taddr, Host: nameOf(a.TargetHost)}); err != nil {
		failed(err)
		return
	}
	network := a.Proto + "4"
	if laddr.Addr().Is6() {
		network = a.Proto + "6"
	}
	var dialer net.Dialer
	p, err := badnet.Start(sk.ctx, badnet.Config{
		Network: network,
		Listen:  laddr.String(),
		Target:  taddr.String(),
		Knobs:   a.Knobs.engine(),
		Dial:    dialer.DialContext,
		Check: func(network, addr string) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return err
			}
			if e := s.check(policy.Action{Op: sendOp, Addr: ap, Host: nameOf(a.TargetHost)}); e != nil {
				return e
			}
			return nil
		},
		Admit:   s.admitProxied,
		Observe: func(ev badnet.Event) { s.relayed(sk, ev) },
	})
	if err != nil {
		failed(Classify("proxy on "+laddr.String()+" to "+taddr.String(), err))
		return
	}
	sk.mu.Lock()
	if sk.doneLocked() {
		sk.mu.Unlock()
		p.Close()
		s.fail(req, "proxy", sk.id, errClosedWhileWaiting("proxy"))
		return
	}
	if local := addrPortOf(p.Addr()); local.Port() == taddr.Port() && (local.Addr() == taddr.Addr() || local.Addr().IsUnspecified()) {
		sk.mu.Unlock()
		p.Close()
		failed(Errorf(CodeBadField, "a proxy cannot forward to its own address %s: every connection would come back to it", local))
		return
	}
	sk.proxy = p
	sk.local = addrPortOf(p.Addr())
	sk.remote = p.Target()
	k := a.Knobs
	s.log.Append(&Event{Type: TypeResult, Op: "proxy", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Local: sk.local.String(), Remote: sk.remote.String(), Knobs: &k})
	s.logger.Info("proxy", "sock", sk.id, "local", sk.local.String(), "target", sk.remote.String())
	s.log.Append(sk.stateEvent(StateProxying, ""))
	sk.mu.Unlock()
}

// relayed logs what the proxy did. A chunk waits for room in the event
// window first, so a client that reads slowly slows the proxy down too.
func (s *Session) relayed(sk *Socket, ev badnet.Event) {
	e := &Event{Type: TypeRelay, Sock: sk.id, Conn: ev.Conn, Relay: string(ev.Kind), Peer: ev.Client,
		Len: len(ev.Data), Data: ev.Data, Delay: ev.Delay.Microseconds()}
	switch ev.Dir {
	case badnet.ToTarget:
		e.Dir = "to-target"
	case badnet.ToClient:
		e.Dir = "to-client"
	}
	switch {
	case ev.Kind == badnet.KindError && ev.Err != nil:
		ce := Classify("", ev.Err) // keeps an *Error, such as a policy refusal, as it is
		e.Code, e.Errno, e.Message = ce.Code, ce.Errno, relayMessage(ev.Err)
	case ev.Err != nil:
		e.Message = relayMessage(ev.Err) // a drop is not an error: it says why
	}
	if e.Data != nil {
		// Bytes wait for room in the event window, like a socket's reads:
		// a client that reads slowly slows the proxy, never the memory.
		s.log.WaitRoom(sk.ctx)
	}
	s.log.Append(e)
	if ev.Kind == badnet.KindChunk && len(ev.Data) > 0 {
		// Forwarded bytes are the session's traffic too: paced to its byte
		// rate and counted against its quota, which, once used up, ends
		// the proxy (from another goroutine: Observe must not close it).
		if err := s.check(policy.Action{Op: policy.OpRecv, Bytes: len(ev.Data)}); err != nil {
			s.log.Append(&Event{Type: TypeError, Op: "proxy", Sock: sk.id, Auto: true, Code: err.Code,
				Message: err.Message + "; the proxy stops"})
			s.goroutine(func() { s.failSocket(sk, err.Message) })
			return
		}
		s.policy.Wait(sk.ctx, s.id, len(ev.Data))
	}
}

// ProxySet replaces every knob of proxy sock.
func (s *Session) ProxySet(req Req, sock int, k Knobs) {
	s.log.Append(&Event{Type: TypeCall, Op: "proxy_set", Sock: sock, ID: req.ID, Origin: req.Origin, Knobs: &k})
	p, kind, err := s.proxyOf(sock)
	if err != nil {
		s.fail(req, "proxy_set", sock, err)
		return
	}
	proto := "tcp"
	if kind == KindUDPProxy {
		proto = "udp"
	}
	if err := k.check(proto); err != nil {
		s.fail(req, "proxy_set", sock, err)
		return
	}
	if err := p.Set(k.engine()); err != nil {
		s.fail(req, "proxy_set", sock, Errorf(CodeBadField, "%s", knobMessage(err)))
		return
	}
	s.log.Append(&Event{Type: TypeResult, Op: "proxy_set", Sock: sock, ID: req.ID, Origin: req.Origin, Knobs: &k})
}

// ProxyReset resets every open TCP connection through proxy sock now.
func (s *Session) ProxyReset(req Req, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: "proxy_reset", Sock: sock, ID: req.ID, Origin: req.Origin})
	p, _, err := s.proxyOf(sock)
	if err != nil {
		s.fail(req, "proxy_reset", sock, err)
		return
	}
	n := p.Reset()
	s.log.Append(&Event{Type: TypeResult, Op: "proxy_reset", Sock: sock, ID: req.ID, Origin: req.Origin, Conns: n})
}

func (s *Session) proxyOf(sock int) (*badnet.Proxy, string, *Error) {
	sk, err := s.lookup(sock)
	if err != nil {
		return nil, "", err
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.proxy == nil {
		if sk.kind == KindTCPProxy || sk.kind == KindUDPProxy {
			return nil, "", Errorf(CodeBadState, "proxy %d is not running yet", sock)
		}
		return nil, "", Errorf(CodeBadState, "socket %d is a %s, not a proxy", sock, sk.kind)
	}
	return sk.proxy, sk.kind, nil
}

// knobMessage is a knob validation error without the engine's package prefix.
func knobMessage(err error) string {
	return "bad knobs: " + strings.ReplaceAll(strings.ReplaceAll(err.Error(), "badnet: ", ""), "\n", "; ")
}

func relayMessage(err error) string {
	switch {
	case errors.Is(err, badnet.ErrLost):
		return "dropped: the loss knob chose this datagram"
	case errors.Is(err, badnet.ErrQueueFull):
		return "dropped: the proxy's queue is full"
	case errors.Is(err, badnet.ErrTooManyClients):
		return fmt.Sprintf("dropped: %d client addresses already use this proxy", badnet.MaxUDPClients)
	case errors.Is(err, badnet.ErrTooManyConns):
		return fmt.Sprintf("reset: %d connections already go through this proxy", badnet.MaxTCPConns)
	}
	return Classify("", err).Message
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}
