package session

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/socketplayground/playground/internal/kernel"
)

// The kernel's view of a session's TCP sockets (docs/protocol.md, the
// kernel event). A session samples a TCP socket right after anything
// happens on it, then again while the numbers keep changing, less and less
// often (20 ms, doubling): a live socket unchanged for about 0.6 s is left
// alone until something happens on it, so an idle one costs nothing. A step-mode socket is also
// sampled twice a second while open, because its kernel state changes with
// no call (a peer's FIN). After the session closes a connection, the
// kernel may keep it (FIN_WAIT2, TIME_WAIT): it is looked up in the
// kernel's socket table until it is gone.

const (
	sampleFirst = 20 * time.Millisecond  // the shortest interval between samples of one socket
	sampleLive  = 320 * time.Millisecond // an open live socket unchanged this long is left until something happens
	sampleStep  = 500 * time.Millisecond // the longest interval for an open step-mode socket
	sampleIdle  = time.Second            // the longest interval for a lingering connection
	lingerMost  = 3 * time.Minute        // how long a closed connection is looked for
	// lingerMisses is how many samples in a row must miss a closed
	// connection before it is taken as gone: a connection changing hands
	// in the kernel (an orphaned FIN_WAIT2 turning into a timewait
	// socket) can be missing from a dump for a moment.
	lingerMisses = 3
)

// kernelWatch is one session's TCP sockets' sampling schedules. The
// sampling itself is done by one goroutine for the whole process
// (sampling), so an idle session has no goroutine of its own for it.
type kernelWatch struct {
	s *Session

	run sync.Mutex // held while the sampler works on this session

	mu     sync.Mutex // guards everything below
	socks  map[int]*watched
	closed bool
}

// watched is one TCP socket's sampling schedule and last sample.
type watched struct {
	step          bool
	closed        bool      // the session closed it: look for the lingering connection
	closedAt      time.Time // when
	local, remote netip.AddrPort
	next          time.Time     // when to sample; zero: not until something happens
	every         time.Duration // the current interval, doubling while nothing changes
	lastAt        time.Time     // when it was last sampled
	last          TCPStats
	have          bool // last is set
	misses        int  // samples in a row that did not find the closed connection
}

func newKernelWatch(s *Session) *kernelWatch {
	return &kernelWatch{s: s, socks: make(map[int]*watched)}
}

// observe sees every event as it is logged (under the log's lock): a TCP
// socket's state events register it, and any event about it makes it due.
func (w *kernelWatch) observe(e *Event) {
	if e.Sock == 0 || e.Type == TypeKernel || sampling.unsupported() {
		return
	}
	if w.schedule(e) {
		sampling.add(w)
	}
}

// schedule updates e.Sock's schedule for e, and reports whether the
// socket is now due for a sample.
func (w *kernelWatch) schedule(e *Event) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	k := w.socks[e.Sock]
	now := time.Now()
	if e.Type == TypeState {
		if e.Kind != KindTCP && e.Kind != KindTCPListener {
			return false
		}
		if k == nil {
			k = &watched{}
			w.socks[e.Sock] = k
		}
		k.step = e.Mode == "step"
		if e.State == StateClosed || e.State == StateFailed {
			k.closed, k.closedAt = true, now
			if e.Kind == KindTCP {
				k.local, _ = netip.ParseAddrPort(e.Local)
				k.remote, _ = netip.ParseAddrPort(e.Remote)
			}
		}
	}
	if k == nil {
		return false
	}
	k.every = sampleFirst
	if at := k.lastAt.Add(sampleFirst); k.next.IsZero() || k.next.After(at) {
		k.next = now
		if at.After(now) {
			k.next = at
		}
	}
	return true
}

// close stops sampling the session's sockets, and waits for a sample
// being taken, so nothing is logged after it returns.
func (w *kernelWatch) close() {
	w.run.Lock() // waits for a sample being taken
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.run.Unlock()
	sampling.remove(w)
}

// work samples the session's sockets that are due at now, and returns when
// the next one is due (zero: none is scheduled).
func (w *kernelWatch) work(now time.Time) time.Time {
	w.run.Lock()
	defer w.run.Unlock()
	var due []int
	w.mu.Lock()
	if !w.closed {
		for id, k := range w.socks {
			if !k.next.IsZero() && !k.next.After(now) {
				due = append(due, id)
			}
		}
	}
	w.mu.Unlock()
	for _, id := range due {
		w.sample(id)
	}
	return w.earliest()
}

// earliest returns when the next sample is due, or zero.
func (w *kernelWatch) earliest() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Time
	if w.closed {
		return t
	}
	for _, k := range w.socks {
		if !k.next.IsZero() && (t.IsZero() || k.next.Before(t)) {
			t = k.next
		}
	}
	return t
}

// sampling is the process's sampler: one goroutine, running while some
// session has a socket due, that takes every session's samples in turn.
var sampling = &sampler{watches: make(map[*kernelWatch]time.Time), wake: make(chan struct{}, 1)}

type sampler struct {
	mu      sync.Mutex
	watches map[*kernelWatch]time.Time // the sessions with a socket scheduled, and when it is due
	running bool
	off     bool // the kernel cannot be asked here (not Linux)
	wake    chan struct{}
}

// busy marks, in sampler.watches, a session being sampled now. add sets
// it back to zero (due) if something happens meanwhile.
var busy = time.Unix(1, 0)

func (p *sampler) unsupported() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.off
}

// add makes sure w's due sockets are sampled.
func (p *sampler) add(w *kernelWatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watches[w] = time.Time{}
	if !p.running {
		p.running = true
		go p.loop()
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// remove forgets w, and lets the goroutine end if w was the last.
func (p *sampler) remove(w *kernelWatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.watches[w]; !ok {
		return
	}
	if p.watches[w] != busy {
		delete(p.watches, w)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *sampler) loop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ws []*kernelWatch
	for {
		now := time.Now()
		ws = ws[:0]
		p.mu.Lock()
		for w, at := range p.watches {
			if at != busy && !at.After(now) {
				ws = append(ws, w)
				p.watches[w] = busy
			}
		}
		p.mu.Unlock()
		for _, w := range ws {
			next := w.work(now)
			p.mu.Lock()
			switch {
			case p.watches[w] != busy:
				// Made due again while it was sampled: keep it due.
			case next.IsZero():
				delete(p.watches, w)
			default:
				p.watches[w] = next
			}
			p.mu.Unlock()
		}
		p.mu.Lock()
		if p.off {
			clear(p.watches)
		}
		var earliest time.Time
		for _, at := range p.watches {
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		if len(p.watches) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if !earliest.After(time.Now()) {
			continue
		}
		timer.Reset(time.Until(earliest))
		select {
		case <-timer.C:
		case <-p.wake:
			if !timer.Stop() {
				<-timer.C
			}
		}
	}
}

// sample asks the kernel about socket id once, logs a kernel event if
// anything changed, and schedules the next sample.
func (w *kernelWatch) sample(id int) {
	w.mu.Lock()
	k, ok := w.socks[id]
	if !ok {
		w.mu.Unlock()
		return
	}
	closed, local, remote, prev := k.closed, k.local, k.remote, k.last.State
	w.mu.Unlock()

	var (
		st    TCPStats
		gone  bool
		valid = true
		err   error
	)
	if !closed {
		st, valid, err = w.open(id, prev)
	} else if local.IsValid() && remote.IsValid() {
		var e kernel.Entry
		var found bool
		e, found, err = lingering.find(local, remote)
		st = TCPStats{State: "CLOSED", Closed: true}
		if found {
			st = TCPStats{State: e.State.String(), Closed: true, TimerMS: e.Timer.Milliseconds(), SendQ: e.SendQueue, RecvQ: e.RecvQueue}
		}
		gone = !found && err == nil
	} else {
		st, gone = TCPStats{State: "CLOSED", Closed: true}, true
	}

	if errors.Is(err, errors.ErrUnsupported) {
		sampling.mu.Lock()
		sampling.off = true
		sampling.mu.Unlock()
		return
	}
	now := time.Now()
	w.mu.Lock()
	if k.closed != closed || w.socks[id] != k {
		// The session closed the socket while this sample was taken: the
		// sample is stale, and the lingering connection is to be looked
		// for now.
		if w.socks[id] == k {
			k.next = now
		}
		w.mu.Unlock()
		return
	}
	k.lastAt = now
	if closed && local.IsValid() && remote.IsValid() {
		if !gone {
			k.misses = 0
		} else if k.misses++; k.misses < lingerMisses {
			// Not found, this once: look again soon before saying so.
			k.next = now.Add(sampleFirst)
			w.mu.Unlock()
			return
		}
	}
	changed := false
	if valid && err == nil {
		a, b := st, k.last
		a.TimerMS, b.TimerMS = 0, 0 // a countdown is not a change
		changed = !k.have || a != b
		if changed {
			k.last, k.have = st, true
		}
	}
	if changed {
		k.every = sampleFirst
	} else {
		k.every = min(2*k.every, sampleIdle)
	}
	switch {
	case gone || (closed && now.Sub(k.closedAt) > lingerMost) || !valid:
		delete(w.socks, id)
	case closed:
		k.next = now.Add(k.every)
	case k.step:
		k.next = now.Add(min(k.every, sampleStep))
	case k.every > sampleLive && !changed:
		k.next = time.Time{} // idle until something happens on it
	default:
		k.next = now.Add(k.every)
	}
	w.mu.Unlock()
	if changed {
		stats := st
		w.s.log.Append(&Event{Type: TypeKernel, Sock: id, TCP: &stats})
	}
}

// open samples an open socket; prev is the state its last sample found.
// valid is false when there is nothing to sample: the socket has ended
// (its closed state event is on its way).
func (w *kernelWatch) open(id int, prev string) (TCPStats, bool, error) {
	sk, lerr := w.s.lookup(id)
	if lerr != nil {
		return TCPStats{}, false, nil
	}
	sk.mu.Lock()
	rc, done, local, remote := sk.rawConnLocked(), sk.doneLocked(), sk.local, sk.remote
	sk.mu.Unlock()
	if rc == nil || done {
		return TCPStats{}, !done, errors.New("no kernel socket yet")
	}
	info, err := kernel.Info(rc)
	if err != nil {
		return TCPStats{}, true, err
	}
	st := TCPStats{
		State:   info.State.String(),
		RTT:     info.RTT.Microseconds(),
		RTTVar:  info.RTTVar.Microseconds(),
		Cwnd:    info.SndCwnd,
		Unacked: info.Unacked,
		Retrans: info.Retransmits,
		Lost:    info.Lost,
		SendQ:   info.SendQueue,
		RecvQ:   info.RecvQueue,
		Backlog: info.Backlog,
	}
	if info.State == kernel.StateClose {
		st.State = "CLOSED"
		// A connection that reached TIME_WAIT while its socket was still
		// open lives on in the kernel's table, apart from the socket,
		// which is left CLOSED: report the connection. Once it is gone
		// (or was reset, and never there), stop looking.
		if local.IsValid() && remote.IsValid() && prev != "CLOSED" {
			e, found, err := lingering.find(local, remote)
			if err != nil {
				return TCPStats{}, true, err
			}
			if found {
				st = TCPStats{State: e.State.String(), TimerMS: e.Timer.Milliseconds()}
			}
		}
	}
	return st, true, nil
}

// lingering is the kernel's table of connections that linger after close,
// read at most every lingerFresh and shared by every session, so many
// closed sockets cost one table dump.
var lingering = &lingerTable{}

const (
	lingerFresh = 10 * time.Millisecond // how old a table may be for a lookup
	lingerAgain = time.Millisecond      // ... for a second look after a miss
)

type lingerTable struct {
	mu      sync.Mutex
	at      time.Time
	entries map[[2]netip.AddrPort]kernel.Entry
	err     error
}

// find finds the connection local–remote among the lingering ones. A
// table dump that runs while a connection changes state (FIN_WAIT2 to
// TIME_WAIT) may miss it, so a miss is checked with a second dump.
func (t *lingerTable) find(local, remote netip.AddrPort) (kernel.Entry, bool, error) {
	e, ok, err := t.lookup(local, remote, false)
	if !ok && err == nil {
		e, ok, err = t.lookup(local, remote, true)
	}
	return e, ok, err
}

// lookup looks in the table, dumped anew if it is older than lingerFresh
// or fresh is asked for.
func (t *lingerTable) lookup(local, remote netip.AddrPort, fresh bool) (kernel.Entry, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if age := time.Since(t.at); (fresh && age > lingerAgain) || age > lingerFresh {
		list, err := kernel.List(kernel.Filter{States: []kernel.State{
			kernel.StateFinWait1, kernel.StateFinWait2, kernel.StateTimeWait, kernel.StateClosing, kernel.StateLastAck,
		}})
		t.at, t.err = time.Now(), err
		clear(t.entries)
		if t.entries == nil {
			t.entries = make(map[[2]netip.AddrPort]kernel.Entry, len(list))
		}
		for _, e := range list {
			t.entries[[2]netip.AddrPort{e.Local, e.Remote}] = e
		}
	}
	if t.err != nil {
		return kernel.Entry{}, false, t.err
	}
	e, ok := t.entries[[2]netip.AddrPort{local, remote}]
	return e, ok, nil
}
