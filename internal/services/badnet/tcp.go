package badnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"
)

const (
	// readSize is the most the proxy reads at once from a TCP socket.
	readSize = 16 << 10
	// queueItems is how many reads a direction holds before it stops
	// reading, so that TCP flow control pushes back on the sender: at most
	// queueItems*readSize (1 MiB) per direction.
	queueItems = 64
)

// The optional methods the proxy uses on a TCP conn. Conns from Config.Dial
// may lack them.
type (
	closeWriter interface{ CloseWrite() error }
	lingerer    interface{ SetLinger(sec int) error }
)

var (
	_ closeWriter = (*net.TCPConn)(nil)
	_ lingerer    = (*net.TCPConn)(nil)
)

// serveTCP accepts clients until the listener closes.
func (p *Proxy) serveTCP() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.emit(Event{Kind: KindError, Target: p.tstr, Err: fmt.Errorf("accept: %w", err)})
			t := time.NewTimer(acceptRetry)
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		if len(p.conns) >= MaxTCPConns {
			p.mu.Unlock()
			if l, ok := nc.(lingerer); ok {
				l.SetLinger(0)
			}
			nc.Close()
			p.emit(Event{Kind: KindError, Client: nc.RemoteAddr().String(), Target: p.tstr, Err: ErrTooManyConns})
			continue
		}
		p.mu.Unlock()
		admitted, err := p.admit()
		if err != nil {
			if l, ok := nc.(lingerer); ok {
				l.SetLinger(0)
			}
			nc.Close()
			p.emit(Event{Kind: KindError, Client: nc.RemoteAddr().String(), Target: p.tstr, Err: err})
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			admitted()
			nc.Close()
			return
		}
		p.nextID++
		c := &tcpConn{p: p, id: p.nextID, client: nc, cstr: nc.RemoteAddr().String(), done: make(chan struct{}), admitted: admitted}
		p.conns[c.id] = c
		p.wg.Add(1)
		p.mu.Unlock()
		go c.serve()
	}
}

// tcpConn is one client's connection through the proxy: the accepted client
// conn and the dialed target conn, with two pipes between them.
type tcpConn struct {
	p      *Proxy
	id     int
	client net.Conn
	cstr   string        // client's address
	done   chan struct{} // closed by the first end
	// admitted is Config.Admit's done, called once the connection ended.
	admitted func()

	mu     sync.Mutex // guards the fields below
	target net.Conn   // nil until dialed
	final  *Event     // the connection's last event, set by the first end
	rst    bool       // end was a reset
}

// event returns an event about this connection.
func (c *tcpConn) event(kind Kind, dir Dir) Event {
	return Event{Conn: c.id, Kind: kind, Dir: dir, Client: c.cstr, Target: c.p.tstr}
}

// end ends the connection with ev as its last event, resetting both sides
// if rst, and reports whether this call ended it (only the first does).
// Closing the sockets unblocks every goroutine of the connection.
func (c *tcpConn) end(ev Event, rst bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil {
		return false
	}
	c.final, c.rst = &ev, rst
	closeConn(c.client, rst)
	if c.target != nil {
		closeConn(c.target, rst)
	}
	close(c.done)
	return true
}

// setTarget records the dialed target, or closes it if the connection ended
// while dialing, and reports whether the connection goes on.
func (c *tcpConn) setTarget(t net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil {
		closeConn(t, c.rst)
		return false
	}
	c.target = t
	return true
}

// fail ends the connection because err happened, resetting both sides.
// toward is where the failure is passed on to: a reset read from the client
// goes ToTarget. An error caused by the connection's own end is ignored.
func (c *tcpConn) fail(err error, toward Dir) {
	select {
	case <-c.done:
		return
	default:
	}
	kind := KindError
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		kind = KindReset
	}
	ev := c.event(kind, toward)
	ev.Err = err
	c.end(ev, true)
}

// closeConn closes nc, with a RST rather than a FIN if rst.
func closeConn(nc net.Conn, rst bool) {
	if l, ok := nc.(lingerer); ok && rst {
		l.SetLinger(0)
	}
	nc.Close()
}

// serve connects to the target and runs both pipes until the connection
// ends, then reports its last event.
func (c *tcpConn) serve() {
	defer c.p.wg.Done()
	defer func() {
		c.p.mu.Lock()
		delete(c.p.conns, c.id)
		c.p.mu.Unlock()
		c.admitted()
		c.mu.Lock()
		final := *c.final
		c.mu.Unlock()
		c.p.emit(final)
	}()
	t, err := c.connect()
	if err != nil {
		ev := c.event(KindError, ToTarget)
		ev.Err = err
		c.end(ev, true)
		return
	}
	if !c.setTarget(t) {
		return
	}
	c.p.emit(c.event(KindOpen, 0))
	var wg sync.WaitGroup
	for _, pp := range []*pipe{
		c.newPipe(ToTarget, c.client, t),
		c.newPipe(ToClient, t, c.client),
	} {
		wg.Go(pp.read)
		wg.Go(pp.write)
	}
	wg.Wait()
	// Both directions passed their FIN on (or the connection ended first,
	// and this does nothing).
	c.end(c.event(KindClose, 0), false)
}

// connect asks Check, then dials the target.
func (c *tcpConn) connect() (net.Conn, error) {
	if err := c.p.check(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.p.tstr, err)
	}
	ctx, cancel := context.WithTimeout(c.p.ctx, DialTimeout)
	defer cancel()
	t, err := c.p.dial(ctx, c.p.cfg.Network, c.p.tstr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.p.tstr, err)
	}
	return t, nil
}

// item is what a pipe's reader hands its writer: bytes read at a time, or
// the sender's FIN.
type item struct {
	data []byte
	at   time.Time
	eof  bool
}

// pipe is one direction of a connection: read runs a goroutine reading src,
// write one writing dst on schedule, so that latency delays bytes without
// slowing the reading.
type pipe struct {
	c        *tcpConn
	dir      Dir
	src, dst net.Conn
	ch       chan item

	// Owned by write.
	rng       *rand.Rand
	pending   *item     // taken from ch but not yet used
	prev      time.Time // release time of the previous chunk
	lk        link
	lastWrite time.Time
}

func (c *tcpConn) newPipe(dir Dir, src, dst net.Conn) *pipe {
	return &pipe{c: c, dir: dir, src: src, dst: dst, ch: make(chan item, queueItems),
		rng: newRand(c.p.seed, c.id, dir)}
}

// read reads src until EOF, an error, or the connection's end.
func (pp *pipe) read() {
	buf := make([]byte, readSize)
	for {
		n, err := pp.src.Read(buf)
		if n > 0 {
			select {
			case pp.ch <- item{data: bytes.Clone(buf[:n]), at: time.Now()}:
			case <-pp.c.done:
				return
			}
		}
		if err == io.EOF {
			select {
			case pp.ch <- item{eof: true, at: time.Now()}:
			case <-pp.c.done:
			}
			return
		}
		if err != nil {
			// A reset (or other failure) of src is passed on at once; what
			// the proxy still holds for dst is discarded with it.
			pp.c.fail(err, pp.dir)
			return
		}
	}
}

// write forwards what read hands it: coalesced, delayed, then split and
// paced; and the FIN after everything before it.
func (pp *pipe) write() {
	w := newWaiter(pp.c.done)
	for {
		it, _, ok := pp.next(w, time.Time{})
		if !ok {
			return
		}
		k := pp.c.p.Knobs()
		first, ready, data := it.at, it.at, it.data
		if !it.eof && k.Coalesce > 0 {
			if data, ready, ok = pp.coalesce(w, it, k.Coalesce); !ok {
				return
			}
		}
		// A chunk never leaves before the one read before it: a stream is
		// never reordered, whatever the jitter.
		release := later(ready.Add(delay(k, pp.rng)), pp.prev)
		pp.prev = release
		if !w.until(release) {
			return
		}
		if it.eof {
			if err := closeWrite(pp.dst); err != nil {
				pp.c.fail(err, pp.dir.reverse())
				return
			}
			pp.c.p.emit(pp.c.event(KindFIN, pp.dir))
			return
		}
		if !pp.send(w, data, first) {
			return
		}
	}
}

// next returns the next item, waiting for one at most until deadline (for
// ever if it is zero); got is false if none came in time, ok false if the
// connection ended.
func (pp *pipe) next(w *waiter, deadline time.Time) (it item, got, ok bool) {
	if pp.pending != nil {
		it, pp.pending = *pp.pending, nil
		return it, true, true
	}
	select {
	case it = <-pp.ch:
		return it, true, true
	case <-pp.c.done:
		return it, false, false
	default:
	}
	if deadline.IsZero() {
		select {
		case it = <-pp.ch:
			return it, true, true
		case <-pp.c.done:
			return it, false, false
		}
	}
	d := time.Until(deadline)
	if d <= 0 {
		return it, false, true
	}
	w.t.Reset(d)
	defer w.t.Stop()
	select {
	case it = <-pp.ch:
		return it, true, true
	case <-pp.c.done:
		return it, false, false
	case <-w.t.C:
		select {
		case it = <-pp.ch:
			return it, true, true
		default:
			return it, false, true
		}
	}
}

// coalesce gathers what arrives within quiet of the previous arrival, up to
// CoalesceMax bytes, after it. It returns the bytes and when they are ready
// to go: after the quiet period, or at once when full or the sender sent
// its FIN. Items read more than quiet after the last one are left for the
// next chunk, judged by when they were read, not when this runs.
func (pp *pipe) coalesce(w *waiter, it item, quiet time.Duration) (data []byte, ready time.Time, ok bool) {
	data, last := it.data, it.at
	for {
		deadline := last.Add(quiet)
		nx, got, ok := pp.next(w, deadline)
		switch {
		case !ok:
			return nil, time.Time{}, false
		case !got:
			return data, deadline, true
		case nx.at.After(deadline):
			pp.pending = &nx
			return data, deadline, true
		case nx.eof:
			pp.pending = &nx
			return data, nx.at, true
		}
		if room := CoalesceMax - len(data); len(nx.data) >= room {
			data = append(data, nx.data[:room]...)
			if len(nx.data) > room {
				rest := nx
				rest.data = nx.data[room:]
				pp.pending = &rest
			}
			return data, nx.at, true
		}
		data = append(data, nx.data...)
		last = nx.at
	}
}

// send writes data in pieces: at most Split bytes each, at least SplitGap
// apart, and at most 20 ms worth of Bandwidth each, when the link would
// have carried it. The knobs are read again for every piece.
func (pp *pipe) send(w *waiter, data []byte, first time.Time) bool {
	for len(data) > 0 {
		k := pp.c.p.Knobs()
		n, at := len(data), time.Now()
		if k.Split > 0 {
			n = min(n, k.Split)
			if !pp.lastWrite.IsZero() {
				at = later(at, pp.lastWrite.Add(k.splitGap()))
			}
		}
		if k.Bandwidth > 0 {
			n = min(n, quantum(k.Bandwidth))
			at = later(at, pp.lk.send(at, n, k.Bandwidth))
		}
		if !w.until(at) {
			return false
		}
		piece := data[:n:n]
		data = data[n:]
		if _, err := pp.dst.Write(piece); err != nil {
			pp.c.fail(err, pp.dir.reverse())
			return false
		}
		now := time.Now()
		pp.lastWrite = now
		ev := pp.c.event(KindChunk, pp.dir)
		ev.Data, ev.Delay, ev.Time = piece, now.Sub(first), now
		pp.c.p.emit(ev)
	}
	return true
}

// closeWrite passes a FIN on: a half-close where the conn can, else a close.
func closeWrite(nc net.Conn) error {
	if cw, ok := nc.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return nc.Close()
}
