// Package policy decides whether a session may do an operation now: which
// targets it may reach, where it may listen, how much it may send.
//
// A session asks on every operation and on every UDP datagram, after DNS
// resolution and with the exact address the kernel will use — never once at
// the start of a session, because a name can resolve differently later and
// a session's history changes what it may do.
//
// This package must never perform network I/O itself.
package policy
