package services

import (
	"context"
	"net"
	"time"
)

const (
	// slowReadBuffer is the accepted socket's kernel receive buffer: small,
	// so it holds little beyond the window advertised in the handshake
	// (64 KiB on Linux, which cannot be taken back). Then the sender's send
	// buffer fills, and how big that is the sender decides: on Linux it
	// grows up to tcp_wmem's maximum, 4 MiB, unless the sender sets
	// SO_SNDBUF.
	slowReadBuffer = 4 << 10
	slowPace       = time.Second // between bytes read
	// slowMaxLife bounds a connection: at a byte a second, a client that
	// sent a lot and left would otherwise hold it for hours.
	slowMaxLife = 10 * time.Minute
)

// newSlow is a slow reader: it reads one byte, waits a second, reads the
// next, and never sends anything. A client that sends more than the two
// sockets' buffers hold sees its send queue fill and then send block: TCP's
// flow control. The connection ends when the client closes (once the
// service has read up to the EOF) or after slowMaxLife.
func newSlow(settings) service {
	return service{
		tcp:      serveSlow,
		tcpAbout: "Reads one byte a second: send a lot and watch the queues fill until send blocks (flow control).",
	}
}

func serveSlow(ctx context.Context, c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(slowReadBuffer)
	}
	c.SetReadDeadline(time.Now().Add(slowMaxLife))
	pace := time.NewTimer(0)
	defer pace.Stop()
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			return
		}
		pace.Reset(slowPace)
		select {
		case <-pace.C:
		case <-ctx.Done():
			return
		}
	}
}
