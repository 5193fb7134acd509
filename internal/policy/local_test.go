package policy_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/policy"
)

func TestLocalAllowsEverything(t *testing.T) {
	for name, p := range map[string]*policy.Policy{"Local()": policy.Local(), "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if p.Hosted() {
				t.Error("Hosted() = true")
			}
			ops := []policy.Op{policy.OpConnect, policy.OpListen, policy.OpAccept, policy.OpBind, policy.OpSend, policy.OpSendTo, policy.OpRecv}
			for _, addr := range []string{"10.0.0.1:80", "169.254.169.254:80", "127.0.0.1:22", "0.0.0.0:0", "[::]:0", "8.8.8.8:25", "[64:ff9b::a00:1]:80", "224.0.0.1:5353"} {
				for _, op := range ops {
					allowed(t, p.Check(policy.Action{Session: "s1", Op: op, Addr: ap(addr), Host: "example.com", Bytes: 1 << 30}))
				}
			}
			for _, op := range []policy.Op{policy.OpConnect, policy.OpListen, policy.OpAccept, policy.OpBind, policy.OpSendTo} {
				denied(t, p.Check(policy.Action{Session: "s1", Op: op}), "no_address")
			}
			allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpSend, Bytes: 1}))
			allowed(t, p.Check(policy.Action{Session: "s1", Op: policy.OpRecv, Bytes: 1}))

			for _, addr := range []netip.AddrPort{ap("0.0.0.0:0"), ap("127.0.0.1:8080"), ap("[::]:22"), ap("10.0.0.1:0"), {}} {
				got, err := p.Reserve(policy.Action{Session: "s1", Op: policy.OpListen, Addr: addr})
				if err != nil || got != addr {
					t.Errorf("Reserve(%s) = %s, %v; want it unchanged", addr, got, err)
				}
			}
			p.Release("s1", 8080)
			p.End("s1")
			if err := p.Wait(context.Background(), "s1", 1<<30); err != nil {
				t.Errorf("Wait = %v", err)
			}
			if first, last := p.Pool(); first != 0 || last != 0 {
				t.Errorf("Pool() = %d, %d; want none", first, last)
			}
			if l := p.Limits(); l != (policy.Limits{}) {
				t.Errorf("Limits() = %+v; want none", l)
			}
		})
	}
	if policy.Local().Name != "local" {
		t.Error(`Local().Name != "local"`)
	}
}

// TestCheckName: local mode resolves any name; hosted mode only localhost
// and the allowlist's host names, whatever their case or final dot.
func TestCheckName(t *testing.T) {
	if err := policy.Local().CheckName(policy.Action{Host: "internal.corp"}); err != nil {
		t.Errorf("local: %v", err)
	}
	rule, err := policy.ParseRule("Example.com:80")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Hosted(policy.Config{Allow: []policy.Rule{rule}, OwnAddrs: []netip.Addr{}})
	if err != nil {
		t.Fatal(err)
	}
	for host, ok := range map[string]bool{"localhost": true, "LOCALHOST.": true, "example.com": true, "EXAMPLE.COM.": true,
		"internal.corp": false, "www.example.com": false, "metadata.google.internal": false} {
		err := p.CheckName(policy.Action{Session: "s", Host: host})
		var d *policy.Denied
		switch {
		case ok && err != nil:
			t.Errorf("%s refused: %v", host, err)
		case !ok && (!errors.As(err, &d) || d.Rule != "name" || !strings.Contains(d.Reason, host)):
			t.Errorf("%s: %v, want a refusal with rule name that names it", host, err)
		}
	}
}
