//go:build linux

package kernel

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// procSample is /proc/net/tcp and /proc/net/tcp6 as captured on an amd64
// host: a listener, both sides of a connection, the same after the client
// closed (the server holds 10 unread bytes and the FIN), and a line from an
// old kernel that printed an overdue timer as negative.
const procSample = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C93 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 1621948 2 000000008c18229d 100 0 0 10 0
   2: 0100007F:CEE2 0100007F:9C93 01 00000000:00000000 02:000005D6 00000000     0        0 1621950 3 0000000062d8fc06 20 0 0 11 -1
   3: 0100007F:9C93 0100007F:CEE2 01 00000000:0000000A 02:000005D6 00000000     0        0 1621951 2 000000000f013c76 20 4 30 10 -1
   4: 0100007F:CEE2 0100007F:9C93 05 00000000:00000000 03:0000176F 00000000     0        0 0 3 000000002bd6cad6
   5: 0100007F:9C93 0100007F:CEE2 08 00000000:0000000B 02:000005D0 00000000     0        0 1621951 2 000000000f013c76 20 4 28 10 -1
   6: 0100007F:D000 0100007F:9C93 01 00001000:00000000 01:FFFFFFFFFFFFFFF0 00000002     0        0 1621999 2 000000000f013c76 20 4 28 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:A50B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1622815 2 00000000568e9552 100 0 0 10 0
   1: 00000000000000000000000001000000:C056 00000000000000000000000001000000:A50B 06 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000e00d98f1
   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000200007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1622900 2 00000000ac7e2257 20 4 28 10 -1
`

func TestParseProcNet(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the sample was captured on a little-endian host")
	}
	ap := netip.MustParseAddrPort
	want := []Entry{
		{State: StateListen, Local: ap("127.0.0.1:40083"), Remote: ap("0.0.0.0:0"), RecvQueue: 3, Inode: 1621948},
		{State: StateEstablished, Local: ap("127.0.0.1:52962"), Remote: ap("127.0.0.1:40083"), Inode: 1621950, Timer: 1494 * procTick},
		{State: StateEstablished, Local: ap("127.0.0.1:40083"), Remote: ap("127.0.0.1:52962"), RecvQueue: 10, Inode: 1621951, Timer: 1494 * procTick},
		{State: StateFinWait2, Local: ap("127.0.0.1:52962"), Remote: ap("127.0.0.1:40083"), Timer: 5999 * procTick},
		{State: StateCloseWait, Local: ap("127.0.0.1:40083"), Remote: ap("127.0.0.1:52962"), RecvQueue: 10, Inode: 1621951, Timer: 1488 * procTick},
		{State: StateEstablished, Local: ap("127.0.0.1:53248"), Remote: ap("127.0.0.1:40083"), SendQueue: 4096, Inode: 1621999},
		{State: StateListen, Local: ap("[::1]:42251"), Remote: ap("[::]:0"), Inode: 1622815},
		{State: StateTimeWait, Local: ap("[::1]:49238"), Remote: ap("[::1]:42251"), Timer: 60 * time.Second},
		{State: StateEstablished, Local: ap("127.0.0.1:8080"), Remote: ap("127.0.0.2:54321"), Inode: 1622900},
	}
	got, err := parseProcNet(strings.NewReader(procSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseProcNetErrors(t *testing.T) {
	valid := "   0: 0100007F:9C93 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1621948"
	if _, err := parseProcNet(strings.NewReader(valid)); err != nil {
		t.Fatalf("valid line: %v", err)
	}
	for _, tt := range []struct{ name, line string }{
		{"few fields", "   0: 0100007F:9C93 00000000:0000 0A"},
		{"no port", strings.Replace(valid, "0100007F:9C93", "0100007F", 1)},
		{"short address", strings.Replace(valid, "0100007F:9C93", "00007F:9C93", 1)},
		{"bad address", strings.Replace(valid, "0100007F:9C93", "0100007G:9C93", 1)},
		{"bad port", strings.Replace(valid, "0100007F:9C93", "0100007F:19C93", 1)},
		{"bad remote", strings.Replace(valid, "00000000:0000", "x", 1)},
		{"bad state", strings.Replace(valid, " 0A ", " 0X ", 1)},
		{"bad queues", strings.Replace(valid, "00000000:00000000", "00000000", 1)},
		{"bad timer", strings.Replace(valid, "00:00000000", "00-00000000", 1)},
		{"bad inode", strings.Replace(valid, "1621948", "-1", 1)},
	} {
		if es, err := parseProcNet(strings.NewReader(tt.line)); err == nil {
			t.Errorf("%s: %q parsed as %+v", tt.name, tt.line, es)
		}
	}
}

func FuzzParseProcNet(f *testing.F) {
	f.Add(procSample)
	f.Add("")
	f.Add("sl\n 0: 0:0 0:0 0 0:0 0:0 0 0 0 0")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := parseProcNet(strings.NewReader(s))
		if err != nil && es != nil {
			t.Errorf("entries %+v with error %v", es, err)
		}
		for _, e := range es {
			if e.RecvQueue < 0 || e.SendQueue < 0 || e.Timer < 0 || !e.Local.IsValid() || !e.Remote.IsValid() {
				t.Errorf("impossible entry %+v", e)
			}
		}
	})
}
