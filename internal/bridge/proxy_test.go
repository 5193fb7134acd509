package bridge_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/socketplayground/playground/internal/bridge"
)

// TestProxyTCP puts a bad-network proxy between a client and a listener of
// the same session: a split knob turns one send into four reads, each piece
// a relay event with its bytes; a live change of knobs takes effect; reset
// fails the client with ECONNRESET; close ends the proxy.
func TestProxyTCP(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("l")
	c.Send(`{"id":"p","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":%s,"knobs":{"split":3,"split_gap_ms":25}}`, port(t, ln.Local))
	px := c.OK("p")
	if px.Remote != ln.Local || string(px.Knobs) != `{"split":3,"split_gap_ms":25}` {
		t.Fatalf("proxy result %v", px)
	}
	c.Wait("proxying", func(e Ev) bool {
		return e.Type == "state" && e.Sock == px.Sock && e.State == "proxying" && e.Kind == "tcp-proxy"
	})

	c.Send(`{"id":"c","op":"connect","host":"127.0.0.1","port":%s}`, port(t, px.Local))
	client := c.OK("c")
	acc := c.Wait("accept behind the proxy", func(e Ev) bool { return e.Type == "result" && e.Op == "accept" && e.Sock == ln.Sock })
	c.Wait("relay open", func(e Ev) bool {
		return e.Type == "relay" && e.Relay == "open" && e.Sock == px.Sock && e.Peer == client.Local
	})

	c.Send(`{"id":"s","op":"send","sock":%d,"data":{"text":"helloworld"}}`, client.Sock)
	c.OK("s")
	var reads, relays []string
	for len(reads) < 4 || len(relays) < 4 {
		e := c.Wait("pieces", func(e Ev) bool {
			return (e.Type == "data" && e.Sock == acc.Child) || (e.Type == "relay" && e.Relay == "chunk" && e.Dir == "to-target")
		})
		if e.Type == "data" {
			reads = append(reads, string(e.Data))
		} else {
			if !e.Binary || e.Len != len(e.Data) || e.Conn != 1 {
				t.Fatalf("relay chunk %v", e)
			}
			relays = append(relays, string(e.Data))
		}
	}
	want := []string{"hel", "low", "orl", "d"}
	for i := range want {
		if reads[i] != want[i] || relays[i] != want[i] {
			t.Fatalf("split 3 gave reads %q and relayed chunks %q; want %q", reads, relays, want)
		}
	}

	// Knobs change live; a bad one is refused by name and changes nothing.
	c.Send(`{"id":"k","op":"proxy_set","sock":%d,"knobs":{"latency_ms":30}}`, px.Sock)
	if e := c.OK("k"); string(e.Knobs) != `{"latency_ms":30}` {
		t.Fatalf("proxy_set answered %v", e)
	}
	c.Send(`{"id":"kb","op":"proxy_set","sock":%d,"knobs":{"loss":1.5}}`, px.Sock)
	c.Fails("kb", "bad_field")
	c.Send(`{"id":"ku","op":"proxy_set","sock":%d,"knobs":{"lag":1}}`, px.Sock)
	c.Fails("ku", "bad_field")
	c.Send(`{"id":"s2","op":"send","sock":%d,"data":{"text":"slow"}}`, client.Sock)
	c.OK("s2")
	late := c.Wait("a delayed chunk", func(e Ev) bool { return e.Type == "relay" && e.Relay == "chunk" && string(e.Data) == "slow" })
	if late.Delay < 30000 {
		t.Fatalf("with latency 30 ms the chunk was delayed %d µs", late.Delay)
	}
	c.Wait("slow arrives", func(e Ev) bool { return e.Type == "data" && e.Sock == acc.Child && string(e.Data) == "slow" })

	c.Send(`{"id":"r","op":"proxy_reset","sock":%d}`, px.Sock)
	if e := c.OK("r"); e.Conns != 1 {
		t.Fatalf("reset answered %v; want 1 connection", e)
	}
	reset := c.Wait("client reset", func(e Ev) bool { return e.Type == "error" && e.Sock == client.Sock })
	if reset.Code != "reset" || reset.Errno != "ECONNRESET" {
		t.Fatalf("after proxy_reset the client got %v", reset)
	}
	c.Wait("server side reset too", func(e Ev) bool { return e.Type == "state" && e.Sock == acc.Child && e.State == "failed" })

	c.Send(`{"id":"x","op":"close","sock":%d}`, px.Sock)
	c.OK("x")
	c.Wait("proxy closed", func(e Ev) bool { return e.Type == "state" && e.Sock == px.Sock && e.State == "closed" })
	c.Send(`{"id":"x2","op":"proxy_reset","sock":%d}`, px.Sock)
	c.Fails("x2", "bad_state")
}

// TestProxyUDP: a UDP proxy in front of a real echo peer drops every
// datagram at loss 1, with a relay event saying why, and forwards both ways
// at loss 0.
func TestProxyUDP(t *testing.T) {
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { echo.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"p","op":"proxy","proto":"udp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":%s,"knobs":{"loss":1}}`, port(t, echo.LocalAddr().String()))
	px := c.OK("p")
	c.Send(`{"id":"b","op":"bind","host":"127.0.0.1","port":0}`)
	u := c.OK("b")
	c.Send(`{"id":"d1","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"lost"}}`, u.Sock, port(t, px.Local))
	c.OK("d1")
	drop := c.Wait("drop", func(e Ev) bool { return e.Type == "relay" && e.Relay == "drop" && e.Sock == px.Sock })
	if string(drop.Data) != "lost" || drop.Dir != "to-target" || drop.Message == "" {
		t.Fatalf("drop event %v %q", drop, drop.Data)
	}
	c.Send(`{"id":"k","op":"proxy_set","sock":%d,"knobs":{}}`, px.Sock)
	c.OK("k")
	c.Send(`{"id":"d2","op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"kept"}}`, u.Sock, port(t, px.Local))
	c.OK("d2")
	back := c.Wait("echo through the proxy", func(e Ev) bool { return e.Type == "data" && e.Sock == u.Sock })
	if string(back.Data) != "kept" || back.Peer != px.Local {
		t.Fatalf("got %v %q; want kept from the proxy %s", back, back.Data, px.Local)
	}
}

// TestProxyRefused: bad requests and bad knobs are refused with named
// errors, and the session carries on.
func TestProxyRefused(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"a","op":"proxy","proto":"sctp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":7}`)
	if e := c.Fails("a", "bad_field"); e.Message != `"proto" must be "tcp" or "udp", not "sctp"` {
		t.Errorf("got %q", e.Message)
	}
	c.Send(`{"id":"b","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1"}`)
	c.Fails("b", "missing_field")
	c.Send(`{"id":"c","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":0}`)
	c.Fails("c", "port_range")
	c.Send(`{"id":"d","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":7,"knobs":{"jitter_ms":-5}}`)
	if e := c.Fails("d", "bad_field"); e.Sock == 0 {
		t.Errorf("bad knobs are refused after the call, on the proxy's socket: %v", e)
	}
	c.Send(`{"id":"d2","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":7,"knobs":{"latency_ms":18446744073710}}`)
	c.Fails("d2", "bad_field")
	c.Send(`{"id":"d3","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":7,"knobs":{"loss":0.5}}`)
	if e := c.Fails("d3", "bad_field"); e.Message != "knobs loss and reorder are for UDP proxies: TCP delivers every byte, in order" {
		t.Errorf("got %q", e.Message)
	}
	c.Send(`{"id":"d4","op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"::1","target_port":7}`)
	c.Fails("d4", "bad_field")
	// A proxy aimed at itself would chain connections to itself until the
	// server ran out of descriptors.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := port(t, free.Addr().String())
	free.Close()
	c.Send(`{"id":"d5","op":"proxy","proto":"tcp","host":"127.0.0.1","port":%s,"target_host":"127.0.0.1","target_port":%s}`, self, self)
	if e := c.Fails("d5", "bad_field"); e.Message != "a proxy cannot forward to its own address 127.0.0.1:"+self+": every connection would come back to it" {
		t.Errorf("got %q", e.Message)
	}

	c.Send(`{"id":"e","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("e")
	c.Send(`{"id":"f","op":"proxy_set","sock":%d,"knobs":{}}`, ln.Sock)
	if e := c.Fails("f", "bad_state"); e.Message != fmt.Sprintf("socket %d is a tcp-listener, not a proxy", ln.Sock) {
		t.Errorf("got %q", e.Message)
	}
}
