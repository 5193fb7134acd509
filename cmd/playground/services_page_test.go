package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/services"
)

// TestPageServices connects to every built-in service from the page at
// once, one click each, and talks to the ones that answer what is typed.
func TestPageServices(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	msg := q("textbox", "Message")
	sock := 0
	// open clicks a service's button and returns the socket it made.
	open := func(button, wantState string) int {
		t.Helper()
		sock++
		p.run(browsertest.Click(q("button", button)))
		p.waitText(card(sock), wantState)
		return sock
	}
	say := func(format, text string) {
		t.Helper()
		p.run(browsertest.Click(q("radio", format)), browsertest.Fill(msg, text), browsertest.Press(msg, "Enter"))
	}
	var tcp, udp int
	for _, name := range services.Names {
		if name != "lossy" {
			tcp++
			n := open("~Connect "+name+" TCP 127.0.0.1:", `established|half-closed|closed`)
			// Only this socket's events, so a busy neighbour (chargen) does
			// not scroll them out of view.
			p.run(browsertest.Select(q("combobox", "Socket"), "Socket "+itoa(n)))
			row := func(text string) browsertest.Target { return q("list", "Events", "button", "~"+text) }
			switch name {
			case "http":
				say("Text with escapes", `GET /hello HTTP/1.1\r\nHost: playground\r\n\r\n`)
				p.run(browsertest.Wait(row(`received`)))
				var got string
				p.run(browsertest.Text(row(`received`), &got))
				if !strings.Contains(got, `HTTP/1.1 200 OK\r\n`) {
					t.Errorf("the HTTP service answered %q", got)
				}
			case "chat":
				p.run(browsertest.Wait(row(`: * welcome, guest-`)))
				say("Text with escapes", `/nick ada\n`)
				p.run(browsertest.Wait(row(`received 18 bytes: * you are now ada\n`)))
			case "framing":
				say("Text with escapes", `hello\n`)
				p.run(browsertest.Wait(row(`received 15 bytes: 5 bytes: hello\n`)))
			case "daytime", "qotd", "chargen":
				p.waitText(card(n), `Received\s*[1-9]`)
			}
			if name == "chargen" {
				p.run(browsertest.Click(card(n, "button", "Close"))) // it streams until closed
				p.waitText(card(n), `closed by you`)
			}
			p.run(browsertest.Select(q("combobox", "Socket"), "All sockets"))
		}
		if name == "chat" || name == "http" || name == "slow" || name == "framing" {
			continue // TCP only
		}
		udp++
		n := open("~Open UDP "+name+" UDP 127.0.0.1:", `bound`)
		say("Text", "hi")
		switch name {
		case "echo":
			p.run(browsertest.Wait(q("list", "Events", "button", "~socket "+itoa(n)+" received 2 bytes from 127.0.0.1:")))
		case "daytime", "qotd", "chargen":
			p.waitText(card(n), `Received\s*[1-9][\d,]* bytes in 1 datagram`)
		}
	}
	if tcp != 9 || udp != 6 {
		t.Errorf("opened %d TCP and %d UDP services; want 9 and 6", tcp, udp)
	}
	p.shot("25-every-service")
	p.noProblems()
}

func itoa(n int) string { return strconv.Itoa(n) }
