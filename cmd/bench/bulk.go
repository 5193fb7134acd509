package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// bulkTimeout bounds one bulk run: even 10 MiB/s moves 256 MiB in time.
const bulkTimeout = 2 * time.Minute

// rawBulk sends total bytes of the pattern to the echo server in chunk-sized
// writes while reading the echo back, and returns how long until the last
// byte came back.
func rawBulk(ctx context.Context, echoAddr string, p pattern, total int64, chunk int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, bulkTimeout)
	defer cancel()
	conn, err := dialTCP(ctx, echoAddr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // unblocks Read and Write
	defer stop()

	start := time.Now()
	writeErr := make(chan error, 1)
	go func() {
		for off := int64(0); off < total; off += int64(chunk) {
			if _, err := conn.Write(p.at(off, int(min(int64(chunk), total-off)))); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	buf := make([]byte, chunk)
	var got int64
	for got < total {
		n, err := conn.Read(buf)
		if cerr := p.check(got, buf[:n]); cerr != nil {
			return 0, cerr
		}
		got += int64(n)
		if err != nil && got < total {
			return 0, fmt.Errorf("read after %d of %d bytes: %w", got, total, err)
		}
	}
	elapsed := time.Since(start)
	return elapsed, <-writeErr
}

// dialTCP connects to a loopback address.
func dialTCP(ctx context.Context, addr string) (*net.TCPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// bridgedBulk is rawBulk through the playground: one session, one TCP
// socket to the echo server, binary send requests of chunk bytes, and the
// bytes of "data" events counted until total are back. A sender goroutine
// keeps less than the server's send queue (hello.limits.send_queue)
// unacknowledged; the "sent" event answering each send acknowledges it.
func bridgedBulk(ctx context.Context, wsURL, echoAddr string, p pattern, total int64, chunk int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, bulkTimeout)
	defer cancel()
	c, err := dial(ctx, wsURL)
	if err != nil {
		return 0, err
	}
	defer c.close()
	if chunk > c.hello.Limits.MaxSend {
		return 0, fmt.Errorf("-chunk %d exceeds the server's max_send %d", chunk, c.hello.Limits.MaxSend)
	}
	sock, err := c.connect(ctx, echoAddr)
	if err != nil {
		return 0, err
	}
	inflight := max(1, int(c.hello.Limits.SendQueue)/chunk-1)
	credits := make(chan struct{}, inflight)
	for range inflight {
		credits <- struct{}{}
	}

	start := time.Now()
	sendErr := make(chan error, 1)
	go func() { sendErr <- sendAll(ctx, c, sendHeader(sock), p, total, chunk, credits) }()
	err = receiveAll(ctx, c, sock, p, total, credits)
	elapsed := time.Since(start)
	if err != nil {
		cancel() // stop the sender
	}
	if serr := <-sendErr; err == nil {
		err = serr
	}
	return elapsed, err
}

// sendAll sends the pattern's first total bytes, one credit per chunk.
func sendAll(ctx context.Context, c *client, header []byte, p pattern, total int64, chunk int, credits <-chan struct{}) error {
	for off := int64(0); off < total; off += int64(chunk) {
		select {
		case <-credits:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := c.sendBinary(ctx, header, p.at(off, int(min(int64(chunk), total-off)))); err != nil {
			return fmt.Errorf("send at byte %d: %w", off, err)
		}
	}
	return nil
}

// receiveAll reads events until total bytes of data came back on sock,
// checking them against the pattern and returning a credit per "sent".
func receiveAll(ctx context.Context, c *client, sock int, p pattern, total int64, credits chan<- struct{}) error {
	var got int64
	for got < total {
		e, err := c.next(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, total, err)
		}
		if err := unexpected(e, sock); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, total, err)
		}
		switch {
		case e.Sock != sock:
		case e.Type == session.TypeSent:
			select {
			case credits <- struct{}{}:
			default:
				return errors.New(`more "sent" events than sends`)
			}
		case e.Type == session.TypeData:
			if len(e.Data) != e.Len {
				return fmt.Errorf("data event says len %d but carries %d bytes", e.Len, len(e.Data))
			}
			if err := p.check(got, e.Data); err != nil {
				return err
			}
			got += int64(len(e.Data))
		}
	}
	return nil
}
