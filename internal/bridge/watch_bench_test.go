package bridge_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
)

// benchOwner is an owner connection to a session with a socket connected
// to a TCP echo, for measuring round trips.
type benchOwner struct {
	ctx   context.Context
	ws    *websocket.Conn
	frame []byte // a binary send request of rtPayload bytes
}

const rtPayload = 64

func newBenchOwner(ctx context.Context, b *testing.B, base, echo string) (*benchOwner, string) {
	ws, _, err := websocket.Dial(ctx, base, &websocket.DialOptions{Subprotocols: []string{bridge.Subprotocol}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.CloseNow() })
	ws.SetReadLimit(-1)
	_, hello, err := ws.Read(ctx)
	if err != nil {
		b.Fatal(err)
	}
	o := &benchOwner{ctx: ctx, ws: ws}
	host, p, _ := net.SplitHostPort(echo)
	o.write(`{"id":"c","op":"connect","host":"` + host + `","port":` + p + `}`)
	sock := 0
	for sock == 0 {
		e, _ := o.read(b)
		if e.ID == "c" && e.Type == "result" {
			sock = e.Sock
		}
	}
	o.write(`{"id":"sh","op":"share"}`)
	watch := ""
	for watch == "" {
		e, _ := o.read(b)
		if e.Type == "shares" && len(e.Links) > 0 {
			watch = e.Links[0].Watch
		}
	}
	header := []byte(`{"op":"send","sock":` + itoa(sock) + `}`)
	o.frame = binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	o.frame = append(append(o.frame, header...), make([]byte, rtPayload)...)
	_ = hello
	return o, watch
}

func (o *benchOwner) write(msg string) {
	o.ws.Write(o.ctx, websocket.MessageText, []byte(msg))
}

type benchEv struct {
	Type, ID string
	Sock     int
	Links    []bridge.ShareLink
}

func (o *benchOwner) read(b *testing.B) (benchEv, int) {
	typ, msg, err := o.ws.Read(o.ctx)
	if err != nil {
		b.Fatal(err)
	}
	var e benchEv
	if typ == websocket.MessageBinary {
		n := binary.BigEndian.Uint32(msg)
		json.Unmarshal(msg[4:4+n], &e)
		return e, len(msg) - 4 - int(n)
	}
	json.Unmarshal(msg, &e)
	return e, 0
}

// roundTrip sends rtPayload bytes to the echo and waits for them to come
// back as data events.
func (o *benchOwner) roundTrip(b *testing.B) time.Duration {
	start := time.Now()
	if err := o.ws.Write(o.ctx, websocket.MessageBinary, o.frame); err != nil {
		b.Fatal(err)
	}
	for got := 0; got < rtPayload; {
		e, n := o.read(b)
		if e.Type == "data" {
			got += n
		}
	}
	return time.Since(start)
}

// BenchmarkWatchers measures what watchers cost their owner (issue 8: "a
// teacher's session shown to 50 watchers must not slow the owner down"):
// the owner's round trip — a 64-byte send to a TCP echo and its bytes back
// as a data event — in a session with no watchers and in one with 50, each
// watcher a real WebSocket client reading every event, interleaved in the
// same run; and a plain TCP round trip on loopback for scale. It reports
// each as µs per round trip and the ratio of 50 watchers to none.
func BenchmarkWatchers(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := startServer(b, bridge.Options{})
	echo := echoServer(b)
	alone, _ := newBenchOwner(ctx, b, base, echo)
	watched, watch := newBenchOwner(ctx, b, base, echo)

	const watchers = 50
	var wg sync.WaitGroup
	for range watchers {
		ws, _, err := websocket.Dial(ctx, base+"?watch="+url.QueryEscape(watch)+"&from=1", &websocket.DialOptions{Subprotocols: []string{bridge.Subprotocol}})
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(-1)
		wg.Go(func() {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
			}
		})
		b.Cleanup(func() { ws.CloseNow() })
	}
	b.Cleanup(wg.Wait)

	raw, err := net.Dial("tcp", echo)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	buf := make([]byte, rtPayload)

	var tAlone, tWatched, tRaw time.Duration
	b.ResetTimer()
	for range b.N {
		tAlone += alone.roundTrip(b)
		tWatched += watched.roundTrip(b)
		start := time.Now()
		raw.Write(buf)
		if _, err := io.ReadFull(raw, buf); err != nil {
			b.Fatal(err)
		}
		tRaw += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tAlone.Microseconds())/n, "µs/rt-0-watchers")
	b.ReportMetric(float64(tWatched.Microseconds())/n, "µs/rt-50-watchers")
	b.ReportMetric(float64(tRaw.Microseconds())/n, "µs/rt-raw-tcp")
	b.ReportMetric(float64(tWatched)/float64(tAlone), "ratio-50/0")
}
