package policy_test

import (
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/policy"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com:80", "example.com:80"},
		{"example.com:80,443", "example.com:80,443"},
		{"Example.COM.:80", "example.com:80"},
		{"  example.com:80 ", "example.com:80"},
		{"_srv.example.com:5060", "_srv.example.com:5060"},
		{"localhost:8080", "localhost:8080"},
		{"203.0.113.0/24:7-9,13", "203.0.113.0/24:7-9,13"},
		{"203.0.113.77/24:7", "203.0.113.0/24:7"}, // masked
		{"[2001:db8::]/32:443", "[2001:db8::]/32:443"},
		{"[2001:db8::1]:443", "[2001:db8::1]:443"},
		{"[2001:db8::1]/128:443", "[2001:db8::1]:443"},
		{"198.51.100.7:1-65535", "198.51.100.7:1-65535"},
		{"198.51.100.7/32:22", "198.51.100.7:22"},
		{"0.0.0.0/0:8443", "0.0.0.0/0:8443"},
		{"[::]/0:443", "[::]/0:443"},
		{"example.com:80, 443 ,1000-2000", "example.com:80,443,1000-2000"},
		{"example.com:5-5", "example.com:5"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := policy.ParseRule(tc.in)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tc.in, err)
			}
			if got := r.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			again, err := policy.ParseRule(r.String())
			if err != nil || again.String() != r.String() {
				t.Errorf("round trip of %q: %v, %v", r.String(), again, err)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"example.com", "names no ports"},
		{"203.0.113.0/24", "names no ports"},
		{"[2001:db8::]/32", "names no ports"},
		{"[2001:db8::1]", "names no ports"},
		{"example.com:", "no ports"},
		{"example.com:0", "1-65535"},
		{"example.com:65536", "1-65535"},
		{"example.com:http", "not a port"},
		{"example.com:9-7", "backwards"},
		{"example.com:80,", "not a port"},
		{"example.com:-80", "not a port"},
		{":80", "no host"},
		{"2001:db8::/32:443", "brackets"},
		{"2001:db8::1:443", "brackets"},
		{"[2001:db8::1:443", "missing ']'"},
		{"[2001:db8::]/129:443", "prefix length"},
		{"[2001:db8::]/x:443", "prefix length"},
		{"[10.0.0.1]:80", "not an IPv6"},
		{"[::ffff:10.0.0.1]:80", "without brackets"},
		{"[fe80::1%eth0]:80", "not an IPv6"},
		{"10.0.0.0/33:80", "IPv4 prefix"},
		{"10.0.0.0/:80", "IPv4 prefix"},
		{"*.example.com:80", "wildcards"},
		{"exa mple.com:80", "not allowed in a name"},
		{"-bad.example.com:80", "begin or end"},
		{"bad..example.com:80", "1-63"},
		{"10.0.0:80", "neither a whole IPv4"},
		{strings.Repeat("a", 64) + ".com:80", "1-63"},
		{strings.Repeat("abcdefgh.", 30) + "com:80", "253"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := policy.ParseRule(tc.in)
			if err == nil {
				t.Fatalf("ParseRule(%q) = %v, want an error", tc.in, r)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestZeroRuleString(t *testing.T) {
	if got := (policy.Rule{}).String(); got != "(empty rule)" {
		t.Errorf("zero Rule String() = %q", got)
	}
}
