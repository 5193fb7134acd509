package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/session"
)

// readLimit bounds one message from the server. An event carries at most
// what one read of a socket returns (256 KiB today), so this is generous.
const readLimit = 16 << 20

// client speaks the playground protocol over one WebSocket, as the browser
// does. One goroutine may read events (next) while another sends requests.
type client struct {
	ws     *wsConn
	hello  bridge.Hello
	nextID int // for connect, which runs before any concurrent sending
}

// dial opens a session and reads its hello.
func dial(ctx context.Context, wsURL string) (*client, error) {
	ws, err := wsDial(ctx, wsURL, bridge.Subprotocol)
	if err != nil {
		return nil, err
	}
	if ws.protocol != bridge.Subprotocol {
		ws.close()
		return nil, fmt.Errorf("server chose subprotocol %q, want %q", ws.protocol, bridge.Subprotocol)
	}
	c := &client{ws: ws}
	binaryMsg, msg, err := ws.readMessage(ctx)
	if err == nil && binaryMsg {
		err = errors.New("the first message is binary, want the JSON hello")
	}
	if err == nil {
		err = json.Unmarshal(msg, &c.hello)
	}
	if err == nil && c.hello.Type != "hello" {
		err = fmt.Errorf("the first message is %q, want a hello", msg)
	}
	if err != nil {
		ws.close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	return c, nil
}

// close ends the session at once.
func (c *client) close() { c.ws.close() }

// next reads and decodes the next event. A binary event's Data is valid
// until the next call.
func (c *client) next(ctx context.Context) (session.Event, error) {
	binaryMsg, msg, err := c.ws.readMessage(ctx)
	if err != nil {
		return session.Event{}, err
	}
	return decodeEvent(binaryMsg, msg)
}

// decodeEvent decodes a text event, or a binary one (4-byte big-endian
// header length, JSON header, payload), whose Data then aliases msg.
func decodeEvent(binaryMsg bool, msg []byte) (session.Event, error) {
	var e session.Event
	header := msg
	if binaryMsg {
		if len(msg) < 4 {
			return e, fmt.Errorf("binary event of %d bytes", len(msg))
		}
		n := binary.BigEndian.Uint32(msg)
		if uint64(n) > uint64(len(msg)-4) {
			return e, fmt.Errorf("binary event header length %d exceeds the message (%d bytes)", n, len(msg))
		}
		header, e.Data = msg[4:4+n], msg[4+n:]
	}
	if err := json.Unmarshal(header, &e); err != nil {
		return e, fmt.Errorf("event %q: %w", header, err)
	}
	return e, nil
}

// sendBinary sends a binary request: header length, JSON header, payload.
func (c *client) sendBinary(ctx context.Context, header, payload []byte) error {
	length := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	return c.ws.writeMessage(ctx, true, length, header, payload)
}

// connect opens a TCP socket to addr and waits for its result.
func (c *client) connect(ctx context.Context, addr string) (int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0, err
	}
	c.nextID++
	id := "c" + strconv.Itoa(c.nextID)
	req, err := json.Marshal(map[string]any{"id": id, "op": "connect", "host": host, "port": port})
	if err != nil {
		return 0, err
	}
	if err := c.ws.writeMessage(ctx, false, req); err != nil {
		return 0, fmt.Errorf("send connect: %w", err)
	}
	for {
		e, err := c.next(ctx) // bounded by ctx
		if err != nil {
			return 0, fmt.Errorf("wait for the connect result: %w", err)
		}
		if e.ID != id {
			continue
		}
		switch e.Type {
		case session.TypeResult:
			return e.Sock, nil
		case session.TypeError:
			return 0, eventError(e)
		}
	}
}

// sendHeader is the JSON header of a binary send on sock.
func sendHeader(sock int) []byte {
	return fmt.Appendf(nil, `{"op":"send","sock":%d}`, sock)
}

// eventError turns an error event into a Go error.
func eventError(e session.Event) error {
	return fmt.Errorf("server: %s on socket %d failed: %s (%s)", e.Op, e.Sock, e.Message, e.Code)
}

// unexpected reports an event that ends a transfer: an error, or the socket
// ending before every byte came back. It returns nil for anything else.
func unexpected(e session.Event, sock int) error {
	switch {
	case e.Type == session.TypeError:
		return eventError(e)
	case e.Type == session.TypeState && e.Sock == sock &&
		(e.State == session.StateClosed || e.State == session.StateFailed || e.State == session.StateHalfClosed):
		return fmt.Errorf("socket %d became %s: %s", sock, e.State, e.Reason)
	}
	return nil
}
