package bridge_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
)

// all256 holds every byte value once.
var all256 = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// escapeAll spells every byte as \xNN.
func escapeAll(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02x`, c)
	}
	return s.String()
}

// peer is a TCP peer in the test, outside the session.
func peer(t *testing.T) (addr string, accepted <-chan *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *net.TCPConn, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err == nil {
			ch <- c.(*net.TCPConn)
		}
		close(ch)
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), ch
}

// connectPeer connects a session socket to a fresh peer in the test and
// returns the socket's id and the peer's end, closed when the test ends.
func connectPeer(t *testing.T, c *Client, extra string) (int, *net.TCPConn) {
	t.Helper()
	addr, accepted := peer(t)
	c.Send(`{"id":"connect-peer","op":"connect","host":"127.0.0.1","port":%s%s}`, port(t, addr), extra)
	sock := c.OK("connect-peer").Sock
	p := <-accepted
	if p == nil {
		t.Fatal("the peer accepted nothing")
	}
	t.Cleanup(func() { p.Close() })
	return sock, p
}

// TestAllBytesOut sends the 256 byte values to a real peer, in several
// chunkings and every payload spelling, and checks the peer reads exactly
// those bytes.
func TestAllBytesOut(t *testing.T) {
	spell := map[string]func(c *Client, id string, sock int, b []byte){
		"binary": func(c *Client, id string, sock int, b []byte) {
			c.SendBinary(fmt.Sprintf(`{"id":%q,"op":"send","sock":%d}`, id, sock), b)
		},
		"hex": func(c *Client, id string, sock int, b []byte) {
			c.Send(`{"id":%q,"op":"send","sock":%d,"data":{"hex":%q}}`, id, sock, hex.EncodeToString(b))
		},
		"escaped": func(c *Client, id string, sock int, b []byte) {
			c.Send(`{"id":%q,"op":"send","sock":%d,"data":{"escaped":%q}}`, id, sock, escapeAll(b))
		},
		"base64": func(c *Client, id string, sock int, b []byte) {
			c.Send(`{"id":%q,"op":"send","sock":%d,"data":{"base64":%q}}`, id, sock, base64.StdEncoding.EncodeToString(b))
		},
	}
	for name, send := range spell {
		for _, chunk := range []int{1, 7, 100, 256} {
			t.Run(fmt.Sprintf("%s/chunk%d", name, chunk), func(t *testing.T) {
				c := dial(t, startServer(t, bridge.Options{}))
				sock, p := connectPeer(t, c, "")
				for i := 0; i < len(all256); i += chunk {
					id := fmt.Sprint("s", i)
					part := all256[i:min(i+chunk, len(all256))]
					send(c, id, sock, part)
					if e := c.OK(id); e.Len != len(part) {
						t.Fatalf("sent %v, want len %d", e, len(part))
					}
				}
				p.SetReadDeadline(time.Now().Add(10 * time.Second))
				got := make([]byte, len(all256))
				if _, err := io.ReadFull(p, got); err != nil {
					t.Fatalf("peer read: %v", err)
				}
				if !bytes.Equal(got, all256) {
					t.Fatalf("peer got\n%x\nwant\n%x", got, all256)
				}
			})
		}
	}
}

// TestAllBytesIn has a real peer write the 256 byte values in several
// chunkings and checks the data events carry exactly those bytes.
func TestAllBytesIn(t *testing.T) {
	for _, chunk := range []int{1, 3, 64, 256} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			c := dial(t, startServer(t, bridge.Options{}))
			sock, p := connectPeer(t, c, "")
			p.SetNoDelay(true)
			go func() {
				for i := 0; i < len(all256); i += chunk {
					if _, err := p.Write(all256[i:min(i+chunk, len(all256))]); err != nil {
						return
					}
				}
			}()
			var got []byte
			for len(got) < len(all256) {
				e := c.Wait("data", func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
				if !e.Binary || e.Len != len(e.Data) {
					t.Fatalf("data event %v: want a binary message whose len matches its bytes", e)
				}
				got = append(got, e.Data...)
			}
			if !bytes.Equal(got, all256) {
				t.Fatalf("received\n%x\nwant\n%x", got, all256)
			}
		})
	}
}

// TestRoundTripThroughOwnListener: both ends of the connection belong to
// the session; a watcher of the log sees the sender's bytes in the sent
// event (from history) and the receiver's in data events.
func TestRoundTripThroughOwnListener(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"l","op":"listen","host":"::1","port":0}`)
	ln := c.OK("l")
	if !strings.HasPrefix(ln.Local, "[::1]:") {
		t.Fatalf("IPv6 listener bound to %q", ln.Local)
	}
	c.Send(`{"id":"c","op":"connect","host":"::1","port":%s}`, port(t, ln.Local))
	cli := c.OK("c").Sock
	srv := c.Wait("accept", func(e Ev) bool { return e.Op == "accept" && e.Type == "result" }).Child
	for _, dir := range []struct{ from, to int }{{cli, srv}, {srv, cli}} {
		c.SendBinary(fmt.Sprintf(`{"id":"s%d","op":"send","sock":%d}`, dir.from, dir.from), all256)
		var got []byte
		for len(got) < 256 {
			got = append(got, c.Wait("data", func(e Ev) bool { return e.Type == "data" && e.Sock == dir.to }).Data...)
		}
		if !bytes.Equal(got, all256) {
			t.Fatalf("%d -> %d delivered %x", dir.from, dir.to, got)
		}
	}
}

// TestKoreanText: "안녕" is six bytes of UTF-8.
func TestKoreanText(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	addr, accepted := peer(t)
	c.Send(`{"id":"c","op":"connect","host":"localhost","port":%s,"family":"ip4"}`, port(t, addr))
	sock := c.OK("c").Sock
	p := <-accepted
	defer p.Close()
	c.Send(`{"id":"k","op":"send","sock":%d,"data":{"text":"안녕"}}`, sock)
	if e := c.OK("k"); e.Len != 6 {
		t.Fatalf("sent %v, want 6 bytes", e)
	}
	got := make([]byte, 6)
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(p, got); err != nil || hex.EncodeToString(got) != "ec9588eb8595" {
		t.Fatalf("peer read %x, %v; want ec9588eb8595", got, err)
	}
}
