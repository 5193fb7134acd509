package session

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TLS client connections (protocol.md §16.4). A connect with TLS runs the
// handshake on its socket's worker right after the TCP connect, within what
// is left of the connect's timeout; from then on the socket's sends, reads,
// shutdown and close go through the *tls.Conn, and everything else (the
// kernel view, setsockopt, the policy) keeps using the TCP connection under
// it. The log holds the plaintext: what the person sent and received.

// The certificate checks are this file's own, in VerifyConnection, with
// crypto/tls's own turned off (InsecureSkipVerify): so the server's chain
// is captured and shown even when it fails them, and the failure can be
// explained in plain words.

// tlsReadSize is the buffer a TLS read fills: one record carries at most
// 16 KiB of plaintext (RFC 8446 §5.1), and a read returns at most one
// record's.
const tlsReadSize = 16 << 10

var tlsBufs = sync.Pool{New: func() any { b := make([]byte, tlsReadSize); return &b }}

// readTLS waits for the next bytes of c's plaintext, or io.EOF once the
// peer has sent its close_notify (or its FIN, between records).
func readTLS(c *tls.Conn) ([]byte, error) {
	bp := tlsBufs.Get().(*[]byte)
	n, err := c.Read(*bp)
	if n <= 0 {
		tlsBufs.Put(bp)
		return nil, err
	}
	data := make([]byte, n)
	copy(data, *bp)
	tlsBufs.Put(bp)
	return data, err
}

// tlsCall is what a connect's call event shows of its TLS arguments.
func (a *TLSArgs) call() *TLSInfo {
	if a == nil {
		return nil
	}
	v := a.Verify
	return &TLSInfo{SNI: a.SNI, Verify: &v, Offer: a.ALPN}
}

// handshake runs the TLS client handshake over tc, sk's new TCP connection
// to target, and logs how it went: the connect's result and the state
// established, then live mode's reader starts; or an error with code "tls"
// and the state failed. It runs on sk's worker, without sk.mu; ctx is the
// connect's, so the handshake gets what is left of its timeout and ends
// when the socket is closed.
func (s *Session) handshake(ctx context.Context, req Req, sk *Socket, tc *net.TCPConn, target netip.AddrPort, host string, a *TLSArgs) {
	name := a.SNI
	if name == "" {
		name = host
	}
	sni := name // crypto/tls sends no SNI for an IP address
	if _, err := netip.ParseAddr(name); err == nil {
		sni = ""
	}
	var chain []*x509.Certificate
	cfg := &tls.Config{
		ServerName: name,
		NextProtos: a.ALPN,
		// Devices that speak only TLS 1.0 or 1.1 can be tested too: the
		// result says which version was used.
		MinVersion:         tls.VersionTLS10,
		InsecureSkipVerify: true, // verified below, so a failing chain is still seen
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain = cs.PeerCertificates
			if !a.Verify {
				return nil
			}
			if err := s.verifyPeer(cs.PeerCertificates, name); err != nil {
				return &verifyError{err: err}
			}
			return nil
		},
	}
	c := tls.Client(tc, cfg)
	left := time.Until(deadlineOf(ctx))
	start := time.Now()
	err := c.HandshakeContext(ctx)
	took := time.Since(start)
	if err != nil {
		if sk.isDone() {
			// Closed by the person while handshaking: that close is the story.
			s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
			return
		}
		e := tlsError(target, host, name, a, left, err)
		// crypto/tls has sent its alert; close as a program would (a FIN,
		// not failSocket's RST).
		tc.Close()
		ev := &Event{Type: TypeError, Op: "connect", Sock: sk.id, ID: req.ID, Origin: req.Origin,
			Code: e.Code, Errno: e.Errno, Message: e.Message}
		if len(chain) > 0 {
			ev.TLS = &TLSInfo{Chain: certChain(chain)}
		}
		s.logger.Debug("error event", "op", "connect", "sock", sk.id, "code", e.Code, "message", e.Message)
		s.log.Append(ev)
		s.failSocket(sk, e.Message)
		return
	}
	cs := c.ConnectionState()
	info := &TLSInfo{
		Version:     tls.VersionName(cs.Version),
		Cipher:      tls.CipherSuiteName(cs.CipherSuite),
		ALPN:        cs.NegotiatedProtocol,
		SNI:         sni,
		Verified:    a.Verify,
		HandshakeUS: took.Microseconds(),
		Chain:       certChain(chain),
	}
	sk.mu.Lock()
	if sk.doneLocked() {
		sk.mu.Unlock()
		s.fail(req, "connect", sk.id, errClosedWhileWaiting("connect"))
		return
	}
	sk.tls = c
	s.log.Append(&Event{Type: TypeResult, Op: "connect", Sock: sk.id, ID: req.ID, Origin: req.Origin,
		Addr: target.String(), Local: sk.local.String(), Remote: sk.remote.String(), TLS: info})
	s.logger.Info("connected", "sock", sk.id, "local", sk.local.String(), "remote", sk.remote.String(),
		"tls", info.Version, "cipher", info.Cipher)
	s.log.Append(sk.stateEvent(StateEstablished, ""))
	sk.mu.Unlock()
	s.runLive(sk, s.readStream)
}

// deadlineOf is ctx's deadline, or a long way off.
func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Hour)
}

// verifyError is a certificate check that failed, as VerifyConnection
// returns it.
type verifyError struct{ err error }

func (e *verifyError) Error() string { return e.err.Error() }
func (e *verifyError) Unwrap() error { return e.err }

var errNoCertificate = errors.New("the server sent no certificate")

// verifyPeer checks a server's chain (leaf first) and that the leaf is
// valid for name (a host name or an IP address), against the system's
// roots and then the server's extra ones (Options.TLSRoots): a chain ends
// at one root, so trying each set in turn is trying their union.
func (s *Session) verifyPeer(certs []*x509.Certificate, name string) error {
	if len(certs) == 0 {
		return errNoCertificate
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: name, Intermediates: inter}
	_, err := certs[0].Verify(opts) // the system's roots
	if err == nil || s.tlsRoots == nil {
		return err
	}
	opts.Roots = s.tlsRoots
	_, err2 := certs[0].Verify(opts)
	if err2 == nil {
		return nil
	}
	// Tell the failure that says more: "unknown authority" from one set
	// of roots says less than why the other refused the chain.
	var ua x509.UnknownAuthorityError
	var sr x509.SystemRootsError
	if errors.As(err, &ua) || errors.As(err, &sr) {
		return err2
	}
	return err
}

// tlsError explains a failed handshake to a person: what failed, and what
// to do. name is the name verified (the SNI, or the host).
func tlsError(target netip.AddrPort, host, name string, a *TLSArgs, left time.Duration, err error) *Error {
	where := target.String()
	if host != target.Addr().String() {
		where = host + " (" + where + ")"
	}
	out := &Error{Code: CodeTLS, Err: err, Message: "TLS handshake with " + where + " failed: " + explainTLS(name, a, left, err)}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if info, ok := errnos[errno]; ok {
			out.Errno = info.name
		} else {
			out.Errno = errnoName(errno)
		}
	}
	return out
}

func explainTLS(name string, a *TLSArgs, left time.Duration, err error) string {
	var (
		ve     *verifyError
		rh     tls.RecordHeaderError
		op     *net.OpError
		errno  syscall.Errno
		within = fmt.Sprintf("%.1f s", left.Seconds())
	)
	switch {
	case errors.As(err, &ve):
		return explainVerify(name, ve.err)
	case errors.As(err, &rh):
		return fmt.Sprintf("the server did not answer with TLS: is it a TLS port? (its answer starts with %q; a TLS server's starts with \\x16\\x03)", string(rh.RecordHeader[:]))
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) || timedOut(err):
		return "the server did not finish the handshake within the connect's timeout (" + within +
			" were left after the TCP connect): is it a TLS port? A plain TCP server waits for the client to speak, and never answers a TLS hello (raise \"timeout_ms\" for a slow server)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection during the handshake: it may not speak TLS on this port, or it accepts none of the TLS versions and cipher suites offered (TLS 1.0 to 1.3)"
	case errors.As(err, &errno) && errno == syscall.ECONNRESET:
		return "the server reset the connection during the handshake: it may not speak TLS on this port, or it refused the offer"
	case errors.As(err, &op) && op.Op == "remote error":
		return explainAlert(name, a, op.Err.Error())
	}
	msg := strings.TrimPrefix(err.Error(), "tls: ")
	if strings.Contains(msg, "unadvertised ALPN protocol") {
		return "the server chose a protocol that was not offered in \"alpn\" (" + strings.Join(a.ALPN, ", ") + ")"
	}
	return msg
}

// timedOut reports whether err is a network timeout.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// explainAlert explains an alert the server sent to end the handshake;
// alert is crypto/tls's name for it ("tls: handshake failure").
func explainAlert(name string, a *TLSArgs, alert string) string {
	what := strings.TrimPrefix(alert, "tls: ")
	switch what {
	case "no application protocol":
		return fmt.Sprintf("the server supports none of the protocols offered in \"alpn\" (%s) (alert %q): offer others, or connect without \"alpn\"", strings.Join(a.ALPN, ", "), what)
	case "protocol version not supported":
		return fmt.Sprintf("the server supports none of the TLS versions offered, TLS 1.0 to 1.3 (alert %q)", what)
	case "handshake failure", "insufficient security":
		return fmt.Sprintf("the server refused the handshake (alert %q): it has no cipher suite or key exchange in common with this client, or it wants a client certificate", what)
	case "certificate required", "bad certificate":
		return fmt.Sprintf("the server wants a client certificate (alert %q), which this client does not send", what)
	case "unrecognized name":
		return fmt.Sprintf("the server does not know the name %q sent as SNI (alert %q): set \"sni\" to a name it serves", name, what)
	}
	return fmt.Sprintf("the server ended the handshake with the alert %q", what)
}

// explainVerify explains why the server's certificate was not accepted.
func explainVerify(name string, err error) string {
	const insecure = `connect with "verify": false to accept it anyway`
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		sr  x509.SystemRootsError
		now = time.Now().UTC()
	)
	switch {
	case errors.Is(err, errNoCertificate):
		return "the server sent no certificate (" + insecure + ")"
	case errors.As(err, &ua):
		c := ua.Cert
		who := "the certificate is signed by an unknown authority"
		switch selfSigned := c != nil && string(c.RawSubject) == string(c.RawIssuer); {
		case selfSigned && c.IsCA:
			who += fmt.Sprintf(": its chain ends at %q, an authority that is not one of the trusted roots", c.Subject.String())
		case selfSigned:
			who += fmt.Sprintf(": %q is self-signed, and not one of the trusted roots", c.Subject.String())
		case c != nil:
			who += fmt.Sprintf(": its issuer %q is not one of the trusted roots", c.Issuer.String())
		}
		return who + " (" + insecure + ", or start the server with -tls-ca FILE holding that authority's certificate)"
	case errors.As(err, &he):
		c := he.Certificate
		var names []string
		names = append(names, c.DNSNames...)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		kind := "name"
		if _, perr := netip.ParseAddr(he.Host); perr == nil {
			kind = "IP address"
		}
		if len(names) == 0 {
			return fmt.Sprintf("the certificate is not valid for the %s %q: it names no DNS names or IP addresses (only the subject %q, which is no longer checked) (%s)", kind, he.Host, c.Subject.String(), insecure)
		}
		return fmt.Sprintf("the certificate is not valid for the %s %q: it is valid for %s (connect with \"sni\" set to one of those, or with \"verify\": false)", kind, he.Host, strings.Join(names, ", "))
	case errors.As(err, &ci):
		c := ci.Cert
		subject := ""
		if c != nil {
			subject = fmt.Sprintf(" %q", c.Subject.String())
		}
		switch ci.Reason {
		case x509.Expired:
			if c != nil && now.Before(c.NotBefore) {
				return fmt.Sprintf("the certificate%s is not valid yet: it is valid from %s to %s, and this server's clock says %s (check the clocks, or %s)",
					subject, rfc3339(c.NotBefore), rfc3339(c.NotAfter), rfc3339(now), insecure)
			}
			if c != nil {
				return fmt.Sprintf("the certificate%s has expired: it was valid from %s to %s, and this server's clock says %s (renew it on the server, or %s)",
					subject, rfc3339(c.NotBefore), rfc3339(c.NotAfter), rfc3339(now), insecure)
			}
			return "a certificate of the chain has expired or is not valid yet (" + insecure + ")"
		case x509.NotAuthorizedToSign:
			return fmt.Sprintf("the certificate%s signed another one but is not a CA certificate (%s)", subject, insecure)
		case x509.CANotAuthorizedForThisName:
			return fmt.Sprintf("the name constraints of the CA%s do not allow the name %q (%s)", subject, name, insecure)
		case x509.IncompatibleUsage:
			return fmt.Sprintf("the certificate%s is not for TLS servers (its extended key usage does not include server authentication) (%s)", subject, insecure)
		case x509.TooManyIntermediates:
			return fmt.Sprintf("the chain is longer than its CA%s allows (%s)", subject, insecure)
		}
		return fmt.Sprintf("the certificate%s is not valid: %s (%s)", subject, strings.TrimPrefix(ci.Error(), "x509: "), insecure)
	case errors.As(err, &sr):
		return `this server could not load the system's trusted roots, so no certificate can be verified (` + insecure + `, or start the server with -tls-ca FILE)`
	}
	return "the certificate was not accepted: " + strings.TrimPrefix(err.Error(), "x509: ") + " (" + insecure + ")"
}

// certChain describes the certificates a server sent, leaf first.
func certChain(certs []*x509.Certificate) []Cert {
	if len(certs) == 0 {
		return nil
	}
	out := make([]Cert, len(certs))
	for i, c := range certs {
		out[i] = certOf(c)
	}
	return out
}

func certOf(c *x509.Certificate) Cert {
	sum := sha256.Sum256(c.Raw)
	out := Cert{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		NotBefore: rfc3339(c.NotBefore),
		NotAfter:  rfc3339(c.NotAfter),
		DNS:       c.DNSNames,
		Key:       keyName(c),
		SHA256:    hex.EncodeToString(sum[:]),
		CA:        c.IsCA,
	}
	if c.SerialNumber != nil {
		out.Serial = c.SerialNumber.Text(16)
	}
	for _, ip := range c.IPAddresses {
		out.IPs = append(out.IPs, ip.String())
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// keyName names a certificate's public key as a person does: "ECDSA P-256",
// "RSA 2048", "Ed25519".
func keyName(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// closeTLS closes a TLS connection as a program's close() would: its
// close_notify, then the TCP connection's FIN. The close_notify may wait
// for a peer that does not read (crypto/tls gives up after 5 s), so it is
// sent on a goroutine of its own, without sk.mu held. When the session is
// ending, the TCP connection is closed at once, without close_notify.
func (s *Session) closeTLS(c *tls.Conn) {
	if !s.goroutine(func() {
		// close_notify to a peer that reads nothing may wait; the session
		// ending must not.
		stop := context.AfterFunc(s.ctx, func() { c.NetConn().Close() })
		defer stop()
		c.Close()
	}) {
		c.NetConn().Close()
	}
}

// tlsWriting returns sk's TLS connection, if it has one, and whether its
// writing is over (shut down, or the socket ended).
func (sk *Socket) tlsWriting() (*tls.Conn, bool) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.tls, sk.wrShut || sk.doneLocked()
}

// errTLSStep is the answer to a step on a TLS socket.
func errTLSStep(sock int) *Error {
	return Errorf(CodeBadState, "socket %d is a TLS connection: step mode's calls work on the kernel socket, whose bytes are TLS records, so a TLS socket stays in live mode (open a plain TCP connection to step through)", sock)
}
