package server

import (
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/static"
	"github.com/socketplayground/playground/web"
)

// securityHeaders sets headers every response carries. The CSP allows only
// the playground's own scripts, styles and WebSocket: no inline code.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// allowedHost refuses a request whose Host header names a host not in
// Config.Hosts: a page from another site that rebinds its name to this
// machine's address still sends its own name, and is refused here, before
// any page or WebSocket.
func (s *server) allowedHost(next http.Handler) http.Handler {
	hosts := s.cfg.Hosts
	if hosts == nil {
		hosts = DefaultHosts
	}
	anyHost := slices.Contains(hosts, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if !anyHost && !slices.Contains(hosts, host) {
			s.log.Info("refused a request for another host", "host", r.Host)
			http.Error(w, "This playground does not answer for host "+strconv.Quote(r.Host)+". Open it as http://localhost or http://127.0.0.1, or start it with -hosts naming this host.", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 while the server takes new sessions, and 503
// once it is shutting down, so a load balancer stops sending people here.
func (s *server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("shutting down\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// handleToken gives the page a fresh token for its cookie: a page open
// across a server restart (a new signing key) fetches one before it
// reconnects. Only a same-origin page can read the answer.
func (s *server) handleToken(w http.ResponseWriter, r *http.Request) {
	cookie := s.pageCookie(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "{\"token\":%q}\n", s.tokens.token(cookie))
}

// handleIndex serves the page of a new session (GET /).
func (s *server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, web.PageConfig{Page: web.PageLive})
}

// handleSession serves the page of an existing session (GET /s/{id}),
// which resumes it with the owner key the page kept (docs/protocol.md §15).
func (s *server) handleSession(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, web.PageConfig{Page: web.PageLive, Session: chi.URLParam(r, "id")})
}

// handleWatch serves the page that watches a session through a watch link
// (GET /w/{watch}).
func (s *server) handleWatch(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, web.PageConfig{Page: web.PageWatch, Watch: chi.URLParam(r, "watch")})
}

// handleReplay serves the page that replays a downloaded log (GET /replay).
func (s *server) handleReplay(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, web.PageConfig{Page: web.PageReplay})
}

// page renders the page with cfg, which says which page it is.
func (s *server) page(w http.ResponseWriter, r *http.Request, cfg web.PageConfig) {
	cookie := s.pageCookie(w, r)
	cfg.WebSocketPath, cfg.Subprotocol, cfg.Protocol = wsPath, bridge.Subprotocol, bridge.Protocol
	cfg.Token = s.tokens.token(cookie)
	d := web.PageData{
		Version:     s.cfg.Version,
		Mode:        s.cfg.Mode,
		AssetPrefix: "/static/" + static.Version,
		Config:      cfg,
	}
	d.Lang = pageLang(r)
	d.Langs = pageLangs()
	d.Messages = learn.Messages(d.Lang)
	d.Lessons = learn.Page()
	if s.cfg.Mode == ModeHosted {
		first, last := s.policy.Pool()
		h := &web.Hosted{PoolFirst: int(first), PoolLast: int(last)}
		for _, r := range s.cfg.Policy.Allow {
			h.Allow = append(h.Allow, r.String())
		}
		d.Hosted = h
	}
	for _, svc := range s.services {
		d.Services = append(d.Services, web.Service(svc))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // it carries a token
	if err := web.Index(d).Render(r.Context(), w); err != nil {
		s.log.Warn("render index", "err", err)
	}
}

// handleStatic serves embedded assets. Their URLs carry static.Version, so
// a current URL may be cached for good; an old one is sent as "not found"
// rather than as today's file under yesterday's name.
func (s *server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if chi.URLParam(r, "version") != static.Version {
		http.NotFound(w, r)
		return
	}
	name := chi.URLParam(r, "*")
	if strings.HasSuffix(name, ".go") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(static.FS, name); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(w, r, static.FS, name)
}
