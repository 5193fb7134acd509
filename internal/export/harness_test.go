package export_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait; nothing should come near it.
const patience = 10 * time.Second

// rig drives a real session, on loopback, the way the page does: one
// request at a time, reading the log as the owner reads it.
type rig struct {
	t    *testing.T
	s    *session.Session
	evs  []*session.Event // every event read so far
	next uint64
	ids  int
	buf  []*session.Event
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s := session.New(session.Options{ID: "export-test", Policy: policy.Local()})
	t.Cleanup(s.Close)
	return &rig{t: t, s: s, next: 1, buf: make([]*session.Event, 256)}
}

// req is a new request with a unique id.
func (r *rig) req() session.Req {
	r.ids++
	return session.Req{ID: "r" + strconv.Itoa(r.ids)}
}

// wait returns the first event, read before or after the call, that f
// accepts, reading (and delivering, as the owner does) as it goes.
func (r *rig) wait(what string, f func(*session.Event) bool) *session.Event {
	r.t.Helper()
	for _, e := range r.evs {
		if f(e) {
			return e
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		evs, err := r.s.Log().Next(ctx, r.next, r.buf)
		if err != nil {
			r.t.Fatalf("waiting for %s: %v; the log so far:\n%s", what, err, dump(r.evs))
		}
		for _, e := range evs {
			r.next = e.Seq + 1
			r.s.Log().Delivered(e.Seq)
			r.evs = append(r.evs, e)
			if f(e) {
				return e
			}
		}
	}
}

// answer waits for the answer to request req: its result, sent, data or
// error.
func (r *rig) answer(req session.Req) *session.Event {
	r.t.Helper()
	return r.wait("the answer to "+req.ID, func(e *session.Event) bool {
		switch e.Type {
		case session.TypeResult, session.TypeSent, session.TypeData, session.TypeError:
			return e.ID == req.ID
		}
		return false
	})
}

// ok waits for the answer to req and fails the test unless it succeeded.
func (r *rig) ok(req session.Req) *session.Event {
	r.t.Helper()
	e := r.answer(req)
	if e.Type == session.TypeError {
		r.t.Fatalf("%s %s failed: %s (%s)", req.ID, e.Op, e.Message, e.Code)
	}
	return e
}

// received waits until socket sock has received n bytes in all.
func (r *rig) received(sock, n int) {
	r.t.Helper()
	got := 0
	r.wait("bytes on socket "+strconv.Itoa(sock), func(e *session.Event) bool {
		if e.Type == session.TypeData && e.Sock == sock {
			got += len(e.Data)
		}
		return got >= n
	})
}

// state waits for socket sock's state event f accepts.
func (r *rig) state(sock int, f func(*session.Event) bool) *session.Event {
	r.t.Helper()
	return r.wait("a state of socket "+strconv.Itoa(sock), func(e *session.Event) bool {
		return e.Type == session.TypeState && e.Sock == sock && f(e)
	})
}

// end closes the session and returns its whole log.
func (r *rig) end() []*session.Event {
	r.t.Helper()
	r.s.Close()
	evs := r.s.Log().Snapshot(0)
	if len(evs) == 0 || evs[0].Seq != 1 {
		r.t.Fatalf("the log lost its first events")
	}
	return evs
}

func dump(evs []*session.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(strconv.FormatUint(e.Seq, 10) + " " + string(e.Type) + " " + e.Op + " sock=" + strconv.Itoa(e.Sock) + " " + e.State + " " + e.Message + "\n")
	}
	return b.String()
}

// echo starts the built-in services on free loopback ports and returns the
// TCP and UDP echo's ports on 127.0.0.1.
func echo(t *testing.T) (tcp, udp int) {
	t.Helper()
	ports := map[string]int{}
	for _, name := range services.Names {
		ports[name] = 0 // off
	}
	ports["echo"] = -1 // on a free port
	set, err := services.Start(services.Config{Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	for _, in := range set.Infos() {
		ap, err := netip.ParseAddrPort(in.Addr)
		if err != nil || !ap.Addr().Is4() || in.Name != "echo" {
			continue
		}
		if in.Proto == "tcp" {
			tcp = int(ap.Port())
		} else {
			udp = int(ap.Port())
		}
	}
	if tcp == 0 || udp == 0 {
		t.Fatalf("no echo on 127.0.0.1: %+v", set.Infos())
	}
	return tcp, udp
}

// closedPort is a loopback port nothing listens on: connecting to it is
// refused.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int(ap.Port())
}
