package badnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DialTimeout bounds connecting to the target, for each TCP connection
	// and each new UDP mapping.
	DialTimeout = 10 * time.Second
	// DefaultUDPIdle is how long a UDP mapping lives without a datagram in
	// either direction, when Config.UDPIdle is zero.
	DefaultUDPIdle = 60 * time.Second
	// MaxUDPClients is how many UDP client addresses may have a mapping at
	// once; datagrams from more are dropped with ErrTooManyClients.
	MaxUDPClients = 256
	// MaxTCPConns is how many TCP connections may go through a proxy at
	// once; a client beyond them is reset with ErrTooManyConns. It also
	// bounds a proxy aimed at itself, or two aimed at each other.
	MaxTCPConns = 64
	// acceptRetry is the pause after a failed accept (out of file
	// descriptors, say), so that a lasting error does not spin.
	acceptRetry = 100 * time.Millisecond
)

// Config says what a Proxy listens on, where it forwards, and whom it tells.
type Config struct {
	// Network is "tcp" or "udp" (or "tcp4", "tcp6", "udp4", "udp6" to pin
	// the address family). Required.
	Network string
	// Listen is the address to listen on. Empty means "127.0.0.1:0" (or
	// "[::1]:0" for tcp6 and udp6): a free port on loopback. Do not listen
	// on a public address in hosted mode: the proxy forwards for anyone who
	// reaches it.
	Listen string
	// Target is the host:port to forward to. Required. A name is resolved
	// once, at Start; the proxy checks and dials that address ever after.
	Target string
	// Knobs are the starting knobs; the zero value misbehaves in no way.
	Knobs Knobs
	// Seed seeds the PRNG that draws jitter, loss and reorder, so a test or
	// a lesson can repeat a run exactly (each direction of each connection
	// draws from its own stream). Zero means a random seed.
	Seed uint64
	// UDPIdle is how long a UDP mapping (client address -> upstream socket)
	// lives without a datagram in either direction. Zero means
	// DefaultUDPIdle (60 s).
	UDPIdle time.Duration
	// Dial connects to the target: for TCP once per accepted connection, for
	// UDP once per client address (the connected socket that NAT-like
	// mapping uses). Pass the session's policy-checked dialer. It is given
	// the resolved target address. Nil means a net.Dialer. If it fails, a
	// TCP client is reset (not closed: a clean EOF would look like a server
	// that said nothing) and an "error" event carries the error, so
	// errors.Is(ev.Err, syscall.ECONNREFUSED) still works; a UDP datagram
	// is dropped with the error. A conn without CloseWrite cannot pass on a
	// half-close, so it is closed instead; one without SetLinger is closed
	// rather than reset.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Check is asked before every TCP connection and every UDP datagram to
	// the target, with Network and the resolved target address, so a policy
	// that changes applies at once. A non-nil error refuses: the TCP client
	// is reset with an "error" event, the datagram dropped with a "drop"
	// event, each carrying the error. Nil allows everything.
	Check func(network, addr string) error
	// Admit, if set, is asked before a new TCP connection or UDP client
	// mapping opens, and returns a function to call once it has ended, so
	// an owner can count them against its own limits. An error refuses it
	// the way Check's does (the TCP client reset, the datagram dropped).
	Admit func() (done func(), err error)
	// Observe is told every event. Calls are never concurrent: each returns
	// before the next begins, so one connection's events arrive in order and
	// its "close", "reset" or "error" comes last. Observe runs on the
	// proxy's forwarding goroutines and must return quickly (copy the event
	// into a queue): a slow Observe slows the traffic. It must not call
	// Close. Nil discards events.
	Observe func(Event)
}

// Proxy forwards between clients and a target, misbehaving as its Knobs say.
type Proxy struct {
	cfg     Config
	udp     bool           // the network is UDP
	target  netip.AddrPort // resolved at Start
	tstr    string         // target.String()
	seed    uint64
	idle    time.Duration // UDP mapping lifetime without traffic
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	knobs   atomic.Pointer[Knobs]
	ctx     context.Context // cancelled on shutdown; parent of every dial
	cancel  context.CancelFunc
	ln      net.Listener // TCP
	pc      *net.UDPConn // UDP
	obsMu   sync.Mutex   // serialises Observe
	wg      sync.WaitGroup
	unwatch func() bool   // stops the AfterFunc watching Start's ctx
	watched chan struct{} // closed when that AfterFunc has finished
	closing sync.Once     // Close's waiting part

	mu     sync.Mutex // guards the fields below
	closed bool
	nextID int
	conns  map[int]*tcpConn           // open TCP connections
	maps   map[netip.AddrPort]*udpMap // UDP mappings by client address
}

// Start listens and starts forwarding. It resolves Target now. When ctx is
// done the proxy stops as if Close were called; call Close anyway, to wait
// for it.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	p := &Proxy{cfg: cfg, seed: cfg.Seed, idle: cfg.UDPIdle, dial: cfg.Dial,
		conns: make(map[int]*tcpConn), maps: make(map[netip.AddrPort]*udpMap)}
	listen := cfg.Listen
	switch cfg.Network {
	case "tcp", "tcp4", "udp", "udp4":
		if listen == "" {
			listen = "127.0.0.1:0"
		}
	case "tcp6", "udp6":
		if listen == "" {
			listen = "[::1]:0"
		}
	default:
		return nil, fmt.Errorf("badnet: network must be tcp or udp (got %q)", cfg.Network)
	}
	p.udp = cfg.Network[:3] == "udp"
	if cfg.Target == "" {
		return nil, errors.New("badnet: no target to forward to")
	}
	if err := cfg.Knobs.Validate(); err != nil {
		return nil, err
	}
	if cfg.UDPIdle < 0 {
		return nil, fmt.Errorf("badnet: UDP idle time must not be negative (got %v)", cfg.UDPIdle)
	}
	if p.idle == 0 {
		p.idle = DefaultUDPIdle
	}
	if p.seed == 0 {
		p.seed = randSeed()
	}
	if p.dial == nil {
		var d net.Dialer
		p.dial = d.DialContext
	}
	k := cfg.Knobs
	p.knobs.Store(&k)
	target, err := resolve(ctx, cfg.Network, cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("badnet: target %s: %w", cfg.Target, err)
	}
	p.target, p.tstr = target, target.String()

	var lc net.ListenConfig
	if p.udp {
		pc, err := lc.ListenPacket(ctx, cfg.Network, listen)
		if err != nil {
			return nil, fmt.Errorf("badnet: listen %s: %w", listen, err)
		}
		p.pc = pc.(*net.UDPConn)
	} else {
		ln, err := lc.Listen(ctx, cfg.Network, listen)
		if err != nil {
			return nil, fmt.Errorf("badnet: listen %s: %w", listen, err)
		}
		p.ln = ln
	}
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.watched = make(chan struct{})
	p.unwatch = context.AfterFunc(ctx, func() {
		defer close(p.watched)
		p.shutdown()
	})
	p.wg.Add(1)
	if p.udp {
		go p.serveUDP()
	} else {
		go p.serveTCP()
	}
	return p, nil
}

// resolve turns host:port into one address of the network's family.
func resolve(ctx context.Context, network, hostport string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	pn, err := net.DefaultResolver.LookupPort(ctx, network, port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ipnet := "ip"
	switch network[len(network)-1] {
	case '4':
		ipnet = "ip4"
	case '6':
		ipnet = "ip6"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, ipnet, host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no %s address for %s", ipnet, host)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(pn)), nil
}

// Addr is the address the proxy listens on: give it to the client.
func (p *Proxy) Addr() net.Addr {
	if p.udp {
		return p.pc.LocalAddr()
	}
	return p.ln.Addr()
}

// Target is the resolved address the proxy forwards to.
func (p *Proxy) Target() netip.AddrPort { return p.target }

// Knobs returns the knobs in force.
func (p *Proxy) Knobs() Knobs { return *p.knobs.Load() }

// Set changes the knobs, on open connections too. Latency, Jitter and
// Coalesce are fixed for a chunk when the proxy schedules it, once the chunk
// before it has gone: a chunk already waiting keeps its time (a stream is
// never reordered), the chunks behind it get the new knobs. Split, SplitGap
// and Bandwidth apply to every write from now on, including bytes already
// held. Loss and Reorder apply to datagrams arriving from now on. Invalid
// knobs change nothing and return the error of Validate.
func (p *Proxy) Set(k Knobs) error {
	if err := k.Validate(); err != nil {
		return err
	}
	p.knobs.Store(&k)
	return nil
}

// Reset resets every open TCP connection now, at both ends: the client and
// the target each get a RST (their next read fails with ECONNRESET), and
// whatever the proxy still held is discarded. It returns how many
// connections it reset. UDP has no connections to reset: it returns 0.
func (p *Proxy) Reset() int {
	n := 0
	for _, c := range p.openConns() {
		if c.end(c.event(KindReset, 0), true) {
			n++
		}
	}
	return n
}

// ResetConn resets the TCP connection numbered id (Event.Conn) as Reset
// does, and reports whether it was open.
func (p *Proxy) ResetConn(id int) bool {
	p.mu.Lock()
	c := p.conns[id]
	p.mu.Unlock()
	return c != nil && c.end(c.event(KindReset, 0), true)
}

// Close stops listening, closes every connection and mapping (a normal
// close, not a reset; held data is discarded) and waits for every goroutine
// the proxy started. It always returns nil; calling it again does nothing.
func (p *Proxy) Close() error {
	p.shutdown()
	p.closing.Do(func() {
		if !p.unwatch() {
			<-p.watched // Start's ctx ended: its AfterFunc runs shutdown too
		}
	})
	p.wg.Wait()
	return nil
}

// shutdown stops listening and ends every connection and mapping without
// waiting. It may run twice (from Close and from Start's ctx).
func (p *Proxy) shutdown() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	conns := make([]*tcpConn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	maps := make([]*udpMap, 0, len(p.maps))
	for _, m := range p.maps {
		maps = append(maps, m)
	}
	p.mu.Unlock()
	p.cancel()
	if p.udp {
		p.pc.Close()
	} else {
		p.ln.Close()
	}
	for _, c := range conns {
		c.end(c.event(KindClose, 0), false)
	}
	for _, m := range maps {
		m.stop()
	}
}

func (p *Proxy) openConns() []*tcpConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := make([]*tcpConn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	return conns
}

// check asks Config.Check about the target.
func (p *Proxy) check() error {
	if p.cfg.Check == nil {
		return nil
	}
	return p.cfg.Check(p.cfg.Network, p.tstr)
}

// emit tells Observe about ev, one event at a time.
func (p *Proxy) emit(ev Event) {
	if p.cfg.Observe == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	p.obsMu.Lock()
	defer p.obsMu.Unlock()
	p.cfg.Observe(ev)
}

// admit asks Config.Admit about a new connection or mapping.
func (p *Proxy) admit() (func(), error) {
	if p.cfg.Admit == nil {
		return func() {}, nil
	}
	return p.cfg.Admit()
}
