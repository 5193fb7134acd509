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
	if err := a.Knobs.engine().Validate(); err != nil {
		failed(Errorf(CodeBadField, "%s", knobMessage(err)))
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
	taddr := netip.AddrPortFrom(target[0], uint16(a.TargetPort))
	listenOp, sendOp := policy.OpListen, policy.OpConnect
	if a.Proto == "udp" {
		listenOp, sendOp = policy.OpBind, policy.OpSendTo
	}
	if err := s.check(listenOp, laddr, 0); err != nil {
		failed(err)
		return
	}
	if err := s.check(sendOp, taddr, 0); err != nil {
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
			if e := s.check(sendOp, ap, 0); e != nil {
				return e
			}
			return nil
		},
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
	sk.proxy = p
	sk.local = addrPortOf(p.Addr())
	sk.remote = p.Target()
	k := a.Knobs
	s.log.Append(&Event{Type: TypeResult, Op: "proxy", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Local: sk.local.String(), Remote: sk.remote.String(), Knobs: &k})
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
	if ev.Err != nil {
		ce := Classify("", ev.Err)
		var d *Error
		if errors.As(ev.Err, &d) {
			ce = d
		}
		e.Code, e.Errno, e.Message = ce.Code, ce.Errno, relayMessage(ev.Err)
	}
	if ev.Kind == badnet.KindChunk {
		s.log.WaitRoom(sk.ctx)
	}
	s.log.Append(e)
}

// ProxySet replaces every knob of proxy sock.
func (s *Session) ProxySet(req Req, sock int, k Knobs) {
	s.log.Append(&Event{Type: TypeCall, Op: "proxy_set", Sock: sock, ID: req.ID, Origin: req.Origin, Knobs: &k})
	p, err := s.proxyOf(sock)
	if err != nil {
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
	p, err := s.proxyOf(sock)
	if err != nil {
		s.fail(req, "proxy_reset", sock, err)
		return
	}
	n := p.Reset()
	s.log.Append(&Event{Type: TypeResult, Op: "proxy_reset", Sock: sock, ID: req.ID, Origin: req.Origin, Conns: n})
}

func (s *Session) proxyOf(sock int) (*badnet.Proxy, *Error) {
	sk, err := s.lookup(sock)
	if err != nil {
		return nil, err
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.proxy == nil {
		if sk.kind == KindTCPProxy || sk.kind == KindUDPProxy {
			return nil, Errorf(CodeBadState, "proxy %d is not running yet", sock)
		}
		return nil, Errorf(CodeBadState, "socket %d is a %s, not a proxy", sock, sk.kind)
	}
	return sk.proxy, nil
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
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return Classify("", err).Message
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}
