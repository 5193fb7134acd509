package bridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"sync"

	"github.com/socketplayground/playground/internal/session"
)

// Protocol is the protocol's name and version, sent in the hello message.
const Protocol = "socket-playground/1"

// Subprotocol is the WebSocket subprotocol a client should offer.
const Subprotocol = "socket-playground.v1"

// Service is a built-in practice server, as announced in the hello message.
type Service struct {
	Name  string `json:"name"`
	Proto string `json:"proto"` // "tcp" or "udp"
	Addr  string `json:"addr"`
	About string `json:"about"`
}

// Hello is the first message on every connection. It is not an event: it
// describes the connection, not the session's history.
type Hello struct {
	Type     string     `json:"type"` // "hello"
	Protocol string     `json:"protocol"`
	Session  string     `json:"session"`
	Mode     string     `json:"mode"`
	Limits   HelloLimit `json:"limits"`
	Services []Service  `json:"services"`
	// Interfaces are the server's network interfaces, for multicast
	// (protocol.md §16.5); local mode only.
	Interfaces []session.Iface `json:"interfaces,omitempty"`

	// Resume and watch (docs/protocol.md §15.1).
	Role    string `json:"role"`          // "owner" or "watcher"
	Key     string `json:"key,omitempty"` // the owner key: a new session's first hello only
	Resumed bool   `json:"resumed,omitempty"`
	GraceMS int64  `json:"grace_ms"`
	First   uint64 `json:"first"`
	Next    uint64 `json:"next"`
}

// HelloLimit tells a client the limits it must stay within.
type HelloLimit struct {
	MaxSockets int   `json:"max_sockets"`
	MaxSend    int   `json:"max_send"`
	SendQueue  int64 `json:"send_queue"`
	MaxMessage int   `json:"max_message"`
}

var encBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode appends e's message to buf and reports whether it is binary. An
// event that carries bytes is binary (header length, JSON header, bytes)
// unless it is the "sent" answer to this connection's own request, whose
// bytes the client already has: that one is JSON with "len" only.
func encode(buf *bytes.Buffer, e *session.Event, origin uint64) (binaryMsg bool, err error) {
	withBytes := e.Type == session.TypeData || (e.Type == session.TypeRelay && e.Data != nil) ||
		(e.Type == session.TypeSent && e.Origin != origin)
	if !withBytes {
		return false, encodeJSON(buf, e)
	}
	buf.Write([]byte{0, 0, 0, 0})
	if err := encodeJSON(buf, e); err != nil {
		return false, err
	}
	binary.BigEndian.PutUint32(buf.Bytes(), uint32(buf.Len()-4))
	buf.Write(e.Data)
	return true, nil
}

func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
