package session

import "github.com/socketplayground/playground/internal/metrics"

// counter passes a session's events on to the server's metrics: sockets
// opened and ended by kind, payload bytes by direction, errors by code. It
// is called by the log under the log's lock, so it needs none of its own.
type counter struct {
	m    *metrics.Metrics
	open map[int]string // sockets counted as open, and their kind
}

func newCounter(m *metrics.Metrics) *counter {
	return &counter{m: m, open: map[int]string{}}
}

func (c *counter) event(e *Event) {
	switch e.Type {
	case TypeState:
		_, counted := c.open[e.Sock]
		switch {
		case e.State == StateClosed || e.State == StateFailed:
			if counted {
				c.m.SocketClosed(c.open[e.Sock])
				delete(c.open, e.Sock)
			}
		case !counted:
			c.open[e.Sock] = e.Kind
			c.m.SocketOpened(e.Kind)
		}
	case TypeSent:
		c.m.Bytes("out", e.Len)
	case TypeData:
		c.m.Bytes("in", e.Len)
	case TypeError:
		c.m.Error(string(e.Code))
	}
}

// closed counts every socket still open as ended: the log is closing.
func (c *counter) closed() {
	for id, kind := range c.open {
		c.m.SocketClosed(kind)
		delete(c.open, id)
	}
}
