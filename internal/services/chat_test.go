package services

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const chatWelcome = "! /nick NAME to rename, /who to list, /quit to leave; other lines go to everyone"

// joinChat connects to the chat and reads its welcome, which must name
// nick.
func joinChat(t *testing.T, a, nick string) (net.Conn, *lines) {
	t.Helper()
	c := dial(t, a)
	l := newLines(t, c)
	l.expect("* welcome, " + nick + chatWelcome)
	return c, l
}

func TestChat(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "chat")
	as := addrs(t, s, "chat", "tcp")
	a := as[0]
	ac, al := joinChat(t, a, "guest-1")
	bc, bl := joinChat(t, as[len(as)-1], "guest-2") // ::1, where the host has it: one room
	al.expect("* guest-2 joined")
	cc, cl := joinChat(t, a, "guest-3")
	al.expect("* guest-3 joined")
	bl.expect("* guest-3 joined")

	// A new nick, announced to the others.
	write(t, ac, "/nick ada\n")
	al.expect("* you are now ada")
	bl.expect("* guest-1 is now ada")
	cl.expect("* guest-1 is now ada")

	// Bad nicks: errors to the sender only.
	badNick := "! a nick is 1 to 20 letters, digits, '-' or '_'"
	for _, line := range []string{"/nick", "/nick ", "/nick bad nick", "/nick b@d", "/nick " + strings.Repeat("x", 21), "/nick caf\u00e9"} {
		write(t, bc, line+"\r\n")
		bl.expect(badNick)
	}
	write(t, bc, "/nick ADA\n")
	bl.expect("! nick ADA is taken")
	write(t, bc, "/nick Bob_2-x\r\n")
	bl.expect("* you are now Bob_2-x")
	al.expect("* guest-2 is now Bob_2-x")
	cl.expect("* guest-2 is now Bob_2-x")

	// A message goes to the others, not back to the sender: its next line
	// is the answer to /who.
	write(t, cc, "hello, room\r\n")
	al.expect("<guest-3> hello, room")
	bl.expect("<guest-3> hello, room")
	write(t, cc, "\n/who\n")
	cl.expect("* here: ada, Bob_2-x, guest-3")

	write(t, cc, "/shout hi\n")
	cl.expect("! unknown command: try /nick NAME, /who or /quit")

	// An overlong line is refused and dropped whole: what follows it is a
	// line of its own.
	write(t, ac, strings.Repeat("y", chatMaxLine+1)+"\nafter\n")
	al.expect(fmt.Sprintf("! line too long: at most %d bytes; it was dropped", chatMaxLine))
	bl.expect("<ada> after")
	cl.expect("<ada> after")
	write(t, ac, strings.Repeat("z", chatMaxLine)+"\r\n") // exactly the limit
	bl.expect("<ada> " + strings.Repeat("z", chatMaxLine))
	cl.expect("<ada> " + strings.Repeat("z", chatMaxLine))

	// /quit says bye and closes; the others hear.
	write(t, ac, "/quit\n")
	al.expect("* bye")
	al.eof()
	bl.expect("* ada left")
	cl.expect("* ada left")

	// Closing without /quit is leaving too.
	cc.Close()
	bl.expect("* guest-3 left")
	write(t, bc, "/who\n")
	bl.expect("* here: Bob_2-x")
}

// TestChatSlowClient: a client that never reads is dropped when its queue
// overflows, and the room goes on without waiting for it.
func TestChatSlowClient(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "chat")
	a := addr(t, s, "chat", "tcp")
	_, reader := joinChat(t, a, "guest-1")
	stuck := dial(t, a) // guest-2 never reads
	stuck.SetReadBuffer(4 << 10)
	reader.expect("* guest-2 joined")
	sender, _ := joinChat(t, a, "guest-3")
	reader.expect("* guest-3 joined")

	// The sender talks in rounds, and the reader hears each round in full
	// before the next, so only the stuck client falls behind.
	msg := strings.Repeat("m", 4000)
	dropped := false
	for round := 0; ; round++ {
		if round == 100 { // 3.2 MB: far more than kernel buffers and the queue hold
			t.Fatal("the stuck client was never dropped")
		}
		var batch strings.Builder
		for i := range 8 {
			fmt.Fprintf(&batch, "%d.%d %s\n", round, i, msg)
		}
		write(t, sender, batch.String())
		for i := 0; i < 8; {
			switch got := reader.next(); got {
			case fmt.Sprintf("<guest-3> %d.%d %s\n", round, i, msg):
				i++
			case "* guest-2 was dropped (not reading)\n":
				dropped = true
			default:
				t.Fatalf("round %d: got %.60q", round, got)
			}
		}
		if dropped {
			t.Logf("dropped during round %d", round)
			break
		}
	}
	// The stuck client's connection is closed: after what the kernel
	// buffered, it reads EOF or a reset, not a timeout.
	stuck.SetReadBuffer(1 << 20) // let the rest in quickly
	stuck.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, stuck)
	if isTimeout(err) {
		t.Fatal("the dropped client's connection is still open")
	}
	// And the room goes on.
	write(t, sender, "still here\n")
	reader.expect("<guest-3> still here")
}

// TestChatSocat: socat, an independent client, joins, renames, talks and
// leaves.
func TestChatSocat(t *testing.T) {
	t.Parallel()
	socat := needSocat(t)
	s := start(t, Config{}, "chat")
	a := addr(t, s, "chat", "tcp")
	gc, gl := joinChat(t, a, "guest-1")

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, socat, "-", "TCP:"+a)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	expect := func(want string) {
		t.Helper()
		got, err := out.ReadString('\n') // ctx bounds it: socat is killed then
		if got != want+"\n" {
			t.Fatalf("socat printed %q, %v; want %q", got, err, want+"\n")
		}
	}
	expect("* welcome, guest-2" + chatWelcome)
	gl.expect("* guest-2 joined")
	io.WriteString(stdin, "/nick socat\n")
	expect("* you are now socat")
	gl.expect("* guest-2 is now socat")
	io.WriteString(stdin, "hi from socat\n")
	gl.expect("<socat> hi from socat")
	write(t, gc, "hi, socat\n")
	expect("<guest-1> hi, socat")

	// socat's input ends: it shuts down its sending side, the room sees
	// EOF and closes, and socat exits.
	stdin.Close()
	gl.expect("* socat left")
	if rest, err := io.ReadAll(out); len(rest) > 0 || err != nil {
		t.Fatalf("socat printed %q, %v after leaving", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("socat: %v", err)
	}
}

// TestChatGuestNicks: a default nick skips one already taken.
func TestChatGuestNicks(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "chat")
	a := addr(t, s, "chat", "tcp")
	c1, l1 := joinChat(t, a, "guest-1")
	write(t, c1, "/nick GUEST-2\n")
	l1.expect("* you are now GUEST-2")
	write(t, c1, "/nick GUEST-2\n") // the same again: said to the client only
	l1.expect("* you are now GUEST-2")
	joinChat(t, a, "guest-3")
	l1.expect("* guest-3 joined")
}
