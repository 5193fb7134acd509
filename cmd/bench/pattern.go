package main

import (
	"bytes"
	"fmt"
)

// patternPeriod is the length after which the byte pattern repeats. It is
// odd, so chunk boundaries fall at a different place of the pattern each
// time round, and a reordered or repeated chunk is caught.
const patternPeriod = 1<<20 + 7

// maxChunk is the largest write the pattern can provide in one slice.
const maxChunk = 1 << 20

// pattern is the deterministic stream every test sends: byte i of the
// stream is pattern[i%patternPeriod]. It holds two periods so any window of
// up to one period is a single slice.
type pattern []byte

func newPattern() pattern {
	p := make(pattern, 2*patternPeriod)
	x := uint32(2463534242) // xorshift32
	for i := range patternPeriod {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	copy(p[patternPeriod:], p[:patternPeriod])
	return p
}

// at returns the n bytes of the stream starting at off; n ≤ patternPeriod.
func (p pattern) at(off int64, n int) []byte {
	i := int(off % patternPeriod)
	return p[i : i+n]
}

// check reports whether got is the stream's bytes starting at off.
func (p pattern) check(off int64, got []byte) error {
	for len(got) > 0 {
		n := min(len(got), patternPeriod)
		if want := p.at(off, n); !bytes.Equal(got[:n], want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			return fmt.Errorf("byte %d of the stream is %#02x, want %#02x", off+int64(i), got[i], want[i])
		}
		off += int64(n)
		got = got[n:]
	}
	return nil
}
