package bridge_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/session"
	"github.com/socketplayground/playground/internal/tlstest"
)

// tlsRig is a test CA, the loopback certificate it issued, and a TLS echo
// serving it.
type tlsRig struct {
	ca   *tlstest.CA
	cert tls.Certificate
	echo *tlstest.Echo
}

func newTLSRig(t *testing.T, addr string) *tlsRig {
	t.Helper()
	ca := tlstest.NewCA(t, "Playground Test CA")
	cert := ca.Issue(t, tlstest.Loopback())
	return &tlsRig{ca: ca, cert: cert, echo: tlstest.StartEcho(t, addr, tlstest.ServerConfig(cert))}
}

// serverConn waits for what the echo learned of its next connection.
func (r *tlsRig) serverConn(t *testing.T) tlstest.Conn {
	t.Helper()
	select {
	case c := <-r.echo.Conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the TLS echo reported no connection within 10s")
		return tlstest.Conn{}
	}
}

// statesOf lists socket sock's states as the client has seen them so far.
func statesOf(c *Client, sock int) []string {
	var out []string
	for _, e := range c.Seen {
		if e.Type == "state" && e.Sock == sock {
			out = append(out, e.State)
		}
	}
	return out
}

// readData waits for n bytes of data events on sock and returns them.
func readData(c *Client, sock, n int) []byte {
	c.t.Helper()
	var got []byte
	for len(got) < n {
		got = append(got, c.Wait(fmt.Sprintf("%d more bytes on socket %d", n-len(got), sock), func(e Ev) bool {
			return e.Type == "data" && e.Sock == sock
		}).Data...)
	}
	return got
}

func sum(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// TestTLSConnect: a TLS connect without verification to a loopback TLS
// echo: the events and their order, what the handshake negotiated, the
// chain as the server sent it, then every byte value and 1 MiB both ways,
// and a shutdown that sends close_notify before the FIN.
func TestTLSConnect(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false,"alpn":["h2","http/1.1"]}}`, r.echo.Addr.Port())
	call := c.Wait("the call", func(e Ev) bool { return e.Type == "call" && e.ID == "t" })
	if call.TLS == nil || call.TLS.Verify == nil || *call.TLS.Verify || !slices.Equal(call.TLS.Offer, []string{"h2", "http/1.1"}) || call.TLS.SNI != "" {
		t.Fatalf("call %v: want tls with verify false and alpn_offer [h2 http/1.1]", call)
	}
	res := c.OK("t")
	sock := res.Sock
	wantState(t, c, sock, "established")
	if got := statesOf(c, sock); !slices.Equal(got, []string{"connecting", "handshaking", "established"}) {
		t.Fatalf("states %v, want connecting, handshaking, established", got)
	}
	hs := c.Seen[slices.IndexFunc(c.Seen, func(e Ev) bool { return e.Sock == sock && e.State == "handshaking" })]
	if hs.Local != res.Local || hs.Remote != res.Remote || hs.Remote != r.echo.Addr.String() {
		t.Fatalf("handshaking %v: want the TCP connection's ends %s, %s", hs, res.Local, res.Remote)
	}

	info := res.TLS
	if info == nil {
		t.Fatalf("result %v has no tls", res)
	}
	if info.Version != "TLS 1.3" || !strings.HasPrefix(info.Cipher, "TLS_") || info.ALPN != "h2" || info.SNI != "" || info.Verified || info.HandshakeUS <= 0 {
		t.Fatalf("tls %+v: want TLS 1.3, a cipher suite, alpn h2, no sni (an IP address), not verified, a handshake time", *info)
	}
	if len(info.Chain) != 2 {
		t.Fatalf("chain of %d certificates, want 2: %+v", len(info.Chain), info.Chain)
	}
	leaf, ca := info.Chain[0], info.Chain[1]
	caSubject := r.ca.Cert.Subject.String()
	if leaf.Subject != "CN=localhost" || leaf.Issuer != caSubject || leaf.CA || leaf.Key != "ECDSA P-256" ||
		leaf.SHA256 != sum(r.cert.Certificate[0]) || leaf.Serial != r.cert.Leaf.SerialNumber.Text(16) ||
		!slices.Equal(leaf.DNS, []string{"localhost"}) || !slices.Equal(leaf.IPs, []string{"127.0.0.1", "::1"}) ||
		leaf.NotAfter != r.cert.Leaf.NotAfter.UTC().Format(time.RFC3339) || leaf.NotBefore != r.cert.Leaf.NotBefore.UTC().Format(time.RFC3339) {
		t.Fatalf("leaf %+v does not describe the server's certificate", leaf)
	}
	if ca.Subject != caSubject || ca.Issuer != caSubject || !ca.CA || ca.SHA256 != sum(r.ca.Cert.Raw) || ca.Key != "ECDSA P-256" {
		t.Fatalf("second certificate %+v does not describe the CA %q", ca, caSubject)
	}

	// Every byte value, then 1 MiB: each comes back exactly.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	c.SendBinary(fmt.Sprintf(`{"id":"a","op":"send","sock":%d}`, sock), all)
	if e := c.OK("a"); e.Len != 256 {
		t.Fatalf("send of 256 bytes answered %v", e)
	}
	if got := readData(c, sock, 256); !bytes.Equal(got, all) {
		t.Fatalf("echoed %q, want every byte value", got)
	}
	big := pattern(7, 1<<20)
	c.SendBinary(fmt.Sprintf(`{"id":"b","op":"send","sock":%d}`, sock), big)
	if e := c.OK("b"); e.Len != len(big) {
		t.Fatalf("send of 1 MiB answered %v", e)
	}
	if got := readData(c, sock, len(big)); !bytes.Equal(got, big) {
		t.Fatalf("the 1 MiB echoed differs (%d bytes)", len(got))
	}

	// shutdown write: close_notify, then FIN. The echo reads the end of
	// the TLS stream and closes in turn; live mode then closes the socket.
	c.Send(`{"id":"w","op":"shutdown","sock":%d,"how":"write"}`, sock)
	c.OK("w")
	sc := r.serverConn(t)
	if sc.Err != nil || !sc.CloseNotify {
		t.Fatalf("the server's read ended with %v, close_notify %v; want the client's close_notify", sc.Err, sc.CloseNotify)
	}
	if want := append(append([]byte{}, all...), big...); !bytes.Equal(sc.Received, want) {
		t.Fatalf("the server received %d bytes, want the %d sent, exactly", len(sc.Received), len(want))
	}
	if name := tls.CipherSuiteName(sc.State.CipherSuite); name != info.Cipher || sc.State.NegotiatedProtocol != "h2" {
		t.Fatalf("the server negotiated %s, %q; the result says %s, %q", name, sc.State.NegotiatedProtocol, info.Cipher, info.ALPN)
	}
	wantState(t, c, sock, "half-closed")
	closed := c.Wait("the socket closed", func(e Ev) bool {
		return e.Type == "state" && e.Sock == sock && (e.State == "closed" || e.State == "failed")
	})
	if closed.State != "closed" {
		t.Fatalf("after both ends finished: %v", closed)
	}
}

// TestTLSUnknownAuthority: verification against the system's roots fails
// for a private CA: an error "tls" that names the authority and says what
// to do, with the chain; the socket fails and the session carries on.
func TestTLSUnknownAuthority(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"v","op":"connect","host":"127.0.0.1","port":%d,"tls":{}}`, r.echo.Addr.Port())
	e := c.Fails("v", "tls")
	for _, want := range []string{"TLS handshake with 127.0.0.1:", "unknown authority", "Playground Test CA", `"verify": false`, "-tls-ca"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q does not say %q", e.Message, want)
		}
	}
	if e.TLS == nil || len(e.TLS.Chain) != 2 || e.TLS.Chain[0].SHA256 != sum(r.cert.Certificate[0]) {
		t.Fatalf("error %v: want the server's chain of 2", e)
	}
	failed := wantState(t, c, e.Sock, "failed")
	if failed.Reason != e.Message {
		t.Fatalf("failed state %v: want the error's message as its reason", failed)
	}
	if got := statesOf(c, e.Sock); !slices.Equal(got, []string{"connecting", "handshaking", "failed"}) {
		t.Fatalf("states %v", got)
	}
	if sc := r.serverConn(t); sc.Err == nil || !strings.Contains(sc.Err.Error(), "bad certificate") {
		t.Fatalf("the server's handshake ended with %v; want the client's bad_certificate alert", sc.Err)
	}
	carriesOn(t, c)
}

// TestTLSVerified: with the test CA among the server's extra roots, the
// chain verifies, by name (with SNI) and by IP address (IPv4 and IPv6,
// without SNI).
func TestTLSVerified(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	r6 := &tlsRig{ca: r.ca, cert: r.cert, echo: tlstest.StartEcho(t, "[::1]:0", tlstest.ServerConfig(r.cert))}
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{TLSRoots: r.ca.Pool}}))
	for _, tc := range []struct {
		id, host, family, sni string
		rig                   *tlsRig
	}{
		{"name", "localhost", "ip4", "localhost", r},
		{"ip4", "127.0.0.1", "", "", r},
		{"ip6", "::1", "", "", r6},
	} {
		family := ""
		if tc.family != "" {
			family = fmt.Sprintf(`,"family":%q`, tc.family)
		}
		c.Send(`{"id":%q,"op":"connect","host":%q,"port":%d%s,"tls":{"verify":true}}`, tc.id, tc.host, tc.rig.echo.Addr.Port(), family)
		res := c.OK(tc.id)
		if res.TLS == nil || !res.TLS.Verified || res.TLS.SNI != tc.sni || res.Remote != tc.rig.echo.Addr.String() {
			t.Fatalf("%s: result %v: want verified, sni %q, remote %s", tc.id, res, tc.sni, tc.rig.echo.Addr)
		}
		c.Send(`{"id":"%s-s","op":"send","sock":%d,"data":{"text":"hello %s"}}`, tc.id, res.Sock, tc.id)
		c.OK(tc.id + "-s")
		if got := string(readData(c, res.Sock, len("hello ")+len(tc.id))); got != "hello "+tc.id {
			t.Fatalf("%s: echoed %q", tc.id, got)
		}
		// close: close_notify, then FIN.
		c.Send(`{"id":"%s-x","op":"close","sock":%d}`, tc.id, res.Sock)
		c.OK(tc.id + "-x")
		if sc := tc.rig.serverConn(t); sc.Err != nil || !sc.CloseNotify || sc.State.ServerName != tc.sni {
			t.Fatalf("%s: the server saw SNI %q, and its read ended with %v, close_notify %v; want SNI %q and the client's close_notify",
				tc.id, sc.State.ServerName, sc.Err, sc.CloseNotify, tc.sni)
		}
	}
}

// TestTLSVerifyFailures: with the CA trusted, what else verification
// finds is named in plain words: an SNI the certificate is not valid for
// (naming the names it is valid for), an expired certificate (with its
// dates).
func TestTLSVerifyFailures(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	old := tlstest.Loopback()
	old.NotBefore, old.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	expired := tlstest.StartEcho(t, "127.0.0.1:0", tlstest.ServerConfig(r.ca.Issue(t, old)))
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{TLSRoots: r.ca.Pool}}))
	for _, tc := range []struct {
		id, tls string
		echo    *tlstest.Echo
		says    []string
	}{
		{"name", `{"sni":"device.example"}`, r.echo, []string{`the certificate is not valid for the name "device.example"`, "it is valid for localhost, 127.0.0.1, ::1", `"sni"`}},
		{"expired", `{}`, expired, []string{`the certificate "CN=localhost" has expired`, old.NotAfter.UTC().Format(time.RFC3339), `"verify": false`}},
	} {
		c.Send(`{"id":%q,"op":"connect","host":"127.0.0.1","port":%d,"tls":%s}`, tc.id, tc.echo.Addr.Port(), tc.tls)
		e := c.Fails(tc.id, "tls")
		for _, want := range tc.says {
			if !strings.Contains(e.Message, want) {
				t.Errorf("%s: message %q does not say %q", tc.id, e.Message, want)
			}
		}
		if e.TLS == nil || len(e.TLS.Chain) != 2 {
			t.Fatalf("%s: error %v: want the chain", tc.id, e)
		}
		wantState(t, c, e.Sock, "failed")
	}
}

// TestTLSNotTLS: a plain TCP server is no TLS server: one that answers in
// plain text is named so at once; a silent one, when the connect's timeout
// runs out.
func TestTLSNotTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := ln.Accept()
			if err != nil {
				return
			}
			p.SetDeadline(time.Now().Add(10 * time.Second))
			p.Read(make([]byte, 512)) // the ClientHello
			p.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			p.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts (the kernel does), never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"h","op":"connect","host":"127.0.0.1","port":%s,"tls":{"verify":false}}`, port(t, ln.Addr().String()))
	e := c.Fails("h", "tls")
	if !strings.Contains(e.Message, "did not answer with TLS: is it a TLS port?") || !strings.Contains(e.Message, `"HTTP/"`) || e.TLS != nil {
		t.Fatalf("plain-text server: %v", e)
	}
	wantState(t, c, e.Sock, "failed")

	c.Send(`{"id":"s","op":"connect","host":"127.0.0.1","port":%s,"timeout_ms":300,"tls":{"verify":false}}`, port(t, silent.Addr().String()))
	e = c.Fails("s", "tls")
	if !strings.Contains(e.Message, "did not finish the handshake within the connect's timeout") || !strings.Contains(e.Message, "timeout_ms") {
		t.Fatalf("silent server: %v", e)
	}
	wantState(t, c, e.Sock, "failed")
	carriesOn(t, c)
}

// TestTLSCloseWhileHandshaking: closing a socket whose handshake waits
// for a silent server ends the handshake at once.
func TestTLSCloseWhileHandshaking(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"c","op":"connect","host":"127.0.0.1","port":%s,"tls":{"verify":false}}`, port(t, silent.Addr().String()))
	hs := c.Wait("handshaking", func(e Ev) bool { return e.Type == "state" && e.State == "handshaking" })
	c.Send(`{"id":"x","op":"close","sock":%d,"now":true}`, hs.Sock)
	c.OK("x")
	c.Fails("c", "cancelled")
	wantState(t, c, hs.Sock, "closed")
}

// TestTLSHostedRefused: hosted mode's policy refuses a target before any
// TCP connection, so no TLS handshake starts.
func TestTLSHostedRefused(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	p, err := policy.Hosted(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, startServer(t, bridge.Options{Mode: "hosted", Session: session.Options{Policy: p, TLSRoots: r.ca.Pool}}))
	c.Send(`{"id":"p","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false}}`, r.echo.Addr.Port())
	e := c.Fails("p", "policy")
	wantState(t, c, e.Sock, "failed")
	if got := statesOf(c, e.Sock); slices.Contains(got, "handshaking") {
		t.Fatalf("states %v: a refused target got to a handshake", got)
	}
	if n := r.echo.Accepted(); n != 0 {
		t.Fatalf("the TLS server accepted %d connections; the policy should have refused before connect()", n)
	}
}

// TestTLSStepRefused: a TLS socket cannot switch to step mode; it carries
// on in live mode.
func TestTLSStepRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("step mode needs Linux")
	}
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false}}`, r.echo.Addr.Port())
	sock := c.OK("t").Sock
	c.Send(`{"id":"st","op":"step","sock":%d}`, sock)
	if e := c.Fails("st", "bad_state"); !strings.Contains(e.Message, "TLS connection") || !strings.Contains(e.Message, "live mode") {
		t.Fatalf("step refused with %v", e)
	}
	c.Send(`{"id":"s","op":"send","sock":%d,"data":{"text":"still live"}}`, sock)
	c.OK("s")
	if got := string(readData(c, sock, 10)); got != "still live" {
		t.Fatalf("echoed %q", got)
	}
	// A step-mode connect takes no tls (decoded before the call).
	c.Send(`{"id":"so","op":"socket","type":"stream"}`)
	stepSock := c.OK("so").Sock
	c.Send(`{"id":"sc","op":"connect","sock":%d,"host":"127.0.0.1","port":%d,"tls":{}}`, stepSock, r.echo.Addr.Port())
	if e := c.Fails("sc", "bad_field"); !strings.Contains(e.Message, "tls") {
		t.Fatalf("step connect with tls: %v", e)
	}
}

// TestTLSResponder: a responder on a TLS socket reads the plaintext and
// replies through TLS, as every send does.
func TestTLSResponder(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false}}`, r.echo.Addr.Port())
	sock := c.OK("t").Sock
	c.Send(`{"id":"r","op":"respond","sock":%d,"match":"contains","pattern":{"text":"ping"},"reply":{"text":"pong"}}`, sock)
	c.OK("r")
	c.Send(`{"id":"s","op":"send","sock":%d,"data":{"text":"ping"}}`, sock)
	c.OK("s")
	// The echo sends "ping" back; the rule answers "pong", which the echo
	// sends back too.
	if got := string(readData(c, sock, 8)); got != "pingpong" {
		t.Fatalf("received %q, want pingpong", got)
	}
	c.Send(`{"id":"w","op":"shutdown","sock":%d,"how":"write"}`, sock)
	c.OK("w")
	if sc := r.serverConn(t); string(sc.Received) != "pingpong" || !sc.CloseNotify {
		t.Fatalf("the server received %q (close_notify %v), want pingpong", sc.Received, sc.CloseNotify)
	}
}

// TestTLSSync: once the connect's result is no longer kept, sync still
// says what the TLS connection negotiated (§15.3).
func TestTLSSync(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	base := startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{History: 32 << 10}}})
	owner := dial(t, base)
	owner.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false,"alpn":["h2"]}}`, r.echo.Addr.Port())
	res := owner.OK("t")
	chunk := strings.Repeat("x", 1000)
	for i := range 100 {
		owner.Send(`{"id":"s%d","op":"send","sock":%d,"data":{"text":%q}}`, i, res.Sock, chunk)
		owner.OK(fmt.Sprint("s", i))
	}
	readData(owner, res.Sock, 100*len(chunk))
	c := dial(t, resumeURL(base, owner.Hello, 1))
	s := c.Wait("sync", func(e Ev) bool { return e.Type == "sync" })
	if s.First <= res.Seq {
		t.Fatalf("sync first %d: the connect's result (seq %d) is still kept; the test needs it gone", s.First, res.Seq)
	}
	for _, x := range s.Sockets {
		if x.Sock != res.Sock {
			continue
		}
		if x.TLS == nil || x.TLS.Version != res.TLS.Version || x.TLS.Cipher != res.TLS.Cipher || x.TLS.ALPN != "h2" || len(x.TLS.Chain) != 2 {
			t.Fatalf("the TLS connection in sync: %+v; want what its result said: %+v", x, *res.TLS)
		}
		return
	}
	t.Fatalf("sync %v lacks socket %d", s.Sockets, res.Sock)
}

// TestTLSRepeat: a repeat on a TLS socket sends through TLS, each send
// expanded afresh.
func TestTLSRepeat(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"t","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false}}`, r.echo.Addr.Port())
	sock := c.OK("t").Sock
	c.Send(`{"id":"rp","op":"repeat","sock":%d,"count":50,"data":{"template":"n={{counter}};"}}`, sock)
	// Each send is a "sent" with the repeat's id; its answer is the result.
	if e := c.Wait("the repeat's answer", func(e Ev) bool { return e.ID == "rp" && (e.Type == "result" || e.Type == "error") }); e.Type != "result" || e.Count != 50 {
		t.Fatalf("repeat answered %v, want count 50", e)
	}
	var want strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&want, "n=%d;", i)
	}
	if got := string(readData(c, sock, want.Len())); got != want.String() {
		t.Fatalf("echoed %q, want %q", got, want.String())
	}
	c.Send(`{"id":"x","op":"close","sock":%d}`, sock)
	c.OK("x")
	if sc := r.serverConn(t); string(sc.Received) != want.String() || !sc.CloseNotify {
		t.Fatalf("the server received %q (close_notify %v)", sc.Received, sc.CloseNotify)
	}
}

// TestTLSVersions: a server that speaks only an older TLS is still
// reached, and the result says which version and suite were used.
func TestTLSVersions(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{Session: session.Options{TLSRoots: r.ca.Pool}}))
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS10} {
		cfg := tlstest.ServerConfig(r.cert)
		cfg.MinVersion, cfg.MaxVersion = v, v
		echo := tlstest.StartEcho(t, "127.0.0.1:0", cfg)
		id := strings.ReplaceAll(tls.VersionName(v), " ", "")
		c.Send(`{"id":%q,"op":"connect","host":"127.0.0.1","port":%d,"tls":{}}`, id, echo.Addr.Port())
		res := c.OK(id)
		if res.TLS.Version != tls.VersionName(v) || !res.TLS.Verified || !strings.HasPrefix(res.TLS.Cipher, "TLS_ECDHE_") {
			t.Fatalf("%s server: %+v", tls.VersionName(v), *res.TLS)
		}
		c.Send(`{"id":"%s-s","op":"send","sock":%d,"data":{"text":"old"}}`, id, res.Sock)
		c.OK(id + "-s")
		if got := string(readData(c, res.Sock, 3)); got != "old" {
			t.Fatalf("%s: echoed %q", id, got)
		}
	}
}

// TestTLSAlert: a server that refuses the handshake with an alert is
// explained: here, none of the ALPN protocols offered.
func TestTLSAlert(t *testing.T) {
	r := newTLSRig(t, "127.0.0.1:0")
	c := dial(t, startServer(t, bridge.Options{}))
	c.Send(`{"id":"a","op":"connect","host":"127.0.0.1","port":%d,"tls":{"verify":false,"alpn":["h3","spdy/3"]}}`, r.echo.Addr.Port())
	e := c.Fails("a", "tls")
	if !strings.Contains(e.Message, `the server supports none of the protocols offered in "alpn" (h3, spdy/3)`) {
		t.Fatalf("ALPN refused: %v", e)
	}
	if sc := r.serverConn(t); sc.Err == nil || !strings.Contains(sc.Err.Error(), "application protocol") {
		t.Fatalf("the server's handshake ended with %v", sc.Err)
	}
	wantState(t, c, e.Sock, "failed")
}
