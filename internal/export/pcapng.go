package export

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/socketplayground/playground/internal/session"
)

// PCAPNG writes the TCP and UDP traffic of a session's log to w as a pcapng
// capture (docs/protocol.md §15.7): what a capture on the loopback interface
// would have shown, synthesized from the events. Each TCP connection has
// its three-way handshake, its data with correct sequence and
// acknowledgement numbers (every segment acknowledged), and the FIN or RST
// that ended it; each UDP datagram is one packet. Every packet carries a
// comment naming the socket call that produced it.
//
// Traffic between two of the session's own sockets appears once, taken
// from the sender's "sent" events. A log that lacks its first events (a
// trimmed one) still gives its traffic, though connections seen first
// after the start have no handshake. Bad-network proxies' relays are left
// out: the connections to and from a proxy are in the capture, each seen
// from the session's socket at its end.
//
// PCAPNG is a pure function of the events, linear in their number and in
// their bytes; any log, even a malformed one, gives a well-formed file. It
// returns the first error writing to w.
func PCAPNG(w io.Writer, evs []*session.Event) error {
	pw := newPcapWriter(w)
	pw.header()
	synthesize(evs, pw.packet)
	return pw.flush()
}

// Block types, option codes and the link type of the pcapng format
// (IETF draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A // Section Header Block
	blockIDB = 0x00000001 // Interface Description Block
	blockEPB = 0x00000006 // Enhanced Packet Block

	byteOrderMagic = 0x1A2B3C4D

	optEndOfOpt  = 0 // opt_endofopt
	optComment   = 1 // opt_comment: UTF-8 text
	optUserAppl  = 4 // shb_userappl: the application that wrote the file
	optIfName    = 2 // if_name
	optIfTsresol = 9 // if_tsresol: 6, microseconds (the default, said anyway)

	// linkTypeRaw is LINKTYPE_RAW: each packet starts with its IPv4 or
	// IPv6 header, told apart by its version.
	linkTypeRaw = 101

	// snapLen is the interface's snapshot length: 0, no limit.
	snapLen = 0
)

// pcapWriter writes pcapng blocks to a buffered writer, keeping the first
// error: once it has one, it writes nothing more.
type pcapWriter struct {
	w     *bufio.Writer
	err   error
	block []byte // the block being built, reused
	last  int64  // the last packet's time, µs: packets never go back in time
}

func newPcapWriter(w io.Writer) *pcapWriter {
	return &pcapWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// header writes the Section Header Block and the one interface, loopback
// with link type RAW and timestamps in microseconds.
func (p *pcapWriter) header() {
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, byteOrderMagic)
	body = binary.LittleEndian.AppendUint16(body, 1) // major version
	body = binary.LittleEndian.AppendUint16(body, 0) // minor version
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	body = appendOption(body, optUserAppl, []byte("Socket Playground"))
	body = appendOption(body, optEndOfOpt, nil)
	p.write(appendBlock(p.block[:0], blockSHB, body))

	body = body[:0]
	body = binary.LittleEndian.AppendUint16(body, linkTypeRaw)
	body = binary.LittleEndian.AppendUint16(body, 0) // reserved
	body = binary.LittleEndian.AppendUint32(body, snapLen)
	body = appendOption(body, optIfName, []byte("lo"))
	body = appendOption(body, optIfTsresol, []byte{6})
	body = appendOption(body, optEndOfOpt, nil)
	p.write(appendBlock(p.block[:0], blockIDB, body))
}

// packet writes one packet, an IP datagram of which the first len(data)
// bytes were captured out of origLen, at time t (µs since the epoch), with
// its comment.
func (p *pcapWriter) packet(t int64, data []byte, origLen int, comment string) {
	t = max(t, p.last, 0)
	p.last = t
	b := p.block[:0]
	b = binary.LittleEndian.AppendUint32(b, blockEPB)
	b = binary.LittleEndian.AppendUint32(b, 0) // total length, below
	b = binary.LittleEndian.AppendUint32(b, 0) // interface 0
	b = binary.LittleEndian.AppendUint32(b, uint32(uint64(t)>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(t))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(max(origLen, len(data))))
	b = appendPadded(b, data)
	b = appendOption(b, optComment, []byte(comment))
	b = appendOption(b, optEndOfOpt, nil)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(b)+4))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	p.block = b
	p.write(b)
}

func (p *pcapWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	if _, err := p.w.Write(b); err != nil {
		p.err = fmt.Errorf("pcapng: %w", err)
	}
}

func (p *pcapWriter) flush() error {
	if p.err != nil {
		return p.err
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}

// appendBlock appends a block of type typ around body, whose length must
// already be a multiple of 4: type, total length, body, total length.
func appendBlock(b []byte, typ uint32, body []byte) []byte {
	total := uint32(12 + len(body))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, total)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, total)
}

// appendOption appends an option: its code, its value's length, and the
// value padded to 32 bits. A value longer than an option can hold is cut.
func appendOption(b []byte, code uint16, value []byte) []byte {
	if len(value) > 0xFFFF-3 {
		value = value[:0xFFFF-3]
	}
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	return appendPadded(b, value)
}

// appendPadded appends data and the zero bytes that pad it to 32 bits.
func appendPadded(b, data []byte) []byte {
	var zeros [3]byte
	b = append(b, data...)
	return append(b, zeros[:pad4(len(data))]...)
}

// pad4 is how many bytes pad n bytes to a multiple of 4.
func pad4(n int) int { return (4 - n%4) % 4 }
