package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"
)

// The wire names of docs/protocol.md, written out here rather than imported:
// the load test is a client of the protocol document, not of the server's
// packages, as a browser is.
const (
	subprotocol = "socket-playground.v1"
	protocol    = "socket-playground/1"
	cookieName  = "playground"
)

// hello is the first message of a connection (protocol.md §2.3). Fields the
// load test does not use are left out; unknown fields are ignored.
type hello struct {
	Type     string    `json:"type"`
	Protocol string    `json:"protocol"`
	Session  string    `json:"session"`
	Mode     string    `json:"mode"`
	Services []service `json:"services"`
}

type service struct {
	Name  string `json:"name"`
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
}

// request is one request (protocol.md §4); zero fields are left out.
type request struct {
	ID   string `json:"id"`
	Op   string `json:"op"`
	Sock int    `json:"sock,omitempty"`
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	Data *text  `json:"data,omitempty"`
}

// text is a payload in the "text" spelling (protocol.md §4.3).
type text struct {
	Text string `json:"text"`
}

// event is an event (protocol.md §5), with only the fields the load test
// reads; an absent field has its zero value.
type event struct {
	Type    string `json:"type"`
	Sock    int    `json:"sock"`
	ID      string `json:"id"`
	Op      string `json:"op"`
	State   string `json:"state"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Len     int    `json:"len"`
}

// decodeEvent decodes one message from the server: a text event, or a
// binary one (4-byte big-endian header length, JSON header, payload), whose
// payload then aliases msg. The message type decides, never the event type
// (protocol.md §3.3).
func decodeEvent(typ websocket.MessageType, msg []byte) (event, []byte, error) {
	var ev event
	header, payload := msg, []byte(nil)
	if typ == websocket.MessageBinary {
		if len(msg) < 4 {
			return ev, nil, fmt.Errorf("a binary event of %d bytes", len(msg))
		}
		n := binary.BigEndian.Uint32(msg)
		if uint64(n) > uint64(len(msg)-4) {
			return ev, nil, fmt.Errorf("a binary event's header length %d exceeds the message (%d bytes)", n, len(msg))
		}
		header, payload = msg[4:4+n], msg[4+n:]
	}
	if err := json.Unmarshal(header, &ev); err != nil {
		return ev, nil, fmt.Errorf("decode an event: %w", err)
	}
	if ev.Type == "" || ev.Type == "hello" {
		return ev, nil, fmt.Errorf("not an event: %.200q", header)
	}
	if typ == websocket.MessageBinary && ev.Len != len(payload) {
		return ev, nil, fmt.Errorf("a binary %s event says len %d but carries %d bytes", ev.Type, ev.Len, len(payload))
	}
	return ev, payload, nil
}
