package main

import (
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples caps the example messages kept of each kind of failure.
const maxSamples = 5

// stats counts what the sessions did. All methods are safe for concurrent
// use: the counters the progress line reads are atomic, the rest is
// guarded by mu.
type stats struct {
	open      atomic.Int64 // sessions open now
	peakOpen  atomic.Int64 // the most open at once
	attempted atomic.Int64 // sessions that finished trying to open, either way
	rounds    atomic.Int64 // rounds completed
	steady    atomic.Int64 // rounds completed between the end of the ramp and the stop
	failed    atomic.Int64 // rounds that did not complete (an error event, a mismatch)

	// mu guards the fields below.
	mu             sync.Mutex
	errors         map[string]int64 // error events by code
	errorSamples   map[string]string
	wsFailures     int64 // sessions whose page load or WebSocket failed, or did not close cleanly
	wsSamples      []string
	mismatches     int64 // echoes that came back different, or not at all
	mismatchSample []string
	latencies      []roundTimes
}

// roundTimes is how long one round took, and each of its steps: connect to
// the connect's result, send to the last byte of the echo, close to the
// close's result.
type roundTimes struct {
	total, connect, echo, close time.Duration
}

func newStats() *stats {
	return &stats{errors: map[string]int64{}, errorSamples: map[string]string{}}
}

func (s *stats) opened() {
	n := s.open.Add(1)
	for {
		peak := s.peakOpen.Load()
		if n <= peak || s.peakOpen.CompareAndSwap(peak, n) {
			return
		}
	}
}

func (s *stats) closed() { s.open.Add(-1) }

// roundDone counts a completed round; it is "steady" if it ended between
// from and to.
func (s *stats) roundDone(from, to time.Time) {
	s.rounds.Add(1)
	if now := time.Now(); !now.Before(from) && !now.After(to) {
		s.steady.Add(1)
	}
}

func (s *stats) roundFailed() { s.failed.Add(1) }

func (s *stats) errorEvent(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[code]++
	if _, ok := s.errorSamples[code]; !ok {
		s.errorSamples[code] = message
	}
}

func (s *stats) wsFailure(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wsFailures++
	if len(s.wsSamples) < maxSamples {
		s.wsSamples = append(s.wsSamples, msg)
	}
}

func (s *stats) mismatch(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches++
	if len(s.mismatchSample) < maxSamples {
		s.mismatchSample = append(s.mismatchSample, msg)
	}
}

// addLatencies merges one session's round latencies.
func (s *stats) addLatencies(l []roundTimes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, l...)
}

func (s *stats) errorCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, c := range s.errors {
		n += c
	}
	return n
}

// snapshot returns copies of the guarded fields, for the report.
func (s *stats) snapshot() (errors map[string]int64, errorSamples map[string]string, wsFailures int64, wsSamples []string, mismatches int64, mismatchSamples []string, lat []roundTimes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.errors), maps.Clone(s.errorSamples), s.wsFailures, slices.Clone(s.wsSamples),
		s.mismatches, slices.Clone(s.mismatchSample), slices.Clone(s.latencies)
}

// percentile returns the q-quantile (0 ≤ q ≤ 1) of sorted, by the
// nearest-rank method; 0 if it is empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (s *stats) wsFailureCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsFailures
}
