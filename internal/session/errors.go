package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Code is a stable, machine-readable error code. The values are part of the
// protocol (docs/protocol.md) and must not change.
type Code string

// Codes for invalid requests. The session and its sockets carry on.
const (
	CodeBadRequest    Code = "bad_request"    // not a well-formed request at all
	CodeUnknownOp     Code = "unknown_op"     // op is not one of the operations
	CodeMissingField  Code = "missing_field"  // a required field is absent
	CodeBadField      Code = "bad_field"      // a field has the wrong type or value
	CodePortRange     Code = "port_range"     // port outside 0–65535 (1–65535 for a target)
	CodeBadHex        Code = "bad_hex"        // payload hex is malformed
	CodeBadEscape     Code = "bad_escape"     // payload escape sequence is malformed
	CodeBadTemplate   Code = "bad_template"   // a template's placeholder is malformed (protocol.md §16.1)
	CodeUnknownSocket Code = "unknown_socket" // no socket with that id was ever opened
	CodeTooLarge      Code = "too_large"      // payload or message over the limit
	CodeBadState      Code = "bad_state"      // operation not valid in the socket's state
	CodeLimit         Code = "limit"          // a session limit (sockets, queue) is reached
	CodePolicy        Code = "policy"         // refused by the server's policy
	CodeReadOnly      Code = "read_only"      // a watcher asked to change the session
)

// Codes for failures the network or the kernel reported.
const (
	CodeRefused          Code = "refused"            // ECONNREFUSED
	CodeTimeout          Code = "timeout"            // ETIMEDOUT, or our own timeout
	CodeUnreachable      Code = "unreachable"        // EHOSTUNREACH, ENETUNREACH
	CodeNameNotFound     Code = "name_not_found"     // the name does not resolve
	CodeAddrInUse        Code = "addr_in_use"        // EADDRINUSE
	CodeAddrNotAvailable Code = "addr_not_available" // EADDRNOTAVAIL
	CodePermission       Code = "permission"         // EACCES, EPERM
	CodeReset            Code = "reset"              // ECONNRESET
	CodeBrokenPipe       Code = "broken_pipe"        // EPIPE
	CodeAborted          Code = "aborted"            // ECONNABORTED
	CodeMessageSize      Code = "message_size"       // EMSGSIZE: datagram too large
	CodeCancelled        Code = "cancelled"          // the socket was closed while the call waited
	CodeWouldBlock       Code = "would_block"        // EAGAIN: a non-blocking call had nothing to do
	CodeInProgress       Code = "in_progress"        // EINPROGRESS: a non-blocking connect has started
	CodeTLS              Code = "tls"                // a TLS handshake failed (protocol.md §16.4)
	CodeNetwork          Code = "network"            // any other network error
)

// Error is what an error event reports: a stable Code, the errno name where
// the kernel gave one, and a plain-language Message. Err keeps the original
// error for the server's log and for errors.Is.
type Error struct {
	Code    Code
	Errno   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Errno != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Errno, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errClosedWhileWaiting answers a call whose socket was closed before the
// call's turn came or while it waited.
func errClosedWhileWaiting(op string) *Error {
	return Errorf(CodeCancelled, "%s cancelled: the socket was closed while it waited", op)
}

// errnoInfo is how an errno is explained to a person.
type errnoInfo struct {
	code Code
	name string
	msg  string
}

var errnos = map[syscall.Errno]errnoInfo{
	syscall.ECONNREFUSED:  {CodeRefused, "ECONNREFUSED", "connection refused: nothing is listening on that address and port"},
	syscall.ETIMEDOUT:     {CodeTimeout, "ETIMEDOUT", "timed out: the peer did not answer in time"},
	syscall.EHOSTUNREACH:  {CodeUnreachable, "EHOSTUNREACH", "host unreachable: no route to that host"},
	syscall.ENETUNREACH:   {CodeUnreachable, "ENETUNREACH", "network unreachable: no route to that network"},
	syscall.EADDRINUSE:    {CodeAddrInUse, "EADDRINUSE", "address already in use: another socket is bound to that address and port"},
	syscall.EADDRNOTAVAIL: {CodeAddrNotAvailable, "EADDRNOTAVAIL", "address not available: that IP address does not belong to this machine"},
	syscall.EACCES:        {CodePermission, "EACCES", "permission denied: ports below 1024 need special privileges, and some addresses need an explicit option"},
	syscall.EPERM:         {CodePermission, "EPERM", "operation not permitted"},
	syscall.ECONNRESET:    {CodeReset, "ECONNRESET", "connection reset by peer: the other side aborted the connection"},
	syscall.EPIPE:         {CodeBrokenPipe, "EPIPE", "broken pipe: the connection is closed, so nothing more can be sent"},
	syscall.ECONNABORTED:  {CodeAborted, "ECONNABORTED", "connection aborted"},
	syscall.EMSGSIZE:      {CodeMessageSize, "EMSGSIZE", "message too long: the datagram is larger than the network allows"},
	syscall.EAFNOSUPPORT:  {CodeBadField, "EAFNOSUPPORT", "address family not supported: IPv4 and IPv6 cannot be mixed on one socket"},
	syscall.EMFILE:        {CodeLimit, "EMFILE", "too many open files: the server is at its limit of file descriptors; close some sockets"},
	syscall.ENFILE:        {CodeLimit, "ENFILE", "too many open files on this machine"},
	syscall.EINVAL:        {CodeBadState, "EINVAL", "invalid argument for this socket"},
	syscall.ENOTCONN:      {CodeBadState, "ENOTCONN", "the socket is not connected"},
}

// Classify turns an error from the net package into an *Error, keeping the
// errno name and adding a plain-language explanation. what names the call and
// its target for the message, such as "connect 127.0.0.1:9".
func Classify(what string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	out := &Error{Code: CodeNetwork, Err: err}
	var errno syscall.Errno
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &errno):
		if info, ok := errnos[errno]; ok {
			out.Code, out.Errno, out.Message = info.code, info.name, info.msg
		} else {
			out.Errno = errnoName(errno)
			out.Message = errno.Error()
		}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		out.Code, out.Message = CodeNameNotFound, fmt.Sprintf("name not found: %q does not resolve to an address", dnsErr.Name)
	case errors.As(err, &dnsErr):
		out.Code, out.Message = CodeNameNotFound, fmt.Sprintf("could not resolve %q: %s", dnsErr.Name, dnsErr.Err)
		if dnsErr.IsTimeout {
			out.Code = CodeTimeout
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		out.Code, out.Errno, out.Message = CodeTimeout, "ETIMEDOUT", "timed out: no answer before the timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, net.ErrClosed):
		out.Code, out.Message = CodeCancelled, "cancelled: the socket was closed while the call was waiting"
	default:
		out.Message = err.Error()
	}
	if what != "" {
		out.Message = what + ": " + out.Message
	}
	return out
}
