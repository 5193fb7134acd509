package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority made for one test.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  []byte         // the certificate, PEM-encoded: what a -tls-ca file holds
	Pool *x509.CertPool // a pool of just this CA
}

// NewCA makes a self-signed CA (ECDSA P-256) whose subject's common name is
// name, valid from an hour ago for a day.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Socket Playground tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Leaf is what Issue makes a certificate for.
type Leaf struct {
	Name      string // the subject's common name
	DNS       []string
	IPs       []netip.Addr
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: a day from now
}

// Issue makes a server certificate (ECDSA P-256) signed by ca, and returns
// it with its chain as a server sends it: the leaf, then ca's certificate.
func (ca *CA) Issue(t testing.TB, l Leaf) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if l.NotBefore.IsZero() {
		l.NotBefore = time.Now().Add(-time.Hour)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: l.Name},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     l.DNS,
	}
	for _, ip := range l.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

// Loopback is the leaf of the usual test server: valid for 127.0.0.1, ::1
// and localhost.
func Loopback() Leaf {
	return Leaf{Name: "localhost", DNS: []string{"localhost"},
		IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}}
}

// Conn is what an Echo learned of one connection, when it ended.
type Conn struct {
	State tls.ConnectionState
	// Received is every byte of plaintext the client sent.
	Received []byte
	// Err is how reading ended: nil for an orderly end (the client's
	// close_notify, or a FIN between records), else the error (a failed
	// handshake's among them).
	Err error
	// CloseNotify says the end was the client's close_notify: the TLS
	// stream ended before the TCP connection did.
	CloseNotify bool
}

// Echo is a TLS echo server on loopback: it writes back every byte it
// reads; when the client ends its side, it closes the connection
// (close_notify, then FIN).
type Echo struct {
	Addr  netip.AddrPort
	Conns chan Conn // one per connection, when it ends (the first 256)

	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

// Accepted is how many TCP connections the echo has accepted.
func (e *Echo) Accepted() int64 { return e.accepted.Load() }

// StartEcho serves cfg's TLS on addr ("127.0.0.1:0", "[::1]:0") until the
// test ends.
func StartEcho(t testing.TB, addr string, cfg *tls.Config) *Echo {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	e := &Echo{Addr: netip.MustParseAddrPort(ln.Addr().String()), Conns: make(chan Conn, 256), ln: ln}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.serve(c, cfg)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *Echo) serve(c net.Conn, cfg *tls.Config) {
	raw := &eofConn{Conn: c}
	tc := tls.Server(raw, cfg)
	defer tc.Close()
	var out Conn
	tc.SetDeadline(time.Now().Add(30 * time.Second)) // a test that hangs still ends
	if err := tc.Handshake(); err != nil {
		out.Err = err
		e.report(out)
		return
	}
	tc.SetDeadline(time.Time{})
	out.State = tc.ConnectionState()
	buf := make([]byte, 64<<10)
	for {
		n, err := tc.Read(buf)
		if n > 0 {
			out.Received = append(out.Received, buf[:n]...)
			if _, werr := tc.Write(buf[:n]); werr != nil {
				out.Err = werr
				break
			}
		}
		if errors.Is(err, io.EOF) {
			out.CloseNotify = !raw.eof.Load()
			break
		}
		if err != nil {
			out.Err = err
			break
		}
	}
	e.report(out)
}

// report passes on what a connection did, unless nobody reads Conns.
func (e *Echo) report(c Conn) {
	select {
	case e.Conns <- c:
	default:
	}
}

// eofConn notes whether the TCP connection under a TLS one reached its end.
type eofConn struct {
	net.Conn
	eof atomic.Bool
}

func (c *eofConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, io.EOF) {
		c.eof.Store(true)
	}
	return n, err
}

// ServerConfig is a TLS server configuration with cert and the ALPN
// protocols h2 and http/1.1.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
}
