package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
)

// The session in code (docs/protocol.md, "The session in code"): its
// calls in Python and Go for the page's Code tab, and the whole session as
// a runnable script and program to download. All three are rendered from
// the session's event log, the only record of the bytes its sends carried.
//
// They are reads for whoever may see the session: the URL's key must be
// its owner key or the secret of a watch link valid now (§15.6). The
// session id alone names the session but grants nothing.

// handleCode serves GET /session/{id}/code.json: the calls, the script
// and the program.
func (s *server) handleCode(w http.ResponseWriter, r *http.Request) {
	evs, ok := s.sessionEvents(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(export.Render(evs)); err != nil {
		s.log.Debug("code.json not sent", "err", err)
	}
}

// handlePython serves GET /session/{id}/session.py: the session as a
// Python script, to save.
func (s *server) handlePython(w http.ResponseWriter, r *http.Request) {
	if evs, ok := s.sessionEvents(w, r); ok {
		download(w, "session.py", export.Python(evs))
	}
}

// handleGo serves GET /session/{id}/session.go: the session as a Go
// program, to save.
func (s *server) handleGo(w http.ResponseWriter, r *http.Request) {
	if evs, ok := s.sessionEvents(w, r); ok {
		download(w, "session.go", export.Go(evs))
	}
}

// maxReplayLog is the largest log POST /replay/code.json renders: hosted
// mode's budget is small, since anyone may post one.
func (s *server) maxReplayLog() int64 {
	if s.cfg.Mode == ModeHosted {
		return 4 << 20
	}
	return 64 << 20
}

// handleReplayCode serves POST /replay/code.json: the code of a log the
// page replays (its body, JSON lines as GET log.jsonl gives them), as
// GET code.json gives it for a live session. It keeps nothing.
func (s *server) handleReplayCode(w http.ResponseWriter, r *http.Request) {
	evs, ok := s.postedLog(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(export.Render(evs)); err != nil {
		s.log.Debug("replay code.json not sent", "err", err)
	}
}

// handleReplayCapture serves POST /replay/capture.pcapng: the capture of
// a log the page replays, so a recording someone sent can be opened in
// Wireshark too. It keeps nothing.
func (s *server) handleReplayCapture(w http.ResponseWriter, r *http.Request) {
	evs, ok := s.postedLog(w, r)
	if !ok {
		return
	}
	attachment(w, "application/vnd.tcpdump.pcap", "recording.pcapng")
	if err := export.PCAPNG(w, evs); err != nil {
		s.log.Debug("replay capture not sent", "err", err)
	}
}

// postedLog reads the log in a request's body, or answers why it cannot.
func (s *server) postedLog(w http.ResponseWriter, r *http.Request) ([]*session.Event, bool) {
	_, evs, err := export.ReadLog(http.MaxBytesReader(w, r.Body, s.maxReplayLog()))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("this log is over %d MiB: too big to render here", s.maxReplayLog()>>20), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "not a session log: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return evs, true
}

// handleLog serves GET /session/{id}/log.jsonl: the session's log as
// JSON lines (§13), to save and replay. A log whose start is no longer
// kept begins with the state it left the sockets in (§15.6).
func (s *server) handleLog(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.ws.Read(chi.URLParam(r, "id"), r.URL.Query().Get("key"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	first, socks, evs := sess.Log().History()
	h := export.LogHeader{Session: sess.ID()}
	if first > 1 {
		h.First, h.Sockets = first, socks
	}
	attachment(w, "application/x-ndjson", "session-"+sess.ID()[:8]+".jsonl")
	if err := export.WriteLogWith(w, h, evs); err != nil {
		s.log.Debug("log.jsonl not sent", "err", err)
	}
}

// handleCapture serves GET /session/{id}/capture.pcapng: the session's
// TCP and UDP traffic as packets, for Wireshark (§15.7).
func (s *server) handleCapture(w http.ResponseWriter, r *http.Request) {
	evs, ok := s.sessionEvents(w, r)
	if !ok {
		return
	}
	attachment(w, "application/vnd.tcpdump.pcap", "session-"+chi.URLParam(r, "id")[:8]+".pcapng")
	if err := export.PCAPNG(w, evs); err != nil {
		s.log.Debug("capture.pcapng not sent", "err", err)
	}
}

// sessionEvents returns the log of the session the URL names, or answers
// 404 if there is no such session (it ended, or never was) or the query's
// key is neither its owner key nor a watch link valid now (§15.6).
func (s *server) sessionEvents(w http.ResponseWriter, r *http.Request) ([]*session.Event, bool) {
	sess, ok := s.ws.Read(chi.URLParam(r, "id"), r.URL.Query().Get("key"))
	if !ok {
		http.NotFound(w, r)
		return nil, false
	}
	return sess.Log().Snapshot(0), true
}

// download sends text as a file to save under name.
func download(w http.ResponseWriter, name, text string) {
	attachment(w, "text/plain; charset=utf-8", name)
	w.Write([]byte(text))
}

// attachment sets the headers of a file to save under name.
func attachment(w http.ResponseWriter, contentType, name string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
}
