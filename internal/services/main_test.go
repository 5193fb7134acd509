package services

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait for an event: reaching it means a failure,
// not a slow machine.
const patience = 10 * time.Second

// start starts the services named in only (all of them if none), each on a
// free port, logging to t, and closes them when the test ends.
func start(t *testing.T, cfg Config, only ...string) *Set {
	t.Helper()
	cfg.FreePorts = true
	if len(only) > 0 {
		cfg.Ports = make(map[string]int)
		for _, name := range Names {
			cfg.Ports[name] = 0
		}
		for _, name := range only {
			cfg.Ports[name] = -1
		}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addrs lists where a service listens over proto: 127.0.0.1 first.
func addrs(t *testing.T, s *Set, name, proto string) []string {
	t.Helper()
	var out []string
	for _, i := range s.Infos() {
		if i.Name == name && i.Proto == proto {
			out = append(out, i.Addr)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s %s service in %v", name, proto, s.Infos())
	}
	return out
}

// addr is where a service listens over proto on 127.0.0.1.
func addr(t *testing.T, s *Set, name, proto string) string {
	t.Helper()
	return addrs(t, s, name, proto)[0]
}

// dial connects to addr over TCP and closes the connection when the test
// ends.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// dialUDP opens a UDP socket connected to addr, closed when the test ends.
func dialUDP(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

// roundTrip sends p on c and returns the datagram that comes back.
func roundTrip(t *testing.T, c *net.UDPConn, p []byte) []byte {
	t.Helper()
	if _, err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	c.SetReadDeadline(time.Now().Add(patience))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// lines reads lines (with their "\n") from a connection, each within
// patience.
type lines struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newLines(t *testing.T, c net.Conn) *lines {
	return &lines{t: t, c: c, br: bufio.NewReader(c)}
}

func (l *lines) next() string {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(patience))
	s, err := l.br.ReadString('\n')
	if err != nil {
		l.t.Fatalf("reading a line: got %q, %v", s, err)
	}
	return s
}

// expect reads the next line and checks it is want plus "\n".
func (l *lines) expect(want string) {
	l.t.Helper()
	if got := l.next(); got != want+"\n" {
		l.t.Fatalf("got line %q; want %q", got, want+"\n")
	}
}

// eof checks the connection ends with nothing more to read.
func (l *lines) eof() {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(patience))
	rest, err := io.ReadAll(l.br)
	if err != nil || len(rest) > 0 {
		l.t.Fatalf("want EOF; got %q, %v", rest, err)
	}
}

// readAll reads c to EOF within patience.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read %q, then %v", b, err)
	}
	return string(b)
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// write writes s to c, failing the test on error.
func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}
