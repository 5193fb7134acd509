package services

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Info describes a running service, for announcing it to sessions.
type Info struct {
	Name  string // "echo"
	Proto string // "tcp" or "udp"
	Addr  string // where it listens
	About string // one line on what it does and what it teaches
}

// Config says which services to start, and how they behave.
type Config struct {
	// Ports maps a service name (Names) to its port on 127.0.0.1 and, where
	// the host has IPv6, ::1. A service not named uses its default port
	// (Defaults); 0 turns it off; -1 picks a free port (tests). A nil map
	// therefore starts every service on its default port. An unknown name
	// is an error from Start.
	Ports map[string]int
	// FreePorts makes every service that is not turned off pick a free
	// port, each listener its own (tests, several servers on one host).
	FreePorts bool
	// LossRate is the share of datagrams the lossy service drops, in [0, 1].
	// Zero means 0.3: there is no way to ask for no loss (use echo).
	LossRate float64
	// Seed seeds the lossy service's PRNG, so its drops repeat run to run.
	// Zero means a random seed.
	Seed uint64
	// ChargenRate is what chargen sends each TCP connection, in bytes per
	// second. Zero means 64 KiB/s; there is no "unlimited", so a browser
	// reading chargen is never flooded.
	ChargenRate int
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// Defaults are the default ports: echo 7007, lossy 7008, discard 7009,
// daytime 7013, qotd 7017, chargen 7019, chat 7070, http 7080, slow 7081,
// framing 7082. The classic services sit at 7000 plus their RFC port.
var Defaults = map[string]int{
	"echo":    7007,
	"lossy":   7008,
	"discard": 7009,
	"daytime": 7013,
	"qotd":    7017,
	"chargen": 7019,
	"chat":    7070,
	"http":    7080,
	"slow":    7081,
	"framing": 7082,
}

// Names lists the services in the order the page shows them.
var Names = []string{"echo", "discard", "daytime", "chargen", "qotd", "chat", "http", "slow", "framing", "lossy"}

// Defaults for the zero values of Config.
const (
	defaultLossRate    = 0.3
	defaultChargenRate = 64 << 10
)

// A tcpHandler serves one accepted connection. ctx ends when the Set
// closes; the Set also closes c then, which ends any blocked read or write.
// The Set closes c when the handler returns.
type tcpHandler func(ctx context.Context, c net.Conn)

// A udpResponder answers one datagram: the reply is sent to the datagram's
// sender, and a nil reply sends nothing. It may return a slice of p. The
// responders of one service run on several goroutines (one per address).
type udpResponder func(p []byte) (reply []byte)

// A service is what one name in Names runs; a nil handler means the service
// does not speak that protocol.
type service struct {
	tcp      tcpHandler
	tcpAbout string
	udp      udpResponder
	udpAbout string
}

// settings are a Config with its zero values replaced by defaults.
type settings struct {
	lossRate    float64
	seed        uint64
	chargenRate int
	log         *slog.Logger
}

// builders make each service; one file per service.
var builders = map[string]func(settings) service{
	"echo":    newEcho,
	"discard": newDiscard,
	"daytime": newDaytime,
	"chargen": newChargen,
	"qotd":    newQotd,
	"chat":    newChat,
	"http":    newHTTP,
	"slow":    newSlow,
	"framing": newFraming,
	"lossy":   newLossy,
}

// Set is a group of running services.
type Set struct {
	log    *slog.Logger
	infos  []Info
	ctx    context.Context // ends when the Set closes
	cancel context.CancelFunc

	mu      sync.Mutex // guards closers, conns and closed
	closers []io.Closer
	conns   map[net.Conn]struct{}
	closed  bool

	wg sync.WaitGroup
}

// Start starts the services cfg names (by default, all of them). If one
// cannot listen, for example because its port is in use, Start stops the
// others and returns an error naming the service and the port. Close the
// Set to stop them.
func Start(cfg Config) (*Set, error) {
	ports, st, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Set{log: st.log, ctx: ctx, cancel: cancel, conns: make(map[net.Conn]struct{})}
	hosts := []string{"127.0.0.1"}
	if hasIPv6() {
		hosts = append(hosts, "::1")
	} else {
		s.log.Info("no IPv6 loopback: services listen on 127.0.0.1 only")
	}
	for _, name := range Names {
		port, on := ports[name]
		if !on {
			continue
		}
		if err := s.start(name, builders[name](st), hosts, port); err != nil {
			s.Close()
			if port == 0 {
				return nil, fmt.Errorf("service %s on a free port: %w", name, err)
			}
			return nil, fmt.Errorf("service %s on port %d: %w", name, port, err)
		}
	}
	return s, nil
}

// resolve checks cfg and returns the port of each service to start (0 for
// a free one) and the settings.
func (cfg Config) resolve() (map[string]int, settings, error) {
	st := settings{lossRate: cfg.LossRate, seed: cfg.Seed, chargenRate: cfg.ChargenRate, log: cfg.Logger}
	if st.log == nil {
		st.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case math.IsNaN(st.lossRate) || st.lossRate < 0 || st.lossRate > 1:
		return nil, st, fmt.Errorf("services: LossRate %v is not in [0, 1]", cfg.LossRate)
	case st.lossRate == 0:
		st.lossRate = defaultLossRate
	}
	switch {
	case st.chargenRate < 0:
		return nil, st, fmt.Errorf("services: ChargenRate %d is negative", cfg.ChargenRate)
	case st.chargenRate == 0:
		st.chargenRate = defaultChargenRate
	}
	if st.seed == 0 {
		st.seed = rand.Uint64()
	}

	ports := make(map[string]int, len(Names))
	for name, p := range cfg.Ports {
		if _, ok := Defaults[name]; !ok {
			return nil, st, fmt.Errorf("services: unknown service %q in Ports (known: %s)", name, strings.Join(Names, ", "))
		}
		if p < -1 || p > 65535 {
			return nil, st, fmt.Errorf("services: port %d for %s is not -1, 0 or a port number", p, name)
		}
	}
	for _, name := range Names {
		p, named := cfg.Ports[name]
		if !named {
			p = Defaults[name]
		}
		switch {
		case p == 0:
			continue // off
		case p == -1 || cfg.FreePorts:
			p = 0
		}
		ports[name] = p
	}
	return ports, st, nil
}

// hasIPv6 reports whether this host can listen on ::1.
func hasIPv6() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// start makes svc listen on every host at port (0: a free port for each
// listener) and serves it.
func (s *Set) start(name string, svc service, hosts []string, port int) error {
	for _, host := range hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if svc.tcp != nil {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			s.closers = append(s.closers, ln)
			s.infos = append(s.infos, Info{Name: name, Proto: "tcp", Addr: ln.Addr().String(), About: svc.tcpAbout})
			s.goroutine(func() { s.serveTCP(name, ln, svc.tcp) })
		}
		if svc.udp != nil {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return err
			}
			s.closers = append(s.closers, pc)
			s.infos = append(s.infos, Info{Name: name, Proto: "udp", Addr: pc.LocalAddr().String(), About: svc.udpAbout})
			s.goroutine(func() { s.serveUDP(name, pc, svc.udp) })
		}
	}
	s.log.Debug("service started", "service", name, "port", port)
	return nil
}

// Infos lists the running services in the order of Names; for each, TCP
// before UDP on 127.0.0.1, then on ::1.
func (s *Set) Infos() []Info { return slices.Clone(s.infos) }

// Close stops every service, closes their connections (so it never waits
// on a blocked read or write) and waits for their goroutines.
func (s *Set) Close() error {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	for _, c := range s.closers {
		c.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Set) goroutine(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// serveTCP accepts connections on ln and serves each with h on its own
// goroutine, until ln closes.
func (s *Set) serveTCP(name string, ln net.Listener, h tcpHandler) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: back off as net/http does,
			// rather than spin or give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "service", name, "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			h(s.ctx, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serveUDP answers each datagram on pc with respond, until pc closes.
func (s *Set) serveUDP(name string, pc net.PacketConn, respond udpResponder) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// An ICMP error reported for an earlier reply, say.
			s.log.Debug("udp read", "service", name, "err", err)
			continue
		}
		if reply := respond(buf[:n]); reply != nil {
			if _, err := pc.WriteTo(reply, from); err != nil {
				s.log.Debug("udp reply", "service", name, "to", from, "err", err)
			}
		}
	}
}

// errLineTooLong is readLine's error for a line over its limit.
var errLineTooLong = errors.New("line too long")

// readLine reads the next line from br, whose buffer must hold at least
// max+2 bytes. It returns the line without its "\n" or "\r\n"; bare reports
// a line that ended in "\n" alone. A line of more than max bytes (not
// counting its end) is read to its end, dropped, and reported as
// errLineTooLong. At EOF, an unterminated last line (within max) comes
// with io.EOF. The line is valid until the next read from br.
func readLine(br *bufio.Reader, max int) (line []byte, bare bool, err error) {
	line, err = br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err == nil || err == io.EOF {
			return nil, false, errLineTooLong
		}
		return nil, false, err
	}
	if err != nil {
		if len(line) > max {
			return nil, false, errLineTooLong // and io.EOF next time
		}
		return line, false, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	} else {
		bare = true
	}
	if len(line) > max {
		return nil, false, errLineTooLong
	}
	return line, bare, nil
}

// lingerTimeout bounds how long finish waits for the client to close.
const lingerTimeout = 2 * time.Second

// finish ends a connection the service is done with, so that what it sent
// arrives: closing a socket with unread input makes the kernel send a
// reset, which can destroy the last reply before the client reads it. So
// finish sends FIN, reads and drops what the client still sends until it
// closes too (at most lingerTimeout, 64 KiB), and then closes.
func finish(c net.Conn) {
	defer c.Close()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}
