package policy_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/socketplayground/playground/internal/policy"
)

// TestConcurrentUse runs every method from many goroutines (meant for
// -race) and checks that no two sessions ever hold one port.
func TestConcurrentUse(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) {
		c.PoolFirst, c.PoolLast = 30000, 30031
		c.Limits = policy.Limits{ConnectsPerMinute: -1, TargetsPerHour: -1, BytesPerSession: -1, BytesPerSecond: 1 << 30, ListenersPerSession: 4}
	})
	var (
		mu    sync.Mutex
		owner = map[uint16]string{}
		wg    sync.WaitGroup
	)
	for g := range 16 {
		wg.Go(func() {
			s := fmt.Sprintf("s%d", g)
			for i := range 200 {
				got, err := p.Reserve(policy.Action{Session: s, Op: policy.OpListen, Addr: ap("127.0.0.1:0")})
				if err == nil {
					port := got.Port()
					mu.Lock()
					if o, ok := owner[port]; ok {
						t.Errorf("port %d held by %s and %s", port, o, s)
					}
					owner[port] = s
					mu.Unlock()
					if err := p.Check(policy.Action{Session: s, Op: policy.OpListen, Addr: got}); err != nil {
						t.Errorf("listen on a reserved port: %v", err)
					}
					_ = p.Check(policy.Action{Session: "peer" + s, Op: policy.OpConnect, Addr: netip.AddrPortFrom(got.Addr(), port)})
					mu.Lock()
					delete(owner, port)
					mu.Unlock()
					p.Release(s, port)
				}
				_ = p.Check(policy.Action{Session: s, Op: policy.OpSendTo, Addr: ap("203.0.113.9:7"), Bytes: 10})
				_ = p.Check(policy.Action{Session: s, Op: policy.OpSend, Addr: ap("10.0.0.1:7"), Bytes: 10})
				_ = p.Check(policy.Action{Session: s, Op: policy.OpRecv, Bytes: 10})
				_ = p.Wait(context.Background(), s, 100)
				if i%50 == 49 {
					p.End(s)
				}
				_, _ = p.Pool()
				_ = p.Limits()
			}
		})
	}
	wg.Wait()
}
