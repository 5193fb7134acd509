package session

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/socketplayground/playground/internal/metrics"
	"github.com/socketplayground/playground/internal/policy"
)

// Session is one person's workspace: the sockets they opened and the log of
// everything that happened to them. Its operations may be called from any
// goroutine; each returns at once and reports its outcome as events.
type Session struct {
	id       string
	limits   Limits
	policy   Policy
	resolver Resolver
	logger   *slog.Logger
	log      *Log
	metrics  *metrics.Metrics
	kern     *kernelWatch // samples the kernel's view of its TCP sockets
	resp     responders   // the responders' rules (respond.go)

	tlsRoots *x509.CertPool // trusted by TLS connects besides the system's roots; may be nil

	ctx    context.Context // cancelled by Close; parent of every socket's context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the session started

	mu      sync.Mutex // guards sockets, nextID, proxied, closed
	sockets map[int]*Socket
	nextID  int
	proxied int // connections and UDP mappings open through the session's proxies
	closed  bool
}

// New starts an empty session. The caller must Close it.
func New(opts Options) *Session {
	s := &Session{
		id:       opts.ID,
		limits:   opts.Limits.WithDefaults(),
		policy:   opts.Policy,
		resolver: opts.Resolver,
		logger:   opts.Logger,
		metrics:  opts.Metrics,
		tlsRoots: opts.TLSRoots,
		sockets:  make(map[int]*Socket),
		nextID:   1,
	}
	if s.policy == nil {
		s.policy = policy.Local()
	}
	if s.resolver == nil {
		s.resolver = net.DefaultResolver
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("session", s.id)
	s.log = NewLog(s.limits.History, s.limits.Window)
	s.kern = newKernelWatch(s)
	s.log.observe = s.kern.observe
	if s.metrics != nil {
		c := newCounter(s.metrics)
		s.log.observe = func(e *Event) {
			c.event(e)
			s.kern.observe(e)
		}
		s.log.observed = c.closed
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// ID returns the session's id.
func (s *Session) ID() string { return s.id }

// Log returns the session's event log.
func (s *Session) Log() *Log { return s.log }

// Limits returns the limits the session runs with.
func (s *Session) Limits() Limits { return s.limits }

// Close closes every socket, waits for every goroutine the session started,
// then closes the log. It is safe to call more than once.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	socks := make([]*Socket, 0, len(s.sockets))
	for _, sk := range s.sockets {
		socks = append(socks, sk)
	}
	s.mu.Unlock()
	for _, sk := range socks {
		s.closeSocket(sk, Req{}, "session ended", true)
	}
	s.cancel()
	s.wg.Wait()
	s.kern.close()
	s.log.Close()
	s.policy.End(s.id)
}

// Reject records an invalid request: it never became a call.
func (s *Session) Reject(req Req, op string, sock int, err *Error) {
	s.logger.Debug("error event", "op", op, "sock", sock, "code", err.Code, "message", err.Message)
	s.log.Append(&Event{Type: TypeError, ID: req.ID, Origin: req.Origin, Op: op, Sock: sock,
		Code: err.Code, Errno: err.Errno, Message: err.Message})
}

// runLive runs live mode's loop f for sk in a goroutine the session waits
// for, and records when it returns, so a switch to step mode can wait for it.
func (s *Session) runLive(sk *Socket, f func(*Socket)) bool {
	done := make(chan struct{})
	sk.mu.Lock()
	sk.liveDone = done
	sk.mu.Unlock()
	if !s.goroutine(func() { defer close(done); f(sk) }) {
		close(done)
		return false
	}
	return true
}

// go runs f in a goroutine the session waits for, unless it is closing.
func (s *Session) goroutine(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// check asks the policy about a, and turns a refusal into an *Error.
func (s *Session) check(a policy.Action) *Error {
	a.Session = s.id
	err := s.policy.Check(a)
	if err == nil {
		return nil
	}
	return s.refused(err)
}

// refused turns a policy's refusal into an *Error, and counts it.
func (s *Session) refused(err error) *Error {
	var d *policy.Denied
	if errors.As(err, &d) {
		s.metrics.Refused(d.Rule)
		msg := "refused by the server's policy: " + d.Reason
		if d.RetryAfter > 0 {
			msg += fmt.Sprintf(" (try again in %.1f s)", d.RetryAfter.Seconds())
		}
		return &Error{Code: CodePolicy, Message: msg, Err: err}
	}
	s.metrics.Refused("other")
	return &Error{Code: CodePolicy, Message: err.Error(), Err: err}
}

// roomLocked reports whether the session may open one more socket: its own
// sockets and its proxies' connections count. s.mu must be held.
func (s *Session) roomLocked() *Error {
	open := s.proxied
	for _, sk := range s.sockets {
		if !sk.isDone() {
			open++
		}
	}
	if open >= s.limits.MaxSockets {
		return Errorf(CodeLimit, "too many sockets: this session may have %d open at once (its proxies' connections count); close one first", s.limits.MaxSockets)
	}
	return nil
}

// admitProxied counts one more connection (or UDP mapping) through one of
// the session's proxies against its socket limit, and returns the function
// that gives it back.
func (s *Session) admitProxied() (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, Errorf(CodeBadState, "the session is closing")
	}
	if err := s.roomLocked(); err != nil {
		return nil, err
	}
	s.proxied++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.proxied--
		s.mu.Unlock()
	}), nil
}

// newSocket registers a socket of kind, or reports that the session is at
// its socket limit.
func (s *Session) newSocket(kind string, parent int) (*Socket, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, Errorf(CodeBadState, "the session is closing")
	}
	if err := s.roomLocked(); err != nil {
		return nil, err
	}
	sk := &Socket{id: s.nextID, kind: kind, parent: parent}
	sk.ctx, sk.cancel = context.WithCancel(s.ctx)
	sk.live, sk.stopLive = context.WithCancel(sk.ctx)
	s.nextID++
	s.sockets[sk.id] = sk
	return sk, nil
}

// forget drops a finished socket from the table; its id stays known as
// "closed" because ids are never reused.
func (s *Session) forget(sk *Socket) {
	s.mu.Lock()
	delete(s.sockets, sk.id)
	s.mu.Unlock()
	s.forgetRules(sk)
	sk.mu.Lock()
	held := sk.held
	sk.held = 0
	sk.mu.Unlock()
	s.release(held)
}

// lookup finds an open socket by id.
func (s *Session) lookup(id int) (*Socket, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.sockets[id]; ok {
		return sk, nil
	}
	if id > 0 && id < s.nextID {
		return nil, Errorf(CodeBadState, "socket %d is closed", id)
	}
	return nil, Errorf(CodeUnknownSocket, "no socket with id %d in this session", id)
}

// fail records that the call op on sock failed with err.
func (s *Session) fail(req Req, op string, sock int, err *Error) {
	if req.rep != nil {
		req.rep.failed(err) // a repeat's send: the repeat answers (repeat.go)
		return
	}
	s.Reject(req, op, sock, err)
}

// resolve turns host into addresses of the wanted family ("", "ip4", "ip6").
func (s *Session) resolve(ctx context.Context, host, family string) ([]netip.Addr, *Error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if (family == "ip4" && !ip.Is4()) || (family == "ip6" && !ip.Is6()) {
			return nil, Errorf(CodeBadField, "%s is not an %s address", host, familyName(family))
		}
		return []netip.Addr{ip}, nil
	}
	if err := s.policy.CheckName(policy.Action{Session: s.id, Op: "resolve", Host: host}); err != nil {
		return nil, s.refused(err)
	}
	network := "ip"
	if family != "" {
		network = family
	}
	addrs, err := s.resolver.LookupNetIP(ctx, network, host)
	var addrErr *net.AddrError
	if errors.As(err, &addrErr) {
		// The name exists, but has no address of the wanted family.
		return nil, &Error{Code: CodeNameNotFound, Err: err,
			Message: fmt.Sprintf("name not found: %q has no %s address", host, familyName(family))}
	}
	if err != nil {
		return nil, Classify("resolve "+host, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	if len(addrs) == 0 {
		return nil, Errorf(CodeNameNotFound, "name not found: %q has no %s address", host, familyName(family))
	}
	return addrs, nil
}

func familyName(f string) string {
	switch f {
	case "ip4":
		return "IPv4"
	case "ip6":
		return "IPv6"
	}
	return "IP"
}

func addrStrings(addrs []netip.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// addrPortOf returns a net.Addr's IP and port in canonical form.
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// quiet reports whether err is how a socket we closed ourselves ends.
func quiet(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, io.ErrClosedPipe)
}

// reserve asks the policy for the address a listen or bind on a.Addr is to
// use, and whether it may.
func (s *Session) reserve(a policy.Action) (netip.AddrPort, *Error) {
	a.Session = s.id
	addr, err := s.policy.Reserve(a)
	if err != nil {
		return netip.AddrPort{}, s.refused(err)
	}
	a.Addr = addr
	if err := s.check(a); err != nil {
		s.release(addr.Port())
		return netip.AddrPort{}, err
	}
	return addr, nil
}

// release gives back one reservation of port (0: none) to the policy.
func (s *Session) release(port uint16) {
	if port != 0 {
		s.policy.Release(s.id, port)
	}
}

// nameOf returns host if it is a name to resolve, or "" for an address.
func nameOf(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return host
}

// received accounts for n bytes that arrived on sk, and paces the next
// read to the session's byte rate. It reports false when the socket must
// stop reading: ctx ended, or the session used up its byte quota
// (the bytes already read were delivered; the rest wait in the kernel).
func (s *Session) received(ctx context.Context, sk *Socket, op string, from netip.AddrPort, n int) bool {
	if err := s.check(policy.Action{Op: policy.OpRecv, Addr: from, Bytes: n}); err != nil {
		err.Message += "; this socket reads nothing more"
		s.log.Append(&Event{Type: TypeError, Op: op, Sock: sk.id, Auto: true, Code: err.Code, Message: err.Message})
		return false
	}
	return s.policy.Wait(ctx, s.id, n) == nil
}
