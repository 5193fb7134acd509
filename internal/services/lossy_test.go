package services

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestLossy: with a fixed seed, the service drops exactly the datagrams its
// PRNG picks, and as many as the loss rate says, within binomial bounds.
func TestLossy(t *testing.T) {
	t.Parallel()
	const n, seed, rate = 10_000, 42, defaultLossRate
	s := start(t, Config{Seed: seed}, "lossy") // LossRate 0: the default
	c := dialUDP(t, addr(t, s, "lossy", "udp"))
	// The same PRNG says which datagrams the service drops. The client
	// waits for each echo it expects (so it never floods the socket, and
	// loopback does not drop), and a datagram echoed that should have
	// been dropped arrives in the place of the next expected one.
	fate := newDropper(rate, seed)
	dropped := 0
	for i := range n {
		p := []byte(strconv.Itoa(i))
		if fate.drop() {
			dropped++
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := roundTrip(t, c, p); string(got) != string(p) {
			t.Fatalf("sent datagram %s; the echo that came back was %s", p, got)
		}
	}
	mean, sigma := n*rate, math.Sqrt(n*rate*(1-rate))
	t.Logf("%d of %d dropped; mean %.0f, sigma %.1f", dropped, n, mean, sigma)
	if math.Abs(float64(dropped)-mean) > 4.5*sigma {
		t.Fatalf("%d of %d dropped; want %.0f +- %.0f", dropped, n, mean, 4.5*sigma)
	}
}

func TestLossyRateAndAbout(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		about string
	}{{0, "30%"}, {0.05, "5%"}, {1, "100%"}, {0.125, "12.5%"}} {
		s := start(t, Config{LossRate: tc.rate}, "lossy")
		if about := s.Infos()[0].About; !strings.Contains(about, "drops "+tc.about+" of them") {
			t.Errorf("LossRate %v: About %q", tc.rate, about)
		}
		s.Close()
	}
	// A rate of 1 drops all; the PRNG never returns 1.
	d := newDropper(1, 7)
	for range 1000 {
		if !d.drop() {
			t.Fatal("a rate of 1 kept a datagram")
		}
	}
}
