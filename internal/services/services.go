package services

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Info describes a running service, for announcing it to sessions.
type Info struct {
	Name  string // "echo"
	Proto string // "tcp" or "udp"
	Addr  string // where it listens
	About string // one line on what it does and what it teaches
}

// Config says which services to start.
type Config struct {
	// EchoPort is the port of the TCP and UDP echo services on 127.0.0.1
	// and, where the host has IPv6, ::1. Zero picks free ports (each
	// listener then gets its own).
	EchoPort int
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// Set is a group of running services.
type Set struct {
	log     *slog.Logger
	infos   []Info
	mu      sync.Mutex // guards closers, conns and closed
	closers []io.Closer
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Start starts the echo services. Close the Set to stop them.
func Start(cfg Config) (*Set, error) {
	s := &Set{log: cfg.Logger, conns: make(map[net.Conn]struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		addr := net.JoinHostPort(host, fmt.Sprint(cfg.EchoPort))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if host == "::1" {
				s.log.Info("no IPv6 echo service", "err", err)
				continue
			}
			s.Close()
			return nil, fmt.Errorf("echo service: %w", err)
		}
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			ln.Close()
			s.Close()
			return nil, fmt.Errorf("echo service: %w", err)
		}
		s.closers = append(s.closers, ln, pc)
		s.infos = append(s.infos,
			Info{Name: "echo", Proto: "tcp", Addr: ln.Addr().String(), About: "Sends back every byte it receives: a TCP byte stream, unchanged."},
			Info{Name: "echo", Proto: "udp", Addr: pc.LocalAddr().String(), About: "Sends every datagram back to its sender: UDP keeps message boundaries."})
		s.goroutine(func() { s.echoTCP(ln) })
		s.goroutine(func() { s.echoUDP(pc) })
	}
	return s, nil
}

// Infos lists the running services.
func (s *Set) Infos() []Info { return s.infos }

// Close stops every service, closes their connections and waits for their
// goroutines.
func (s *Set) Close() error {
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

func (s *Set) echoTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("echo accept", "err", err)
			}
			return
		}
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
			io.Copy(c, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *Set) echoUDP(pc net.PacketConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error reported for an earlier datagram
		}
		pc.WriteTo(buf[:n], from)
	}
}
