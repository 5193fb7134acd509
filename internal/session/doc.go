// Package session is the socket engine: a Session owns real TCP and UDP
// sockets on the server host and an append-only event log of everything that
// happened to them.
//
// Every socket call, its result or error, every byte sent or received and
// every state change is one Event with a sequence number and a microsecond
// timestamp. Everything a person sees is a view of that log; nothing outside
// this package asks a socket directly what happened.
//
// Operations never return their outcome to the caller: they append a "call"
// event at once and, later, exactly one result ("result", "sent", "data") or
// "error" event that carries the request id.
//
// This package must never import the HTTP router or the WebSocket library,
// and never drop received bytes: when the log's reader (the browser) falls
// behind, socket readers stop reading and TCP flow control pushes back on the
// sender. Every operation passes the policy check, on every call.
package session
