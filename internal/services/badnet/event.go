package badnet

import (
	"errors"
	"time"
)

// Dir is the direction data travels through the proxy.
type Dir int

const (
	// ToTarget is from the client (who connected to the proxy) towards the
	// target.
	ToTarget Dir = 1 + iota
	// ToClient is from the target back to the client.
	ToClient
)

// String returns "to-target", "to-client", or "" for the zero Dir (an event
// about the whole connection).
func (d Dir) String() string {
	switch d {
	case ToTarget:
		return "to-target"
	case ToClient:
		return "to-client"
	}
	return ""
}

// reverse is the other direction.
func (d Dir) reverse() Dir {
	if d == ToTarget {
		return ToClient
	}
	return ToTarget
}

// Kind names what an Event records. The values are stable: views and
// lessons match on them.
type Kind string

const (
	// KindOpen: a TCP connection is established at both ends (client to
	// proxy and proxy to target), or a UDP client address got its mapping.
	KindOpen Kind = "open"
	// KindChunk: the bytes in Data were written towards Dir, in one write
	// (one TCP segment when small; one datagram for UDP). Delay is how long
	// the proxy held them.
	KindChunk Kind = "chunk"
	// KindDrop: the datagram in Data was not forwarded; Err says why
	// (ErrLost, ErrQueueFull, ErrTooManyClients, the refusal from
	// Config.Check, or a send error).
	KindDrop Kind = "drop"
	// KindHold: the datagram in Data is held back by Reorder; a chunk event
	// follows when it goes.
	KindHold Kind = "hold"
	// KindFIN: the sender half-closed, and the proxy passed the FIN on
	// towards Dir after the data before it.
	KindFIN Kind = "fin"
	// KindClose: the connection or mapping ended without error: both sides
	// closed, the UDP mapping went idle, or the proxy was closed. Always the
	// connection's last event.
	KindClose Kind = "close"
	// KindReset: the connection was reset, at both ends. Dir is where the
	// reset was passed on to (a reset from the client goes ToTarget), or
	// zero when Proxy.Reset reset both. Always the connection's last event.
	KindReset Kind = "reset"
	// KindError: something failed; Err says what. For a TCP connection it is
	// the last event, and the client has been reset (for example when the
	// target refused the connection or Check refused it). For UDP it reports
	// an error the target's host sent back (Err wraps ECONNREFUSED when
	// nothing listens there) and the mapping stays.
	KindError Kind = "error"
)

// Event is one thing the proxy did. Fields that do not apply are zero.
type Event struct {
	// Conn numbers the accepted TCP connection or the UDP client address
	// mapping, from 1 in order of arrival. It is 0 for events about the
	// proxy itself and for a datagram dropped before its client had a
	// mapping.
	Conn int
	Kind Kind
	Dir  Dir
	// Data is the payload of a chunk, drop or hold. It belongs to the event:
	// the proxy never reads or writes it again.
	Data []byte
	// Delay is, for a chunk, the time from reading the first of its bytes to
	// writing them.
	Delay time.Duration
	// Client is the client's address; Target the target's resolved address.
	Client, Target string
	Err            error
	Time           time.Time
}

// Reasons a datagram is dropped, in Event.Err.
var (
	// ErrLost is the Loss knob at work.
	ErrLost = errors.New("badnet: dropped by the loss knob")
	// ErrQueueFull means the proxy already held as much as it may in that
	// direction (about 1 MiB, or 256 datagrams waiting to be scheduled), as
	// a router's full buffer drops.
	ErrQueueFull = errors.New("badnet: queue full")
	// ErrTooManyClients means MaxUDPClients client addresses already have
	// a mapping.
	ErrTooManyClients = errors.New("badnet: too many UDP client addresses")
	// ErrTooManyConns means MaxTCPConns connections are already open
	// through the proxy; the new client was reset.
	ErrTooManyConns = errors.New("badnet: too many TCP connections through the proxy")
)
