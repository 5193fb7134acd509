package badnet

import (
	"errors"
	"fmt"
	"time"
)

// Limits of the knobs.
const (
	// MaxDelay is the longest Latency, Jitter, SplitGap or Coalesce a Knobs
	// may hold.
	MaxDelay = time.Minute
	// DefaultSplitGap is the pause between split pieces when SplitGap is
	// zero: too short for a person to notice, long enough that a reader on
	// an idle machine receives each piece on its own.
	DefaultSplitGap = time.Millisecond
	// CoalesceMax is the largest write Coalesce builds: once this much is
	// held it goes at once, without waiting for the quiet period.
	CoalesceMax = 64 << 10
	// ReorderWait is how long a datagram held back by Reorder waits for a
	// next one to overtake it; after that it goes alone.
	ReorderWait = 2 * time.Second
)

// Knobs say how the proxy misbehaves. The zero value forwards everything
// unchanged and at once. Change them while the proxy runs with Proxy.Set.
type Knobs struct {
	// Latency is added to every chunk in each direction, so a round trip
	// grows by twice Latency. Zero adds none.
	Latency time.Duration
	// Jitter varies each chunk's delay uniformly within Latency ± Jitter,
	// never below zero. A TCP stream keeps its byte order regardless: a chunk
	// never leaves before the one read before it. UDP datagrams each keep
	// their own delay, so jitter larger than their spacing reorders them, as
	// on a real network. Zero means every chunk gets exactly Latency.
	Jitter time.Duration
	// Bandwidth is the link speed in bytes per second in each direction, per
	// TCP connection or per UDP client address. Bytes are written in pieces
	// of at most 20 ms worth (at least one byte), each when the link would
	// have carried it. Zero means unlimited.
	Bandwidth int
	// Split (TCP) writes the bytes in separate writes of at most Split bytes,
	// each its own TCP segment and each reported as its own chunk, at least
	// SplitGap apart. Zero writes what was read (or coalesced) in one write.
	Split int
	// SplitGap is the least time between two writes in one direction while
	// Split is on, so that the receiver reads the pieces separately rather
	// than finding them all in its buffer at once. Zero means
	// DefaultSplitGap (1 ms); raise it to make the pieces unmistakable on a
	// busy machine. It limits throughput to Split bytes per SplitGap.
	SplitGap time.Duration
	// Coalesce (TCP) holds the bytes that arrive and forwards them as one
	// write once nothing more has arrived for this long, or at once when
	// CoalesceMax bytes are held or the sender half-closes. Latency counts
	// from that moment. Zero forwards each read as it comes.
	Coalesce time.Duration
	// Loss (UDP) is the probability, in [0, 1], that a datagram is dropped,
	// drawn for each datagram in each direction. Zero drops none; 1 drops
	// all.
	Loss float64
	// Reorder (UDP) is the probability, in [0, 1], that a datagram is held
	// back and sent right after the next one in the same direction (or
	// alone after ReorderWait, if no next one comes). Zero keeps the order
	// (jitter aside).
	Reorder float64
}

// KnobError says which knob has an invalid value and why.
type KnobError struct {
	Knob   string // the Knobs field: "Loss"
	Reason string // for people: "loss must be between 0 and 1 (got 1.5)"
}

func (e *KnobError) Error() string { return "badnet: " + e.Reason }

// Validate reports every invalid knob, each as a *KnobError (joined with
// errors.Join when there are several), or nil.
func (k Knobs) Validate() error {
	var errs []error
	bad := func(knob, format string, args ...any) {
		errs = append(errs, &KnobError{Knob: knob, Reason: fmt.Sprintf(format, args...)})
	}
	for _, d := range []struct {
		knob, name string
		v          time.Duration
	}{
		{"Latency", "latency", k.Latency},
		{"Jitter", "jitter", k.Jitter},
		{"SplitGap", "split gap", k.SplitGap},
		{"Coalesce", "coalesce", k.Coalesce},
	} {
		switch {
		case d.v < 0:
			bad(d.knob, "%s must not be negative (got %v)", d.name, d.v)
		case d.v > MaxDelay:
			bad(d.knob, "%s must be at most %v (got %v)", d.name, MaxDelay, d.v)
		}
	}
	if k.Bandwidth < 0 {
		bad("Bandwidth", "bandwidth must not be negative (got %d); 0 means unlimited", k.Bandwidth)
	}
	if k.Split < 0 {
		bad("Split", "split must not be negative (got %d); 0 means off", k.Split)
	}
	// The negated comparisons also catch NaN.
	if !(k.Loss >= 0 && k.Loss <= 1) {
		bad("Loss", "loss must be between 0 and 1 (got %v)", k.Loss)
	}
	if !(k.Reorder >= 0 && k.Reorder <= 1) {
		bad("Reorder", "reorder must be between 0 and 1 (got %v)", k.Reorder)
	}
	return errors.Join(errs...)
}

// splitGap is the gap in force between split pieces.
func (k Knobs) splitGap() time.Duration {
	if k.SplitGap == 0 {
		return DefaultSplitGap
	}
	return k.SplitGap
}
