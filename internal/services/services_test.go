package services

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNamesDefaultsBuilders(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(Defaults)), slices.Sorted(slices.Values(Names)); !slices.Equal(got, want) {
		t.Fatalf("Defaults names %v; Names %v", got, want)
	}
	if got := slices.Sorted(maps.Keys(builders)); !slices.Equal(got, slices.Sorted(slices.Values(Names))) {
		t.Fatalf("builders %v; Names %v", got, Names)
	}
	seen := map[int]string{}
	for name, p := range Defaults {
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share port %d", name, other, p)
		}
		seen[p] = name
	}
}

func TestResolve(t *testing.T) {
	all := func(edit func(map[string]int)) map[string]int {
		m := maps.Clone(Defaults)
		if edit != nil {
			edit(m)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want map[string]int // 0: a free port
	}{
		{"zero: every service on its default port", Config{}, all(nil)},
		{"0 turns off, -1 is free", Config{Ports: map[string]int{"chat": 0, "http": -1, "echo": 9007}},
			all(func(m map[string]int) { delete(m, "chat"); m["http"] = 0; m["echo"] = 9007 })},
		{"FreePorts frees all but those turned off", Config{FreePorts: true, Ports: map[string]int{"slow": 0, "qotd": 7117}},
			all(func(m map[string]int) {
				delete(m, "slow")
				for k := range m {
					m[k] = 0
				}
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := tc.cfg.resolve()
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("ports %v; want %v", got, tc.want)
			}
		})
	}

	_, st, err := Config{}.resolve()
	if err != nil || st.lossRate != 0.3 || st.chargenRate != 64<<10 || st.seed == 0 || st.log == nil {
		t.Fatalf("zero Config gives %+v, %v", st, err)
	}

	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Ports: map[string]int{"gopher": 70}}, `unknown service "gopher"`},
		{Config{Ports: map[string]int{"echo": -2}}, "port -2 for echo"},
		{Config{Ports: map[string]int{"echo": 70000}}, "port 70000 for echo"},
		{Config{LossRate: 1.5}, "LossRate 1.5"},
		{Config{LossRate: -0.1}, "LossRate -0.1"},
		{Config{LossRate: math.NaN()}, "LossRate NaN"},
		{Config{ChargenRate: -1}, "ChargenRate -1"},
	} {
		if _, err := Start(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v): %v; want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// TestPortInUse: Start fails naming the service and the port, keeps the
// errno, and leaves nothing running (goleak).
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := Config{FreePorts: false, Ports: map[string]int{}}
	for _, name := range Names {
		cfg.Ports[name] = -1
	}
	cfg.Ports["daytime"] = port
	_, err = Start(cfg)
	if err == nil {
		t.Fatal("Start on a port in use succeeded")
	}
	if !strings.Contains(err.Error(), "daytime") || !strings.Contains(err.Error(), strconv.Itoa(port)) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("error %q does not name daytime and %d, or is not EADDRINUSE", err, port)
	}
	t.Log(err)
}

func TestInfos(t *testing.T) {
	s := start(t, Config{})
	want := map[string][]string{
		"echo": {"tcp", "udp"}, "discard": {"tcp", "udp"}, "daytime": {"tcp", "udp"}, "chargen": {"tcp", "udp"},
		"qotd": {"tcp", "udp"}, "chat": {"tcp"}, "http": {"tcp"}, "slow": {"tcp"}, "framing": {"tcp"}, "lossy": {"udp"},
	}
	got := map[string][]string{}
	var order []string
	for _, i := range s.Infos() {
		host, _, err := net.SplitHostPort(i.Addr)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			t.Errorf("%s %s listens on %q, not loopback", i.Name, i.Proto, i.Addr)
		}
		if i.About == "" || strings.ContainsAny(i.About, "\r\n") || len(i.About) > 140 {
			t.Errorf("%s %s: About %q is not one short line", i.Name, i.Proto, i.About)
		}
		if host == "127.0.0.1" {
			got[i.Name] = append(got[i.Name], i.Proto)
		}
		if len(order) == 0 || order[len(order)-1] != i.Name {
			order = append(order, i.Name)
		}
		t.Logf("%-8s %s %-16s %s", i.Name, i.Proto, i.Addr, i.About)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("services %v; want %v", got, want)
	}
	if !slices.Equal(order, Names) {
		t.Errorf("Infos in the order %v; want Names %v", order, Names)
	}
}

// TestCloseStopsEverything: Close returns promptly with clients connected
// and blocked every way a client can be, and ends their connections.
func TestCloseStopsEverything(t *testing.T) {
	s := start(t, Config{})
	var conns []net.Conn
	for _, name := range []string{"echo", "discard", "chargen", "chat", "http", "slow", "framing", "daytime"} {
		c := dial(t, addr(t, s, name, "tcp"))
		conns = append(conns, c)
	}
	// slow: a writer blocked on a full send queue.
	slow := conns[5].(*net.TCPConn)
	slow.SetWriteBuffer(16 << 10) // see TestSlowBlocksSender
	slow.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := slow.Write(make([]byte, 1<<20)); !isTimeout(err) {
		t.Fatalf("1 MiB to slow: %v; want a timeout", err)
	}
	// http: a keep-alive connection, idle after one answer.
	write(t, conns[4], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if l := newLines(t, conns[4]); l.next() != "HTTP/1.1 200 OK\r\n" {
		t.Fatal("no answer from http")
	}
	// chat: joined.
	newLines(t, conns[3]).next()
	// chargen streams to a client that does not read; echo and framing wait
	// for input; daytime lingers for the client to close.

	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(patience):
		t.Fatal("Close did not return")
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(patience))
		buf := make([]byte, 64<<10)
		var err error
		for err == nil {
			_, err = c.Read(buf)
		}
		if isTimeout(err) {
			t.Errorf("connection %d still open after Close", i)
		}
	}
	for _, i := range s.Infos() {
		if i.Proto == "tcp" {
			if c, err := net.Dial("tcp", i.Addr); err == nil {
				c.Close()
				t.Errorf("%s still accepts at %s after Close", i.Name, i.Addr)
			}
		}
	}
}

// FuzzReadLine: lines come back without their ends, within the limit, and
// in order; an overlong line is skipped whole.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"a\nbb\r\n\n", "0123456789abc\nok\n", "tail", "\r\r\n\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 8
		br := bufio.NewReaderSize(bytes.NewReader(data), max+2)
		// What readLine should return: split at "\n", drop one "\r" before
		// it, and refuse lines over max.
		want := strings.SplitAfter(string(data), "\n")
		for _, w := range want {
			if w == "" {
				continue
			}
			line, bare, err := readLine(br, max)
			text, ended := strings.CutSuffix(w, "\n")
			crlf := false
			if ended {
				text, crlf = strings.CutSuffix(text, "\r")
			}
			switch {
			case len(text) > max:
				if !errors.Is(err, errLineTooLong) {
					t.Fatalf("%q: got %q, %v; want errLineTooLong", w, line, err)
				}
			case !ended:
				if err != io.EOF || string(line) != w {
					t.Fatalf("%q at EOF: got %q, %v", w, line, err)
				}
			default:
				if err != nil || string(line) != text || bare == crlf {
					t.Fatalf("%q: got %q bare=%v, %v", w, line, bare, err)
				}
			}
		}
		if _, _, err := readLine(br, max); err != io.EOF {
			t.Fatalf("after the last line: %v", err)
		}
	})
}
