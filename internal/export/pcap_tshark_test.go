package export_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tsharkPath is Debian's tshark; without it the test fails, since CI
// installs it (make deps).
func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatalf("tshark is needed to read the exported capture: install Debian's package tshark (make deps does): %v", err)
	}
	return p
}

// rootNotice is what tshark says on stderr whenever it runs as root, as CI
// does; it says nothing about the file.
const rootNotice = `Running as user "root" and group "root". This could be dangerous.`

// tshark runs tshark and returns its output; it fails the test unless
// tshark exits 0 and says nothing on stderr.
func tshark(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tsharkPath(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var said []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != rootNotice {
			said = append(said, l)
		}
	}
	if len(said) > 0 {
		t.Fatalf("tshark %s said on stderr:\n%s", strings.Join(args, " "), strings.Join(said, "\n"))
	}
	return out
}

// packet is one packet as tshark dissects it: field name to values.
type packet map[string][]string

func (p packet) get(field string) string {
	if v := p[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (p packet) src() netip.AddrPort { return p.addr("src") }
func (p packet) dst() netip.AddrPort { return p.addr("dst") }

// addr is the packet's source or destination address and port.
func (p packet) addr(which string) netip.AddrPort {
	ip := p.get("ip." + which)
	if ip == "" {
		ip = p.get("ipv6." + which)
	}
	port := p.get("tcp." + which + "port")
	if port == "" {
		port = p.get("udp." + which + "port")
	}
	a, err := netip.ParseAddr(ip)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, uint16(n))
}

func (p packet) String() string { return "frame " + p.get("frame.number") }

// packetFields are the fields readPackets asks tshark for.
var packetFields = []string{
	"frame.number", "frame.comment", "frame.len", "frame.cap_len",
	"_ws.expert.severity", "_ws.expert.message",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.checksum.status",
	"tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.len", "tcp.flags.reset", "tcp.flags.fin", "tcp.checksum.status",
	"udp.srcport", "udp.dstport", "udp.payload", "udp.checksum.status",
}

// readPackets has tshark dissect the file, verifying every checksum. Past
// TCP and UDP every payload is plain data: the sessions' random ports may
// be some protocol's, whose dissector would judge bytes that are not its.
func readPackets(t *testing.T, file string) []packet {
	t.Helper()
	args := []string{"-r", file, "-T", "json",
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-d", "tcp.port==1-65535,data", "-d", "udp.port==1-65535,data"}
	for _, f := range packetFields {
		args = append(args, "-e", f)
	}
	var docs []struct {
		Source struct {
			Layers packet `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(tshark(t, args...), &docs); err != nil {
		t.Fatalf("tshark's JSON: %v", err)
	}
	pkts := make([]packet, len(docs))
	for i, d := range docs {
		pkts[i] = d.Source.Layers
	}
	return pkts
}

// stream is one TCP stream as tshark follows it: its two nodes, and the
// bytes each sent.
type stream struct {
	nodes [2]netip.AddrPort
	data  [2][]byte
}

// followStreams has tshark follow every TCP stream of the file.
func followStreams(t *testing.T, file string, count int) []stream {
	t.Helper()
	args := []string{"-r", file, "-q"}
	for i := range count {
		args = append(args, "-z", "follow,tcp,raw,"+strconv.Itoa(i))
	}
	out := tshark(t, args...)
	streams := make([]stream, count)
	var cur *stream
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "Filter: tcp.stream eq "):
			n, err := strconv.Atoi(strings.TrimPrefix(l, "Filter: tcp.stream eq "))
			if err != nil || n < 0 || n >= count {
				t.Fatalf("tshark follows %q", l)
			}
			cur = &streams[n]
		case cur == nil, strings.HasPrefix(l, "====="), l == "", strings.HasPrefix(l, "Follow: "):
		case strings.HasPrefix(l, "Node 0: "), strings.HasPrefix(l, "Node 1: "):
			ap, err := netip.ParseAddrPort(strings.TrimSpace(l[len("Node 0: "):]))
			if err != nil {
				t.Fatalf("tshark's node %q: %v", l, err)
			}
			cur.nodes[l[5]-'0'] = ap
		default:
			dir := 0
			if strings.HasPrefix(l, "\t") {
				dir = 1
			}
			b, err := hex.DecodeString(strings.TrimSpace(l))
			if err != nil {
				t.Fatalf("tshark's follow output %q: %v", l, err)
			}
			cur.data[dir] = append(cur.data[dir], b...)
		}
	}
	return streams
}
