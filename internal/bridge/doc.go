// Package bridge speaks the playground protocol (docs/protocol.md) over one
// WebSocket: it decodes requests into session operations and encodes the
// session's events into messages.
//
// Per connection there is exactly one reader (the HTTP handler's goroutine)
// and one writer goroutine, which reads the session's log and tells it what
// was delivered; that is the bounded queue toward the browser. Teardown is:
// the reader returns, the context is cancelled, the session closes its
// sockets, the writer is waited for, and only then is the WebSocket closed.
//
// This package must never touch a socket itself, and never import the HTTP
// router: the server mounts Handler.
package bridge
