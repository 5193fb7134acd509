package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/socketplayground/playground/internal/session"
)

// LogFormat and LogVersion name the JSON lines format of a session's log
// (docs/protocol.md §13): a header line, then one event per line as the
// protocol spells it, with its bytes, if any, in "data" (base64).
const (
	LogFormat  = "socket-playground-log"
	LogVersion = 1
)

// LogHeader is a log file's first line.
type LogHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Session string `json:"session,omitempty"`
	// First is the first event in the file, when earlier ones were no
	// longer kept, and Sockets the state they left every open socket in
	// (docs/protocol.md §15.3 and §15.6).
	First   uint64              `json:"first,omitempty"`
	Sockets []session.SockState `json:"sockets,omitempty"`
}

// line is an event as a log file spells it.
type line struct {
	*session.Event
	Data []byte `json:"data,omitempty"`
}

// WriteLog writes a session's events as JSON lines.
func WriteLog(w io.Writer, sessionID string, evs []*session.Event) error {
	return WriteLogWith(w, LogHeader{Session: sessionID}, evs)
}

// WriteLogWith writes a session's events as JSON lines under header h,
// whose format and version it fills in.
func WriteLogWith(w io.Writer, h LogHeader, evs []*session.Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	h.Format, h.Version = LogFormat, LogVersion
	if err := enc.Encode(h); err != nil {
		return err
	}
	for _, e := range evs {
		if err := enc.Encode(line{Event: e, Data: e.Data}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// MaxLogLine is the longest line ReadLog accepts: an event with a 1 MiB
// payload in base64, and room to spare.
const MaxLogLine = 4 << 20

// ReadLog reads a log written by WriteLog.
func ReadLog(r io.Reader) (LogHeader, []*session.Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLogLine)
	var h LogHeader
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, nil, err
		}
		return h, nil, errors.New("an empty log: the first line must be its header")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("line 1, the header: %w", err)
	}
	if h.Format != LogFormat {
		return h, nil, fmt.Errorf("line 1: the format is %q, not %q", h.Format, LogFormat)
	}
	if h.Version != LogVersion {
		return h, nil, fmt.Errorf("line 1: version %d of the format; this reads version %d", h.Version, LogVersion)
	}
	var evs []*session.Event
	for n := 2; sc.Scan(); n++ {
		l := line{Event: &session.Event{}}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return h, evs, fmt.Errorf("line %d: %w", n, err)
		}
		l.Event.Data = l.Data
		evs = append(evs, l.Event)
	}
	return h, evs, sc.Err()
}
