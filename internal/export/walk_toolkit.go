package export

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/socketplayground/playground/internal/session"
)

// The toolkit's operations (protocol.md §16) in the walk. A program has no
// repeats and no responders: what they sent is in the log as sent events,
// and the program sends the same bytes.
//
//   - A repeat's sends become loops (kRepeat): the sends that follow one
//     another in the log with no other statement between them are one
//     loop, so the program sends in the order the session did. A loop also
//     ends when what live mode read meanwhile grows past a few datagrams or
//     bytes, so the program reads it before the kernel's receive buffer
//     fills (a UDP socket's would drop datagrams the program then waits for).
//   - A responder's firing is the send or sendto it was, with a remark that
//     says which rule fired on which event, and why.
//   - respond, unrespond and stop are notes.

// Most of what live mode read that a repeat's loop may leave to be received
// after it.
const (
	loopPendingReads = 64
	loopPendingBytes = 64 << 10
)

// repInfo is one repeat the log shows started.
type repInfo struct {
	seq      uint64 // its call event
	host     string // UDP: where each datagram went, as asked
	port     int
	to       *target // made from host and port with the first send's peer
	interval time.Duration
	count    int    // sends asked for; 0: until stopped
	template string // the template's text; "" for bytes
	// answer is the repeat's own answer (its result or error), if the log
	// has it.
	answer *session.Event
	// mark is the event of its last send so far (at first, its call):
	// what live mode read before it can be received before the next send.
	mark uint64
}

// repRun is one loop of a repeat's sends: sends first to last, and the
// bytes of each.
type repRun struct {
	info        *repInfo
	first, last int
	datas       [][]byte
}

// ruleKey names a responder rule: its socket and its number there.
type ruleKey struct{ sock, num int }

// ruleInfo is a responder rule as respond asked for it.
type ruleInfo struct {
	sock    *sockVar
	num     int
	match   string
	pattern session.Spelled
	reply   session.Spelled
}

// firing is what caused a responder's send.
type firing struct {
	rule  int
	cause uint64    // the data event it matched
	info  *ruleInfo // nil when the rule was added before the log's first event
}

// repeatCall takes a repeat's call. Its sends make the loops; only a repeat
// that made no send at all is a statement of its own (a note), and then
// repeatCall reports true.
func (w *walker) repeatCall(st *stmt, e *session.Event, a *answer) bool {
	info := &repInfo{seq: e.Seq, host: e.Host, port: e.Port, count: e.Count, template: e.Template,
		interval: time.Duration(e.Interval) * time.Millisecond, answer: a.final(), mark: e.Seq}
	w.reps[answerKey{e.ID, "repeat", e.Sock}] = info
	clear(w.streams) // what is read from here on may answer its sends
	f := info.answer
	if f == nil || f.Count > 0 {
		return false
	}
	st.kind = kNote
	switch {
	case f.Type == session.TypeError:
		st.note = st.sockName() + ": repeat, not done: " + f.Message
	default:
		st.note = st.sockName() + ": repeat, stopped before its first send"
	}
	return true
}

// repeatSent takes one send of a repeat: the next of the loop the program
// is writing, or the first of a new one.
func (w *walker) repeatSent(e *session.Event) {
	key := answerKey{e.ID, "repeat", e.Sock}
	info := w.reps[key]
	if info == nil {
		// Its call is before the log's first event: what its sends were
		// is in their events (a datagram's destination too), so the
		// program still sends what the session sent.
		info = &repInfo{mark: e.Seq}
		if ap, err := netip.ParseAddrPort(e.Peer); err == nil {
			info.host, info.port = ap.Addr().Unmap().String(), int(ap.Port())
		}
		w.reps[key] = info
	}
	if info.host != "" && info.to == nil {
		info.to = w.target(info.host, info.port, hostOf(e.Peer))
	}
	// What live mode reads from now on may answer this send or a later
	// one: it starts reads of its own, and stays after this send.
	defer func() {
		info.mark = e.Seq
		clear(w.streams)
	}()
	if n := len(w.out.stmts); n > 0 {
		last := w.out.stmts[n-1]
		if last.kind == kRepeat && last.rep.info == info && last.rep.last == e.Repeat-1 && w.fewPending() {
			last.rep.add(e)
			return
		}
	}
	// A new loop: after what was read before the last send (or the
	// repeat's start), but not after what was read since: the echo of
	// this very send can be logged before its sent event.
	w.flushBefore(nil, info.mark)
	st := &stmt{seq: e.Seq, kind: kRepeat, op: "repeat", sock: w.sock(e.Sock), to: info.to,
		rep: &repRun{info: info, first: e.Repeat, last: e.Repeat - 1}, status: stOK, known: true}
	st.rep.add(e)
	w.check(st)
	w.out.stmts = append(w.out.stmts, st)
}

func (r *repRun) add(e *session.Event) {
	r.datas = append(r.datas, e.Data)
	r.last = e.Repeat
}

// fewPending reports whether what live mode read and the program has not
// received yet is little enough to leave until after a loop.
func (w *walker) fewPending() bool {
	n := 0
	for _, st := range w.pending {
		n += len(st.got)
	}
	return len(w.pending) < loopPendingReads && n < loopPendingBytes
}

// ends says how the repeat ended, if this loop is its last.
func (r *repRun) ends() string {
	f := r.info.answer
	if f == nil || f.Count != r.last {
		return ""
	}
	if f.Type == session.TypeError {
		return "then the repeat ended: " + f.Message
	}
	s := fmt.Sprintf("the repeat ended after %s, %d bytes", plural(f.Count, "send"), f.Len)
	if f.Reason != "" {
		s += " (" + f.Reason + ")"
	}
	return s
}

// respondCall takes a respond: a note that the program has no responders.
func (w *walker) respondCall(st *stmt, e *session.Event, a *answer) {
	st.kind = kNote
	f := a.final()
	if f == nil || f.Type != session.TypeResult || e.Pattern == nil || e.Reply == nil {
		st.note = st.sockName() + ": respond"
		if f != nil && f.Type == session.TypeError {
			st.note += " (not done: " + f.Message + ")"
		}
		return
	}
	r := &ruleInfo{sock: st.sock, num: f.Rule, match: e.Match, pattern: *e.Pattern, reply: *e.Reply}
	w.rules[ruleKey{e.Sock, f.Rule}] = r
	st.rule = r
}

// fired makes the firing of a responder's send.
func (w *walker) fired(e *session.Event) *firing {
	owner := e.Sock
	if e.Parent != 0 {
		owner = e.Parent // a listener's rule, firing on a connection it accepted
	}
	return &firing{rule: e.Rule, cause: e.Cause, info: w.rules[ruleKey{owner, e.Rule}]}
}

// ruleNote is respond's note: the rule, and that its firings are sends.
func ruleNote(r *ruleInfo, d dialect) string {
	return fmt.Sprintf("%s: responder rule %d: when what it receives %s, it replies %s, every time. The program has no responders: each firing is below, as the send it was",
		r.sock.name, r.num, matchText(r.match, r.pattern, d), spelledText(r.reply, d))
}

// firingRemark is the remark on a responder's send: which rule fired on
// which event, and why.
func firingRemark(f *firing, d dialect) string {
	s := fmt.Sprintf("responder %d fired on event %d", f.rule, f.cause)
	if f.info == nil {
		return s
	}
	switch p := f.info.pattern; f.info.match {
	case "regex":
		return s + ": the bytes matched the regular expression " + quoted(p.Text)
	case "equals":
		return s + ": the bytes were exactly " + spelledText(p, d)
	default:
		return s + ": the bytes contained " + spelledText(p, d)
	}
}

// matchText says what a rule looks for: "contains b'PING'".
func matchText(match string, p session.Spelled, d dialect) string {
	switch match {
	case "regex":
		return "matches the regular expression " + quoted(p.Text)
	case "equals":
		return "is exactly " + spelledText(p, d)
	}
	return "contains " + spelledText(p, d)
}

// spelledText is a payload as a remark shows it: its bytes, or a template's
// text.
func spelledText(p session.Spelled, d dialect) string {
	if p.Kind == "template" {
		return "the template " + quoted(p.Text)
	}
	if b, ok := spelledBytes(p); ok {
		return d.bytes(b)
	}
	return strconv.Quote(p.Text)
}

// spelledBytes decodes a payload as a request spelled it (protocol.md §4.3).
func spelledBytes(p session.Spelled) ([]byte, bool) {
	switch p.Kind {
	case "text":
		return []byte(p.Text), true
	case "hex":
		b, err := session.DecodeHex(p.Text)
		return b, err == nil
	case "escaped":
		b, err := session.DecodeEscaped(p.Text)
		return b, err == nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(p.Text)
		return b, err == nil
	}
	return nil, false
}

// tplPart is a piece of a template whose only placeholders are counters:
// text, or a counter in a format, counting from a number.
type tplPart struct {
	text    []byte
	counter bool
	form    string // "", "hex", "u8", "u16", "u32", "u64", "u16le", "u32le", "u64le"
	from    uint64
}

// counterTemplate parses a template whose only placeholders are counters,
// the ones a program can compute; ok is false for any other (a time or
// random bytes differ from run to run, so a program sends the bytes the
// session sent instead).
func counterTemplate(src string) (parts []tplPart, ok bool) {
	for len(src) > 0 {
		i := strings.Index(src, "{{")
		if i < 0 {
			i = len(src)
		}
		if i > 0 {
			text, err := session.DecodeEscaped(src[:i])
			if err != nil {
				return nil, false
			}
			parts = append(parts, tplPart{text: text})
		}
		src = src[i:]
		if src == "" {
			break
		}
		end := strings.Index(src, "}}")
		if end < 0 {
			return nil, false
		}
		words := strings.Fields(src[2:end])
		src = src[end+2:]
		if len(words) == 0 || words[0] != "counter" {
			return nil, false
		}
		p := tplPart{counter: true, from: 1}
		for _, w := range words[1:] {
			switch {
			case strings.HasPrefix(w, "from="):
				n, err := strconv.ParseUint(w[len("from="):], 10, 64)
				if err != nil {
					return nil, false
				}
				p.from = n
			case counterWidths[w] > 0 || w == "hex":
				p.form = w
			default:
				return nil, false
			}
		}
		parts = append(parts, p)
	}
	return parts, true
}

// counterWidths are the binary counter formats and their sizes in bytes.
var counterWidths = map[string]int{"u8": 1, "u16": 2, "u32": 4, "u64": 8, "u16le": 2, "u32le": 4, "u64le": 8}

// expand is what the program's code for parts makes for send number k.
func expand(parts []tplPart, k int) []byte {
	var out []byte
	for _, p := range parts {
		if !p.counter {
			out = append(out, p.text...)
			continue
		}
		v := p.from + uint64(k) - 1
		switch p.form {
		case "":
			out = strconv.AppendUint(out, v, 10)
		case "hex":
			out = strconv.AppendUint(out, v, 16)
		case "u8":
			out = append(out, byte(v))
		case "u16":
			out = binary.BigEndian.AppendUint16(out, uint16(v))
		case "u32":
			out = binary.BigEndian.AppendUint32(out, uint32(v))
		case "u64":
			out = binary.BigEndian.AppendUint64(out, v)
		case "u16le":
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		case "u32le":
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		case "u64le":
			out = binary.LittleEndian.AppendUint64(out, v)
		}
	}
	return out
}

// loopForm is how a loop's bytes are written.
type loopForm uint8

const (
	loopSame    loopForm = iota + 1 // every send the same bytes: one literal
	loopCounter                     // a template of counters: code that builds each send's bytes
	loopList                        // anything else: the bytes each send carried, in a list
)

// form chooses how a loop writes its bytes: the one literal when every send
// carried the same bytes; code that builds them when the template has only
// counters and that code makes exactly the bytes of each send, which is
// checked here; else the list of the bytes each send carried.
func (r *repRun) form() (loopForm, []tplPart) {
	same := true
	for _, d := range r.datas[1:] {
		if !bytes.Equal(d, r.datas[0]) {
			same = false
			break
		}
	}
	if same && (r.info.template == "" || len(r.datas) > 1) {
		return loopSame, nil
	}
	if parts, ok := counterTemplate(r.info.template); ok {
		for i, d := range r.datas {
			if !bytes.Equal(expand(parts, r.first+i), d) {
				return loopList, nil
			}
		}
		return loopCounter, parts
	}
	if same {
		return loopSame, nil
	}
	return loopList, nil
}

// loopRemark says what a loop is: "repeat (event 12): sends 1 to 5, 100 ms apart".
func loopRemark(st *stmt) string {
	r := st.rep
	s := fmt.Sprintf("repeat (event %d): ", r.info.seq)
	if r.info.seq == 0 {
		s = "repeat (its call is before the log's first event): "
	}
	if r.first == r.last {
		s += fmt.Sprintf("send %d", r.first)
	} else {
		s += fmt.Sprintf("sends %d to %d", r.first, r.last)
	}
	if r.info.count > 0 {
		s += fmt.Sprintf(" of %d", r.info.count)
	}
	if r.info.interval > 0 {
		s += ", " + seconds(r.info.interval) + " apart"
	}
	if r.info.template != "" {
		f, _ := r.form()
		switch f {
		case loopList:
			s += ", of the template " + quoted(r.info.template) + ": a time or random bytes differ from run to run, so the program sends the bytes each send carried in the session"
		default:
			s += ", of the template " + quoted(r.info.template)
		}
	}
	return join(s, r.ends())
}

// templateRemark is the remark on a send of a template: the bytes are the
// ones it expanded to in the session.
func templateRemark(st *stmt) string {
	if st.template == "" {
		return ""
	}
	return "the template " + quoted(st.template) + " expanded to these bytes in the session"
}

// quoted is text a request spelled (a template, a regular expression) as a
// comment shows it: between backquotes, as it was typed.
func quoted(text string) string { return "`" + comment(text) + "`" }

// plural is n things: "1 send", "3 sends".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
