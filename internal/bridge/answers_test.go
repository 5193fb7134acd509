package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
)

// TestEveryCallIsAnswered: each call gets exactly one answer, even when a
// close with "now" overtakes the work the call queued, and for an empty send.
func TestEveryCallIsAnswered(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	const rounds = 30
	for i := range rounds {
		// Socket ids are given in order, so the ids of this round are known
		// before the answers arrive: two per round.
		ln, cl := 2*i+1, 2*i+2
		c.Send(`{"id":"l%d","op":"listen","host":"127.0.0.1","port":0}`, i)
		c.Send(`{"id":"x%d","op":"close","sock":%d,"now":true}`, i, ln)
		c.Send(`{"id":"c%d","op":"connect","host":"127.0.0.1","port":9,"timeout_ms":2000}`, i)
		c.Send(`{"id":"y%d","op":"close","sock":%d,"now":true}`, i, cl)
	}
	answers := map[string]int{}
	calls := 0
	for len(answers) < 4*rounds {
		e := c.Wait("an answer", func(e Ev) bool { return e.ID != "" })
		switch e.Type {
		case "call":
			calls++
		case "result", "error", "sent", "data":
			answers[e.ID]++
		}
	}
	for id, n := range answers {
		if n != 1 {
			t.Errorf("request %s got %d answers", id, n)
		}
	}
	if calls != 4*rounds {
		t.Errorf("%d call events for %d requests", calls, 4*rounds)
	}

	// An empty send is a call like any other: it is answered with len 0.
	sock, _ := connectPeer(t, c, "")
	c.Send(`{"id":"e","op":"send","sock":%d,"data":{"text":""}}`, sock)
	if e := c.OK("e"); e.Type != "sent" || e.Len != 0 {
		t.Fatalf("empty send answered with %v", e)
	}
}

// TestNameWithoutFamily: a name that has no address of the socket's family
// is "name not found", not a generic network error.
func TestNameWithoutFamily(t *testing.T) {
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"b","op":"bind","host":"::1","port":0}`)
	sock := c.OK("b").Sock
	c.Send(`{"id":"s","op":"sendto","sock":%d,"host":"127.0.0.1","port":9,"data":{"text":"x"}}`, sock)
	c.Fails("s", "bad_field")
	c.Send(`{"id":"c","op":"connect","host":"localhost","port":9,"family":"ip6"}`)
	e := c.Result("c")
	if e.Type == "error" && e.Code == "network" {
		t.Fatalf("connect to localhost over IPv6 failed as a generic network error: %v", e)
	}
}

// TestSubprotocolRequired: a client must say which protocol it speaks.
func TestSubprotocolRequired(t *testing.T) {
	url := startServer(t, bridge.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, _, err = ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(fmt.Sprint(err), bridge.Subprotocol) {
		t.Fatalf("a client without the subprotocol got %v; want a 1008 close naming %s", err, bridge.Subprotocol)
	}
}
