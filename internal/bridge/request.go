package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// Request is one decoded, validated request.
type Request struct {
	ID      string
	Op      string
	Sock    int
	Host    string
	Port    int
	Family  string
	Timeout time.Duration
	How     string
	Now     bool
	Data    []byte // owned by the Request

	Proto      string // proxy: "tcp" or "udp"
	TargetHost string // proxy: where to forward
	TargetPort int
	Knobs      session.Knobs // proxy, proxy_set

	// Step mode (protocol.md §4.14).
	Option  string // setsockopt
	Value   int    // setsockopt
	Backlog int    // listen with sock; -1 when absent
	N       int    // recv, recvfrom
	// HasTimeout tells settimeout's timeout_ms (Timeout, 0 for
	// non-blocking) from its absence (blocking).
	HasTimeout bool

	// Lessons (protocol.md §4.15).
	Lesson string // lesson, answer: the lesson's id ("" stops the lesson)
	Step   int    // answer: the step answered, from 1
	Answer string // answer: what the learner said

	// Sharing (protocol.md §15.4).
	Expires time.Duration // share: how long the link lasts (0: the default)
	Link    string        // unshare: the link's name

	// The toolkit (protocol.md §16).
	TLS      *session.TLSArgs  // connect with tls
	Template *session.Template // data spelled as a template (send, sendto, repeat); nil otherwise
	Spelled  session.Spelled   // data as the request spelled it ("" Kind for a binary message)
	Count    int               // repeat: 0 means until stopped
	Interval time.Duration     // repeat
	Rule     session.RuleArgs  // respond
	RuleNum  int               // unrespond
	Group    string            // join, leave
	Iface    string            // join, leave, setsockopt IP_MULTICAST_IF
}

// RequestError is why a message is not a valid request, with whatever of
// the request could be read, so the error event can name it.
type RequestError struct {
	ID   string
	Op   string
	Sock int
	Err  *session.Error
}

func (e *RequestError) Error() string { return e.Err.Error() }

// MaxHeader is the largest JSON header a binary message may have.
const MaxHeader = 64 << 10

// wire is a request as JSON spells it. Pointers tell "absent" from zero.
type wire struct {
	ID      json.RawMessage `json:"id"`
	Op      *string         `json:"op"`
	Sock    *int64          `json:"sock"`
	Host    *string         `json:"host"`
	Port    *int64          `json:"port"`
	Family  *string         `json:"family"`
	Timeout *int64          `json:"timeout_ms"`
	How     *string         `json:"how"`
	Now     *bool           `json:"now"`
	Data    *Payload        `json:"data"`

	Proto      *string        `json:"proto"`
	TargetHost *string        `json:"target_host"`
	TargetPort *int64         `json:"target_port"`
	Knobs      *session.Knobs `json:"knobs"`

	Type    *string `json:"type"`
	Option  *string `json:"option"`
	Value   *int64  `json:"value"`
	Backlog *int64  `json:"backlog"`
	N       *int64  `json:"n"`

	Lesson *string `json:"lesson"`
	Step   *int64  `json:"step"`
	Answer *string `json:"answer"`

	Expires *int64  `json:"expires_s"`
	Link    *string `json:"link"`

	TLS      *wireTLS `json:"tls"`
	Count    *int64   `json:"count"`
	Interval *int64   `json:"interval_ms"`
	Match    *string  `json:"match"`
	Pattern  *Payload `json:"pattern"`
	Reply    *Payload `json:"reply"`
	Rule     *int64   `json:"rule"`
	Group    *string  `json:"group"`
	Iface    *string  `json:"iface"`
}

// wireTLS is connect's "tls" object as JSON spells it.
type wireTLS struct {
	SNI    *string  `json:"sni"`
	Verify *bool    `json:"verify"`
	ALPN   []string `json:"alpn"`
}

// fields lists, per operation, the fields it needs and the ones it may have.
var ops = map[string]struct{ need, may []string }{
	"connect":  {need: []string{"host", "port"}, may: []string{"family", "timeout_ms", "tls"}},
	"listen":   {need: []string{"host", "port"}, may: []string{"family"}},
	"bind":     {need: []string{"host", "port"}, may: []string{"family"}},
	"send":     {need: []string{"sock", "data"}},
	"sendto":   {need: []string{"sock", "host", "port", "data"}, may: []string{"family"}},
	"shutdown": {need: []string{"sock", "how"}},
	"close":    {need: []string{"sock"}, may: []string{"now"}},

	"proxy":       {need: []string{"proto", "host", "port", "target_host", "target_port"}, may: []string{"family", "knobs"}},
	"proxy_set":   {need: []string{"sock", "knobs"}},
	"proxy_reset": {need: []string{"sock"}},

	"socket":     {need: []string{"type"}, may: []string{"family"}},
	"setsockopt": {need: []string{"sock", "option"}, may: []string{"value", "iface"}},
	"settimeout": {need: []string{"sock"}, may: []string{"timeout_ms"}},
	"accept":     {need: []string{"sock"}},
	"recv":       {need: []string{"sock", "n"}},
	"recvfrom":   {need: []string{"sock", "n"}},
	"cancel":     {need: []string{"sock"}},
	"step":       {need: []string{"sock"}},

	"lesson": {need: []string{"lesson"}},
	"answer": {need: []string{"lesson", "step", "answer"}},

	"share":   {may: []string{"expires_s"}},
	"unshare": {need: []string{"link"}},
	"shares":  {},
	"end":     {},

	"repeat":    {need: []string{"sock", "data"}, may: []string{"count", "interval_ms", "host", "port", "family"}},
	"stop":      {need: []string{"sock"}},
	"respond":   {need: []string{"sock", "match", "pattern", "reply"}},
	"unrespond": {need: []string{"sock", "rule"}},
	"join":      {need: []string{"sock", "group"}, may: []string{"iface"}},
	"leave":     {need: []string{"sock", "group"}, may: []string{"iface"}},
}

// stepOps are the step-mode forms of operations that live mode also has:
// with "sock", they are calls on that socket (protocol.md §4.14).
var stepOps = map[string]struct{ need, may []string }{
	"bind":    {need: []string{"sock", "host", "port"}},
	"listen":  {need: []string{"sock"}, may: []string{"backlog"}},
	"connect": {need: []string{"sock", "host", "port"}},
}

// fieldOrder is the order fields are checked in, so errors are repeatable.
var fieldOrder = []string{"sock", "type", "proto", "host", "port", "target_host", "target_port", "family", "timeout_ms", "how", "now", "knobs", "option", "value", "backlog", "n", "lesson", "step", "answer", "expires_s", "link", "tls", "count", "interval_ms", "match", "pattern", "reply", "rule", "group", "iface", "data"}

// MaxTimeout is the longest connect timeout a request may ask for.
const MaxTimeout = 2 * time.Minute

// Decode decodes one WebSocket message. A text message is a JSON request. A
// binary message is a 4-byte big-endian header length, that many bytes of
// JSON request without "data", then the payload bytes.
func Decode(binaryMsg bool, msg []byte) (*Request, *RequestError) {
	var payload []byte
	hasPayload := false
	if binaryMsg {
		if len(msg) < 4 {
			return nil, reqErr(session.CodeBadRequest, "binary message is %d bytes; it must start with a 4-byte header length", len(msg))
		}
		n := binary.BigEndian.Uint32(msg)
		if n > MaxHeader || uint64(n) > uint64(len(msg)-4) {
			return nil, reqErr(session.CodeBadRequest, "binary message header length %d does not fit the message (%d bytes after the length)", n, len(msg)-4)
		}
		payload = bytes.Clone(msg[4+n:])
		if payload == nil {
			payload = []byte{}
		}
		msg = msg[4 : 4+n]
		hasPayload = true
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, w.named(jsonErr(err))
	}
	if dec.More() {
		return nil, w.named(reqErr(session.CodeBadRequest, "a message must hold exactly one JSON object"))
	}
	r := &Request{}
	re := &RequestError{}
	fail := func(code session.Code, format string, args ...any) (*Request, *RequestError) {
		re.ID, re.Op, re.Sock = r.ID, r.Op, r.Sock
		re.Err = session.Errorf(code, format, args...)
		return nil, re
	}
	if len(w.ID) > 0 {
		id, ok := decodeID(w.ID)
		if !ok {
			return fail(session.CodeBadField, `"id" must be a string or a number of at most 64 bytes`)
		}
		r.ID = id
	}
	if w.Sock != nil && *w.Sock > 0 {
		r.Sock = int(*w.Sock)
	}
	if w.Op == nil {
		return fail(session.CodeMissingField, `missing field "op"`)
	}
	r.Op = *w.Op
	spec, ok := ops[r.Op]
	if !ok {
		return fail(session.CodeUnknownOp, "unknown operation %q (known: %s)", r.Op, knownOps)
	}
	if step, ok := stepOps[r.Op]; ok && w.Sock != nil {
		spec = step
	}
	present := map[string]bool{
		"sock": w.Sock != nil, "host": w.Host != nil, "port": w.Port != nil, "family": w.Family != nil,
		"timeout_ms": w.Timeout != nil, "how": w.How != nil, "now": w.Now != nil, "data": w.Data != nil || hasPayload,
		"proto": w.Proto != nil, "target_host": w.TargetHost != nil, "target_port": w.TargetPort != nil, "knobs": w.Knobs != nil,
		"type": w.Type != nil, "option": w.Option != nil, "value": w.Value != nil, "backlog": w.Backlog != nil, "n": w.N != nil,
		"lesson": w.Lesson != nil, "step": w.Step != nil, "answer": w.Answer != nil,
		"expires_s": w.Expires != nil, "link": w.Link != nil,
		"tls": w.TLS != nil, "count": w.Count != nil, "interval_ms": w.Interval != nil, "match": w.Match != nil,
		"pattern": w.Pattern != nil, "reply": w.Reply != nil, "rule": w.Rule != nil, "group": w.Group != nil, "iface": w.Iface != nil,
	}
	if r.Op == "respond" && hasPayload {
		// A binary respond carries its reply after the header.
		present["data"], present["reply"] = false, true
		if w.Reply != nil {
			return fail(session.CodeBadField, `a binary message carries its payload after the header, so the header must not have "reply"`)
		}
	}
	for _, f := range spec.need {
		if !present[f] {
			return fail(session.CodeMissingField, "%s needs field %q", r.Op, f)
		}
	}
	for _, f := range fieldOrder {
		if present[f] && !contains(spec.need, f) && !contains(spec.may, f) {
			return fail(session.CodeBadField, "%s does not take field %q", r.Op, f)
		}
	}
	if hasPayload && w.Data != nil {
		return fail(session.CodeBadField, `a binary message carries its payload after the header, so the header must not have "data"`)
	}
	if w.Sock != nil && *w.Sock <= 0 {
		return fail(session.CodeBadField, `"sock" must be a socket id (a positive number), not %d`, *w.Sock)
	}
	if w.Proto != nil {
		r.Proto = *w.Proto
		if r.Proto != "tcp" && r.Proto != "udp" {
			return fail(session.CodeBadField, `"proto" must be "tcp" or "udp", not %q`, r.Proto)
		}
	}
	if w.Host != nil {
		r.Host = *w.Host
		if !validHost(r.Host) {
			return fail(session.CodeBadField, `"host" must be an IP address or a host name (1–253 characters, no spaces), not %q`, r.Host)
		}
	}
	if w.TargetHost != nil {
		r.TargetHost = *w.TargetHost
		if !validHost(r.TargetHost) {
			return fail(session.CodeBadField, `"target_host" must be an IP address or a host name (1–253 characters, no spaces), not %q`, r.TargetHost)
		}
	}
	if w.TargetPort != nil {
		if p := *w.TargetPort; p < 1 || p > 65535 {
			return fail(session.CodePortRange, "target port %d is out of range: a proxy forwards to 1–65535", p)
		}
		r.TargetPort = int(*w.TargetPort)
	}
	if w.Knobs != nil {
		r.Knobs = *w.Knobs
	}
	if w.Port != nil {
		p, min := *w.Port, int64(0)
		if r.Op == "connect" || r.Op == "sendto" || r.Op == "repeat" {
			min = 1
		}
		if p < min || p > 65535 {
			return fail(session.CodePortRange, "port %d is out of range: %s needs %d–65535", p, r.Op, min)
		}
		r.Port = int(p)
	}
	if w.Family != nil {
		r.Family = *w.Family
		if r.Family != "ip4" && r.Family != "ip6" {
			return fail(session.CodeBadField, `"family" must be "ip4" or "ip6", not %q`, r.Family)
		}
	}
	if w.Timeout != nil && r.Op == "settimeout" {
		t := time.Duration(*w.Timeout) * time.Millisecond
		if t < 0 || t > MaxTimeout {
			return fail(session.CodeBadField, `"timeout_ms" must be between 0 (non-blocking) and %d, or absent (blocking), not %d`, MaxTimeout.Milliseconds(), *w.Timeout)
		}
		r.Timeout, r.HasTimeout = t, true
	} else if w.Timeout != nil {
		t := time.Duration(*w.Timeout) * time.Millisecond
		if t <= 0 || t > MaxTimeout {
			return fail(session.CodeBadField, `"timeout_ms" must be between 1 and %d, not %d`, MaxTimeout.Milliseconds(), *w.Timeout)
		}
		r.Timeout = t
	}
	if w.How != nil {
		r.How = *w.How
		if r.How != "read" && r.How != "write" && r.How != "both" {
			return fail(session.CodeBadField, `"how" must be "read", "write" or "both", not %q`, r.How)
		}
	}
	if w.Now != nil {
		r.Now = *w.Now
	}
	if w.Type != nil {
		switch *w.Type {
		case "stream":
			r.Proto = "tcp"
		case "dgram":
			r.Proto = "udp"
		default:
			return fail(session.CodeBadField, `"type" must be "stream" (TCP) or "dgram" (UDP), not %q`, *w.Type)
		}
	}
	if w.Option != nil {
		r.Option = *w.Option
		if _, ok := session.Sockopts[r.Option]; !ok {
			return fail(session.CodeBadField, "unknown option %q (known: %s)", r.Option, knownSockopts)
		}
	}
	if r.Op == "setsockopt" {
		switch {
		case r.Option == "IP_MULTICAST_IF" && w.Value != nil:
			return fail(session.CodeBadField, `IP_MULTICAST_IF takes "iface" (an interface name, or "" for the kernel's choice), not "value"`)
		case r.Option == "IP_MULTICAST_IF" && w.Iface == nil:
			return fail(session.CodeMissingField, `setsockopt IP_MULTICAST_IF needs field "iface"`)
		case r.Option != "IP_MULTICAST_IF" && w.Iface != nil:
			return fail(session.CodeBadField, `only IP_MULTICAST_IF takes "iface"; %s takes "value"`, r.Option)
		case r.Option != "IP_MULTICAST_IF" && w.Value == nil:
			return fail(session.CodeMissingField, `setsockopt needs field "value"`)
		}
	}
	if w.Value != nil {
		lim := session.Sockopts[r.Option]
		if v := *w.Value; v < int64(lim.Min) || v > int64(lim.Max) {
			return fail(session.CodeBadField, "%s takes a value from %d to %d, not %d", r.Option, lim.Min, lim.Max, v)
		}
		r.Value = int(*w.Value)
	}
	r.Backlog = -1
	if w.Backlog != nil {
		if b := *w.Backlog; b < 0 || b > session.MaxBacklog {
			return fail(session.CodeBadField, `"backlog" must be between 0 and %d, not %d`, session.MaxBacklog, b)
		}
		r.Backlog = int(*w.Backlog)
	}
	if w.N != nil {
		if n := *w.N; n < 1 || n > session.MaxRecv {
			return fail(session.CodeBadField, `"n" must be between 1 and %d (the most bytes one %s may return), not %d`, session.MaxRecv, r.Op, n)
		}
		r.N = int(*w.N)
	}
	if w.Lesson != nil {
		r.Lesson = *w.Lesson
		l := learn.Find(r.Lesson)
		if l == nil && (r.Lesson != "" || r.Op == "answer") {
			return fail(session.CodeBadField, "there is no lesson %q (lessons: %s)", r.Lesson, lessonIDs())
		}
		if w.Step != nil {
			if st := *w.Step; st < 1 || st > int64(len(l.Steps)) || l.Steps[st-1].Ask == "" {
				return fail(session.CodeBadField, "step %d of lesson %q asks no question (questions: %s)", st, r.Lesson, questions(l))
			}
			r.Step = int(*w.Step)
		}
	}
	if w.Answer != nil {
		r.Answer = *w.Answer
		if len(r.Answer) > MaxAnswer || !utf8.ValidString(r.Answer) {
			return fail(session.CodeBadField, `"answer" must be UTF-8 text of at most %d bytes`, MaxAnswer)
		}
	}
	if w.Expires != nil {
		if e := *w.Expires; e < 1 || e > int64(MaxLinkLife/time.Second) {
			return fail(session.CodeBadField, `"expires_s" must be between 1 and %d seconds, not %d`, int64(MaxLinkLife/time.Second), e)
		}
		r.Expires = time.Duration(*w.Expires) * time.Second
	}
	if w.Link != nil {
		r.Link = *w.Link
		if r.Link == "" || len(r.Link) > 16 {
			return fail(session.CodeBadField, `"link" must name a watch link, such as "w1"`)
		}
	}
	if err := r.toolkit(&w); err != nil {
		re.ID, re.Op, re.Sock, re.Err = r.ID, r.Op, r.Sock, err
		return nil, re
	}
	switch {
	case hasPayload && r.Op == "respond":
		r.Rule.Reply = session.Literal(payload)
		r.Rule.ReplySpelled = session.Spelled{Kind: "base64", Text: base64.StdEncoding.EncodeToString(payload)}
		if len(payload) > session.MaxReply {
			return fail(session.CodeTooLarge, "the reply is %d bytes; a responder's reply may be at most %d", len(payload), session.MaxReply)
		}
	case hasPayload:
		r.Data = payload
	case w.Data != nil && w.Data.Template != nil:
		t, err := w.Data.template("data")
		if err != nil {
			re.ID, re.Op, re.Sock, re.Err = r.ID, r.Op, r.Sock, err
			return nil, re
		}
		r.Template, r.Spelled = t, session.Spelled{Kind: "template", Text: *w.Data.Template}
	case w.Data != nil:
		b, err := w.Data.Bytes()
		if err != nil {
			re.ID, re.Op, re.Sock, re.Err = r.ID, r.Op, r.Sock, err
			return nil, re
		}
		r.Data, r.Spelled = b, w.Data.spelled()
	}
	return r, nil
}

const knownOps = "connect, listen, bind, send, sendto, shutdown, close, proxy, proxy_set, proxy_reset, socket, setsockopt, settimeout, accept, recv, recvfrom, cancel, step, lesson, answer, share, unshare, shares, end, repeat, stop, respond, unrespond, join, leave"

const knownSockopts = "SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, IP_TTL, SO_LINGER, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF"

// MaxAnswer is the longest answer to a lesson's question, in bytes.
const MaxAnswer = 256

// lessonIDs lists the lessons, for an error message.
func lessonIDs() string {
	var ids []string
	for _, l := range learn.All() {
		ids = append(ids, l.ID)
	}
	return strings.Join(ids, ", ")
}

// questions lists the steps of l that ask a question.
func questions(l *learn.Lesson) string {
	var out []string
	for i, s := range l.Steps {
		if s.Ask != "" {
			out = append(out, strconv.Itoa(i+1))
		}
	}
	if out == nil {
		return "none"
	}
	return strings.Join(out, ", ")
}

func validHost(h string) bool {
	return h != "" && len(h) <= 253 && !strings.ContainsAny(h, " \t\r\n/")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func decodeID(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, len(s) <= 64
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), len(n) <= 64
	}
	return "", false
}

// named fills in what of the request w could be read, so the error event
// names it. encoding/json goes on decoding after a wrongly typed or unknown
// field, so id, op and sock are usually known even then.
func (w *wire) named(re *RequestError) *RequestError {
	if id, ok := decodeID(w.ID); ok && len(w.ID) > 0 {
		re.ID = id
	}
	if w.Op != nil {
		re.Op = *w.Op
	}
	if w.Sock != nil && *w.Sock > 0 {
		re.Sock = int(*w.Sock)
	}
	return re
}

func reqErr(code session.Code, format string, args ...any) *RequestError {
	return &RequestError{Err: session.Errorf(code, format, args...)}
}

// jsonErr explains a JSON decoding error in terms of the request.
func jsonErr(err error) *RequestError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := map[string]string{"id": "a string or a number", "op": "a string", "sock": "a whole number",
			"host": "a string", "port": "a whole number", "family": "a string", "timeout_ms": "a whole number",
			"how": "a string", "now": "true or false", "data": "an object",
			"proto": "a string", "target_host": "a string", "target_port": "a whole number", "knobs": "an object",
			"type": "a string", "option": "a string", "value": "a whole number", "backlog": "a whole number", "n": "a whole number",
			"lesson": "a string", "step": "a whole number", "answer": "a string",
			"expires_s": "a whole number", "link": "a string",
			"tls": "an object", "tls.sni": "a string", "tls.verify": "true or false", "tls.alpn": "a list of strings",
			"count": "a whole number", "interval_ms": "a whole number", "match": "a string", "pattern": "an object",
			"reply": "an object", "rule": "a whole number", "group": "a string", "iface": "a string",
			"pattern.text": "a string", "pattern.hex": "a string", "pattern.escaped": "a string", "pattern.base64": "a string", "pattern.template": "a string",
			"reply.text": "a string", "reply.hex": "a string", "reply.escaped": "a string", "reply.base64": "a string", "reply.template": "a string",
			"data.template":    "a string",
			"knobs.latency_ms": "a whole number", "knobs.jitter_ms": "a whole number", "knobs.bandwidth": "a whole number",
			"knobs.split": "a whole number", "knobs.split_gap_ms": "a whole number", "knobs.coalesce_ms": "a whole number",
			"knobs.loss": "a number from 0 to 1", "knobs.reorder": "a number from 0 to 1",
			"data.text": "a string", "data.hex": "a string", "data.escaped": "a string", "data.base64": "a string"}[typeErr.Field]
		if want == "" {
			return reqErr(session.CodeBadRequest, "a request must be a JSON object")
		}
		return reqErr(session.CodeBadField, "field %q must be %s, not a JSON %s", typeErr.Field, want, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return reqErr(session.CodeBadRequest, "not valid JSON (at byte %d): %v", syntaxErr.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return reqErr(session.CodeBadField, "unknown field %q", f)
	}
	return reqErr(session.CodeBadRequest, "not a valid request: %v", fmt.Sprint(err))
}
