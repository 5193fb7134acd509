package services

import (
	"context"
	"io"
	"net"
)

// newEcho is RFC 862: TCP sends back every byte; UDP sends back every
// datagram, to its sender.
func newEcho(settings) service {
	return service{
		tcp:      echoTCP,
		tcpAbout: "Sends back every byte it receives: a TCP byte stream, unchanged.",
		udp:      func(p []byte) []byte { return p },
		udpAbout: "Sends every datagram back to its sender: UDP keeps message boundaries.",
	}
}

func echoTCP(_ context.Context, c net.Conn) {
	io.Copy(c, c)
}
