package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every HTTP route the playground serves.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	// Probes come from load balancers and orchestrators, which often
	// address the server by its IP: they are answered under any Host, and
	// say nothing but whether it is up.
	r.Get("/healthz", handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Group(func(r chi.Router) {
		r.Use(s.allowedHost, middleware.GetHead, securityHeaders)
		r.Get("/", s.handleIndex)
		r.Get("/s/{id}", s.handleSession)
		r.Get("/w/{watch}", s.handleWatch)
		r.Get("/replay", s.handleReplay)
		r.Post("/replay/code.json", s.handleReplayCode)
		r.Post("/replay/capture.pcapng", s.handleReplayCapture)
		r.Get("/token", s.handleToken)
		r.Get("/i18n/{file}", handleMessages)
		if s.cfg.MetricsAddr == "" && s.cfg.Mode != ModeHosted {
			r.Method(http.MethodGet, "/metrics", s.metrics.Handler())
		}
		r.Get("/static/{version}/*", s.handleStatic)
		r.Get("/session/{id}/code.json", s.handleCode)
		r.Get("/session/{id}/session.py", s.handlePython)
		r.Get("/session/{id}/session.go", s.handleGo)
		r.Get("/session/{id}/log.jsonl", s.handleLog)
		r.Get("/session/{id}/capture.pcapng", s.handleCapture)
		// The WebSocket route must stay outside compression and timeout
		// middleware: it is a long-lived, hijacked connection.
		r.With(s.admitWS).Get(wsPath, s.ws.ServeHTTP)
	})
	return r
}

const wsPath = "/ws"
