package services

import (
	"context"
	"net"
	"time"
)

// newDaytime is RFC 867: the time as one human-readable line, in UTC, in
// RFC 1123's layout ending in CRLF: "Tue, 21 Jul 2026 09:04:05 UTC\r\n".
// TCP sends it on connect and closes; UDP answers any datagram with it.
func newDaytime(settings) service {
	return service{
		tcp:      daytimeTCP,
		tcpAbout: "Sends the current time as one line and closes: read until EOF (RFC 867).",
		udp:      func([]byte) []byte { return daytimeLine(time.Now()) },
		udpAbout: "Answers any datagram with the current time: one request, one reply (RFC 867).",
	}
}

func daytimeLine(t time.Time) []byte {
	return []byte(t.UTC().Format(time.RFC1123) + "\r\n")
}

func daytimeTCP(_ context.Context, c net.Conn) {
	c.Write(daytimeLine(time.Now()))
	finish(c)
}
