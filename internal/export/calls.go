package export

import (
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

// MaxCalls is the most per-call snippets Calls and Render return: the
// latest ones. The whole programs always have every call.
const MaxCalls = 2000

// Snippet is one call of the session in both languages, as the page's
// Code tab shows it: the call alone, with its outcome as a comment and a
// long payload cut short.
type Snippet struct {
	Seq  uint64 `json:"seq"` // the event: the call, or what live mode did
	Sock int    `json:"sock,omitempty"`
	Op   string `json:"op"`
	Auto bool   `json:"auto,omitempty"` // live mode made it by itself
	// Status is how the call ended in the session: "ok", "failed" (as a
	// program's would: Error says how), "not_done" (the playground refused
	// it), "cancelled", "pending" (no answer yet), "blocked" (still
	// waiting), or "note" (not a call a program makes).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"` // the errno name or the code, when failed
	Python string `json:"python"`
	Go     string `json:"go"`
}

// Code is the session in code: the latest calls, and the whole programs.
type Code struct {
	Calls  []Snippet `json:"calls"`
	Total  int       `json:"total"` // how many calls the log has; Calls holds the latest MaxCalls
	Python string    `json:"python"`
	Go     string    `json:"go"`
}

// Calls returns the session's latest MaxCalls calls, oldest first, as
// Python and Go snippets.
func Calls(evs []*session.Event) []Snippet {
	s, _ := calls(walk(evs))
	return s
}

// Render returns the session in code: Calls, Python and Go at once, from
// one walk over the log.
func Render(evs []*session.Event) Code {
	p := walk(evs)
	c := Code{Python: python(p), Go: golang(p)}
	c.Calls, c.Total = calls(p)
	return c
}

// calls renders the latest MaxCalls snippets of p and counts them all.
func calls(p *program) ([]Snippet, int) {
	total := 0
	for _, st := range p.stmts {
		if snippet(st) {
			total++
		}
	}
	out := make([]Snippet, 0, min(total, MaxCalls))
	skip := total - MaxCalls
	py := &pyWriter{}
	for _, st := range p.stmts {
		if !snippet(st) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		s := Snippet{Seq: st.seq, Op: st.op, Auto: st.auto, Status: statusName(st),
			Python: strings.Join(py.stmt(st, true), "\n"),
			Go:     strings.Join(newGoWriter().stmt(st, true), "\n")}
		if st.sock != nil {
			s.Sock = st.sock.id
		}
		if st.status == stFailed {
			s.Error = st.fail.name()
		}
		out = append(out, s)
	}
	return out, total
}

func statusName(st *stmt) string {
	if st.kind == kNote {
		return "note"
	}
	switch st.status {
	case stFailed:
		return "failed"
	case stNotDone:
		return "not_done"
	case stCancelled:
		return "cancelled"
	case stPending:
		return "pending"
	case stBlocked:
		return "blocked"
	}
	return "ok"
}
