//go:build linux

package learn_test

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

// Lessons done on live sessions: real sockets on loopback, the built-in
// services on free ports, and the lesson tracker following the log the way
// the bridge's writer does. Step mode and the kernel's view are Linux's.

var update = flag.Bool("update", false, "rewrite testdata/lessons/*.jsonl from the live sessions of TestLessonsLive")

// waitFor bounds every wait for an event: long enough for a SYN retry on
// a busy machine, short enough to fail a stuck test.
const waitFor = 15 * time.Second

// learner does a lesson on a session of its own, one request at a time.
type learner struct {
	t      *testing.T
	lesson string
	s      *session.Session
	svcs   []services.Info
	n      int // requests made

	mu       sync.Mutex       // guards evs and changed
	evs      []*session.Event // the events the tracker has seen, in order
	changed  chan struct{}    // closed, and replaced, when evs grows
	followed chan struct{}    // closed when the log has ended
}

// newLearner starts the services and a session with the local policy,
// and follows its log with a lesson tracker.
func newLearner(t *testing.T, lesson string) *learner {
	t.Helper()
	set, err := services.Start(services.Config{FreePorts: true, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	l := &learner{
		t:        t,
		lesson:   lesson,
		s:        session.New(session.Options{ID: "learn-" + lesson, Policy: policy.Local()}),
		svcs:     set.Infos(),
		changed:  make(chan struct{}),
		followed: make(chan struct{}),
	}
	go l.follow()
	t.Cleanup(l.end)
	return l
}

// follow is the bridge's writer without the WebSocket: it reads the log in
// order, runs the tracker on each batch and records the progress it sees.
func (l *learner) follow() {
	defer close(l.followed)
	log := l.s.Log()
	tr := learn.NewTracker(func(before uint64) []*session.Event {
		evs := log.Snapshot(0)
		n := 0
		for n < len(evs) && evs[n].Seq < before {
			n++
		}
		return evs[:n]
	})
	batch := make([]*session.Event, 64)
	next := uint64(1)
	for {
		evs, err := log.Next(context.Background(), next, batch)
		if err != nil {
			return
		}
		next = evs[len(evs)-1].Seq + 1
		if p := tr.Observe(evs); p != nil {
			l.s.LessonProgress(p)
		}
		l.mu.Lock()
		l.evs = append(l.evs, evs...)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
		log.Delivered(next - 1)
	}
}

// end closes the session and waits until its log is read to the end.
func (l *learner) end() {
	l.s.Close()
	<-l.followed
}

// wait returns the first event of the log that matches. match runs with
// l.mu held.
func (l *learner) wait(what string, match func(*session.Event) bool) *session.Event {
	l.t.Helper()
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.evs); seen++ {
			if e := l.evs[seen]; match(e) {
				l.mu.Unlock()
				return e
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			l.t.Fatalf("no event %s within %v; the last events:\n%s", what, waitFor, l.dump())
		}
	}
}

// caughtUp waits until the tracker has seen every event logged so far.
func (l *learner) caughtUp() {
	l.t.Helper()
	_, next := l.s.Log().Bounds()
	l.wait(fmt.Sprintf("seq %d", next-1), func(e *session.Event) bool { return e.Seq >= next-1 })
}

func (l *learner) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.evs[max(0, len(l.evs)-40):] {
		fmt.Fprintf(&b, "  %d %s sock=%d id=%s op=%s state=%s errno=%s len=%d", e.Seq, e.Type, e.Sock, e.ID, e.Op, e.State, e.Errno, len(e.Data))
		if e.TCP != nil {
			fmt.Fprintf(&b, " tcp=%+v", *e.TCP)
		}
		if e.Lesson != nil {
			fmt.Fprintf(&b, " lesson=%+v", *e.Lesson)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// do makes a request with a fresh id and returns the id.
func (l *learner) do(f func(session.Req)) string {
	l.n++
	r := session.Req{ID: "q" + strconv.Itoa(l.n)}
	f(r)
	return r.ID
}

// answerTo waits for the event that answers request id.
func (l *learner) answerTo(id string) *session.Event {
	l.t.Helper()
	return l.wait("answering "+id, func(e *session.Event) bool {
		return e.ID == id && (e.Type == session.TypeResult || e.Type == session.TypeSent || e.Type == session.TypeData || e.Type == session.TypeError)
	})
}

// ok waits for request id's answer and fails the test unless it succeeded.
func (l *learner) ok(id string) *session.Event {
	l.t.Helper()
	e := l.answerTo(id)
	if e.Type == session.TypeError {
		l.t.Fatalf("request %s failed: %s %s", id, e.Code, e.Message)
	}
	return e
}

// fails waits for request id's answer and fails the test unless it is an
// error with errno (or code, for errors without one).
func (l *learner) fails(id, errno string) *session.Event {
	l.t.Helper()
	e := l.answerTo(id)
	if e.Type != session.TypeError || (e.Errno != errno && string(e.Code) != errno) {
		l.t.Fatalf("request %s: %s %s %s, want the error %s", id, e.Type, e.Errno, e.Message, errno)
	}
	return e
}

// start starts the lesson.
func (l *learner) start() {
	l.t.Helper()
	id := l.do(func(r session.Req) { l.s.StartLesson(r, l.lesson) })
	l.wait("the lesson's start", func(e *session.Event) bool { return e.ID == id && e.Type == session.TypeLesson })
}

// answer answers a question step.
func (l *learner) answer(step int, answer any) {
	l.t.Helper()
	id := l.do(func(r session.Req) { l.s.Answer(r, l.lesson, step, fmt.Sprint(answer)) })
	l.wait("the answer", func(e *session.Event) bool { return e.ID == id && e.Type == session.TypeAnswer })
}

// passed waits for the tracker to say the lesson is passed.
func (l *learner) passed() {
	l.t.Helper()
	l.wait("the lesson passed", func(e *session.Event) bool {
		return e.Type == session.TypeLesson && e.Lesson.ID == l.lesson && e.Lesson.Passed
	})
}

// verdict returns the tracker's last progress once it has seen every event
// so far.
func (l *learner) verdict() []session.LessonStep {
	l.t.Helper()
	l.caughtUp()
	l.caughtUp() // and the progress it recorded for them
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.evs) - 1; i >= 0; i-- {
		if e := l.evs[i]; e.Type == session.TypeLesson && e.Lesson.ID == l.lesson && e.Lesson.Action == "progress" {
			return e.Lesson.Steps
		}
	}
	return nil
}

// events ends the session and returns its whole log.
func (l *learner) events() []*session.Event {
	l.end()
	return l.evs
}

// service returns the address of a built-in service on 127.0.0.1.
func (l *learner) service(name, proto string) (string, int) {
	l.t.Helper()
	for _, s := range l.svcs {
		ap := netip.MustParseAddrPort(s.Addr)
		if s.Name == name && s.Proto == proto && ap.Addr().Is4() {
			return ap.Addr().String(), int(ap.Port())
		}
	}
	l.t.Fatalf("no %s service for %s", name, proto)
	return "", 0
}

// The socket API, as the page's requests make it.

// socket makes a step-mode socket: proto "tcp" or "udp".
func (l *learner) socket(proto string) int {
	l.t.Helper()
	var sock int
	l.ok(l.do(func(r session.Req) { sock = l.s.Socket(r, session.SocketArgs{Proto: proto}) }))
	return sock
}

// server makes a step-mode listener on 127.0.0.1, a port of the kernel's
// choosing, and returns it and its port.
func (l *learner) server(backlog int, opts ...string) (int, int) {
	l.t.Helper()
	ln := l.socket("tcp")
	for _, o := range opts {
		l.setsockopt(ln, o, 1)
	}
	l.ok(l.do(func(r session.Req) { l.s.StepBind(r, ln, session.ListenArgs{Host: "127.0.0.1"}) }))
	res := l.ok(l.do(func(r session.Req) { l.s.StepListen(r, ln, backlog) }))
	return ln, port(res.Local)
}

func (l *learner) setsockopt(sock int, option string, value int) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) { l.s.SetSockOpt(r, sock, option, value) }))
}

// connect makes a step-mode connect to 127.0.0.1:port and returns its
// request id: it may block.
func (l *learner) connect(sock, port int) string {
	return l.do(func(r session.Req) { l.s.StepConnect(r, sock, session.ConnectArgs{Host: "127.0.0.1", Port: port}) })
}

// bind makes a step-mode bind to 127.0.0.1:port and returns its request id.
func (l *learner) bind(sock, port int) string {
	return l.do(func(r session.Req) { l.s.StepBind(r, sock, session.ListenArgs{Host: "127.0.0.1", Port: port}) })
}

// client makes a step-mode socket connected to host:port.
func (l *learner) client(host string, port int) (int, *session.Event) {
	l.t.Helper()
	c := l.socket("tcp")
	return c, l.ok(l.do(func(r session.Req) { l.s.StepConnect(r, c, session.ConnectArgs{Host: host, Port: port}) }))
}

// accept accepts on step listener ln and returns the new socket.
func (l *learner) accept(ln int) int {
	l.t.Helper()
	return l.ok(l.do(func(r session.Req) { l.s.Accept(r, ln) })).Child
}

// dial makes a live connection and returns its socket.
func (l *learner) dial(host string, port int) int {
	l.t.Helper()
	var sock int
	l.ok(l.do(func(r session.Req) { sock = l.s.Connect(r, session.ConnectArgs{Host: host, Port: port}) }))
	return sock
}

// listen makes a live listener on 127.0.0.1 and returns it and its port.
func (l *learner) listen() (int, int) {
	l.t.Helper()
	var sock int
	res := l.ok(l.do(func(r session.Req) { sock = l.s.Listen(r, session.ListenArgs{Host: "127.0.0.1"}) }))
	return sock, port(res.Local)
}

// udp makes a live UDP socket on 127.0.0.1.
func (l *learner) udp() int {
	l.t.Helper()
	var sock int
	l.ok(l.do(func(r session.Req) { sock = l.s.Bind(r, session.ListenArgs{Host: "127.0.0.1"}) }))
	return sock
}

func (l *learner) sendto(sock int, host string, port int, data string) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) {
		l.s.SendTo(r, sock, session.SendToArgs{Host: host, Port: port, Data: []byte(data)})
	}))
}

// recvfrom makes a step-mode recvfrom and returns its answer.
func (l *learner) recvfrom(sock, n int) *session.Event {
	l.t.Helper()
	return l.ok(l.do(func(r session.Req) { l.s.RecvFrom(r, sock, n) }))
}

// proxy starts a TCP bad-network proxy to host:port and returns its port.
func (l *learner) proxy(host string, to int, knobs session.Knobs) int {
	l.t.Helper()
	res := l.ok(l.do(func(r session.Req) {
		l.s.Proxy(r, session.ProxyArgs{Proto: "tcp", Host: "127.0.0.1", TargetHost: host, TargetPort: to, Knobs: knobs})
	}))
	return port(res.Local)
}

// settimeout sets a step socket's timeout: nil blocks, 0 never waits.
func (l *learner) settimeout(sock int, t *time.Duration) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) { l.s.SetTimeout(r, sock, t) }))
}

func (l *learner) shutdown(sock int, how string) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) { l.s.Shutdown(r, sock, how) }))
}

func (l *learner) send(sock int, data string) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) { l.s.Send(r, sock, []byte(data)) }))
}

// recv makes a step-mode recv and returns its answer.
func (l *learner) recv(sock, n int) *session.Event {
	l.t.Helper()
	return l.answerTo(l.do(func(r session.Req) { l.s.Recv(r, sock, n) }))
}

func (l *learner) close(sock int) {
	l.t.Helper()
	l.ok(l.do(func(r session.Req) { l.s.CloseSocket(r, sock, false) }))
}

// accepted returns the socket live listener ln accepted for client c.
func (l *learner) accepted(ln, c int) int {
	l.t.Helper()
	local := l.local(c)
	return l.wait("the accepted socket", func(e *session.Event) bool {
		return e.Type == session.TypeState && e.Parent == ln && e.Remote == local
	}).Sock
}

// received waits until socket sock has received want, in any number of
// reads.
func (l *learner) received(sock int, want string) {
	l.t.Helper()
	var got []byte
	l.wait(fmt.Sprintf("%q on socket %d", want, sock), func(e *session.Event) bool {
		if e.Sock == sock && e.Type == session.TypeData {
			got = append(got, e.Data...)
		}
		return strings.Contains(string(got), want)
	})
}

// kernel waits for a kernel event about sock that matches.
func (l *learner) kernel(what string, sock int, match func(*session.TCPStats) bool) *session.Event {
	l.t.Helper()
	return l.wait(what, func(e *session.Event) bool { return e.Type == session.TypeKernel && e.Sock == sock && match(e.TCP) })
}

func port(addr string) int { return int(netip.MustParseAddrPort(addr).Port()) }

// A script does a lesson as a learner would.
type script func(l *learner)

// scripts are, for each lesson, a learner who does it and one who nearly
// does (nearMiss says which steps they miss).
var scripts = map[string]struct{ pass, fail script }{
	"endpoint": {
		pass: func(l *learner) {
			l.start()
			ln, p := l.server(5)
			l.kernel("LISTEN", ln, func(k *session.TCPStats) bool { return k.State == "LISTEN" })
			l.answer(3, p)
		},
		fail: func(l *learner) {
			l.start()
			ln, _ := l.server(5)
			l.kernel("LISTEN", ln, func(k *session.TCPStats) bool { return k.State == "LISTEN" })
			l.answer(3, 0) // the port they asked bind for
		},
	},
	"handshake": {
		pass: func(l *learner) {
			ln, p := l.server(1) // made before the lesson: it may be used
			l.start()
			c, res := l.client("127.0.0.1", p)
			l.kernel("the client ESTABLISHED", c, func(k *session.TCPStats) bool { return k.State == "ESTABLISHED" })
			l.kernel("the connection in the accept queue", ln, func(k *session.TCPStats) bool { return k.RecvQ == 1 })
			l.answer(3, port(res.Local))
		},
		fail: func(l *learner) {
			l.start()
			// The echo service, not a listener of their own: its side of
			// the handshake cannot be seen.
			c, res := l.client(l.service("echo", "tcp"))
			l.kernel("the client ESTABLISHED", c, func(k *session.TCPStats) bool { return k.State == "ESTABLISHED" })
			l.answer(3, port(res.Local))
		},
	},
	"accept": {
		pass: func(l *learner) {
			l.start()
			ln, p := l.listen() // live: it accepts by itself
			a, b := l.dial("127.0.0.1", p), l.dial("127.0.0.1", p)
			l.accepted(ln, a)
			l.accepted(ln, b)
			l.answer(3, 3)
		},
		fail: func(l *learner) {
			l.start()
			ln, p := l.server(2)
			l.client("127.0.0.1", p)
			l.client("127.0.0.1", p)
			l.accept(ln) // the second client waits in the queue
			l.answer(3, 3)
		},
	},
	"bytes": {
		pass: func(l *learner) {
			l.start()
			c := l.dial(l.service("echo", "tcp"))
			l.send(c, "안녕")
			l.received(c, "안녕")
			l.answer(3, 6)
			l.answer(4, "EC")
		},
		fail: func(l *learner) {
			l.start()
			c := l.dial(l.service("echo", "tcp"))
			l.send(c, "안녕")
			l.received(c, "안녕")
			l.answer(3, 2) // characters, not bytes
			l.answer(4, "0xec")
		},
	},
	"stream": {
		pass: func(l *learner) {
			l.start()
			host, echo := l.service("echo", "tcp")
			c, _ := l.client(host, echo)
			for _, m := range []string{"one", "two", "three"} {
				l.send(c, m)
			}
			l.kernel("the three echoed", c, func(k *session.TCPStats) bool { return k.RecvQ == 11 })
			if got := l.recv(c, 100); string(got.Data) != "onetwothree" {
				l.t.Fatalf("recv(100) = %q", got.Data)
			}

			x := l.dial("127.0.0.1", l.proxy(host, echo, session.Knobs{Split: 3, SplitGapMS: 25}))
			l.send(x, "helloworld")
			l.received(x, "helloworld")

			f := l.dial(l.service("framing", "tcp"))
			l.send(f, "one\ntwo\n")
			l.received(f, "3 bytes: two\n")
		},
		fail: func(l *learner) {
			l.start()
			host, echo := l.service("echo", "tcp")
			c, _ := l.client(host, echo)
			for _, m := range []string{"one", "two", "three"} {
				l.send(c, m) // and read each before the next is sent
				l.kernel("the echo", c, func(k *session.TCPStats) bool { return k.RecvQ == len(m) })
				if got := l.recv(c, 100); string(got.Data) != m {
					l.t.Fatalf("recv(100) = %q, want %q", got.Data, m)
				}
			}

			x := l.dial("127.0.0.1", l.proxy(host, echo, session.Knobs{})) // Split left at 0
			l.send(x, "helloworld")
			l.received(x, "helloworld")

			f := l.dial(l.service("framing", "tcp"))
			l.send(f, "one\ntwo") // the last message never ends
		},
	},
	"refused": {
		pass: func(l *learner) {
			l.start()
			ln, p := l.listen()
			l.close(ln)
			l.fails(l.do(func(r session.Req) { l.s.Connect(r, session.ConnectArgs{Host: "127.0.0.1", Port: p}) }), "ECONNREFUSED")
			_, p = l.listen()
			l.fails(l.do(func(r session.Req) { l.s.Listen(r, session.ListenArgs{Host: "127.0.0.1", Port: p}) }), "EADDRINUSE")
			l.answer(3, "ECONNREFUSED")
		},
		fail: func(l *learner) {
			l.start()
			ln, p := l.listen()
			l.close(ln)
			l.fails(l.do(func(r session.Req) { l.s.Connect(r, session.ConnectArgs{Host: "127.0.0.1", Port: p}) }), "ECONNREFUSED")
			l.listen()
			l.listen() // port 0 again: a new port, no clash
			l.answer(3, "EADDRINUSE")
		},
	},
	"half-close": {
		pass: func(l *learner) { rebindTimeWait(l, true) },
		fail: func(l *learner) { rebindTimeWait(l, false) },
	},
	"backlog": {
		pass: func(l *learner) {
			ln, stalled := fillBacklog(l)
			l.answer(4, 2)
			l.accept(ln)
			l.ok(stalled) // in on its SYN's retry
		},
		fail: func(l *learner) {
			fillBacklog(l)
			l.answer(4, 1) // the backlog, not what the kernel queued
		},
	},
	"blocking": {
		pass: func(l *learner) {
			l.start()
			c, srv := pair(l)
			id := l.do(func(r session.Req) { l.s.Recv(r, srv, 100) })
			l.wait("recv blocked", func(e *session.Event) bool { return e.Type == session.TypeBlocked && e.ID == id })
			l.send(c, "wake up")
			l.ok(id)
			t := 50 * time.Millisecond
			l.settimeout(srv, &t)
			l.fails(l.do(func(r session.Req) { l.s.Recv(r, srv, 100) }), "timeout")
			var zero time.Duration
			l.settimeout(srv, &zero)
			l.fails(l.do(func(r session.Req) { l.s.Recv(r, srv, 100) }), "EAGAIN")
		},
		fail: func(l *learner) {
			l.start()
			c, srv := pair(l)
			l.send(c, "already here") // recv finds bytes waiting: it never blocks
			l.kernel("the bytes waiting", srv, func(k *session.TCPStats) bool { return k.RecvQ == 12 })
			l.ok(l.do(func(r session.Req) { l.s.Recv(r, srv, 100) }))
			t := 50 * time.Millisecond
			l.settimeout(srv, &t)
			l.fails(l.do(func(r session.Req) { l.s.Recv(r, srv, 100) }), "timeout")
		},
	},
	"udp": {
		pass: func(l *learner) {
			l.start()
			host, echo := l.service("echo", "udp")
			u := l.udp()
			l.sendto(u, host, echo, "one")
			l.sendto(u, host, echo, "two")
			l.received(u, "two")

			s := l.socket("udp")
			l.ok(l.bind(s, 0))
			l.sendto(s, host, echo, "a datagram of 26 bytes....")
			if got := l.recvfrom(s, 10); got.DgramLen != 26 {
				l.t.Fatalf("recvfrom(10) of 26 bytes: %d bytes, datagram_len %d", len(got.Data), got.DgramLen)
			}
			l.answer(3, 26)

			host, lossy := l.service("lossy", "udp")
			for i := range 20 {
				l.sendto(u, host, lossy, strconv.Itoa(i+1))
			}
		},
		fail: func(l *learner) {
			l.start()
			host, echo := l.service("echo", "udp")
			u := l.udp()
			l.sendto(u, host, echo, "one")
			l.sendto(u, host, echo, "two")
			l.received(u, "two")

			s := l.socket("udp")
			l.ok(l.bind(s, 0))
			l.sendto(s, host, echo, "a datagram of 26 bytes....")
			l.recvfrom(s, 1024) // room for all of it: nothing cut
			l.answer(3, 1024)

			host, lossy := l.service("lossy", "udp")
			for range 20 {
				l.sendto(u, host, lossy, "ping") // which ones came back?
			}
			l.caughtUp()
		},
	},
	"http": {
		pass: func(l *learner) {
			l.start()
			c := l.dial(l.service("http", "tcp"))
			l.send(c, "GET / HTTP/1.1\r\n")
			l.send(c, "Host: x\r\n\r\n")
			l.answer(3, contentLength(l, c))
			l.send(c, "GET / HTTP/1.1\r\n\r\n") // no Host
			l.received(c, "HTTP/1.1 400 ")
		},
		fail: func(l *learner) {
			l.start()
			c := l.dial(l.service("http", "tcp"))
			l.send(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			contentLength(l, c)
			l.answer(3, len(l.stream(c))) // the whole response, not its body
		},
	},
	"chat": {
		pass: func(l *learner) {
			l.start()
			a, b := joinChat(l)
			l.send(a, "/nick ada\n")
			l.received(a, "* you are now ada\n")
			l.send(a, "hello from ada\n")
			l.received(b, "<ada> hello from ada\n")

			ln, p := l.listen()
			c1, c2 := l.dial("127.0.0.1", p), l.dial("127.0.0.1", p)
			a1, a2 := l.accepted(ln, c1), l.accepted(ln, c2)
			l.send(c1, "hi, it is me\n")
			l.received(a1, "hi, it is me\n")
			l.send(a2, "hi, it is me\n")
			l.received(c2, "hi, it is me\n")
		},
		fail: func(l *learner) {
			l.start()
			a, b := joinChat(l)
			l.send(a, "hello from a guest\n")
			l.received(b, "> hello from a guest\n")

			ln, p := l.listen()
			c1 := l.dial("127.0.0.1", p)
			l.dial("127.0.0.1", p)
			a1 := l.accepted(ln, c1)
			l.send(c1, "hi, it is me\n")
			l.received(a1, "hi, it is me\n")
			l.send(a1, "hi, it is me\n") // back to the sender, not on to the other
			l.received(c1, "hi, it is me\n")
		},
	},
}

// fillBacklog makes a step listener with listen(1) and connects three
// clients, one after the other, without accepting: two fill the accept
// queue, the third stalls in SYN_SENT. It returns the listener and the
// stalled connect's request id.
//
// The clients connect in turn, as a learner's clicks do: a SYN that comes
// while another handshake is still under way is let in, and its client
// sees ESTABLISHED while the kernel drops its last ACK.
func fillBacklog(l *learner) (int, string) {
	l.t.Helper()
	l.start()
	ln, p := l.server(1)
	l.client("127.0.0.1", p)
	l.client("127.0.0.1", p)
	l.kernel("the accept queue full", ln, func(k *session.TCPStats) bool { return k.RecvQ == 2 })
	c := l.socket("tcp")
	id := l.connect(c, p)
	l.kernel("the third client in SYN_SENT", c, func(k *session.TCPStats) bool { return k.State == "SYN_SENT" })
	return ln, id
}

// pair makes a step listener, a step client connected to it, and the
// accepted socket: client, server side.
func pair(l *learner) (int, int) {
	l.t.Helper()
	ln, p := l.server(1)
	c, _ := l.client("127.0.0.1", p)
	return c, l.accept(ln)
}

// rebindTimeWait does the half-close lesson: the server's side shuts down
// writing first, so its port stays in TIME_WAIT; then a new socket binds
// that port without, and with, SO_REUSEADDR. Linux lets it only if the old
// socket had SO_REUSEADDR too: reuse says whether the listener set it.
func rebindTimeWait(l *learner, reuse bool) {
	l.t.Helper()
	var opts []string
	if reuse {
		opts = append(opts, "SO_REUSEADDR")
	}
	ln, p := l.server(1, opts...)
	l.start()
	c, _ := l.client("127.0.0.1", p)
	srv := l.accept(ln)
	l.shutdown(srv, "write")
	if got := l.recv(c, 100); !got.EOF {
		l.t.Fatalf("recv after the peer's shutdown: %q, want 0 bytes", got.Data)
	}
	l.close(c)
	l.close(srv)
	l.close(ln)
	l.kernel("the server's side in TIME_WAIT", srv, func(k *session.TCPStats) bool { return k.State == "TIME_WAIT" && k.Closed })
	again := l.socket("tcp")
	l.fails(l.bind(again, p), "EADDRINUSE")
	if reuse {
		l.setsockopt(again, "SO_REUSEADDR", 1)
		l.ok(l.bind(again, p))
	} else {
		l.fails(l.bind(again, p), "EADDRINUSE") // trying again changes nothing
	}
}

// joinChat connects two live clients to the chat service.
func joinChat(l *learner) (int, int) {
	l.t.Helper()
	a, b := l.dial(l.service("chat", "tcp")), l.dial(l.service("chat", "tcp"))
	l.received(a, "* welcome, ")
	l.received(b, "* welcome, ")
	return a, b
}

// stream returns what socket sock has received so far.
func (l *learner) stream(sock int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.streamLocked(sock)
}

func (l *learner) streamLocked(sock int) []byte {
	var b []byte
	for _, e := range l.evs {
		if e.Sock == sock && e.Type == session.TypeData {
			b = append(b, e.Data...)
		}
	}
	return b
}

// contentLength waits for the whole first response on c and returns its
// Content-Length, as a learner reads it.
func contentLength(l *learner, c int) int {
	l.t.Helper()
	l.received(c, "\r\n\r\n")
	head, _, _ := strings.Cut(string(l.stream(c)), "\r\n\r\n")
	for _, h := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(h, "Content-Length: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				l.t.Fatal(err)
			}
			whole := len(head) + len("\r\n\r\n") + n
			l.wait("the whole response", func(*session.Event) bool { return len(l.streamLocked(c)) >= whole })
			return n
		}
	}
	l.t.Fatalf("no Content-Length in %q", head)
	return 0
}

// local returns socket sock's own address, from its established state.
func (l *learner) local(sock int) string {
	l.t.Helper()
	return l.wait("socket's address", func(e *session.Event) bool {
		return e.Sock == sock && e.Type == session.TypeState && e.Local != ""
	}).Local
}

// TestLessonsLive does every lesson on a live session twice, as a learner
// who does it and as one who nearly does, and checks the tracker's verdict
// and Evaluate's on the log agree. With -update it records the logs for
// TestLessonLogs.
func TestLessonsLive(t *testing.T) {
	for _, lesson := range learn.All() {
		sc, ok := scripts[lesson.ID]
		if !ok {
			t.Errorf("lesson %s has no scripts", lesson.ID)
			continue
		}
		for _, kind := range []string{"pass", "fail"} {
			t.Run(lesson.ID+"/"+kind, func(t *testing.T) {
				t.Parallel()
				l := newLearner(t, lesson.ID)
				var want string
				if kind == "pass" {
					sc.pass(l)
					l.passed()
					want = strings.Repeat("x", len(lesson.Steps))
				} else {
					sc.fail(l)
					want = nearMiss[lesson.ID]
					if got := progress(l.verdict()); got != want {
						t.Errorf("the tracker ends the near miss with %s, want %s; the last events:\n%s", got, want, l.dump())
					}
				}
				evs := l.events()
				if got := progress(learn.Evaluate(lesson, evs)); got != want {
					t.Errorf("Evaluate on the log: %s, want %s", got, want)
				}
				if *update && !t.Failed() {
					record(t, lesson.ID, kind, evs)
				}
			})
		}
	}
}

// record writes a log for TestLessonLogs.
func record(t *testing.T, id, kind string, evs []*session.Event) {
	t.Helper()
	path := logPath(id, kind)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = export.WriteLog(f, "learn-"+id+"-"+kind, evs)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
