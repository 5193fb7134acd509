package services

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// checkDaytime checks line is the time, RFC 1123 in UTC and CRLF, between
// before and after.
func checkDaytime(t *testing.T, line string, before, after time.Time) {
	t.Helper()
	text, ok := strings.CutSuffix(line, "\r\n")
	if !ok || strings.ContainsAny(text, "\r\n") {
		t.Fatalf("daytime sent %q; want one line ending in CRLF", line)
	}
	got, err := time.Parse(time.RFC1123, text)
	if err != nil {
		t.Fatalf("daytime sent %q: %v", line, err)
	}
	if got.Location() != time.UTC || got.Before(before.Truncate(time.Second)) || got.After(after) {
		t.Fatalf("daytime sent %v; want a UTC time between %v and %v", got, before, after)
	}
}

func TestDaytime(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "daytime")
	for _, a := range addrs(t, s, "daytime", "tcp") {
		before := time.Now()
		got := readAll(t, dial(t, a)) // the service closes after the line
		checkDaytime(t, got, before, time.Now())
	}
	for _, a := range addrs(t, s, "daytime", "udp") {
		c := dialUDP(t, a)
		before := time.Now()
		got := roundTrip(t, c, []byte("what time is it?"))
		checkDaytime(t, string(got), before, time.Now())
	}
}

// TestDaytimeSocat: an independent client, socat, reads the line to EOF.
func TestDaytimeSocat(t *testing.T) {
	t.Parallel()
	socat := needSocat(t)
	s := start(t, Config{}, "daytime")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	before := time.Now()
	out, err := exec.CommandContext(ctx, socat, "-u", "TCP:"+addr(t, s, "daytime", "tcp"), "STDOUT").Output()
	if err != nil {
		t.Fatalf("socat: %v (output %q)", err, out)
	}
	checkDaytime(t, string(out), before, time.Now())
}

// needSocat returns socat's path, or skips the test: `make deps` installs
// it.
func needSocat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat is not installed (make deps installs it)")
	}
	return p
}
