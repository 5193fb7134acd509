package bridge_test

import (
	"bytes"
	"testing"

	"github.com/socketplayground/playground/internal/bridge"
)

// TestListenConnectExchange opens a listener and a client in one session,
// exchanges bytes both ways, half-closes and closes.
func TestListenConnectExchange(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := c.OK("l")
	c.Send(`{"id":"c","op":"connect","host":"127.0.0.1","port":%s}`, port(t, ln.Local))
	conn := c.OK("c")
	acc := c.Wait("accept", func(e Ev) bool { return e.Type == "result" && e.Op == "accept" && e.Sock == ln.Sock })
	if !acc.Auto || acc.Remote != conn.Local || acc.Local != conn.Remote {
		t.Fatalf("accept %v does not mirror connect %v", acc, conn)
	}
	server := acc.Child

	c.Send(`{"id":"s1","op":"send","sock":%d,"data":{"text":"ping"}}`, conn.Sock)
	if e := c.OK("s1"); e.Type != "sent" || e.Len != 4 || e.Binary {
		t.Fatalf("own send answered with %v; want a JSON sent event of len 4", e)
	}
	got := c.Wait("data on the server side", func(e Ev) bool { return e.Type == "data" && e.Sock == server })
	if !got.Binary || !bytes.Equal(got.Data, []byte("ping")) {
		t.Fatalf("server received %v %q, want ping", got, got.Data)
	}

	c.Send(`{"id":"w","op":"shutdown","sock":%d,"how":"write"}`, conn.Sock)
	c.OK("w")
	eof := c.Wait("EOF on the server side", func(e Ev) bool {
		return e.Type == "state" && e.Sock == server && e.State != "established"
	})
	if eof.State != "half-closed" || eof.Half != "read" {
		t.Fatalf("server side after the client's FIN: %v", eof)
	}
	c.Send(`{"id":"s2","op":"send","sock":%d,"data":{"hex":"70 6f 6e 67"}}`, server)
	c.OK("s2")
	back := c.Wait("reply on the half-closed client", func(e Ev) bool { return e.Type == "data" && e.Sock == conn.Sock })
	if string(back.Data) != "pong" {
		t.Fatalf("client received %q, want pong", back.Data)
	}
	c.Send(`{"id":"x","op":"close","sock":%d}`, server)
	c.OK("x")
	// The client has shut writing and now reads EOF: live mode closes it.
	c.Wait("client auto-closed", func(e Ev) bool { return e.Type == "state" && e.Sock == conn.Sock && e.State == "closed" })
}

func port(t testing.TB, addr string) string {
	t.Helper()
	i := bytes.LastIndexByte([]byte(addr), ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[i+1:]
}
