package export

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers, TCP flags and the header fields every synthesized
// packet shares.
const (
	protoTCP = 6
	protoUDP = 17

	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10

	hopLimit  = 64    // IPv4 TTL and IPv6 hop limit, as Linux sets them
	tcpWindow = 65535 // every segment's window: no window scaling
	ipv4Len   = 20    // an IPv4 header without options
	ipv6Len   = 40
	tcpLen    = 20 // a TCP header without options
	udpLen    = 8
	maxIPLen  = 0xFFFF // the most an IPv4 total length or IPv6 payload length says
)

// mssFor is the MSS of a loopback interface (MTU 65536) less the IP and
// TCP headers: the largest segment the capture shows. Linux advertises the
// same on lo; without TCP timestamps every segment can carry all of it.
func mssFor(v6 bool) int {
	if v6 {
		return 65536 - ipv6Len - tcpLen // 65476
	}
	return maxIPLen - ipv4Len - tcpLen // 65495
}

// tcpSegment is what one synthesized TCP packet says.
type tcpSegment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	mss      uint16 // a SYN's MSS option; 0 for none
	payload  []byte
}

// udpDatagram is one synthesized UDP packet. If its payload was cut (a
// recvfrom that returned fewer bytes than the datagram had), size is the
// datagram's real payload length and only payload was captured.
type udpDatagram struct {
	src, dst netip.AddrPort
	payload  []byte
	size     int
}

// packetBuilder builds IP packets into one reused buffer, numbering the
// IPv4 ones.
type packetBuilder struct {
	buf  []byte
	ipID uint16
}

// tcp builds seg as an IP packet: its bytes, valid until the next call.
func (pb *packetBuilder) tcp(seg tcpSegment) []byte {
	src, dst := ipPair(seg.src, seg.dst)
	hlen := tcpLen
	if seg.mss != 0 {
		hlen += 4
	}
	h := make([]byte, hlen, tcpLen+4)
	binary.BigEndian.PutUint16(h[0:], seg.src.Port())
	binary.BigEndian.PutUint16(h[2:], seg.dst.Port())
	binary.BigEndian.PutUint32(h[4:], seg.seq)
	if seg.flags&flagACK != 0 {
		binary.BigEndian.PutUint32(h[8:], seg.ack) // zero unless ACK is set
	}
	h[12] = byte(hlen/4) << 4
	h[13] = seg.flags
	binary.BigEndian.PutUint16(h[14:], tcpWindow)
	if seg.mss != 0 {
		h[20], h[21] = 2, 4 // kind MSS, length 4
		binary.BigEndian.PutUint16(h[22:], seg.mss)
	}
	l4 := len(h) + len(seg.payload)
	sum := pseudoHeaderSum(src, dst, protoTCP, l4)
	binary.BigEndian.PutUint16(h[16:], finish(onesSum(onesSum(sum, h), seg.payload)))
	pb.buf = pb.appendIP(pb.buf[:0], src, dst, protoTCP, l4)
	pb.buf = append(pb.buf, h...)
	pb.buf = append(pb.buf, seg.payload...)
	return pb.buf
}

// udp builds d as an IP packet: its captured bytes, valid until the next
// call, and the packet's real length.
func (pb *packetBuilder) udp(d udpDatagram) ([]byte, int) {
	src, dst := ipPair(d.src, d.dst)
	size := max(d.size, len(d.payload))
	l4 := udpLen + size
	var h [udpLen]byte
	binary.BigEndian.PutUint16(h[0:], d.src.Port())
	binary.BigEndian.PutUint16(h[2:], d.dst.Port())
	binary.BigEndian.PutUint16(h[4:], uint16(l4))
	sum := finish(onesSum(onesSum(pseudoHeaderSum(src, dst, protoUDP, l4), h[:]), d.payload))
	if sum == 0 {
		sum = 0xFFFF // zero means "no checksum" (RFC 768)
	}
	binary.BigEndian.PutUint16(h[6:], sum)
	pb.buf = pb.appendIP(pb.buf[:0], src, dst, protoUDP, l4)
	pb.buf = append(pb.buf, h[:]...)
	pb.buf = append(pb.buf, d.payload...)
	return pb.buf, len(pb.buf) + size - len(d.payload)
}

// maxUDPPayload is the most one UDP datagram carries between src and dst.
func maxUDPPayload(src, dst netip.AddrPort) int {
	if s, _ := ipPair(src, dst); s.Is6() {
		return maxIPLen - udpLen
	}
	return maxIPLen - ipv4Len - udpLen
}

// appendIP appends the IPv4 or IPv6 header of a packet from src to dst
// whose protocol header and payload are l4 bytes long.
func (pb *packetBuilder) appendIP(b []byte, src, dst netip.Addr, proto uint8, l4 int) []byte {
	if src.Is6() {
		b = append(b, 0x60, 0, 0, 0) // version 6, no traffic class or flow label
		b = binary.BigEndian.AppendUint16(b, uint16(l4))
		b = append(b, proto, hopLimit)
		s, d := src.As16(), dst.As16()
		b = append(b, s[:]...)
		return append(b, d[:]...)
	}
	pb.ipID++
	start := len(b)
	b = append(b, 0x45, 0) // version 4, 20-byte header; no TOS
	b = binary.BigEndian.AppendUint16(b, uint16(ipv4Len+l4))
	b = binary.BigEndian.AppendUint16(b, pb.ipID)
	b = binary.BigEndian.AppendUint16(b, 0x4000) // don't fragment
	b = append(b, hopLimit, proto, 0, 0)         // checksum below
	s, d := src.As4(), dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[start+10:], finish(onesSum(0, b[start:])))
	return b
}

// ipPair is the addresses of a packet from src to dst in one family:
// IPv4 when both are IPv4 (or IPv4-mapped), else IPv6, with an IPv4
// address mapped.
func ipPair(src, dst netip.AddrPort) (netip.Addr, netip.Addr) {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if !s.IsValid() {
		s = netip.IPv4Unspecified()
	}
	if !d.IsValid() {
		d = netip.IPv4Unspecified()
	}
	if s.Is4() && d.Is4() {
		return s, d
	}
	return netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16())
}

// pseudoHeaderSum is the one's complement sum of the pseudo-header TCP and
// UDP checksums cover (RFC 793, RFC 8200 §8.1).
func pseudoHeaderSum(src, dst netip.Addr, proto uint8, l4 int) uint64 {
	var b []byte
	if src.Is6() {
		s, d := src.As16(), dst.As16()
		b = append(append(b, s[:]...), d[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(l4))
		b = append(b, 0, 0, 0, proto)
	} else {
		s, d := src.As4(), dst.As4()
		b = append(append(b, s[:]...), d[:]...)
		b = append(b, 0, proto)
		b = binary.BigEndian.AppendUint16(b, uint16(l4))
	}
	return onesSum(0, b)
}

// onesSum adds b, as big-endian 16-bit words, to the running sum of the
// Internet checksum (RFC 1071). Only the last piece summed may have an odd
// length: its last byte is padded with a zero.
func onesSum(sum uint64, b []byte) uint64 {
	for len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// finish folds a running sum into the checksum: the one's complement of
// the one's complement sum.
func finish(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}
