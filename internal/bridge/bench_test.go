package bridge_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
)

// echoServer is a plain TCP echo on loopback, shared by both benchmarks.
func echoServer(b *testing.B) string {
	return serveTCP(b, func(c net.Conn) { io.CopyBuffer(c, c, make([]byte, 64<<10)) })
}

// serveTCP listens on loopback and serves each connection with serve, in a
// goroutine, then closes it. It returns the address.
func serveTCP(b *testing.B, serve func(net.Conn)) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				serve(c)
				c.Close()
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

const benchChunk = 64 << 10

// BenchmarkEchoRaw: 64 KiB chunks through a TCP echo, written and read back
// concurrently. The baseline for BenchmarkEchoBridged.
func BenchmarkEchoRaw(b *testing.B) {
	c, err := net.Dial("tcp", echoServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunk := make([]byte, benchChunk)
	b.SetBytes(benchChunk)
	b.ResetTimer()
	go func() {
		for range b.N {
			c.Write(chunk)
		}
	}()
	if _, err := io.CopyN(io.Discard, c, int64(b.N)*benchChunk); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEchoBridged: the same through the protocol: binary send
// requests of 64 KiB, the echo's bytes back as data events. Sends are
// paced by their "sent" answers to stay within the send queue.
func BenchmarkEchoBridged(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, startServer(b, bridge.Options{}), &websocket.DialOptions{Subprotocols: []string{bridge.Subprotocol}})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(-1)
	ws.Read(ctx) // hello
	host, p, _ := net.SplitHostPort(echoServer(b))
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":"c","op":"connect","host":"`+host+`","port":`+p+`}`))
	sock := 0
	for sock == 0 {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var e struct {
			Type, ID string
			Sock     int
		}
		json.Unmarshal(msg, &e)
		if e.ID == "c" && e.Type == "result" {
			sock = e.Sock
		} else if e.ID == "c" && e.Type == "error" {
			b.Fatalf("connect: %s", msg)
		}
	}
	header := []byte(`{"op":"send","sock":` + itoa(sock) + `}`)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	frame = append(append(frame, header...), make([]byte, benchChunk)...)

	const inflight = 32 // chunks: 2 MiB, half the send queue
	credit := make(chan struct{}, inflight)
	for range inflight {
		credit <- struct{}{}
	}
	b.SetBytes(benchChunk)
	b.ResetTimer()
	go func() {
		for range b.N {
			select {
			case <-credit:
			case <-ctx.Done():
				return
			}
			if ws.Write(ctx, websocket.MessageBinary, frame) != nil {
				return
			}
		}
	}()
	want := int64(b.N) * benchChunk
	for got := int64(0); got < want; {
		typ, msg, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if typ == websocket.MessageBinary {
			n := binary.BigEndian.Uint32(msg)
			got += int64(len(msg)) - 4 - int64(n)
			continue
		}
		var e struct{ Type string }
		json.Unmarshal(msg, &e)
		switch e.Type {
		case "sent":
			credit <- struct{}{}
		case "error":
			b.Fatalf("error event: %s", msg)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
