package export_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
)

// epb is an Enhanced Packet Block as read back.
type epb struct {
	t       int64 // µs
	data    []byte
	origLen int
	comment string
}

// readPCAPNG parses a capture as the pcapng format lays it out, failing
// the test at the first thing out of place: a section header, one
// interface (raw IP, microseconds), then packets, every block and option
// padded to 32 bits with its length at both ends.
func readPCAPNG(t *testing.T, b []byte) []epb {
	t.Helper()
	le := binary.LittleEndian
	var pkts []epb
	for n := 0; len(b) > 0; n++ {
		if len(b) < 12 {
			t.Fatalf("block %d: %d bytes left, too few for a block", n, len(b))
		}
		typ, size := le.Uint32(b), le.Uint32(b[4:])
		if size%4 != 0 || size < 12 || int(size) > len(b) || le.Uint32(b[size-4:]) != size {
			t.Fatalf("block %d (type %#x): length %d, %d bytes left", n, typ, size, len(b))
		}
		body := b[8 : size-4]
		b = b[size:]
		var opts []byte
		switch {
		case n == 0:
			if typ != 0x0A0D0D0A || len(body) < 16 || le.Uint32(body) != 0x1A2B3C4D || le.Uint16(body[4:]) != 1 {
				t.Fatalf("the first block is not a little-endian pcapng 1.x section header: %#x % x", typ, body)
			}
			opts = body[16:]
		case n == 1:
			if typ != 1 || len(body) < 8 || le.Uint16(body) != 101 {
				t.Fatalf("the second block is not an interface of link type RAW: %#x % x", typ, body)
			}
			opts = body[8:]
		case typ == 6:
			if len(body) < 20 || le.Uint32(body) != 0 {
				t.Fatalf("block %d: a packet on no interface of this file", n)
			}
			capLen, origLen := int(le.Uint32(body[12:])), int(le.Uint32(body[16:]))
			if capLen > origLen || 20+capLen > len(body) {
				t.Fatalf("block %d: %d bytes captured of %d, in %d", n, capLen, origLen, len(body))
			}
			p := epb{
				t:       int64(le.Uint32(body[4:]))<<32 | int64(le.Uint32(body[8:])),
				data:    body[20 : 20+capLen],
				origLen: origLen,
			}
			padded := capLen + (4-capLen%4)%4
			if 20+padded > len(body) || !bytes.Equal(body[20+capLen:20+padded], make([]byte, padded-capLen)) {
				t.Fatalf("block %d: packet data not padded with zeros to 32 bits", n)
			}
			opts = body[20+padded:]
			for code, value := range options(t, opts) {
				if code == 1 {
					p.comment = string(value)
				}
			}
			pkts = append(pkts, p)
			continue
		default:
			t.Fatalf("block %d: type %#x", n, typ)
		}
		options(t, opts)
	}
	return pkts
}

// options reads a block's options, which must end with opt_endofopt.
func options(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	le := binary.LittleEndian
	out := map[uint16][]byte{}
	for len(b) >= 4 {
		code, size := le.Uint16(b), int(le.Uint16(b[2:]))
		if code == 0 {
			if size != 0 || len(b) != 4 {
				t.Fatalf("opt_endofopt with length %d and %d bytes after it", size, len(b)-4)
			}
			return out
		}
		padded := size + (4-size%4)%4
		if 4+padded > len(b) {
			t.Fatalf("option %d: %d bytes, %d left", code, size, len(b)-4)
		}
		out[code] = b[4 : 4+size]
		b = b[4+padded:]
	}
	t.Fatalf("options do not end with opt_endofopt: % x", b)
	return nil
}

// docLog is a short log in the words of docs/protocol.md: a connection
// to an echo, a UDP socket bound to every IPv6 address whose echo's reply
// is logged before its sendto's answer (§4.8), and a refused connect.
const docLog = `{"format":"socket-playground-log","version":1,"session":"S"}
{"seq":1,"t":1795540292262512,"type":"call","sock":2,"id":"C","op":"connect","host":"127.0.0.1","port":7007,"timeout_ms":10000}
{"seq":2,"t":1795540292263063,"type":"state","sock":2,"kind":"tcp","state":"connecting","addr":"127.0.0.1:7007","remote":"127.0.0.1:7007"}
{"seq":3,"t":1795540292263589,"type":"result","sock":2,"id":"C","op":"connect","addr":"127.0.0.1:7007","local":"127.0.0.1:38102","remote":"127.0.0.1:7007"}
{"seq":4,"t":1795540292263621,"type":"state","sock":2,"kind":"tcp","state":"established","local":"127.0.0.1:38102","remote":"127.0.0.1:7007"}
{"seq":5,"t":1795540292464619,"type":"call","sock":2,"id":"S1","op":"send","len":6}
{"seq":6,"t":1795540292464695,"type":"sent","sock":2,"id":"S1","op":"send","len":6,"data":"aGVsbG8K"}
{"seq":7,"t":1795540292464800,"type":"data","sock":2,"op":"recv","auto":true,"len":6,"data":"aGVsbG8K"}
{"seq":8,"t":1795540293067849,"type":"call","sock":2,"id":"X","op":"close"}
{"seq":9,"t":1795540293068156,"type":"result","sock":2,"id":"X","op":"close"}
{"seq":10,"t":1795540293068157,"type":"state","sock":2,"kind":"tcp","state":"closed","reason":"closed by you","local":"127.0.0.1:38102","remote":"127.0.0.1:7007"}
{"seq":29,"t":1795540293269457,"type":"call","sock":4,"id":"B","op":"bind","host":"::"}
{"seq":30,"t":1795540293269526,"type":"result","sock":4,"id":"B","op":"bind","addr":"[::]:0","local":"[::]:60637"}
{"seq":31,"t":1795540293269526,"type":"state","sock":4,"kind":"udp","state":"bound","local":"[::]:60637"}
{"seq":32,"t":1795540293269897,"type":"call","sock":4,"id":"U1","op":"sendto","host":"127.0.0.1","port":17007,"len":4}
{"seq":33,"t":1795540293270062,"type":"data","sock":4,"op":"recvfrom","auto":true,"peer":"127.0.0.1:17007","len":4,"data":"cG9uZw=="}
{"seq":35,"t":1795540293270357,"type":"sent","sock":4,"id":"U1","op":"sendto","peer":"127.0.0.1:17007","len":4,"data":"cGluZw=="}
{"seq":36,"t":1795540323120992,"type":"call","sock":1,"id":"e21","op":"connect","host":"127.0.0.1","port":1,"timeout_ms":10000}
{"seq":37,"t":1795540323121030,"type":"state","sock":1,"kind":"tcp","state":"connecting","addr":"127.0.0.1:1","remote":"127.0.0.1:1"}
{"seq":38,"t":1795540323121240,"type":"error","sock":1,"id":"e21","op":"connect","code":"refused","errno":"ECONNREFUSED","message":"connect 127.0.0.1:1: connection refused"}
{"seq":39,"t":1795540323121243,"type":"state","sock":1,"kind":"tcp","state":"failed","reason":"connect 127.0.0.1:1: connection refused","remote":"127.0.0.1:1"}
`

func readDocLog(t *testing.T) []*session.Event {
	t.Helper()
	_, evs, err := export.ReadLog(strings.NewReader(docLog))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestPCAPNGFormat checks the file block by block, and what the packets
// of a short log say: the calls in order, with their times; the UDP
// echo's reply after the request it answers, though the log has it first;
// a socket bound to :: talking IPv4 from 127.0.0.1.
func TestPCAPNGFormat(t *testing.T) {
	evs := readDocLog(t)
	var buf bytes.Buffer
	if err := export.PCAPNG(&buf, evs); err != nil {
		t.Fatal(err)
	}
	pkts := readPCAPNG(t, buf.Bytes())
	var comments []string
	for i, p := range pkts {
		comments = append(comments, p.comment)
		if i > 0 && p.t < pkts[i-1].t {
			t.Errorf("packet %d (%s) is earlier than the one before it", i+1, p.comment)
		}
		if p.origLen != len(p.data) {
			t.Errorf("packet %d (%s): %d of %d bytes", i+1, p.comment, len(p.data), p.origLen)
		}
	}
	want := []string{
		"connect() on socket 2: SYN", "connect() on socket 2: SYN-ACK", "connect() on socket 2: ACK",
		"send() on socket 2 (6 bytes)", "send() on socket 2 (6 bytes): ACK",
		"recv() on socket 2 (6 bytes)", "recv() on socket 2 (6 bytes): ACK",
		"close() on socket 2: FIN", "close() on socket 2: ACK of the FIN",
		"sendto() on socket 4 (4 bytes)", "recvfrom() on socket 4 (4 bytes)",
		"connect() on socket 1: SYN (from a port the log does not name)",
		"connect() on socket 1: RST from the peer (connection refused)",
	}
	if strings.Join(comments, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the packets' comments:\n%s\nwant:\n%s", strings.Join(comments, "\n"), strings.Join(want, "\n"))
	}
	if pkts[0].t != evs[1].T || pkts[1].t != evs[2].T {
		t.Errorf("the SYN at %d and SYN-ACK at %d, not at their events' %d and %d", pkts[0].t, pkts[1].t, evs[1].T, evs[2].T)
	}
	for _, i := range []int{9, 10} { // the datagrams
		p := pkts[i].data
		if p[0]>>4 != 4 || netip.AddrFrom4([4]byte(p[12:16])) != netip.MustParseAddr("127.0.0.1") ||
			netip.AddrFrom4([4]byte(p[16:20])) != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("%s: not IPv4 between 127.0.0.1 and 127.0.0.1: % x", pkts[i].comment, p[:20])
		}
	}
	if got := string(pkts[9].data[28:]); got != "ping" {
		t.Errorf("the first datagram carries %q, not the request", got)
	}
}

// TestPCAPNGDeterministic: the same log gives the same bytes.
func TestPCAPNGDeterministic(t *testing.T) {
	evs := readDocLog(t)
	var a, b bytes.Buffer
	if err := export.PCAPNG(&a, evs); err != nil {
		t.Fatal(err)
	}
	if err := export.PCAPNG(&b, evs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two exports of one log differ")
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestPCAPNGWriteError: a writer's error comes back, wrapped.
func TestPCAPNGWriteError(t *testing.T) {
	if err := export.PCAPNG(failingWriter{}, readDocLog(t)); !errors.Is(err, errDiskFull) {
		t.Errorf("PCAPNG to a failing writer: %v", err)
	}
}

// FuzzPCAPNG: no log, however malformed, panics the export or makes a
// file that is not well-formed pcapng.
func FuzzPCAPNG(f *testing.F) {
	f.Add([]byte(docLog))
	f.Add([]byte(`{"format":"socket-playground-log","version":1}` + "\n" +
		`{"seq":5,"type":"state","sock":3,"kind":"tcp","parent":1,"state":"half-closed","half":"read","local":"[::1]:80","remote":"[::ffff:127.0.0.1]:9"}` + "\n" +
		`{"seq":6,"type":"data","sock":3,"op":"recv","eof":true}` + "\n" +
		`{"seq":7,"type":"data","sock":9,"op":"recvfrom","peer":"127.0.0.1:1","datagram_len":99999,"data":"AA=="}` + "\n" +
		`{"seq":8,"type":"state","sock":9,"kind":"udp","state":"bound","local":"0.0.0.0:0"}` + "\n" +
		`{"seq":9,"t":-5,"type":"error","sock":3,"op":"send","errno":"ECONNRESET"}` + "\n"))
	f.Fuzz(func(t *testing.T, log []byte) {
		_, evs, _ := export.ReadLog(bytes.NewReader(log)) // what it read before any error
		var buf bytes.Buffer
		if err := export.PCAPNG(&buf, evs); err != nil {
			t.Fatal(err)
		}
		for _, p := range readPCAPNG(t, buf.Bytes()) {
			if p.comment == "" {
				t.Fatalf("a packet without a comment: % x", p.data)
			}
		}
	})
}
