package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the children's roles, as the bench
// binary does: the smoke test re-executes it.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAppendMasked(t *testing.T) {
	key := []byte{0x12, 0x34, 0x56, 0x78}
	for _, pos := range []int{0, 1, 2, 3, 7} {
		for _, n := range []int{0, 1, 7, 8, 9, 100} {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(rand.N(256))
			}
			got := appendMasked([]byte("prefix"), src, key, pos)
			want := []byte("prefix")
			for i, b := range src {
				want = append(want, b^key[(pos+i)%4])
			}
			if !bytes.Equal(got, want) {
				t.Errorf("pos %d, %d bytes: got %x, want %x", pos, n, got, want)
			}
		}
	}
}

func TestAppendFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		f := appendFrame(nil, opBinary, n, make([]byte, n))
		var header int
		switch {
		case n < 126:
			header = 2
		case n <= 0xffff:
			header = 4
		default:
			header = 10
		}
		if len(f) != header+4+n {
			t.Errorf("%d-byte payload: frame of %d bytes, want %d", n, len(f), header+4+n)
		}
		if f[0] != 0x80|opBinary || f[1]&0x80 == 0 {
			t.Errorf("%d-byte payload: header %x: want FIN, binary, masked", n, f[:2])
		}
	}
}

func TestPatternCheck(t *testing.T) {
	p := newPattern()
	off := int64(patternPeriod - 10) // across the end of a period
	got := bytes.Clone(p.at(off, 100))
	if err := p.check(off, got); err != nil {
		t.Fatalf("the pattern's own bytes: %v", err)
	}
	got[42] ^= 1
	if err := p.check(off, got); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("byte %d ", off+42)) {
		t.Fatalf("a flipped byte 42 at offset %d: got %v, want an error naming byte %d", off, err, off+42)
	}
}

func TestDecodeEvent(t *testing.T) {
	header := `{"seq":7,"type":"data","sock":2,"len":3}`
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	msg = append(append(msg, header...), "abc"...)
	e, err := decodeEvent(true, msg)
	if err != nil || e.Seq != 7 || e.Type != "data" || e.Sock != 2 || string(e.Data) != "abc" {
		t.Fatalf("decodeEvent = %+v, %v", e, err)
	}
	if _, err := decodeEvent(true, msg[:3]); err == nil {
		t.Fatal("a 3-byte binary event decoded")
	}
	if _, err := decodeEvent(true, []byte{0, 0, 1, 0, '{'}); err == nil {
		t.Fatal("a header length past the message decoded")
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := range 100 {
		d = append(d, time.Duration(100-i)*time.Microsecond)
	}
	s := summarize(d)
	if s.p50 != 51*time.Microsecond || s.p99 != 100*time.Microsecond || s.pmax != 100*time.Microsecond {
		t.Fatalf("summarize(1..100 µs) = %+v", s)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Fatalf("median = %v, want 2.5", m)
	}
}

// TestSmoke runs the whole bench, small: every child, every test but the
// concurrency test, which is the idle test with a larger number.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server, relay and clients children")
	}
	var out strings.Builder
	args := []string{"-bulk-mib", "2", "-runs", "1", "-warmup", "2", "-samples", "20",
		"-idle", "5", "-sessions", "0", "-parallel", "4", "-timeout", "2m"}
	if err := benchMain(args, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, want := range []string{"1. Bulk echo", "2. Round-trip latency", "3. Memory per idle session",
		" 5 of 5 in ", "a new session and connect succeed", "Summary"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}
