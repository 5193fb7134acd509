package services

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// response reads one response from br with net/http's parser, an
// independent judge of its framing, and returns it with its body.
func response(t *testing.T, c net.Conn, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHTTPByHand(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "http")
	c := dial(t, addr(t, s, "http", "tcp"))
	br := bufio.NewReader(c)

	// GET: 200, the request shown back, the connection kept.
	write(t, c, "GET /path?q=1 HTTP/1.1\r\nHost: x\r\nX-Test:   a b  \r\n\r\n")
	resp, body := response(t, c, br, "GET")
	want := "You sent:\nGET /path?q=1 HTTP/1.1\nHost: x\nX-Test: a b\n\nmethod GET, target /path?q=1, version HTTP/1.1, 2 headers, no body.\n" +
		"The connection stays open (HTTP/1.1 keep-alive): send another request.\n"
	if resp.StatusCode != 200 || body != want || resp.Close ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.ContentLength != int64(len(want)) {
		t.Fatalf("GET: %d %v close=%v\n%s\nwant body\n%s", resp.StatusCode, resp.Header, resp.Close, body, want)
	}
	if _, err := time.Parse(http.TimeFormat, resp.Header.Get("Date")); err != nil {
		t.Errorf("Date: %v", err)
	}

	// HEAD: the same Content-Length and no body, which the next response
	// proves by following at once.
	write(t, c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body = response(t, c, br, "HEAD")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength <= 0 {
		t.Fatalf("HEAD: %d, Content-Length %d, body %q", resp.StatusCode, resp.ContentLength, body)
	}

	// POST: 405 with Allow; its body is read, so the connection goes on.
	write(t, c, "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello=world")
	resp, body = response(t, c, br, "POST")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(body, "not POST") || resp.Close {
		t.Fatalf("POST: %d %v %q", resp.StatusCode, resp.Header, body)
	}

	// A GET with a body, bare newlines and an empty line first.
	write(t, c, "\r\nGET /again HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc")
	resp, body = response(t, c, br, "GET")
	if resp.StatusCode != 200 || !strings.Contains(body, "a body of 3 bytes (read and ignored)") ||
		!strings.Contains(body, `Note: your lines ended in a bare \n.`) {
		t.Fatalf("GET with bare newlines: %d %q", resp.StatusCode, body)
	}

	// Connection: close: the answer says so, and the connection ends.
	write(t, c, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, body = response(t, c, br, "GET")
	if resp.StatusCode != 200 || !resp.Close || !strings.Contains(body, "closes the connection after this response: you sent Connection: close") {
		t.Fatalf("Connection: close: %d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
		t.Fatalf("after Connection: close: %q, %v", rest, err)
	}
}

// TestHTTP10: HTTP/1.0 needs no Host and closes after the response.
func TestHTTP10(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "http")
	c := dial(t, addr(t, s, "http", "tcp"))
	write(t, c, "GET / HTTP/1.0\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := response(t, c, br, "GET")
	if resp.StatusCode != 200 || !resp.Close || !strings.Contains(body, "HTTP/1.0 closes after each response") {
		t.Fatalf("%d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
		t.Fatalf("after HTTP/1.0: %q, %v", rest, err)
	}
}

func TestHTTPMalformed(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "http")
	a := addr(t, s, "http", "tcp")
	for _, tc := range []struct {
		name, req string
		status    int
		want      string // in the body
	}{
		{"no version", "GET /\r\n\r\n", 400, `a request line is METHOD TARGET VERSION with one space between each, like: GET / HTTP/1.1; got "GET /"`},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a request line is METHOD TARGET VERSION"},
		{"bad method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, `the method "G@T" has characters a method cannot have`},
		{"bad version", "GET / HTTP/one\r\nHost: x\r\n\r\n", 400, `the version must look like HTTP/1.1; got "HTTP/one"`},
		{"HTTP/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "this server speaks HTTP/1.0 and HTTP/1.1, not HTTP/2.0"},
		{"no Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "an HTTP/1.1 request must have a Host header"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "more than one Host header"},
		{"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, `header line 1 has no colon; a header is Name: value; got "Host x"`},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "header line 1 has whitespace before its colon"},
		{"folded", "GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n", 400, "header line 3 starts with whitespace"},
		{"no name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "header line 1 has no name before its colon"},
		{"control in value", "GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400, "the value of header Host has a control character"},
		{"bad Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", 400, `Content-Length must be a number of bytes; got "1e3"`},
		{"two Content-Lengths", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", 400, "two different Content-Lengths"},
		{"chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "send Content-Length instead"},
		{"huge body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, "this server reads bodies of at most 1048576 bytes"},
		{"long target", "GET /" + strings.Repeat("a", httpMaxLine) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "the request line is longer than 8192 bytes"},
		{"long header", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", httpMaxLine) + "\r\n\r\n", 431, "header line 2 is longer than 8192 bytes"},
		{"many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X: y\r\n", httpMaxHeaders) + "\r\n", 431, "more than 100 header lines"},
		{"EOF in headers", "GET / HTTP/1.1\r\nHost: x\r\n", 400, "the connection ended (EOF) before the empty line that ends the headers"},
		{"EOF in body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 400, "before the 10-byte body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a)
			write(t, c, tc.req)
			if strings.HasPrefix(tc.name, "EOF") {
				c.CloseWrite()
			}
			br := bufio.NewReader(c)
			resp, body := response(t, c, br, "GET")
			if resp.StatusCode != tc.status || !resp.Close || !strings.Contains(body, tc.want) ||
				!strings.HasPrefix(body, strconv.Itoa(tc.status)+" "+statusText[tc.status]+": ") {
				t.Fatalf("got %d close=%v %q; want %d with %q", resp.StatusCode, resp.Close, body, tc.status, tc.want)
			}
			// Then the connection ends, with FIN rather than a reset that
			// could lose the answer.
			c.CloseWrite()
			if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
				t.Fatalf("after the error: %q, %v", rest, err)
			}
		})
	}
}

// TestHTTPHeadError: an error answering HEAD has no body either.
func TestHTTPHeadError(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "http")
	c := dial(t, addr(t, s, "http", "tcp"))
	write(t, c, "HEAD / HTTP/1.1\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := response(t, c, br, "HEAD")
	if resp.StatusCode != 400 || body != "" || resp.ContentLength <= 0 || !resp.Close {
		t.Fatalf("%d, Content-Length %d, close=%v, body %q", resp.StatusCode, resp.ContentLength, resp.Close, body)
	}
	c.CloseWrite()
	if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
		t.Fatalf("after the error: %q, %v", rest, err)
	}
}

// TestHTTPClient: net/http's client, an independent peer, gets answers and
// reuses its connection.
func TestHTTPClient(t *testing.T) {
	t.Parallel()
	s := start(t, Config{}, "http")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: patience}
	base := "http://" + addr(t, s, "http", "tcp")

	var reused []bool
	for _, method := range []string{"GET", "HEAD", "GET", "DELETE"} {
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, base+"/hello", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch method {
		case "GET":
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte("You sent:\nGET /hello HTTP/1.1\nHost: "+base[len("http://"):]+"\n")) {
				t.Fatalf("GET: %d %q", resp.StatusCode, body)
			}
		case "HEAD":
			if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength <= 0 {
				t.Fatalf("HEAD: %d %d %q", resp.StatusCode, resp.ContentLength, body)
			}
		case "DELETE":
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Fatalf("DELETE: %d %v", resp.StatusCode, resp.Header)
			}
		}
	}
	if want := []bool{false, true, true, true}; !slices.Equal(reused, want) {
		t.Fatalf("connections reused %v; want %v (keep-alive)", reused, want)
	}
}

// FuzzReadRequest: no input panics the parser, and what it accepts is
// well formed.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\nHEAD /a HTTP/1.0\n\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), httpMaxLine+2)
		for {
			r, err := readRequest(br)
			if err != nil {
				return
			}
			if !isToken(r.method) || r.target == "" || strings.ContainsAny(r.target, " \r\n") ||
				r.http10 != (r.version == "HTTP/1.0") || r.bodyLen < 0 || r.bodyLen > httpMaxBody {
				t.Fatalf("accepted a bad request: %+v", r)
			}
			if !strings.HasPrefix(r.describe(), "You sent:\n"+r.line+"\n") {
				t.Fatalf("describe: %q", r.describe())
			}
		}
	})
}
