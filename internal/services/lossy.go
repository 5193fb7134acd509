package services

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
)

// newLossy is a UDP echo that drops a share of the datagrams (LossRate),
// chosen by a PRNG seeded from Seed, so that with a fixed seed the same
// datagrams (by order of arrival at the service) are dropped every run.
func newLossy(st settings) service {
	d := newDropper(st.lossRate, st.seed)
	pct := strconv.FormatFloat(math.Round(st.lossRate*1000)/10, 'f', -1, 64)
	return service{
		udp: func(p []byte) []byte {
			if d.drop() {
				return nil
			}
			return p
		},
		udpAbout: fmt.Sprintf("Echoes datagrams but drops %s%% of them at random: UDP does not resend what is lost.", pct),
	}
}

// dropper decides which datagrams to drop.
type dropper struct {
	rate float64
	mu   sync.Mutex // guards rng: the service reads on one goroutine per address
	rng  *rand.Rand
}

func newDropper(rate float64, seed uint64) *dropper {
	return &dropper{rate: rate, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// drop reports whether to drop the next datagram.
func (d *dropper) drop() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < d.rate
}
