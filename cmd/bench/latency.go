package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// latencyTimeout bounds one latency test: even 10 ms per round trip fits.
const latencyTimeout = 2 * time.Minute

// rawLatency times warmup+n round trips of size bytes over one TCP
// connection to the echo server and returns the last n.
func rawLatency(ctx context.Context, echoAddr string, p pattern, size, warmup, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, latencyTimeout)
	defer cancel()
	conn, err := dialTCP(ctx, echoAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	buf := make([]byte, size)
	samples := make([]time.Duration, 0, n)
	for i := range warmup + n {
		msg := p.at(int64(i)*int64(size), size)
		start := time.Now()
		if _, err := conn.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		d := time.Since(start)
		if !bytes.Equal(buf, msg) {
			return nil, fmt.Errorf("round trip %d: the echo differs from what was sent", i)
		}
		if i >= warmup {
			samples = append(samples, d)
		}
	}
	return samples, nil
}

// bridgedLatency is rawLatency through the playground: each round trip is a
// binary send request and the data events that bring the bytes back.
func bridgedLatency(ctx context.Context, wsURL, echoAddr string, p pattern, size, warmup, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, latencyTimeout)
	defer cancel()
	c, err := dial(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	defer c.close()
	sock, err := c.connect(ctx, echoAddr)
	if err != nil {
		return nil, err
	}
	header := sendHeader(sock)
	samples := make([]time.Duration, 0, n)
	for i := range warmup + n {
		d, err := roundTrip(ctx, c, sock, header, p, int64(i)*int64(size), size)
		if err != nil {
			return nil, fmt.Errorf("round trip %d: %w", i, err)
		}
		if i >= warmup {
			samples = append(samples, d)
		}
	}
	return samples, nil
}

// roundTrip sends size bytes of the pattern from off and reads events until
// they are all back and the send was acknowledged. The time is taken when
// the last byte arrives.
func roundTrip(ctx context.Context, c *client, sock int, header []byte, p pattern, off int64, size int) (time.Duration, error) {
	start := time.Now()
	if err := c.sendBinary(ctx, header, p.at(off, size)); err != nil {
		return 0, err
	}
	var d time.Duration
	got, acked := 0, false
	for got < size || !acked { // bounded by ctx
		e, err := c.next(ctx)
		if err != nil {
			return 0, err
		}
		if err := unexpected(e, sock); err != nil {
			return 0, err
		}
		switch {
		case e.Sock != sock:
		case e.Type == session.TypeSent:
			acked = true
		case e.Type == session.TypeData:
			if got+len(e.Data) > size {
				return 0, fmt.Errorf("%d bytes came back, %d were sent", got+len(e.Data), size)
			}
			if err := p.check(off+int64(got), e.Data); err != nil {
				return 0, err
			}
			got += len(e.Data)
			if got == size {
				d = time.Since(start)
			}
		}
	}
	return d, nil
}

// latencyStats summarises round-trip times.
type latencyStats struct {
	n                   int
	p50, p90, p99, pmax time.Duration
	mean                time.Duration
}

func summarize(samples []time.Duration) latencyStats {
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s) == 0 {
		return latencyStats{}
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	return latencyStats{n: len(s), p50: q(0.50), p90: q(0.90), p99: q(0.99), pmax: s[len(s)-1],
		mean: sum / time.Duration(len(s))}
}
