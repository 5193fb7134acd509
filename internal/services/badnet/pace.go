package badnet

import (
	"math/rand/v2"
	"time"
)

// burst is the depth of a bandwidth cap's token bucket, in time: a link that
// idled or fell behind may catch up by this much at once.
const burst = 20 * time.Millisecond

// quantum is the largest piece written at once under a bandwidth cap of bw
// bytes per second: burst worth of bytes, at least one.
func quantum(bw int) int {
	return max(1, int(int64(bw)*int64(burst)/int64(time.Second)))
}

// xmit is how long n bytes take at bw bytes per second.
func xmit(n, bw int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(bw))
}

// link paces writes to a bandwidth. Owned by one goroutine.
type link struct {
	free time.Time // when the link has carried everything given to it
}

// send gives n bytes to the link at bw bytes per second, no earlier than
// now less the burst, and returns when the last of them has been carried:
// the time to write them.
func (l *link) send(now time.Time, n, bw int) time.Time {
	start := l.free
	if floor := now.Add(-burst); start.Before(floor) {
		start = floor
	}
	l.free = start.Add(xmit(n, bw))
	return l.free
}

// delay draws one chunk's delay: Latency plus a uniform jitter within
// ±Jitter, never below zero. It draws from r only when Jitter is set.
func delay(k Knobs, r *rand.Rand) time.Duration {
	d := k.Latency
	if k.Jitter > 0 {
		d += time.Duration(r.Int64N(2*int64(k.Jitter)+1)) - k.Jitter
	}
	return max(d, 0)
}

// newRand returns the PRNG of one direction of one connection or mapping,
// so that a fixed seed gives each stream the same draws however the
// goroutines interleave.
func newRand(seed uint64, conn int, dir Dir) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(conn)<<2|uint64(dir)))
}

// waiter sleeps until a time unless done closes first. Owned by one
// goroutine.
type waiter struct {
	t    *time.Timer
	done <-chan struct{}
}

func newWaiter(done <-chan struct{}) *waiter {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{t: t, done: done}
}

// until waits until t and reports whether it got there before done closed.
func (w *waiter) until(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-w.done:
			return false
		default:
			return true
		}
	}
	w.t.Reset(d)
	select {
	case <-w.t.C:
		return true
	case <-w.done:
		w.t.Stop()
		return false
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// randSeed is a fresh seed for a proxy started with Seed zero; never zero
// itself.
func randSeed() uint64 {
	for {
		if s := rand.Uint64(); s != 0 {
			return s
		}
	}
}
