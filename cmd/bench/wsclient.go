package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// wsConn is a minimal WebSocket client connection (RFC 6455), just what the
// bench needs. It exists to keep the client's cost down, as a browser's is:
// every message goes out as one frame in one write, masked eight bytes at a
// time. (The coder/websocket client masks through a 4 KiB buffer, so a
// 64 KiB message costs it 16 writes, CPU taken from the server under test
// on a small machine.)
type wsConn struct {
	conn     net.Conn
	br       *bufio.Reader
	protocol string // the subprotocol the server chose

	rbuf []byte // the last message read

	wmu  sync.Mutex // guards wbuf and writes
	wbuf []byte
}

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// wsGUID is what the server appends to the key to prove it speaks WebSocket.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsDial opens a WebSocket to a ws:// URL, offering one subprotocol.
func wsDial(ctx context.Context, rawURL, subprotocol string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("%s: only ws:// URLs are supported", rawURL)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", u.Host)
	if err != nil {
		return nil, err
	}
	c := &wsConn{conn: conn, br: bufio.NewReader(conn)}
	if err := c.handshake(ctx, u, subprotocol); err != nil {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake with %s: %w", rawURL, err)
	}
	return c, nil
}

// handshake sends the upgrade request and checks the answer.
func (c *wsConn) handshake(ctx context.Context, u *url.URL, subprotocol string) error {
	defer bind(ctx, c.conn.SetDeadline)()
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Protocol: " + subprotocol + "\r\n\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + wsGUID))
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fmt.Errorf("server answered %s, want 101 Switching Protocols", resp.Status)
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return fmt.Errorf("server upgraded to %q, want websocket", resp.Header.Get("Upgrade"))
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return errors.New("wrong Sec-WebSocket-Accept")
	}
	c.protocol = resp.Header.Get("Sec-WebSocket-Protocol")
	return nil
}

// bind applies ctx to I/O through set (a SetDeadline method): its deadline,
// and an immediate one if ctx is cancelled. The returned function, called
// when the I/O is done, clears the deadline again.
func bind(ctx context.Context, set func(time.Time) error) func() {
	deadline, _ := ctx.Deadline() // zero: none
	set(deadline)
	stop := context.AfterFunc(ctx, func() { set(time.Unix(1, 0)) })
	return func() {
		stop()
		set(time.Time{})
	}
}

// writeMessage sends parts, concatenated, as one text or binary message in
// one frame and one write. It may be called while another goroutine reads.
func (c *wsConn) writeMessage(ctx context.Context, binaryMsg bool, parts ...[]byte) error {
	if binaryMsg {
		return c.write(ctx, opBinary, parts...)
	}
	return c.write(ctx, opText, parts...)
}

// write sends one final frame whose payload is parts, concatenated.
func (c *wsConn) write(ctx context.Context, op byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf[:0], op, n, parts...)
	defer bind(ctx, c.conn.SetWriteDeadline)()
	_, err := c.conn.Write(c.wbuf)
	return err
}

// appendFrame appends a final, masked frame of n payload bytes, the parts.
func appendFrame(b []byte, op byte, n int, parts ...[]byte) []byte {
	b = slices.Grow(b, 14+n)
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	// The mask key only has to be unpredictable to scripts in a browser.
	key := binary.LittleEndian.AppendUint32(nil, mrand.Uint32())
	b = append(b, key...)
	pos := 0
	for _, p := range parts {
		b = appendMasked(b, p, key, pos)
		pos += len(p)
	}
	return b
}

// appendMasked appends src XORed with the mask key, src starting at byte
// pos of the payload.
func appendMasked(dst, src, key []byte, pos int) []byte {
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)%4]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+8 <= len(src); i += 8 {
		dst = binary.LittleEndian.AppendUint64(dst, binary.LittleEndian.Uint64(src[i:])^k64)
	}
	for ; i < len(src); i++ {
		dst = append(dst, src[i]^k[i%4])
	}
	return dst
}

// readMessage reads the next text or binary message, answering pings on the
// way. The message is valid until the next call. A close frame from the
// server is returned as an error.
func (c *wsConn) readMessage(ctx context.Context) (binaryMsg bool, msg []byte, err error) {
	defer bind(ctx, c.conn.SetReadDeadline)()
	msg = c.rbuf[:0]
	op := byte(0)
	for {
		fin, fop, n, err := c.readHeader()
		if err != nil {
			return false, nil, err
		}
		if fop >= opClose {
			if err := c.control(ctx, fop, n); err != nil {
				return false, nil, err
			}
			continue
		}
		switch {
		case op == 0 && (fop == opText || fop == opBinary):
			op = fop
		case op == 0 || fop != opContinuation:
			return false, nil, fmt.Errorf("unexpected frame opcode %#x", fop)
		}
		if len(msg)+n > readLimit {
			return false, nil, fmt.Errorf("message over %d bytes", readLimit)
		}
		msg = slices.Grow(msg, n)
		if _, err := io.ReadFull(c.br, msg[len(msg):len(msg)+n]); err != nil {
			return false, nil, err
		}
		msg = msg[:len(msg)+n]
		if fin {
			c.rbuf = msg
			return op == opBinary, msg, nil
		}
	}
}

// readHeader reads a frame header from the server, which must not mask.
func (c *wsConn) readHeader() (fin bool, op byte, n int, err error) {
	var h [8]byte
	if _, err := io.ReadFull(c.br, h[:2]); err != nil {
		return false, 0, 0, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return false, 0, 0, errors.New("the server masked a frame")
	}
	size := uint64(h[1] & 0x7f)
	switch size {
	case 126:
		if _, err := io.ReadFull(c.br, h[:2]); err != nil {
			return false, 0, 0, err
		}
		size = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(c.br, h[:8]); err != nil {
			return false, 0, 0, err
		}
		size = binary.BigEndian.Uint64(h[:8])
	}
	if size > readLimit {
		return false, 0, 0, fmt.Errorf("frame of %d bytes", size)
	}
	return fin, op, int(size), nil
}

// control handles a control frame of n bytes: answers a ping, ignores a
// pong, and turns a close into an error.
func (c *wsConn) control(ctx context.Context, op byte, n int) error {
	if n > 125 {
		return fmt.Errorf("control frame of %d bytes", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return err
	}
	switch op {
	case opPing:
		return c.write(ctx, opPong, payload)
	case opClose:
		code := 1005 // no status
		if n >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
		}
		return fmt.Errorf("the server closed the WebSocket: %d %q", code, payload[min(n, 2):])
	}
	return nil
}

// close closes the connection at once, without a closing handshake.
func (c *wsConn) close() error { return c.conn.Close() }
