package services

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

const framingMaxMessage = 64 << 10 // bytes, not counting the newline

// newFraming shows stream framing: TCP delivers bytes, not messages, and
// here a newline ends a message. Each message gets one answer line,
//
//	"hello\n"   -> "5 bytes: hello\n"
//	"hello\r\n" -> "5 bytes: hello\n" ("\r\n" ends a message too; its "\r" is not counted)
//	"a\n"       -> "1 byte: a\n"
//	"\n"        -> "0 bytes: \n"
//
// however the bytes were split into writes or reads: two messages in one
// write get two answers, one message in two writes gets one. A message over
// 64 KiB gets "! message too long: over 65536 bytes before a newline; it
// was dropped\n". When the client closes, an unterminated last message gets
// "3 bytes without a newline before EOF: abc\n" and the connection closes.
func newFraming(settings) service {
	return service{
		tcp:      serveFraming,
		tcpAbout: "Answers each newline-terminated message with its length: how to find messages in a byte stream.",
	}
}

func serveFraming(_ context.Context, c net.Conn) {
	br := bufio.NewReaderSize(c, framingMaxMessage+2)
	bw := bufio.NewWriter(c)
	for {
		msg, _, err := readLine(br, framingMaxMessage)
		switch {
		case errors.Is(err, errLineTooLong):
			fmt.Fprintf(bw, "! message too long: over %d bytes before a newline; it was dropped\n", framingMaxMessage)
		case errors.Is(err, io.EOF):
			if len(msg) > 0 {
				fmt.Fprintf(bw, "%s without a newline before EOF: %s\n", plural(len(msg), "byte"), msg)
			}
			bw.Flush()
			finish(c)
			return
		case err != nil:
			return
		default:
			fmt.Fprintf(bw, "%s: %s\n", plural(len(msg), "byte"), msg)
		}
		// Answer everything read so far before waiting for more.
		if br.Buffered() == 0 && bw.Flush() != nil {
			return
		}
	}
}
