package services

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// The http service parses requests itself, with bufio, to show that HTTP/1.1
// is lines of text over TCP; net/http's server would hide exactly that.
const (
	httpMaxLine    = 8 << 10 // bytes in the request line or a header line
	httpMaxHeaders = 100
	httpMaxBody    = 1 << 20 // a larger Content-Length gets 413
	httpDate       = "Mon, 02 Jan 2006 15:04:05 GMT"
)

// newHTTP is a tiny HTTP/1.1 origin server for requests typed by hand.
//
// GET (and HEAD, which sends the same headers and no body) of any target
// gets 200 and a text/plain body that shows the request line and headers as
// the server parsed them. Any other method gets 405 with "Allow: GET, HEAD".
// The connection stays open for the next request unless the request said
// "Connection: close" or was HTTP/1.0. A request body is read (by
// Content-Length, at most 1 MiB) and ignored.
//
// Lines may end in "\r\n" or a bare "\n"; the body then notes that HTTP
// asks for "\r\n". Empty lines before a request line are skipped (RFC 9112,
// section 2.2), so an extra Enter does no harm.
//
// A malformed request gets an error status whose text/plain body says what
// was wrong, then the connection closes: 400 (a bad request line or header
// line, no Host in HTTP/1.1, two Hosts, a bad Content-Length, EOF before
// the empty line), 413 (body over 1 MiB), 414 (request line over 8 KiB),
// 431 (a header line over 8 KiB, over 100 headers), 501
// (Transfer-Encoding), 505 (HTTP/2.0 and other majors).
func newHTTP(settings) service {
	return service{
		tcp:      serveHTTP,
		tcpAbout: `A small HTTP/1.1 server: type "GET / HTTP/1.1", "Host: x" and an empty line, and see what it parsed.`,
	}
}

// httpRequest is a parsed request.
type httpRequest struct {
	line           string // the request line, as sent
	method, target string
	version        string // "HTTP/1.1"
	http10         bool
	headers        [][2]string // name as sent, value trimmed
	bare           bool        // some line ended in a bare "\n"
	bodyLen        int64
	sawLength      bool   // a Content-Length header was read
	close          bool   // after the response
	closeWhy       string // why, for the body
}

// httpError is a malformed request: its status and what was wrong.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(format string, args ...any) *httpError {
	return &httpError{400, fmt.Sprintf(format, args...)}
}

var statusText = map[int]string{
	200: "OK",
	400: "Bad Request",
	405: "Method Not Allowed",
	413: "Content Too Large",
	414: "URI Too Long",
	431: "Request Header Fields Too Large",
	501: "Not Implemented",
	505: "HTTP Version Not Supported",
}

func serveHTTP(_ context.Context, c net.Conn) {
	br := bufio.NewReaderSize(c, httpMaxLine+2)
	bw := bufio.NewWriter(c)
	for {
		req, err := readRequest(br)
		var herr *httpError
		if errors.As(err, &herr) {
			body := fmt.Sprintf("%d %s: %s\n", herr.status, statusText[herr.status], herr.msg)
			writeResponse(bw, herr.status, nil, body, req.method == "HEAD", true)
			bw.Flush()
			finish(c)
			return
		}
		if err != nil {
			return // the client closed between requests, or the Set closed
		}
		head := req.method == "HEAD"
		if head || req.method == "GET" {
			writeResponse(bw, 200, nil, req.describe(), head, req.close)
		} else {
			body := fmt.Sprintf("405 Method Not Allowed: this server answers GET and HEAD, not %s\n", req.method)
			writeResponse(bw, 405, [][2]string{{"Allow", "GET, HEAD"}}, body, false, req.close)
		}
		if bw.Flush() != nil {
			return
		}
		if req.close {
			finish(c)
			return
		}
	}
}

// writeResponse writes a text/plain response with body (only its length,
// for HEAD).
func writeResponse(w *bufio.Writer, status int, headers [][2]string, body string, head, close bool) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, statusText[status])
	fmt.Fprintf(w, "Date: %s\r\n", time.Now().UTC().Format(httpDate))
	w.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	fmt.Fprintf(w, "Content-Length: %d\r\n", len(body))
	for _, h := range headers {
		fmt.Fprintf(w, "%s: %s\r\n", h[0], h[1])
	}
	if close {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if !head {
		w.WriteString(body)
	}
}

// describe is the 200 body: the request as parsed.
func (r *httpRequest) describe() string {
	var b strings.Builder
	b.WriteString("You sent:\n" + r.line + "\n")
	for _, h := range r.headers {
		b.WriteString(h[0] + ": " + h[1] + "\n")
	}
	fmt.Fprintf(&b, "\nmethod %s, target %s, version %s, %s, ", r.method, r.target, r.version, plural(len(r.headers), "header"))
	if r.bodyLen > 0 {
		fmt.Fprintf(&b, "a body of %s (read and ignored).\n", plural(int(r.bodyLen), "byte"))
	} else {
		b.WriteString("no body.\n")
	}
	if r.close {
		b.WriteString("The server closes the connection after this response: " + r.closeWhy + ".\n")
	} else {
		b.WriteString("The connection stays open (HTTP/1.1 keep-alive): send another request.\n")
	}
	if r.bare {
		b.WriteString("Note: your lines ended in a bare \\n. HTTP asks for \\r\\n (RFC 9112, section 2.2); this server accepts both.\n")
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// readRequest reads one request and its body. Its error is an *httpError
// for a malformed request, io.EOF if the connection ended cleanly before
// one, or the connection's error; the request is returned with the error
// too, as far as it was parsed, so that a HEAD gets no body even in an
// error.
func readRequest(br *bufio.Reader) (r *httpRequest, err error) {
	r = &httpRequest{}
	started := false
	// eof is the error for the connection ending: clean between requests,
	// malformed within one.
	eof := func(err error) error {
		if errors.Is(err, io.EOF) && started {
			return badRequest("the connection ended (EOF) before the empty line that ends the headers")
		}
		return err
	}

	var line []byte
	for {
		var bare bool
		var err error
		line, bare, err = readLine(br, httpMaxLine)
		if len(line) > 0 {
			started = true
		}
		switch {
		case errors.Is(err, errLineTooLong):
			return r, &httpError{414, fmt.Sprintf("the request line is longer than %d bytes", httpMaxLine)}
		case err != nil:
			return r, eof(err)
		}
		r.bare = r.bare || bare
		if len(line) > 0 {
			break
		}
		// RFC 9112, section 2.2: ignore empty lines before the request line.
	}
	if err := r.parseRequestLine(string(line)); err != nil {
		return r, err
	}

	hosts := 0
	for n := 1; ; n++ {
		line, bare, err := readLine(br, httpMaxLine)
		switch {
		case errors.Is(err, errLineTooLong):
			return r, &httpError{431, fmt.Sprintf("header line %d is longer than %d bytes", n, httpMaxLine)}
		case err != nil:
			return r, eof(err)
		}
		r.bare = r.bare || bare
		if len(line) == 0 {
			break
		}
		if n > httpMaxHeaders {
			return r, &httpError{431, fmt.Sprintf("more than %d header lines", httpMaxHeaders)}
		}
		name, value, err := parseHeader(n, string(line))
		if err != nil {
			return r, err
		}
		r.headers = append(r.headers, [2]string{name, value})
		switch strings.ToLower(name) {
		case "host":
			hosts++
		case "connection":
			for _, opt := range strings.Split(value, ",") {
				if strings.EqualFold(strings.TrimSpace(opt), "close") {
					r.close, r.closeWhy = true, "you sent Connection: close"
				}
			}
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || strings.TrimLeft(value, "0123456789") != "" {
				return r, badRequest("Content-Length must be a number of bytes; got %q", value)
			}
			if r.sawLength && r.bodyLen != n {
				return r, badRequest("two different Content-Lengths")
			}
			r.sawLength = true
			if n > httpMaxBody {
				return r, &httpError{413, fmt.Sprintf("this server reads bodies of at most %d bytes; Content-Length is %d", httpMaxBody, n)}
			}
			r.bodyLen = n
		case "transfer-encoding":
			return r, &httpError{501, "this server does not read Transfer-Encoding (chunked) bodies; send Content-Length instead"}
		}
	}
	switch {
	case !r.http10 && hosts == 0:
		return r, badRequest("an HTTP/1.1 request must have a Host header (RFC 9112, section 3.2), like: Host: x")
	case hosts > 1:
		return r, badRequest("more than one Host header")
	}
	if r.http10 && !r.close {
		r.close, r.closeWhy = true, "HTTP/1.0 closes after each response"
	}
	if _, err := io.CopyN(io.Discard, br, r.bodyLen); err != nil {
		if errors.Is(err, io.EOF) {
			return r, badRequest("the connection ended (EOF) before the %d-byte body that Content-Length announced", r.bodyLen)
		}
		return r, err
	}
	return r, nil
}

// parseRequestLine parses "METHOD TARGET VERSION" (RFC 9112, section 3).
func (r *httpRequest) parseRequestLine(line string) error {
	r.line = line
	parts := strings.Split(line, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return badRequest("a request line is METHOD TARGET VERSION with one space between each, like: GET / HTTP/1.1; got %q", short(line))
	}
	r.method, r.target, r.version = parts[0], parts[1], parts[2]
	if !isToken(r.method) {
		return badRequest("the method %q has characters a method cannot have", short(r.method))
	}
	for _, c := range []byte(r.target) {
		if c <= ' ' || c >= 0x7f {
			return badRequest("the target %q has a character that is not printable ASCII", short(r.target))
		}
	}
	v := r.version
	if len(v) != 8 || !strings.HasPrefix(v, "HTTP/") || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return badRequest("the version must look like HTTP/1.1; got %q", short(v))
	}
	if v[5] != '1' {
		return &httpError{505, fmt.Sprintf("this server speaks HTTP/1.0 and HTTP/1.1, not %s", v)}
	}
	r.http10 = v == "HTTP/1.0"
	return nil
}

// parseHeader parses header line n, "Name: value" (RFC 9112, section 5).
func parseHeader(n int, line string) (name, value string, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return "", "", badRequest("header line %d starts with whitespace: continuing a header on the next line is obsolete (RFC 9112, section 5.2)", n)
	}
	name, value, ok := strings.Cut(line, ":")
	switch {
	case !ok:
		return "", "", badRequest("header line %d has no colon; a header is Name: value; got %q", n, short(line))
	case name == "":
		return "", "", badRequest("header line %d has no name before its colon", n)
	case strings.TrimRight(name, " \t") != name:
		return "", "", badRequest("header line %d has whitespace before its colon, which RFC 9112 (section 5.1) forbids: %q", n, short(line))
	case !isToken(name):
		return "", "", badRequest("header name %q has characters a name cannot have", short(name))
	}
	value = strings.Trim(value, " \t")
	for _, c := range []byte(value) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return "", "", badRequest("the value of header %s has a control character", name)
		}
	}
	return name, value, nil
}

// isToken reports whether s is an RFC 9110 token: a method or header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isDigit(c) && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// short cuts s for quoting in an error.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
