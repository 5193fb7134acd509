package services

import (
	"slices"
	"testing"
)

func TestQuotes(t *testing.T) {
	for _, q := range quotes {
		if len(q) > 510 {
			t.Errorf("quote of %d bytes; RFC 865 allows 512 with CRLF: %s", len(q), q)
		}
		for _, c := range []byte(q) {
			if c < ' ' || c > '~' {
				t.Errorf("quote has byte %#x, not printable ASCII: %s", c, q)
				break
			}
		}
	}
}

func TestQotd(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "qotd")
	var got []string
	for range 2 {
		got = append(got, readAll(t, dial(t, addr(t, s, "qotd", "tcp")))) // a quote, then EOF
	}
	got = append(got, string(roundTrip(t, dialUDP(t, addr(t, s, "qotd", "udp")), []byte("?"))))
	// Each answer takes the next quote.
	want := []string{quotes[0] + "\r\n", quotes[1] + "\r\n", quotes[2] + "\r\n"}
	if !slices.Equal(got, want) {
		t.Fatalf("qotd sent %q; want %q", got, want)
	}
}
