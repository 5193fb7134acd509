package bridge_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
)

// TestPingDropsSilentClient: a client that stops reading answers no pings,
// so the server drops its connection and closes the session's sockets —
// here a listener, whose port then refuses connections. A client that
// keeps reading answers them and stays, however long it is idle.
func TestPingDropsSilentClient(t *testing.T) {
	url := startServer(t, bridge.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond})

	// alive reads all the time, as a browser does, so it answers pings.
	alive := dial(t, url)
	got := make(chan []byte, 64)
	go func() {
		defer close(got)
		for {
			_, b, err := alive.Conn().Read(context.Background())
			if err != nil {
				return
			}
			got <- b
		}
	}()
	silent := dial(t, url)
	silent.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := silent.OK("l")
	// From here on, silent reads nothing: no pong goes back.

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Local, time.Second)
		if err != nil {
			break // the session's listener is gone
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the silent client's listener %s still accepts after 10 s", ln.Local)
		}
		time.Sleep(20 * time.Millisecond) // polling a port: there is no event to wait on
	}

	// The reading client answered every ping meanwhile and still works.
	alive.Send(`{"id":"b","op":"bind","host":"127.0.0.1","port":0}`)
	for b := range got {
		if strings.Contains(string(b), `"type":"result","sock":1,"id":"b"`) {
			alive.Conn().Close(websocket.StatusNormalClosure, "")
			for range got {
			}
			return
		}
	}
	t.Fatal("the reading client was dropped too")
}
