package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/tlstest"
)

// TestTLSCA: -tls-ca names a PEM file of authorities TLS connects trust
// besides the system's: with it, a session verifies a server whose
// certificate a private CA issued. A file that is missing or holds anything
// but certificates stops the program at start, with a message naming it.
func TestTLSCA(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Playground Device CA")
	good := filepath.Join(dir, "ca.pem")
	files := map[string]string{
		good:                              string(ca.PEM),
		filepath.Join(dir, "key.pem"):     string(ca.PEM) + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
		filepath.Join(dir, "empty.pem"):   "",
		filepath.Join(dir, "garbled.pem"): "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []struct{ file, says string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{filepath.Join(dir, "key.pem"), `block 2 is a "EC PRIVATE KEY", not a CERTIFICATE`},
		{filepath.Join(dir, "empty.pem"), "no PEM certificate"},
		{filepath.Join(dir, "garbled.pem"), "certificate 1"},
	} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-services", "none", "-tls-ca", bad.file}, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad.file) || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("-tls-ca %s: %v; want an error naming the file and saying %q", bad.file, err, bad.says)
		}
	}
	// The variable too.
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-services", "none"}, func(k string) string {
		return map[string]string{"PLAYGROUND_TLS_CA": filepath.Join(dir, "empty.pem")}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "empty.pem") {
		t.Errorf("PLAYGROUND_TLS_CA=empty.pem: %v; want an error naming it", err)
	}

	echo := tlstest.StartEcho(t, "127.0.0.1:0", tlstest.ServerConfig(ca.Issue(t, tlstest.Loopback())))
	base, stop := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none", "-tls-ca", good)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{Subprotocols: []string{"socket-playground.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var hello struct{ Type string }
	readJSON(t, ctx, ws, &hello)
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":"t","op":"connect","host":"localhost","family":"ip4","port":`+strconv.Itoa(int(echo.Addr.Port()))+`,"tls":{}}`))
	for {
		var e struct {
			Type, ID, Message string
			TLS               *struct {
				Verified bool   `json:"verified"`
				SNI      string `json:"sni"`
			} `json:"tls"`
		}
		readJSON(t, ctx, ws, &e)
		if e.ID != "t" || (e.Type != "result" && e.Type != "error") {
			continue
		}
		if e.Type == "error" || e.TLS == nil || !e.TLS.Verified || e.TLS.SNI != "localhost" {
			b, _ := json.Marshal(e)
			t.Fatalf("verified connect with -tls-ca: %s", b)
		}
		break
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
