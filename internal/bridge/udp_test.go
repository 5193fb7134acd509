package bridge_test

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/services"
)

// TestUDP binds two sockets in one session (IPv4 and IPv6 each), sends
// datagrams between them, and checks boundaries, bytes and peer addresses.
func TestUDP(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			c := dial(t, startServer(t, bridge.Options{}))
			c.Send(`{"id":"a","op":"bind","host":%q,"port":0}`, host)
			a := c.OK("a")
			c.Send(`{"id":"b","op":"bind","host":%q,"port":0}`, host)
			b := c.OK("b")
			sizes := []int{0, 1, 256, 1400}
			for i, n := range sizes {
				payload := bytes.Repeat(all256, 6)[:n]
				c.SendBinary(fmt.Sprintf(`{"id":"d%d","op":"sendto","sock":%d,"host":%q,"port":%s}`, i, a.Sock, host, port(t, b.Local)), payload)
				sent := c.OK(fmt.Sprint("d", i))
				if sent.Peer != b.Local || sent.Len != n {
					t.Fatalf("sent %v; want %d bytes to %s", sent, n, b.Local)
				}
				got := c.Wait("datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == b.Sock })
				if got.Peer != a.Local || !bytes.Equal(got.Data, payload) {
					t.Fatalf("datagram %d: got %v %x; want %d bytes from %s", i, got, got.Data, n, a.Local)
				}
			}
		})
	}
}

// TestBuiltinEcho: the hello announces the echo services, and both answer.
func TestBuiltinEcho(t *testing.T) {
	svcs, err := services.Start(services.Config{FreePorts: true, Ports: echoOnly()})
	if err != nil {
		t.Fatal(err)
	}
	defer svcs.Close()
	var announce []bridge.Service
	for _, i := range svcs.Infos() {
		announce = append(announce, bridge.Service(i))
	}
	c := dial(t, startServer(t, bridge.Options{Services: announce}))
	if len(c.Hello.Services) != len(announce) || len(announce) < 2 {
		t.Fatalf("hello announces %v; want %v", c.Hello.Services, announce)
	}
	for _, s := range c.Hello.Services {
		host, p, _ := net.SplitHostPort(s.Addr)
		msg := fmt.Sprintf("hello %s %s", s.Proto, host)
		switch s.Proto {
		case "tcp":
			c.Send(`{"id":"c%s","op":"connect","host":%q,"port":%s}`, p, host, p)
			sock := c.OK("c" + p).Sock
			c.Send(`{"id":"s%s","op":"send","sock":%d,"data":{"text":%q}}`, p, sock, msg)
			var got []byte
			for len(got) < len(msg) {
				got = append(got, c.Wait("echo", func(e Ev) bool { return e.Type == "data" && e.Sock == sock }).Data...)
			}
			if string(got) != msg {
				t.Fatalf("tcp echo at %s returned %q", s.Addr, got)
			}
		case "udp":
			c.Send(`{"id":"b%s","op":"bind","host":%q,"port":0}`, p, host)
			sock := c.OK("b" + p).Sock
			c.Send(`{"id":"u%s","op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":%q}}`, p, sock, host, p, msg)
			got := c.Wait("echo", func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
			if string(got.Data) != msg || got.Peer != s.Addr {
				t.Fatalf("udp echo at %s returned %v %q", s.Addr, got, got.Data)
			}
		}
	}
}

// TestUDPFromRealPeer: datagrams from a socket outside the session carry
// its address, and replies reach it.
func TestUDPFromRealPeer(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"b","op":"bind","host":"127.0.0.1","port":0}`)
	b := c.OK("b")
	p, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	to, _ := net.ResolveUDPAddr("udp", b.Local)
	if _, err := p.WriteTo(all256, to); err != nil {
		t.Fatal(err)
	}
	got := c.Wait("datagram", func(e Ev) bool { return e.Type == "data" && e.Sock == b.Sock })
	if got.Peer != p.LocalAddr().String() || !bytes.Equal(got.Data, all256) {
		t.Fatalf("got %v %x", got, got.Data)
	}
	c.Send(`{"id":"r","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"escaped":"ok\\r\\n"}}`, b.Sock, port(t, p.LocalAddr().String()))
	c.OK("r")
	buf := make([]byte, 100)
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := p.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ok\r\n" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
}

// echoOnly turns off every built-in service but echo.
func echoOnly() map[string]int {
	ports := map[string]int{}
	for _, name := range services.Names {
		if name != "echo" {
			ports[name] = 0
		}
	}
	return ports
}
