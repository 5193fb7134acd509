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
// often; an idle live socket costs nothing. A step-mode socket is also
// sampled twice a second while open, because its kernel state changes with
// no call (a peer's FIN). After the session closes a connection, the
// kernel may keep it (FIN_WAIT2, TIME_WAIT): it is looked up in the
// kernel's socket table until it is gone.

const (
	sampleFirst = 20 * time.Millisecond  // the shortest interval between samples of one socket
	sampleIdle  = time.Second            // the longest
	sampleStep  = 500 * time.Millisecond // the longest for an open step-mode socket
	lingerMost  = 3 * time.Minute        // how long a closed connection is looked for
)

// kernelWatch samples the kernel's view of one session's TCP sockets. Its
// goroutine runs only while some socket is due for a sample.
type kernelWatch struct {
	s *Session

	mu      sync.Mutex // guards everything below
	socks   map[int]*watched
	running bool
	closed  bool
	off     bool // the kernel cannot be asked here (not Linux)
	wake    chan struct{}
	wg      sync.WaitGroup
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
}

func newKernelWatch(s *Session) *kernelWatch {
	return &kernelWatch{s: s, socks: make(map[int]*watched), wake: make(chan struct{}, 1)}
}

// observe sees every event as it is logged (under the log's lock): a TCP
// socket's state events register it, and any event about it makes it due.
func (w *kernelWatch) observe(e *Event) {
	if e.Sock == 0 || e.Type == TypeKernel {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.off {
		return
	}
	k := w.socks[e.Sock]
	now := time.Now()
	if e.Type == TypeState {
		if e.Kind != KindTCP && e.Kind != KindTCPListener {
			return
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
		return
	}
	k.every = sampleFirst
	if at := k.lastAt.Add(sampleFirst); k.next.IsZero() || k.next.After(at) {
		k.next = now
		if at.After(now) {
			k.next = at
		}
	}
	if !w.running {
		w.running = true
		w.wg.Add(1)
		go w.run()
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close stops sampling and waits for the goroutine.
func (w *kernelWatch) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.wg.Wait()
}

func (w *kernelWatch) run() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if w.closed || w.off {
			w.running = false
			w.mu.Unlock()
			return
		}
		now := time.Now()
		var (
			due      []int
			earliest time.Time
		)
		for id, k := range w.socks {
			switch {
			case k.next.IsZero():
			case !k.next.After(now):
				due = append(due, id)
			case earliest.IsZero() || k.next.Before(earliest):
				earliest = k.next
			}
		}
		if len(due) == 0 && earliest.IsZero() {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		if len(due) > 0 {
			for _, id := range due {
				w.sample(id)
			}
			continue
		}
		timer.Reset(time.Until(earliest))
		select {
		case <-timer.C:
		case <-w.wake:
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
	closed, local, remote := k.closed, k.local, k.remote
	w.mu.Unlock()

	var (
		st    TCPStats
		gone  bool
		valid = true
		err   error
	)
	if !closed {
		st, valid, err = w.open(id)
	} else if local.IsValid() && remote.IsValid() {
		var e kernel.Entry
		var found bool
		e, found, err = lingering.lookup(local, remote)
		st = TCPStats{State: "CLOSED", Closed: true}
		if found {
			st = TCPStats{State: e.State.String(), Closed: true, TimerMS: e.Timer.Milliseconds(), SendQ: e.SendQueue, RecvQ: e.RecvQueue}
		}
		gone = !found && err == nil
	} else {
		st, gone = TCPStats{State: "CLOSED", Closed: true}, true
	}

	now := time.Now()
	w.mu.Lock()
	if errors.Is(err, errors.ErrUnsupported) {
		w.off = true
		w.mu.Unlock()
		return
	}
	k.lastAt = now
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
	case k.every >= sampleIdle && !changed:
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

// open samples an open socket. valid is false when there is nothing to
// sample: the socket has ended (its closed state event is on its way).
func (w *kernelWatch) open(id int) (TCPStats, bool, error) {
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
		// which is left CLOSED: report the connection.
		if local.IsValid() && remote.IsValid() {
			e, found, err := lingering.lookup(local, remote)
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

const lingerFresh = 10 * time.Millisecond

type lingerTable struct {
	mu      sync.Mutex
	at      time.Time
	entries map[[2]netip.AddrPort]kernel.Entry
	err     error
}

// lookup finds the connection local–remote among the lingering ones.
func (t *lingerTable) lookup(local, remote netip.AddrPort) (kernel.Entry, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.at) > lingerFresh {
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
