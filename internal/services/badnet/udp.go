package badnet

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxDatagram is the largest UDP payload.
	maxDatagram = 64 << 10
	// udpHandoff is how many datagrams may wait to be scheduled in each
	// direction of a mapping.
	udpHandoff = 256
	// udpQueued is how many bytes of datagrams each direction of a mapping
	// may hold (delayed, held back or waiting for the link).
	udpQueued = 1 << 20
)

// dgram is a datagram and when the proxy read it.
type dgram struct {
	data []byte
	at   time.Time
}

// serveUDP reads datagrams from clients until the socket closes.
func (p *Proxy) serveUDP() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := p.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an error reported for an earlier datagram
		}
		p.fromClient(from, dgram{data: bytes.Clone(buf[:n]), at: time.Now()})
	}
}

// fromClient passes a client's datagram to its mapping, making one if need
// be.
func (p *Proxy) fromClient(from netip.AddrPort, dg dgram) {
	drop := func(conn int, err error) {
		p.emit(Event{Conn: conn, Kind: KindDrop, Dir: ToTarget, Data: dg.data, Client: from.String(), Target: p.tstr, Err: err})
	}
	if err := p.check(); err != nil {
		p.mu.Lock()
		var id int
		if m := p.maps[from]; m != nil {
			id = m.id
		}
		p.mu.Unlock()
		drop(id, fmt.Errorf("send to %s: %w", p.tstr, err))
		return
	}
	// Touching and offering under p.mu means a mapping cannot expire
	// between being found and being given the datagram.
	p.mu.Lock()
	m := p.maps[from]
	offered := false
	if m != nil {
		m.touch()
		offered = m.dirs[0].offer(dg)
	}
	p.mu.Unlock()
	if m == nil {
		p.openMapping(from, dg, drop)
		return
	}
	if !offered {
		drop(m.id, ErrQueueFull)
	}
}

// openMapping dials the target for a new client address and gives the new
// mapping its first datagram.
func (p *Proxy) openMapping(from netip.AddrPort, dg dgram, drop func(int, error)) {
	p.mu.Lock()
	closed, n := p.closed, len(p.maps)
	p.mu.Unlock()
	if closed {
		return
	}
	if n >= MaxUDPClients {
		drop(0, ErrTooManyClients)
		return
	}
	admitted, err := p.admit()
	if err != nil {
		drop(0, err)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, DialTimeout)
	up, err := p.dial(ctx, p.cfg.Network, p.tstr)
	cancel()
	if err != nil {
		admitted()
		drop(0, fmt.Errorf("send to %s: %w", p.tstr, err))
		return
	}
	m := &udpMap{p: p, client: from, cstr: from.String(), up: up, done: make(chan struct{}), admitted: admitted}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		up.Close()
		admitted()
		return
	}
	p.nextID++
	m.id = p.nextID
	for i, dir := range []Dir{ToTarget, ToClient} {
		m.dirs[i] = &udpDir{m: m, dir: dir, in: make(chan dgram, udpHandoff), rng: newRand(p.seed, m.id, dir)}
	}
	p.maps[from] = m
	m.touch()
	m.dirs[0].offer(dg) // an empty channel: always room
	p.wg.Add(1)
	p.mu.Unlock()
	p.emit(m.event(KindOpen, 0))
	go m.run()
}

// expire forgets m if it has been idle for the mapping lifetime, and
// reports whether it did.
func (p *Proxy) expire(m *udpMap) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(m.lastUsed()) < p.idle {
		return false
	}
	if p.maps[m.client] == m {
		delete(p.maps, m.client)
	}
	return true
}

// udpMap is one client address's mapping: a socket connected to the target,
// used for that client's datagrams and the target's replies to them, like a
// NAT's mapping.
type udpMap struct {
	p      *Proxy
	id     int
	client netip.AddrPort
	cstr   string
	up     net.Conn      // connected to the target
	dirs   [2]*udpDir    // ToTarget, ToClient
	last   atomic.Int64  // UnixNano of the last datagram either way
	done   chan struct{} // closed by stop
	once   sync.Once
	// admitted is Config.Admit's done, called once the mapping ended.
	admitted func()
}

func (m *udpMap) event(kind Kind, dir Dir) Event {
	return Event{Conn: m.id, Kind: kind, Dir: dir, Client: m.cstr, Target: m.p.tstr}
}

func (m *udpMap) touch()              { m.last.Store(time.Now().UnixNano()) }
func (m *udpMap) lastUsed() time.Time { return time.Unix(0, m.last.Load()) }

// stop ends the mapping without waiting; run finishes the job.
func (m *udpMap) stop() {
	m.once.Do(func() {
		close(m.done)
		m.up.Close()
	})
}

// run owns the mapping: it runs both directions' schedulers, reads the
// target's replies until the mapping goes idle or stops, then reports
// "close".
func (m *udpMap) run() {
	defer m.p.wg.Done()
	var wg sync.WaitGroup
	for _, d := range m.dirs {
		wg.Go(d.run)
	}
	m.readReplies()
	m.stop()
	wg.Wait()
	m.p.mu.Lock()
	if m.p.maps[m.client] == m {
		delete(m.p.maps, m.client)
	}
	m.p.mu.Unlock()
	m.admitted()
	m.p.emit(m.event(KindClose, 0))
}

// readReplies reads the target's datagrams until the mapping expires or
// stops.
func (m *udpMap) readReplies() {
	buf := make([]byte, maxDatagram)
	for {
		m.up.SetReadDeadline(m.lastUsed().Add(m.p.idle))
		n, err := m.up.Read(buf)
		if err == nil {
			m.touch()
			dg := dgram{data: bytes.Clone(buf[:n]), at: time.Now()}
			if !m.dirs[1].offer(dg) {
				ev := m.event(KindDrop, ToClient)
				ev.Data, ev.Err = dg.data, ErrQueueFull
				m.p.emit(ev)
			}
			continue
		}
		select {
		case <-m.done:
			return
		default:
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			if m.p.expire(m) {
				return
			}
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// The target's host answered an earlier datagram with an error,
		// such as ECONNREFUSED: nothing listens on that port.
		ev := m.event(KindError, ToTarget)
		ev.Err = fmt.Errorf("send to %s: %w", m.p.tstr, err)
		m.p.emit(ev)
	}
}

// udpDir schedules one direction of a mapping: it decides each datagram's
// fate (loss, reorder, delay) and writes it when its time comes.
type udpDir struct {
	m   *udpMap
	dir Dir
	in  chan dgram

	// Owned by run.
	rng     *rand.Rand
	delayed slots     // waiting for their release time
	fifo    []slot    // released, waiting for the link
	sendAt  time.Time // when fifo[0] goes; zero until worked out
	held    *dgram    // held back by Reorder
	heldTil time.Time
	queued  int // bytes in delayed, fifo and held
	seq     uint64
	lk      link
}

// offer hands a datagram to the scheduler without blocking, and reports
// whether there was room.
func (d *udpDir) offer(dg dgram) bool {
	select {
	case d.in <- dg:
		return true
	default:
		return false
	}
}

func (d *udpDir) run() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		now := d.flush()
		var wake time.Time
		if len(d.delayed) > 0 {
			wake = d.delayed[0].release
		}
		if d.held != nil && (wake.IsZero() || d.heldTil.Before(wake)) {
			wake = d.heldTil
		}
		if len(d.fifo) > 0 && (wake.IsZero() || d.sendAt.Before(wake)) {
			wake = d.sendAt
		}
		var tc <-chan time.Time
		if !wake.IsZero() {
			t.Reset(wake.Sub(now))
			tc = t.C
		}
		select {
		case dg := <-d.in:
			d.arrive(dg)
		case <-tc:
		case <-d.m.done:
			t.Stop()
			return
		}
		t.Stop()
	}
}

// arrive decides a new datagram's fate.
func (d *udpDir) arrive(dg dgram) {
	k := d.m.p.Knobs()
	if k.Loss > 0 && d.rng.Float64() < k.Loss {
		d.drop(dg, ErrLost)
		return
	}
	if d.queued+len(dg.data) > udpQueued {
		d.drop(dg, ErrQueueFull)
		return
	}
	d.queued += len(dg.data)
	if d.held == nil && k.Reorder > 0 && d.rng.Float64() < k.Reorder {
		d.held, d.heldTil = &dg, dg.at.Add(ReorderWait)
		ev := d.m.event(KindHold, d.dir)
		ev.Data = bytes.Clone(dg.data)
		d.m.p.emit(ev)
		return
	}
	release := dg.at.Add(delay(k, d.rng))
	d.push(dg, release)
	if d.held != nil {
		// The held one goes right after the one that overtook it.
		d.push(*d.held, release)
		d.held = nil
	}
}

func (d *udpDir) push(dg dgram, release time.Time) {
	d.seq++
	heap.Push(&d.delayed, slot{dg: dg, release: release, seq: d.seq})
}

func (d *udpDir) drop(dg dgram, err error) {
	ev := d.m.event(KindDrop, d.dir)
	ev.Data, ev.Err = dg.data, err
	d.m.p.emit(ev)
}

// flush releases what is due and writes what the link allows, and returns
// the time it finished.
func (d *udpDir) flush() time.Time {
	now := time.Now()
	if d.held != nil && !d.heldTil.After(now) {
		d.push(*d.held, now) // nobody overtook it: it goes alone
		d.held = nil
	}
	for len(d.delayed) > 0 && !d.delayed[0].release.After(now) {
		d.fifo = append(d.fifo, heap.Pop(&d.delayed).(slot))
	}
	for len(d.fifo) > 0 {
		if d.sendAt.IsZero() {
			d.sendAt = now
			if k := d.m.p.Knobs(); k.Bandwidth > 0 {
				d.sendAt = later(now, d.lk.send(now, len(d.fifo[0].dg.data), k.Bandwidth))
			}
		}
		if d.sendAt.After(now) {
			break
		}
		s := d.fifo[0]
		d.fifo[0] = slot{}
		d.fifo = d.fifo[1:]
		d.sendAt = time.Time{}
		d.queued -= len(s.dg.data)
		d.write(s.dg)
		now = time.Now()
	}
	return now
}

// write sends a datagram on and reports it.
func (d *udpDir) write(dg dgram) {
	var err error
	if d.dir == ToTarget {
		_, err = d.m.up.Write(dg.data)
	} else {
		_, err = d.m.p.pc.WriteToUDPAddrPort(dg.data, d.m.client)
	}
	now := time.Now()
	if err != nil {
		select {
		case <-d.m.done:
			return // the mapping is closing: not worth reporting
		default:
		}
		if d.m.p.ctx.Err() != nil {
			return // the proxy is closing
		}
		d.drop(dg, err)
		return
	}
	d.m.touch()
	ev := d.m.event(KindChunk, d.dir)
	ev.Data, ev.Delay, ev.Time = dg.data, now.Sub(dg.at), now
	d.m.p.emit(ev)
}

// slot is a datagram waiting for its release time; seq keeps arrival order
// among equal times.
type slot struct {
	dg      dgram
	release time.Time
	seq     uint64
}

// slots is a min-heap of slots by release time, then seq.
type slots []slot

func (h slots) Len() int { return len(h) }
func (h slots) Less(i, j int) bool {
	if h[i].release.Equal(h[j].release) {
		return h[i].seq < h[j].seq
	}
	return h[i].release.Before(h[j].release)
}
func (h slots) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *slots) Push(x any)   { *h = append(*h, x.(slot)) }
func (h *slots) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = slot{}
	*h = old[:len(old)-1]
	return s
}
