package session_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// netErr wraps errno the way the net package reports a failed system call.
func netErr(op, syscallName string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(syscallName, errno)}
}

// TestClassify: every error the net package produces maps to its stable
// code, the errno name where there is one, and a plain-language message
// that starts with what was being done. This covers the errors that cannot
// be produced safely on loopback (unreachable hosts and networks) as well as
// those the end-to-end tests in internal/bridge produce for real.
func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  session.Code
		errno string
		say   string // a word the message must contain (case-insensitive)
	}{
		{"refused", netErr("dial", "connect", syscall.ECONNREFUSED), session.CodeRefused, "ECONNREFUSED", "refused"},
		{"timed out", netErr("dial", "connect", syscall.ETIMEDOUT), session.CodeTimeout, "ETIMEDOUT", "timed out"},
		{"host unreachable", netErr("dial", "connect", syscall.EHOSTUNREACH), session.CodeUnreachable, "EHOSTUNREACH", "unreachable"},
		{"network unreachable", netErr("dial", "connect", syscall.ENETUNREACH), session.CodeUnreachable, "ENETUNREACH", "unreachable"},
		{"udp host unreachable", &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendto", syscall.EHOSTUNREACH)}, session.CodeUnreachable, "EHOSTUNREACH", "unreachable"},
		{"address in use", netErr("listen", "bind", syscall.EADDRINUSE), session.CodeAddrInUse, "EADDRINUSE", "in use"},
		{"address not available", netErr("listen", "bind", syscall.EADDRNOTAVAIL), session.CodeAddrNotAvailable, "EADDRNOTAVAIL", "not available"},
		{"permission denied", netErr("listen", "bind", syscall.EACCES), session.CodePermission, "EACCES", "permission"},
		{"not permitted", netErr("dial", "connect", syscall.EPERM), session.CodePermission, "EPERM", "not permitted"},
		{"reset", netErr("read", "read", syscall.ECONNRESET), session.CodeReset, "ECONNRESET", "reset"},
		{"broken pipe", netErr("write", "write", syscall.EPIPE), session.CodeBrokenPipe, "EPIPE", "broken pipe"},
		{"aborted", netErr("accept", "accept4", syscall.ECONNABORTED), session.CodeAborted, "ECONNABORTED", "aborted"},
		{"message too long", &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendto", syscall.EMSGSIZE)}, session.CodeMessageSize, "EMSGSIZE", "too long"},
		{"family mismatch", netErr("dial", "connect", syscall.EAFNOSUPPORT), session.CodeBadField, "EAFNOSUPPORT", "family"},
		{"invalid argument", netErr("dial", "connect", syscall.EINVAL), session.CodeBadState, "EINVAL", "invalid"},
		{"not connected", netErr("write", "write", syscall.ENOTCONN), session.CodeBadState, "ENOTCONN", "not connected"},
		{"bare errno", syscall.ECONNREFUSED, session.CodeRefused, "ECONNREFUSED", "refused"},
		{"wrapped with %w", fmt.Errorf("dialing: %w", netErr("dial", "connect", syscall.EHOSTUNREACH)), session.CodeUnreachable, "EHOSTUNREACH", "unreachable"},
		{"errno outside the table", netErr("write", "write", syscall.ENOBUFS), session.CodeNetwork, "ENOBUFS", "buffer"},

		{"name not found", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nope.test", IsNotFound: true}}, session.CodeNameNotFound, "", "nope.test"},
		{"resolver timeout", &net.DNSError{Err: "i/o timeout", Name: "slow.test", IsTimeout: true}, session.CodeTimeout, "", "slow.test"},
		{"resolver failure", &net.DNSError{Err: "server misbehaving", Name: "broken.test", IsTemporary: true}, session.CodeNameNotFound, "", "broken.test"},

		{"context deadline", context.DeadlineExceeded, session.CodeTimeout, "ETIMEDOUT", "timed out"},
		{"i/o deadline", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, session.CodeTimeout, "ETIMEDOUT", "timed out"},
		{"context cancelled", &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, session.CodeCancelled, "", "cancelled"},
		{"closed connection", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, session.CodeCancelled, "", "cancelled"},
		{"anything else", errors.New("something odd"), session.CodeNetwork, "", "something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := session.Classify("connect 127.0.0.1:9", tt.err)
			if got.Code != tt.code || got.Errno != tt.errno {
				t.Fatalf("Classify(%v) = code %q errno %q; want %q %q", tt.err, got.Code, got.Errno, tt.code, tt.errno)
			}
			if !strings.HasPrefix(got.Message, "connect 127.0.0.1:9: ") || len(got.Message) <= len("connect 127.0.0.1:9: ") {
				t.Fatalf("message %q does not start with what was done, followed by an explanation", got.Message)
			}
			if !strings.Contains(strings.ToLower(got.Message), strings.ToLower(tt.say)) {
				t.Fatalf("message %q does not say %q", got.Message, tt.say)
			}
			if !errors.Is(got, tt.err) {
				t.Fatalf("the *Error does not keep the original error %v for errors.Is", tt.err)
			}
			if s := got.Error(); !strings.Contains(s, string(tt.code)) || (tt.errno != "" && !strings.Contains(s, tt.errno)) {
				t.Fatalf("Error() = %q does not name code %s and errno %q", s, tt.code, tt.errno)
			}
		})
	}
}

// TestClassifyRealErrors classifies errors the net package really returns
// on loopback, not hand-built ones, so a change in how net wraps them shows.
func TestClassifyRealErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = net.DialTimeout("tcp", addr, 10*time.Second)
		if err == nil {
			t.Fatalf("dial %s succeeded after its listener closed", addr)
		}
		if got := session.Classify("", err); got.Code != session.CodeRefused || got.Errno != "ECONNREFUSED" || got.Message == "" {
			t.Fatalf("Classify(%v) = %+v; want refused ECONNREFUSED", err, got)
		}
	})
	t.Run("address in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ln2, err := net.Listen("tcp", ln.Addr().String())
		if err == nil {
			ln2.Close()
			t.Fatalf("a second listener on %s succeeded", ln.Addr())
		}
		if got := session.Classify("", err); got.Code != session.CodeAddrInUse || got.Errno != "EADDRINUSE" {
			t.Fatalf("Classify(%v) = %+v; want addr_in_use EADDRINUSE", err, got)
		}
	})
	t.Run("dial deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		var d net.Dialer
		_, err := d.DialContext(ctx, "tcp", "127.0.0.1:9")
		if err == nil {
			t.Fatal("dial with an expired deadline succeeded")
		}
		if got := session.Classify("", err); got.Code != session.CodeTimeout || got.Errno != "ETIMEDOUT" {
			t.Fatalf("Classify(%v) = %+v; want timeout ETIMEDOUT", err, got)
		}
	})
	t.Run("read deadline", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		pc.SetReadDeadline(time.Now().Add(-time.Second))
		_, _, err = pc.ReadFrom(make([]byte, 1))
		if got := session.Classify("", err); got.Code != session.CodeTimeout || got.Errno != "ETIMEDOUT" {
			t.Fatalf("Classify(%v) = %+v; want timeout ETIMEDOUT", err, got)
		}
	})
	t.Run("closed", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc.Close()
		_, _, err = pc.ReadFrom(make([]byte, 1))
		if got := session.Classify("", err); got.Code != session.CodeCancelled {
			t.Fatalf("Classify(%v) = %+v; want cancelled", err, got)
		}
	})
}

// An *Error passes through Classify unchanged: a policy refusal or a
// request error keeps its own code and message.
func TestClassifyKeepsErrors(t *testing.T) {
	in := session.Errorf(session.CodePolicy, "refused by the server's policy: no")
	if got := session.Classify("connect x", fmt.Errorf("wrapped: %w", in)); got != in {
		t.Fatalf("Classify changed an *Error: %+v", got)
	}
}
