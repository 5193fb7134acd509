package server

import (
	"encoding/json"
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
// They are the owner's reads: the session id in the URL is the unguessable
// secret the owner's page got in its hello message, so knowing it is
// knowing the session. Issue 8 (sharing) will revisit who may read them,
// when a session can be watched by others.

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

// sessionEvents returns the log of the session the URL names, or answers
// 404 if there is no such session (it ended, or never was).
func (s *server) sessionEvents(w http.ResponseWriter, r *http.Request) ([]*session.Event, bool) {
	sess, ok := s.ws.Session(chi.URLParam(r, "id"))
	if !ok {
		http.NotFound(w, r)
		return nil, false
	}
	return sess.Log().Snapshot(0), true
}

// download sends text as a file to save under name.
func download(w http.ResponseWriter, name, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.Write([]byte(text))
}
