package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// An echo connection starts with a small buffer, so thousands of idle ones
// stay cheap, and moves to a large one as soon as a read fills it.
const (
	echoSmallBuf = 4 << 10
	echoBuf      = 256 << 10
)

// echoServer is the TCP echo server every test talks to, directly or through
// the bridge: a goroutine per connection copying what it reads back.
type echoServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startEcho() (*echoServer, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &echoServer{ln: ln, conns: make(map[net.Conn]struct{})}
	e.wg.Add(1)
	go e.accept()
	return e, nil
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func (e *echoServer) accept() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // EMFILE and the like: the client sees its connect fail
		}
		e.mu.Lock()
		e.conns[c] = struct{}{}
		e.mu.Unlock()
		e.wg.Add(1)
		go e.serve(c)
	}
}

// serve echoes c until the peer closes. It copies with an explicit buffer
// rather than io.Copy, which would splice between the two sockets.
func (e *echoServer) serve(c net.Conn) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.conns, c)
		e.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, echoSmallBuf)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		if n == len(buf) && len(buf) < echoBuf {
			buf = make([]byte, echoBuf)
		}
	}
}

// close stops the server, closes every connection and waits for them.
func (e *echoServer) close() {
	e.ln.Close()
	e.mu.Lock()
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// checkLoopback reports an error unless addr is a loopback host:port.
func checkLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", ap)
	}
	return nil
}
