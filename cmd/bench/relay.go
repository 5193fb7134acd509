package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// relayBuf is the relay's buffer per direction: the server reads 64 KiB at
// a time too.
const relayBuf = 64 << 10

// relayMain is the relay child: a plain TCP relay in a process of its own,
// forwarding every connection to the address given by -to. It is the
// reference for the bridge: the same process hops and copies, without
// WebSocket, JSON, events or a session. It prints its address and serves
// until its stdin ends, answering each line there with the CPU time it has
// used, in seconds.
func relayMain(args []string) error {
	fs := flag.NewFlagSet("bench relay", flag.ContinueOnError)
	to := fs.String("to", "", "the address to forward to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*to); err != nil {
		return err
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() { acceptRelay(ln, *to) })
	if _, err := fmt.Println(ln.Addr()); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if _, err := fmt.Println(selfCPU().Seconds()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// acceptRelay relays every connection ln accepts until ln is closed.
func acceptRelay(ln net.Listener, to string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		wg.Go(func() { relay(c.(*net.TCPConn), to) })
	}
}

// relay connects to to and copies both ways until both are done.
func relay(in *net.TCPConn, to string) {
	defer in.Close()
	c, err := net.DialTimeout("tcp4", to, 10*time.Second)
	if err != nil {
		return
	}
	out := c.(*net.TCPConn)
	defer out.Close()
	var wg sync.WaitGroup
	wg.Go(func() { pipe(out, in) })
	pipe(in, out)
	wg.Wait()
}

// pipe copies src to dst through a buffer (not splice, which a bridge
// cannot use) and passes the end of the stream on.
func pipe(dst, src *net.TCPConn) {
	buf := make([]byte, relayBuf)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.CloseWrite()
			return
		}
	}
}

// relayProc is the bench's handle on the relay child.
type relayProc struct {
	*childProc
	addr string // where it listens, on 127.0.0.1
}

// cpu asks the relay child how much CPU time it has used.
func (p *relayProc) cpu(ctx context.Context) (time.Duration, error) {
	if err := p.writeLine("cpu"); err != nil {
		return 0, err
	}
	line, err := p.readLine(ctx, 15*time.Second)
	if err != nil {
		return 0, err
	}
	sec, err := strconv.ParseFloat(line, 64)
	return time.Duration(sec * float64(time.Second)), err
}

// cpuDuring runs f and returns how much CPU time the relay used meanwhile.
func (p *relayProc) cpuDuring(ctx context.Context, f func() error) (time.Duration, error) {
	before, err := p.cpu(ctx)
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := p.cpu(ctx)
	return after - before, err
}

// startRelay starts the relay child forwarding to to.
func startRelay(ctx context.Context, to string) (*relayProc, error) {
	p, err := startChild(ctx, roleRelay, nil, "-to", to)
	if err != nil {
		return nil, err
	}
	addr, err := p.readLine(ctx, 15*time.Second)
	if err == nil {
		err = checkLoopback(addr)
	}
	if err != nil {
		p.stop(nil)
		return nil, fmt.Errorf("the relay child: %w", err)
	}
	return &relayProc{childProc: p, addr: addr}, nil
}
