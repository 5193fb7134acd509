package services

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// chargenCycle is RFC 864's pattern, once round: 95 lines of 72 printable
// ASCII characters (32 to 126) each followed by CRLF, each line starting
// one character further on. The stream repeats it forever.
var chargenCycle = func() []byte {
	const first, n, width = ' ', 95, 72
	b := make([]byte, 0, n*(width+2))
	for line := range n {
		for i := range width {
			b = append(b, byte(first+(line+i)%n))
		}
		b = append(b, '\r', '\n')
	}
	return b
}()

const (
	chargenLine     = 74 // bytes in a line, CRLF included
	chargenUDPLines = 6  // lines in a UDP reply: 444 bytes, within RFC 864's 512
	chargenMaxChunk = 16 << 10
	// chargenMaxLag is how far chargen may fall behind its rate and then
	// catch up in a burst: a client that stopped reading for a minute does
	// not get a minute's worth at once.
	chargenMaxLag = time.Second / 4
)

// newChargen is RFC 864. TCP streams the pattern at rate bytes a second
// (a chunk every tenth of a second) until the client closes, and drops
// whatever the client sends. UDP answers any datagram with the next
// chargenUDPLines lines of the pattern (the service's next lines, shared by
// all its clients).
func newChargen(st settings) service {
	g := &chargen{rate: st.chargenRate}
	return service{
		tcp:      g.serveTCP,
		tcpAbout: fmt.Sprintf("Streams lines of rotating ASCII at %s until you close: a stream has no message boundaries (RFC 864).", perSecond(g.rate)),
		udp:      g.datagram,
		udpAbout: fmt.Sprintf("Answers any datagram with %d lines of rotating ASCII in one datagram (RFC 864).", chargenUDPLines),
	}
}

type chargen struct {
	rate int           // bytes a second, per connection
	line atomic.Uint64 // the next line a UDP reply starts with
}

func perSecond(rate int) string {
	if rate%1024 == 0 {
		return fmt.Sprintf("%d KiB/s", rate/1024)
	}
	return fmt.Sprintf("%d bytes/s", rate)
}

func (g *chargen) datagram([]byte) []byte {
	first := int((g.line.Add(chargenUDPLines) - chargenUDPLines) % 95)
	b := make([]byte, chargenUDPLines*chargenLine)
	cyclic(b, first*chargenLine)
	return b
}

// cyclic fills b from chargenCycle starting at offset at, wrapping round,
// and returns the offset after.
func cyclic(b []byte, at int) int {
	for n := 0; n < len(b); {
		c := copy(b[n:], chargenCycle[at:])
		n += c
		at = (at + c) % len(chargenCycle)
	}
	return at
}

func (g *chargen) serveTCP(ctx context.Context, c net.Conn) {
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c) // RFC 864: what the client sends is thrown away
	}()
	defer func() {
		c.Close()
		<-drained
	}()

	chunk := min(max(g.rate/10, 1), chargenMaxChunk)
	every := time.Duration(float64(chunk) / float64(g.rate) * float64(time.Second))
	buf := make([]byte, chunk)
	at := 0
	next := time.Now() // when the next chunk is due
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		at = cyclic(buf, at)
		if _, err := c.Write(buf); err != nil {
			return // the client closed, or the Set did
		}
		next = next.Add(every)
		if now := time.Now(); now.Sub(next) > chargenMaxLag {
			next = now.Add(-chargenMaxLag)
		}
	}
}
