package policy_test

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/policy"
)

// clock is a fake clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testRules = []string{
	"example.com:80,443",
	"203.0.113.0/24:7-9,13,25", // a documentation range, with SMTP listed to show it stays refused
	"10.1.0.0/16:22",           // a private range the operator opened
	"[2001:db8::]/32:443",
	"0.0.0.0/0:8443",     // a broad rule: public addresses only
	"169.254.0.0/16:80",  // link-local opened; metadata still refused
	"100.64.0.0/10:80",   // CGNAT opened; Alibaba's metadata still refused
	"8.8.8.0/24:53,465",  // public, with an SMTP port that stays refused
	"[fd00:ec2::]/32:80", // a ULA range holding AWS's IPv6 metadata address
}

// testConfig is a hosted configuration with no reading of interfaces.
func testConfig(t *testing.T) policy.Config {
	t.Helper()
	var allow []policy.Rule
	for _, s := range testRules {
		r, err := policy.ParseRule(s)
		if err != nil {
			t.Fatalf("ParseRule(%q): %v", s, err)
		}
		allow = append(allow, r)
	}
	return policy.Config{
		Services: []netip.AddrPort{
			netip.MustParseAddrPort("127.0.0.1:7"),
			netip.MustParseAddrPort("[::1]:7"),
			netip.MustParseAddrPort("127.0.0.1:13"),
		},
		Allow: allow,
		OwnAddrs: []netip.Addr{
			netip.MustParseAddr("5.6.7.8"),
			netip.MustParseAddr("2a01:4f8::1"),
			netip.MustParseAddr("10.1.2.3"), // inside the opened 10.1.0.0/16
		},
	}
}

func newHosted(t *testing.T, edit func(*policy.Config)) *policy.Policy {
	t.Helper()
	c := testConfig(t)
	if edit != nil {
		edit(&c)
	}
	p, err := policy.Hosted(c)
	if err != nil {
		t.Fatalf("Hosted: %v", err)
	}
	return p
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// denied asserts err is a *Denied with the rule, and returns it.
func denied(t *testing.T, err error, rule string) *policy.Denied {
	t.Helper()
	var d *policy.Denied
	if !errors.As(err, &d) {
		t.Fatalf("got %v, want a *Denied with rule %q", err, rule)
	}
	if d.Rule != rule {
		t.Fatalf("rule = %q, want %q (reason: %s)", d.Rule, rule, d.Reason)
	}
	if d.Reason == "" {
		t.Fatalf("rule %q has no reason", rule)
	}
	if !strings.Contains(d.Error(), d.Reason) {
		t.Errorf("Error() %q does not carry the reason", d.Error())
	}
	return d
}

func allowed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
}
