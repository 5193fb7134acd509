package export

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestChecksum checks the Internet checksum against published vectors.
func TestChecksum(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want uint16
	}{
		// RFC 1071 §3: the words sum to 0xddf2, whose complement is 0x220d.
		{"RFC 1071", []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0x220d},
		// An IPv4 header (192.168.0.1 to 192.168.0.199, UDP) whose
		// checksum field, zero here, is 0xb861.
		{"IPv4 header", []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
			0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}, 0xb861},
		// An odd length: the last byte is padded with a zero.
		{"odd", []byte{0x01, 0x02, 0x03}, ^uint16(0x0102 + 0x0300)},
		{"carries", []byte{0xff, 0xff, 0xff, 0xff, 0x00, 0x01}, ^uint16(0x0001)},
	} {
		if got := finish(onesSum(0, c.data)); got != c.want {
			t.Errorf("%s: checksum %#04x, want %#04x", c.name, got, c.want)
		}
	}
}

// TestPadding checks that options and packets are padded to 32 bits, and
// that an option says its value's real length.
func TestPadding(t *testing.T) {
	for n := range 9 {
		if got := (n + pad4(n)) % 4; got != 0 || pad4(n) > 3 {
			t.Errorf("pad4(%d) = %d", n, pad4(n))
		}
		value := bytes.Repeat([]byte{'x'}, n)
		opt := appendOption(nil, optComment, value)
		if len(opt)%4 != 0 || len(opt) != 4+n+pad4(n) {
			t.Errorf("a %d-byte option is %d bytes", n, len(opt))
		}
		if code, size := binary.LittleEndian.Uint16(opt), binary.LittleEndian.Uint16(opt[2:]); code != optComment || int(size) != n {
			t.Errorf("a %d-byte option says code %d, length %d", n, code, size)
		}
		if !bytes.Equal(opt[4:4+n], value) || !bytes.Equal(opt[4+n:], make([]byte, pad4(n))) {
			t.Errorf("a %d-byte option: % x", n, opt)
		}
	}
	block := appendBlock(nil, blockEPB, make([]byte, 8))
	if len(block) != 20 || binary.LittleEndian.Uint32(block[4:]) != 20 || binary.LittleEndian.Uint32(block[16:]) != 20 {
		t.Errorf("a block with 8 bytes of body: % x", block)
	}
}

// TestPacketChecksums builds packets of both families and protocols, with
// payloads of odd and even lengths, and verifies their checksums the way
// a receiver does: summed with the checksum in place, they come to zero.
func TestPacketChecksums(t *testing.T) {
	v4 := [2]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:7")}
	v6 := [2]netip.AddrPort{netip.MustParseAddrPort("[::1]:40000"), netip.MustParseAddrPort("[::1]:7")}
	mixed := [2]netip.AddrPort{netip.MustParseAddrPort("[::]:40000"), netip.MustParseAddrPort("127.0.0.1:7")}
	var pb packetBuilder
	for _, ends := range [][2]netip.AddrPort{v4, v6, mixed} {
		for _, payload := range [][]byte{nil, []byte("a"), []byte("hello\n"), bytes.Repeat([]byte{0xff}, 1001)} {
			src, dst := ipPair(ends[0], ends[1])
			pkt := pb.tcp(tcpSegment{src: ends[0], dst: ends[1], seq: 0xfffffff0, ack: 7, flags: flagACK | flagPSH, payload: payload})
			verify(t, pkt, src, dst, protoTCP, payload)
			pkt = pb.tcp(tcpSegment{src: ends[0], dst: ends[1], seq: 1, flags: flagSYN, mss: 65495})
			verify(t, pkt, src, dst, protoTCP, nil)
			pkt, n := pb.udp(udpDatagram{src: ends[0], dst: ends[1], payload: payload})
			if n != len(pkt) {
				t.Errorf("a whole datagram is %d bytes, says %d", len(pkt), n)
			}
			verify(t, pkt, src, dst, protoUDP, payload)
		}
	}
}

// verify checks one packet's IP header and its TCP or UDP checksum.
func verify(t *testing.T, pkt []byte, src, dst netip.Addr, proto uint8, payload []byte) {
	t.Helper()
	hlen := ipv6Len
	if src.Is4() {
		hlen = ipv4Len
		if pkt[0] != 0x45 || pkt[8] != hopLimit || pkt[9] != proto || int(binary.BigEndian.Uint16(pkt[2:])) != len(pkt) {
			t.Fatalf("IPv4 header % x", pkt[:hlen])
		}
		if sum := finish(onesSum(0, pkt[:hlen])); sum != 0 {
			t.Errorf("IPv4 header checksum does not verify: % x", pkt[:hlen])
		}
	} else if pkt[0]>>4 != 6 || pkt[6] != proto || pkt[7] != hopLimit || int(binary.BigEndian.Uint16(pkt[4:])) != len(pkt)-hlen {
		t.Fatalf("IPv6 header % x", pkt[:hlen])
	}
	if s, d := addrsOf(pkt, src.Is4()); s != src || d != dst {
		t.Errorf("addresses %v to %v, want %v to %v", s, d, src, dst)
	}
	l4 := pkt[hlen:]
	if !bytes.HasSuffix(l4, payload) {
		t.Errorf("the payload is not at the packet's end")
	}
	if sum := finish(onesSum(pseudoHeaderSum(src, dst, proto, len(l4)), l4)); sum != 0 {
		t.Errorf("protocol %d checksum does not verify (%d-byte payload)", proto, len(payload))
	}
}

func addrsOf(pkt []byte, v4 bool) (netip.Addr, netip.Addr) {
	if v4 {
		return netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
	}
	return netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
}
