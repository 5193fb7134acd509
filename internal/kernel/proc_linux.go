//go:build linux

package kernel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// procTick is the unit of the timer column in /proc/net/tcp: the kernel
// prints clock ticks (USER_HZ), which are 1/100 s on every architecture Go
// supports.
const procTick = 10 * time.Millisecond

// procFiles are read by listProc; tcp6 is missing on a kernel without IPv6.
var procFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// listProc lists TCP sockets from /proc/net/tcp and /proc/net/tcp6.
func listProc(f Filter) ([]Entry, error) {
	var out []Entry
	// The files are read a page at a time while sockets come and go, so
	// one socket can be listed twice: keep the first of a 4-tuple.
	seen := map[[2]netip.AddrPort]bool{}
	for i, name := range procFiles {
		file, err := os.Open(name)
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries, err := parseProcNet(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range entries {
			k := [2]netip.AddrPort{e.Local, e.Remote}
			if f.match(e) && !seen[k] {
				seen[k] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// parseProcNet decodes the text of /proc/net/tcp or /proc/net/tcp6: a
// header line, then one line per socket,
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
//
// with addresses as the hex of their 32-bit words in the kernel's byte
// order, ports, state and queues in hex, and the timer in clock ticks.
func parseProcNet(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "sl ") {
			continue
		}
		e, err := parseProcLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseProcLine(text string) (Entry, error) {
	fields := strings.Fields(text)
	if len(fields) < 10 {
		return Entry{}, fmt.Errorf("%d fields, want at least 10", len(fields))
	}
	local, err := parseProcAddr(fields[1])
	if err != nil {
		return Entry{}, fmt.Errorf("local address: %w", err)
	}
	remote, err := parseProcAddr(fields[2])
	if err != nil {
		return Entry{}, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(fields[3], 16, 8)
	if err != nil {
		return Entry{}, fmt.Errorf("state: %w", err)
	}
	tx, rx, err := parseHexPair(fields[4])
	if err != nil {
		return Entry{}, fmt.Errorf("queues: %w", err)
	}
	tr, when, err := parseHexPair(fields[5])
	if err != nil {
		return Entry{}, fmt.Errorf("timer: %w", err)
	}
	inode, err := strconv.ParseUint(fields[9], 10, 64)
	if err != nil {
		return Entry{}, fmt.Errorf("inode: %w", err)
	}
	e := Entry{
		State:     State(st),
		Local:     local,
		Remote:    remote,
		RecvQueue: recvQueue(State(st), uint32(rx)),
		SendQueue: int(uint32(tx)),
		Inode:     inode,
	}
	if e.State == StateListen {
		// tx_queue is 0 for a listener and rx_queue its accept queue; the
		// limit is not shown.
		e.SendQueue = 0
	}
	// Old kernels printed a timer already due as a negative number; a
	// real timer fits in 32 bits (497 days of ticks).
	if tr != 0 && when > 0 && when <= math.MaxUint32 {
		e.Timer = time.Duration(when) * procTick
	}
	return e, nil
}

// parseHexPair parses "hhhh:hhhh".
func parseHexPair(s string) (a, b uint64, err error) {
	x, y, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a pair", s)
	}
	if a, err = strconv.ParseUint(x, 16, 64); err != nil {
		return 0, 0, err
	}
	if b, err = strconv.ParseUint(y, 16, 64); err != nil {
		return 0, 0, err
	}
	return a, b, nil
}

// parseProcAddr parses "0100007F:1F90" (IPv4) or a 32-digit IPv6 address
// and a port. Each group of 8 digits is one 32-bit word as the kernel holds
// it in memory, so its bytes are in native order.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q has no port", s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port: %w", err)
	}
	if len(hexAddr) != 8 && len(hexAddr) != 32 {
		return netip.AddrPort{}, fmt.Errorf("address %q has %d digits, want 8 or 32", hexAddr, len(hexAddr))
	}
	var raw [16]byte
	for i := 0; i < len(hexAddr)/8; i++ {
		w, err := strconv.ParseUint(hexAddr[i*8:i*8+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address: %w", err)
		}
		binary.NativeEndian.PutUint32(raw[i*4:], uint32(w))
	}
	var addr netip.Addr
	if len(hexAddr) == 8 {
		addr = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		addr = netip.AddrFrom16(raw).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
