package session

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// answerOf reads s's log until the answer to request id (a result or an
// error) and returns it.
func answerOf(t *testing.T, s *Session, id string) *Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]*Event, 64)
	for next := uint64(1); ; {
		evs, err := s.Log().Next(ctx, next, buf)
		if err != nil {
			t.Fatalf("no answer to %s: %v", id, err)
		}
		for _, e := range evs {
			next = e.Seq + 1
			s.Log().Delivered(e.Seq)
			if e.ID == id && (e.Type == TypeResult || e.Type == TypeError) {
				return e
			}
		}
	}
}

// loMember reports whether the kernel has group joined on lo, as
// /proc/net/igmp lists it: the group in hex, in the host's byte order.
func loMember(t *testing.T, group netip.Addr) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/igmp")
	if err != nil {
		t.Skipf("the kernel's IGMP table is not readable: %v", err)
	}
	g := group.As4()
	hex := fmt.Sprintf("%02X%02X%02X%02X", g[3], g[2], g[1], g[0])
	onLo := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && l[0] >= '0' && l[0] <= '9':
			onLo = f[1] == "lo" // a device's line, "1	lo        :     1      V3", then its groups
		case onLo && len(f) > 0 && f[0] == hex:
			return true
		}
	}
	return false
}

// TestJoinKernelAndStep: a join makes the kernel a member of the group on
// lo, and the membership stays with the kernel socket when the socket
// switches to step mode, where leave ends it.
func TestJoinKernelAndStep(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	group := netip.AddrFrom4([4]byte{239, 255, byte(1 + rand.IntN(254)), byte(1 + rand.IntN(254))})
	sock := s.Bind(Req{ID: "b"}, ListenArgs{Host: "0.0.0.0"})
	if e := answerOf(t, s, "b"); e.Type != TypeResult {
		t.Fatalf("bind: %+v", e)
	}
	if loMember(t, group) {
		t.Skipf("something else on this host is a member of %s on lo", group)
	}
	s.JoinGroup(Req{ID: "j"}, "join", sock, GroupArgs{Group: group.String(), Iface: "lo"})
	if e := answerOf(t, s, "j"); e.Type != TypeResult || e.Group != group.String() || e.Iface != "lo" {
		t.Fatalf("join: %+v", e)
	}
	if !loMember(t, group) {
		t.Fatalf("after the join the kernel lists no %s on lo", group)
	}
	s.Step(Req{ID: "s"}, sock)
	if e := answerOf(t, s, "s"); e.Type != TypeResult {
		t.Fatalf("step: %+v", e)
	}
	s.JoinGroup(Req{ID: "l"}, "leave", sock, GroupArgs{Group: group.String(), Iface: "lo"})
	if e := answerOf(t, s, "l"); e.Type != TypeResult {
		t.Fatalf("leave in step mode: %+v", e)
	}
	if loMember(t, group) {
		t.Fatalf("after the leave the kernel still lists %s on lo", group)
	}
	s.JoinGroup(Req{ID: "l2"}, "leave", sock, GroupArgs{Group: group.String(), Iface: "lo"})
	if e := answerOf(t, s, "l2"); e.Type != TypeError || e.Code != CodeBadState {
		t.Fatalf("a second leave: %+v; want bad_state", e)
	}
}

// TestJoinCloseRace: joins and leaves race a close of their socket; each
// gets an answer and nothing is touched after the close. Run with -race.
func TestJoinCloseRace(t *testing.T) {
	s := New(Options{Limits: Limits{MaxSockets: 4096}})
	defer s.Close()
	group := fmt.Sprintf("239.255.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254))
	for i := range 50 {
		sock := s.Bind(Req{}, ListenArgs{Host: "127.0.0.1"})
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 5 {
				s.JoinGroup(Req{}, "join", sock, GroupArgs{Group: group, Iface: "lo"})
				s.JoinGroup(Req{}, "leave", sock, GroupArgs{Group: group, Iface: "lo"})
				s.SetMulticastIf(Req{}, sock, "lo")
			}
		})
		s.CloseSocket(Req{ID: fmt.Sprint("c", i)}, sock, i%2 == 0)
		wg.Wait()
	}
}

// BenchmarkInterfaces is what listing the interfaces costs each local
// hello: one netlink dump of the links, one of the addresses per interface.
func BenchmarkInterfaces(b *testing.B) {
	for b.Loop() {
		if len(Interfaces()) == 0 {
			b.Fatal("no interfaces")
		}
	}
}
