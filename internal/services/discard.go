package services

import (
	"context"
	"io"
	"net"
)

// newDiscard is RFC 863: it reads and drops everything and never answers.
// A TCP connection ends when the client closes its side.
func newDiscard(settings) service {
	return service{
		tcp:      discardTCP,
		tcpAbout: "Reads and drops everything, never answers: your sends succeed, and nothing comes back.",
		udp:      func([]byte) []byte { return nil },
		udpAbout: "Drops every datagram without a word: UDP never tells you whether anyone got it.",
	}
}

func discardTCP(_ context.Context, c net.Conn) {
	io.Copy(io.Discard, c)
}
