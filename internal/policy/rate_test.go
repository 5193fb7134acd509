package policy_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/policy"
)

func TestConnectsPerMinute(t *testing.T) {
	clk := newClock()
	p := newHosted(t, func(c *policy.Config) {
		c.Now = clk.Now
		c.Limits.ConnectsPerMinute = 5
	})
	connect := func(addr string) error {
		return p.Check(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap(addr)})
	}
	// Five attempts, one a second; refused targets count too.
	for i, addr := range []string{"127.0.0.1:7", "10.0.0.1:80", "203.0.113.5:7", "1.1.1.1:80", "127.0.0.1:13"} {
		if i > 0 {
			clk.Advance(time.Second)
		}
		var d *policy.Denied
		if err := connect(addr); errors.As(err, &d) && d.Rule == "connect_rate" {
			t.Fatalf("attempt %d refused by the rate: %v", i+1, err)
		}
	}
	clk.Advance(6 * time.Second) // 10 s after the first
	d := denied(t, connect("127.0.0.1:7"), "connect_rate")
	if d.RetryAfter != 50*time.Second {
		t.Errorf("RetryAfter = %v, want 50s", d.RetryAfter)
	}
	if !strings.Contains(d.Reason, "127.0.0.1:7") || !strings.Contains(d.Reason, "50s") {
		t.Errorf("reason %q should name the address and the wait", d.Reason)
	}
	// A refusal by the rate is not counted: the wait stays exact.
	clk.Advance(49 * time.Second)
	d = denied(t, connect("127.0.0.1:7"), "connect_rate")
	if d.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", d.RetryAfter)
	}
	clk.Advance(d.RetryAfter)
	allowed(t, connect("127.0.0.1:7"))
	denied(t, connect("127.0.0.1:7"), "connect_rate") // the second attempt is still in the window
	clk.Advance(time.Second)
	allowed(t, connect("127.0.0.1:7"))

	// sendto and other sessions do not count.
	allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpSendTo, Addr: ap("127.0.0.1:7"), Bytes: 1}))
	for range 5 {
		allowed(t, p.Check(policy.Action{Session: "s2", Op: policy.OpConnect, Addr: ap("127.0.0.1:7")}))
	}
	denied(t, p.Check(policy.Action{Session: "s2", Op: policy.OpConnect, Addr: ap("127.0.0.1:7")}), "connect_rate")
}

func TestConnectsPerMinuteDefault(t *testing.T) {
	clk := newClock()
	p := newHosted(t, func(c *policy.Config) { c.Now = clk.Now })
	for range 60 {
		allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap("127.0.0.1:7")}))
	}
	d := denied(t, p.Check(policy.Action{Session: "s1", Op: policy.OpConnect, Addr: ap("127.0.0.1:7")}), "connect_rate")
	if d.RetryAfter != time.Minute {
		t.Errorf("RetryAfter = %v, want 1m", d.RetryAfter)
	}
}

func TestTargetsPerHour(t *testing.T) {
	clk := newClock()
	p := newHosted(t, func(c *policy.Config) {
		c.Now = clk.Now
		c.Limits.TargetsPerHour = 3
	})
	to := func(op policy.Op, addr string) error {
		return p.Check(policy.Action{Session: "s1", Op: op, Addr: ap(addr), Bytes: 1})
	}
	// Refused targets are not remembered.
	denied(t, to(policy.OpConnect, "10.0.0.1:80"), "private")
	denied(t, to(policy.OpSendTo, "1.1.1.1:80"), "not_allowed")
	// Three targets, ten minutes apart; a service counts as one.
	allowed(t, to(policy.OpConnect, "127.0.0.1:7"))
	clk.Advance(10 * time.Minute)
	allowed(t, to(policy.OpSendTo, "203.0.113.2:7"))
	clk.Advance(10 * time.Minute)
	allowed(t, to(policy.OpConnect, "203.0.113.3:7"))
	clk.Advance(10 * time.Minute)

	d := denied(t, to(policy.OpSendTo, "203.0.113.4:7"), "target_rate")
	if d.RetryAfter != 30*time.Minute {
		t.Errorf("RetryAfter = %v, want 30m", d.RetryAfter)
	}
	if !strings.Contains(d.Reason, "203.0.113.4:7") || !strings.Contains(d.Reason, "30m0s") {
		t.Errorf("reason %q should name the target and the wait", d.Reason)
	}
	denied(t, to(policy.OpConnect, "203.0.113.4:7"), "target_rate")
	// Targets already reached stay reachable, by either op; the same
	// target in its IPv4-mapped form is the same target.
	allowed(t, to(policy.OpSendTo, "127.0.0.1:7"))
	allowed(t, to(policy.OpConnect, "203.0.113.2:7"))
	allowed(t, to(policy.OpConnect, "[::ffff:203.0.113.3]:7"))
	// Each allowed use renews a target; all three were just renewed, so the
	// wait is now a full hour.
	d = denied(t, to(policy.OpSendTo, "203.0.113.4:7"), "target_rate")
	if d.RetryAfter != time.Hour {
		t.Errorf("RetryAfter = %v, want 1h after renewing every target", d.RetryAfter)
	}
	clk.Advance(time.Hour)
	allowed(t, to(policy.OpSendTo, "203.0.113.4:7"))
	allowed(t, to(policy.OpSendTo, "203.0.113.5:7"))
	allowed(t, to(policy.OpSendTo, "203.0.113.6:7"))
	denied(t, to(policy.OpSendTo, "203.0.113.7:7"), "target_rate")
	// Another session has its own.
	allowed(t, p.Check(policy.Action{Session: "s2", Op: policy.OpConnect, Addr: ap("203.0.113.7:7")}))
}

func TestTargetsPerHourRetryAfterOldest(t *testing.T) {
	clk := newClock()
	p := newHosted(t, func(c *policy.Config) {
		c.Now = clk.Now
		c.Limits.TargetsPerHour = 2
	})
	send := func(addr string) error {
		return p.Check(policy.Action{Session: "s1", Op: policy.OpSendTo, Addr: ap(addr), Bytes: 1})
	}
	allowed(t, send("203.0.113.1:7"))
	clk.Advance(20 * time.Minute)
	allowed(t, send("203.0.113.2:7"))
	clk.Advance(5 * time.Minute)
	d := denied(t, send("203.0.113.3:7"), "target_rate")
	if d.RetryAfter != 35*time.Minute {
		t.Errorf("RetryAfter = %v, want 35m (when 203.0.113.1 leaves the hour)", d.RetryAfter)
	}
	clk.Advance(d.RetryAfter)
	allowed(t, send("203.0.113.3:7"))
}

func TestByteQuota(t *testing.T) {
	const limit = 100
	newP := func(t *testing.T) *policy.Policy {
		return newHosted(t, func(c *policy.Config) { c.Limits.BytesPerSession = limit })
	}
	act := func(op policy.Op, n int) policy.Action {
		a := policy.Action{Session: "s1", Op: op, Addr: ap("203.0.113.5:7"), Bytes: n}
		if op == policy.OpRecv {
			a.Addr = netip.AddrPort{}
		}
		return a
	}
	for _, op := range []policy.Op{policy.OpSend, policy.OpSendTo} {
		t.Run(string(op), func(t *testing.T) {
			p := newP(t)
			allowed(t, p.Check(act(op, 60)))
			d := denied(t, p.Check(act(op, 41)), "byte_quota") // one past: nothing counted
			if d.RetryAfter != 0 {
				t.Errorf("RetryAfter = %v, want 0", d.RetryAfter)
			}
			if !strings.Contains(d.Reason, "203.0.113.5:7") || !strings.Contains(d.Reason, "100 bytes") {
				t.Errorf("reason %q should name the address and the limit", d.Reason)
			}
			allowed(t, p.Check(act(op, 40))) // exactly at the limit
			denied(t, p.Check(act(op, 1)), "byte_quota")
			allowed(t, p.Check(act(op, 0)))
			// Recv after the quota is spent: past it now.
			denied(t, p.Check(act(policy.OpRecv, 1)), "byte_quota")
			// Another session is untouched.
			allowed(t, p.Check(policy.Action{Session: "s2", Op: op, Addr: ap("203.0.113.5:7"), Bytes: limit}))
		})
	}
	t.Run("recv", func(t *testing.T) {
		p := newP(t)
		allowed(t, p.Check(act(policy.OpRecv, 60)))
		allowed(t, p.Check(act(policy.OpRecv, 40))) // exactly at the limit
		d := denied(t, p.Check(act(policy.OpRecv, 1)), "byte_quota")
		if !strings.Contains(d.Reason, "101 bytes") || !strings.Contains(d.Error(), "recv refused") {
			t.Errorf("reason %q / error %q", d.Reason, d.Error())
		}
		denied(t, p.Check(act(policy.OpSend, 0)), "byte_quota") // the received bytes were counted
	})
	t.Run("both directions share", func(t *testing.T) {
		p := newP(t)
		allowed(t, p.Check(act(policy.OpRecv, 50)))
		denied(t, p.Check(act(policy.OpSend, 51)), "byte_quota")
		allowed(t, p.Check(act(policy.OpSendTo, 25)))
		allowed(t, p.Check(act(policy.OpSend, 25)))
		denied(t, p.Check(act(policy.OpSendTo, 1)), "byte_quota")
	})
	t.Run("refused sendto counts nothing", func(t *testing.T) {
		p := newP(t)
		denied(t, p.Check(policy.Action{Session: "s1", Op: policy.OpSendTo, Addr: ap("10.0.0.1:7"), Bytes: 100}), "private")
		allowed(t, p.Check(act(policy.OpSendTo, 100)))
	})
	t.Run("no limit", func(t *testing.T) {
		p := newHosted(t, func(c *policy.Config) { c.Limits.BytesPerSession = -1 })
		for range 3 {
			allowed(t, p.Check(act(policy.OpRecv, 1<<40)))
			allowed(t, p.Check(act(policy.OpSend, 1<<40)))
		}
	})
	t.Run("default", func(t *testing.T) {
		p := newHosted(t, nil)
		allowed(t, p.Check(act(policy.OpRecv, 64<<20)))
		d := denied(t, p.Check(act(policy.OpSend, 1)), "byte_quota")
		if !strings.Contains(d.Reason, "64 MiB") {
			t.Errorf("reason %q should give the limit as 64 MiB", d.Reason)
		}
	})
}

func TestWaitPaces(t *testing.T) {
	const rate = 64 << 10 // the burst is one second's worth: 64 KiB
	p := newHosted(t, func(c *policy.Config) { c.Limits.BytesPerSecond = rate })
	ctx := context.Background()
	start := time.Now()
	// Two bursts' worth in chunks: the first burst passes at once, the
	// second waits about a second.
	for range 8 {
		if err := p.Wait(ctx, "s1", 16<<10); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	if elapsed < 900*time.Millisecond || elapsed > 30*time.Second {
		t.Errorf("128 KiB at 64 KiB/s took %v, want about 1s", elapsed)
	}
}

func TestWaitDebtAndCancel(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) { c.Limits.BytesPerSecond = 64 << 10 })
	start := time.Now()
	// More than the burst passes once the bucket is full, leaving debt.
	if err := p.Wait(context.Background(), "s1", 10*64<<10); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a large payload with a full bucket waited %v", d)
	}
	// The debt (9 s) makes the next wait long; a context ending stops it.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := p.Wait(ctx, "s1", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled Wait took %v", d)
	}
	// Cancelled before: returns at once.
	done, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := p.Wait(done, "s2", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v", err)
	}
	// Other sessions have their own bucket; zero bytes never wait.
	if err := p.Wait(context.Background(), "s3", 64<<10); err != nil {
		t.Errorf("a fresh session's first burst: %v", err)
	}
	if err := p.Wait(context.Background(), "s1", 0); err != nil {
		t.Errorf("Wait(0) = %v", err)
	}
	// End forgets the debt.
	p.End("s1")
	quick, cancelQuick := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelQuick()
	if err := p.Wait(quick, "s1", 1); err != nil {
		t.Errorf("Wait after End: %v", err)
	}
}

func TestWaitUnlimited(t *testing.T) {
	p := newHosted(t, func(c *policy.Config) { c.Limits.BytesPerSecond = -1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 10 {
		if err := p.Wait(ctx, "s1", 1<<30); err != nil {
			t.Fatal(err)
		}
	}
}
