package services

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	chatMaxLine = 4 << 10 // bytes in a line, not counting its end
	chatMaxNick = 20
	// chatQueue is how many lines may wait for a client; one more and the
	// client is dropped, so a client that does not read never holds up
	// the room.
	chatQueue = 64
	// chatSendBuffer is each connection's kernel send buffer: small, so a
	// client that stops reading fills its queue soon.
	chatSendBuffer = 32 << 10
	// chatByeTimeout bounds how long a leaving client's last lines may take.
	chatByeTimeout = 5 * time.Second
)

// newChat is a line-based chat room over TCP, one room for all the
// service's addresses. Every line the service sends ends in "\n"; it reads
// lines ending in "\n" or "\r\n", of at most chatMaxLine bytes.
//
// On connect a client gets "* welcome, guest-3! ..." and the others get
// "* guest-3 joined". A line is a command or a message:
//
//	/nick NAME  renames: "* you are now ada" to the client, "* guest-3 is now ada" to the others;
//	            NAME is 1-20 letters, digits, '-' or '_', not taken (ignoring case)
//	/who        "* here: ada, guest-2" (sorted), to the client only
//	/quit       "* bye" to the client, then it is closed and the others get "* ada left"
//	text        "<ada> text" to every other client; the sender gets no copy
//
// An empty line is ignored. Errors go to the client only and start with
// "! ": a bad or taken nick, an unknown command, an overlong line (which is
// dropped). A client whose queue overflows is closed, and the others get
// "* ada was dropped (not reading)".
func newChat(st settings) service {
	r := &room{log: st.log, clients: make(map[*chatClient]struct{})}
	return service{
		tcp:      r.serve,
		tcpAbout: "A chat room of lines: open two connections and talk; /nick NAME, /who, /quit.",
	}
}

type room struct {
	log *slog.Logger

	mu      sync.Mutex // guards clients, guests, dropped and every client's nick
	clients map[*chatClient]struct{}
	guests  int      // default nicks given so far
	dropped []string // nicks dropped and not yet announced
}

type chatClient struct {
	c    net.Conn
	nick string
	out  chan []byte // lines to send; closed by the room when the client leaves
}

func (r *room) serve(_ context.Context, c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(chatSendBuffer)
	}
	cl := r.join(c)
	written := make(chan struct{})
	go func() {
		defer close(written)
		cl.send()
	}()

	br := bufio.NewReaderSize(c, chatMaxLine+2)
	for {
		line, _, err := readLine(br, chatMaxLine)
		if errors.Is(err, errLineTooLong) {
			r.tell(cl, fmt.Sprintf("! line too long: at most %d bytes; it was dropped", chatMaxLine))
			continue
		}
		if err != nil {
			break // closed; an unterminated last line is not sent
		}
		if !r.handle(cl, string(line)) {
			break
		}
	}
	r.leave(cl, "left")
	c.SetWriteDeadline(time.Now().Add(chatByeTimeout))
	<-written
}

// send writes the client's queue to its connection until the room closes
// the queue. Owned by the client's writer goroutine.
func (cl *chatClient) send() {
	var err error
	for line := range cl.out {
		if err == nil {
			if _, err = cl.c.Write(line); err != nil {
				cl.c.Close() // so the reader stops too
			}
		}
	}
}

func (r *room) join(c net.Conn) *chatClient {
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := &chatClient{c: c, out: make(chan []byte, chatQueue)}
	for {
		r.guests++
		cl.nick = fmt.Sprintf("guest-%d", r.guests)
		if r.byNickLocked(cl.nick, nil) == nil {
			break
		}
	}
	r.clients[cl] = struct{}{}
	r.queueLocked(cl, fmt.Sprintf("* welcome, %s! /nick NAME to rename, /who to list, /quit to leave; other lines go to everyone", cl.nick))
	r.othersLocked(cl, "* "+cl.nick+" joined")
	r.announceLocked()
	return cl
}

// handle acts on one line from cl and reports whether cl stays.
func (r *room) handle(cl *chatClient, line string) bool {
	r.mu.Lock()
	_, member := r.clients[cl]
	r.mu.Unlock()
	if !member {
		return false // dropped for not reading: lines it sent before say nothing now
	}
	switch {
	case line == "":
		return true
	case line == "/quit":
		r.tell(cl, "* bye")
		return false
	case line == "/who":
		r.mu.Lock()
		nicks := make([]string, 0, len(r.clients))
		for o := range r.clients {
			nicks = append(nicks, o.nick)
		}
		slices.SortFunc(nicks, func(a, b string) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a), strings.ToLower(b)), cmp.Compare(a, b))
		})
		r.queueLocked(cl, "* here: "+strings.Join(nicks, ", "))
		r.announceLocked()
		r.mu.Unlock()
	case line == "/nick" || strings.HasPrefix(line, "/nick "):
		r.rename(cl, strings.TrimSpace(strings.TrimPrefix(line, "/nick")))
	case strings.HasPrefix(line, "/"):
		r.tell(cl, "! unknown command: try /nick NAME, /who or /quit")
	default:
		r.mu.Lock()
		r.othersLocked(cl, "<"+cl.nick+"> "+line)
		r.announceLocked()
		r.mu.Unlock()
	}
	return true
}

func (r *room) rename(cl *chatClient, nick string) {
	if !validNick(nick) {
		r.tell(cl, fmt.Sprintf("! a nick is 1 to %d letters, digits, '-' or '_'", chatMaxNick))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byNickLocked(nick, cl) != nil {
		r.queueLocked(cl, "! nick "+nick+" is taken")
	} else {
		old := cl.nick
		cl.nick = nick
		r.queueLocked(cl, "* you are now "+nick)
		if old != nick {
			r.othersLocked(cl, "* "+old+" is now "+nick)
		}
	}
	r.announceLocked()
}

func validNick(s string) bool {
	if len(s) < 1 || len(s) > chatMaxNick {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// byNickLocked finds the client other than except with nick, ignoring case.
func (r *room) byNickLocked(nick string, except *chatClient) *chatClient {
	for o := range r.clients {
		if o != except && strings.EqualFold(o.nick, nick) {
			return o
		}
	}
	return nil
}

// tell sends line to cl alone.
func (r *room) tell(cl *chatClient, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queueLocked(cl, line)
	r.announceLocked()
}

// leave takes cl out of the room, if it is still in, and tells the others
// why ("left").
func (r *room) leave(cl *chatClient, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, in := r.clients[cl]; !in {
		return
	}
	delete(r.clients, cl)
	close(cl.out)
	r.othersLocked(cl, "* "+cl.nick+" "+why)
	r.announceLocked()
}

// queueLocked queues line for cl, or drops cl if its queue is full. It never
// blocks.
func (r *room) queueLocked(cl *chatClient, line string) {
	if _, in := r.clients[cl]; !in {
		return
	}
	select {
	case cl.out <- []byte(line + "\n"):
	default:
		delete(r.clients, cl)
		close(cl.out)
		cl.c.Close()
		r.dropped = append(r.dropped, cl.nick)
		r.log.Info("chat client dropped: not reading", "peer", cl.c.RemoteAddr())
	}
}

// othersLocked queues line for every client but cl.
func (r *room) othersLocked(cl *chatClient, line string) {
	for o := range r.clients {
		if o != cl {
			r.queueLocked(o, line)
		}
	}
}

// announceLocked tells the room about clients dropped so far; the notices
// may drop more clients, who are announced in turn.
func (r *room) announceLocked() {
	for len(r.dropped) > 0 {
		nick := r.dropped[0]
		r.dropped = r.dropped[1:]
		r.othersLocked(nil, "* "+nick+" was dropped (not reading)")
	}
}
