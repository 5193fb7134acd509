package bridge_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/session"
)

// Ev is an event or message as a client sees it.
type Ev struct {
	Seq     uint64   `json:"seq"`
	T       int64    `json:"t"`
	Type    string   `json:"type"`
	Sock    int      `json:"sock"`
	ID      string   `json:"id"`
	Op      string   `json:"op"`
	Auto    bool     `json:"auto"`
	Kind    string   `json:"kind"`
	Parent  int      `json:"parent"`
	Child   int      `json:"child"`
	State   string   `json:"state"`
	Half    string   `json:"half"`
	Reason  string   `json:"reason"`
	Host    string   `json:"host"`
	Family  string   `json:"family"`
	Port    int      `json:"port"`
	Addrs   []string `json:"addrs"`
	Addr    string   `json:"addr"`
	Local   string   `json:"local"`
	Remote  string   `json:"remote"`
	Peer    string   `json:"peer"`
	Len     int      `json:"len"`
	Code    string   `json:"code"`
	Errno   string   `json:"errno"`
	Message string   `json:"message"`

	// step mode and the kernel's view
	Mode     string `json:"mode"`
	Option   string `json:"option"`
	Value    *int   `json:"value"`
	Actual   *int   `json:"actual"`
	Backlog  int    `json:"backlog"`
	N        int    `json:"n"`
	EOF      bool   `json:"eof"`
	DgramLen int    `json:"datagram_len"`
	How      string `json:"how"`
	TCP      *struct {
		State   string `json:"state"`
		RTT     int64  `json:"rtt_us"`
		Cwnd    uint32 `json:"cwnd"`
		SendQ   int    `json:"send_q"`
		RecvQ   int    `json:"recv_q"`
		Backlog int    `json:"backlog"`
		TimerMS int64  `json:"timer_ms"`
		Closed  bool   `json:"closed"`
	} `json:"tcp"`

	// lessons
	Lesson *struct {
		ID     string `json:"id"`
		Action string `json:"action"`
		Step   int    `json:"step"`
		Answer string `json:"answer"`
		Steps  []struct {
			Done bool   `json:"done"`
			Seq  uint64 `json:"seq"`
		} `json:"steps"`
		Passed bool `json:"passed"`
	} `json:"lesson"`

	// multicast (protocol.md §16.5)
	Group      string          `json:"group"`
	Iface      string          `json:"iface"`
	Interfaces []session.Iface `json:"interfaces"`

	// proxies
	Conn   int             `json:"conn"`
	Relay  string          `json:"relay"`
	Dir    string          `json:"dir"`
	Delay  int64           `json:"delay_us"`
	Conns  int             `json:"conns"`
	Target string          `json:"target"`
	Knobs  json.RawMessage `json:"knobs"`

	// responders (protocol.md §16.3)
	Rule    int               `json:"rule"`
	Cause   uint64            `json:"cause"`
	Match   string            `json:"match"`
	Pattern map[string]string `json:"pattern"`
	Reply   map[string]string `json:"reply"`

	// TLS (protocol.md §16.4)
	TLS *session.TLSInfo `json:"tls"`

	// templates and repeat (protocol.md §16.1, §16.2)
	Template string `json:"template"`
	Count    int    `json:"count"`
	Interval int    `json:"interval_ms"`
	Repeat   int    `json:"repeat"`

	Binary bool   `json:"-"` // arrived as a binary message
	Data   []byte `json:"-"` // the bytes of a binary message

	// hello only
	Protocol string           `json:"protocol"`
	Session  string           `json:"session"`
	Services []bridge.Service `json:"services"`
	Role     string           `json:"role"`
	Key      string           `json:"key"`
	Resumed  bool             `json:"resumed"`
	GraceMS  int64            `json:"grace_ms"`
	First    uint64           `json:"first"`
	Next     uint64           `json:"next"`

	// messages that are not events: shares, sync (docs/protocol.md §15)
	Watchers int                 `json:"watchers"`
	Links    []bridge.ShareLink  `json:"links"`
	Sockets  []session.SockState `json:"sockets"`
}

func (e Ev) String() string {
	b, _ := json.Marshal(e)
	// Leave out the zero fields, so a dump of events stays readable.
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case string:
			if v == "" {
				delete(m, k)
			}
		case float64:
			if v == 0 && k != "seq" {
				delete(m, k)
			}
		case bool:
			if !v {
				delete(m, k)
			}
		}
	}
	b, _ = json.Marshal(m)
	if e.Binary {
		return fmt.Sprintf("%s +%d bytes", b, len(e.Data))
	}
	return string(b)
}

// startServer serves a bridge.Handler on loopback and returns its ws:// URL.
// The handler's sessions end, and are waited for, when the test ends.
func startServer(t testing.TB, opts bridge.Options) string {
	t.Helper()
	_, url := startHandler(t, opts)
	return url
}

// startHandler is startServer that returns the handler too, for tests that
// look into a session (Handler.Read).
func startHandler(t testing.TB, opts bridge.Options) (*bridge.Handler, string) {
	t.Helper()
	base, cancel := context.WithCancel(context.Background())
	h := bridge.NewHandler(base, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		h.Wait()
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// Conn is the client's WebSocket, for tests that read it themselves.
func (c *Client) Conn() *websocket.Conn { return c.ws }

// Client is a protocol client that reads only when a test asks it to, so a
// test can stop reading to exercise flow control.
type Client struct {
	t       testing.TB
	ws      *websocket.Conn
	Hello   Ev
	Seen    []Ev // every event read so far, in order
	pending []Ev // events read but not yet matched by Wait, in order
}

func dial(t testing.TB, url string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{bridge.Subprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(-1)
	c := &Client{t: t, ws: ws}
	t.Cleanup(func() { ws.CloseNow() })
	c.Hello = c.read(10 * time.Second)
	if c.Hello.Type != "hello" {
		t.Fatalf("first message is %v, want hello", c.Hello)
	}
	return c
}

// Send sends a JSON request.
func (c *Client) Send(format string, args ...any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(format, args...))); err != nil {
		c.t.Fatalf("write request: %v", err)
	}
}

// SendBinary sends a binary request: header length, JSON header, payload.
func (c *Client) SendBinary(header string, payload []byte) {
	c.t.Helper()
	msg := make([]byte, 4, 4+len(header)+len(payload))
	binary.BigEndian.PutUint32(msg, uint32(len(header)))
	msg = append(append(msg, header...), payload...)
	c.SendRaw(websocket.MessageBinary, msg)
}

// SendRaw sends one WebSocket message as it is.
func (c *Client) SendRaw(typ websocket.MessageType, msg []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, typ, msg); err != nil {
		c.t.Fatalf("write request: %v", err)
	}
}

func (c *Client) read(timeout time.Duration) Ev {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read event: %v (events so far:\n%s)", err, c.dump())
	}
	var e Ev
	if typ == websocket.MessageBinary {
		if len(b) < 4 {
			c.t.Fatalf("binary message of %d bytes", len(b))
		}
		n := binary.BigEndian.Uint32(b)
		if err := json.Unmarshal(b[4:4+n], &e); err != nil {
			c.t.Fatalf("binary header %q: %v", b[4:4+n], err)
		}
		e.Binary, e.Data = true, b[4+n:]
	} else if err := json.Unmarshal(b, &e); err != nil {
		c.t.Fatalf("text message %q: %v", b, err)
	}
	// Messages that are not events (hello, shares, sync, a watcher's
	// refusals) have no seq.
	if e.Seq != 0 {
		if n := len(c.Seen); n > 0 && e.Seq != c.Seen[n-1].Seq+1 {
			c.t.Fatalf("event seq %d follows %d: events must be consecutive", e.Seq, c.Seen[n-1].Seq)
		}
		c.Seen = append(c.Seen, e)
	}
	return e
}

// Wait returns the first event not yet returned that matches, reading more
// as needed. Events that do not match stay pending for later Waits: events
// of different sockets interleave in any order (a peer's "data" may be
// logged before the sender's "sent"), as they do for a real client. It
// fails the test after 10 seconds.
func (c *Client) Wait(what string, match func(Ev) bool) Ev {
	c.t.Helper()
	for i, e := range c.pending {
		if match(e) {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return e
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("no event %s within 10s; events:\n%s", what, c.dump())
		}
		e := c.read(left)
		if match(e) {
			return e
		}
		c.pending = append(c.pending, e)
	}
}

// Result waits for the event that answers request id: a result, sent,
// data (step mode's recv) or error event carrying that id.
func (c *Client) Result(id string) Ev {
	c.t.Helper()
	return c.Wait("answering request "+id, func(e Ev) bool {
		return e.ID == id && (e.Type == "result" || e.Type == "sent" || e.Type == "error" || e.Type == "data")
	})
}

// OK waits for request id's answer and fails the test unless it succeeded.
func (c *Client) OK(id string) Ev {
	c.t.Helper()
	e := c.Result(id)
	if e.Type == "error" {
		c.t.Fatalf("request %s failed: %v", id, e)
	}
	return e
}

// Fails waits for request id's answer and fails the test unless it is an
// error with the given code.
func (c *Client) Fails(id, code string) Ev {
	c.t.Helper()
	e := c.Result(id)
	if e.Type != "error" || e.Code != code {
		c.t.Fatalf("request %s: got %v, want an error with code %q", id, e, code)
	}
	if e.Message == "" {
		c.t.Fatalf("request %s: error without a message: %v", id, e)
	}
	return e
}

func (c *Client) dump() string {
	var b strings.Builder
	start := max(0, len(c.Seen)-40)
	for _, e := range c.Seen[start:] {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}
