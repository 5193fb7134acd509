// Package export turns a session's event log into other forms: the log
// itself as JSON lines (WriteLog, ReadLog), the same session as a runnable
// Python script (the socket module, and ssl for TLS) and a runnable Go
// program (packages net and syscall, and crypto/tls for TLS), with the
// toolkit's repeats as loops and its responders' firings as the sends they
// were (walk_toolkit.go), each call of it as a snippet in both languages for the
// page's Code tab, and its TCP and UDP traffic as a pcapng capture for
// Wireshark (PCAPNG), with each packet commented with the call that made it.
//
// The log is the only source of truth: the bytes a program sends are the
// bytes the log's "sent" events carry, the bytes it expects are the total of
// its "data" events, and its targets are the hosts and ports of its calls.
// Generation is a pure function of the events, linear in their number, and
// never touches a socket.
//
// Payloads, host names and messages are untrusted: every one reaches the
// generated code as an escaped literal or a sanitised comment, so no event
// can add a line of code of its own.
package export
