// Package services runs the built-in practice servers in-process, on
// loopback (127.0.0.1 and, where the host has IPv6, ::1), so a session has
// real peers to talk to without a second machine.
//
// The services, one file each: echo, discard, daytime, chargen and qotd
// (the classic RFC 862-867 services, over TCP and UDP); chat (a line-based
// room for several clients); http (a hand-parsed HTTP/1.1 server that shows
// what it parsed); slow (a reader of one byte a second, to show flow
// control); framing (answers each line with its length, to show framing in
// a stream); lossy (a UDP echo that drops a share of datagrams). services.go
// holds what they share: the Set, its Config, the accept loop every TCP
// service runs under and the read loop of every UDP one.
//
// Every service stops, with all its goroutines and connections, when its
// Set is closed; Close never waits on a client. No service ever blocks on
// a slow client at another client's expense, floods one (chargen is rate
// limited), listens beyond loopback, or logs payload bytes.
package services
