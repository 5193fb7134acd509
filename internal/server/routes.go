package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every HTTP route the playground serves.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, s.allowedHost, middleware.GetHead, securityHeaders)
	r.Get("/", s.handleIndex)
	r.Get("/healthz", handleHealthz)
	r.Get("/static/{version}/*", s.handleStatic)
	// The WebSocket route must stay outside compression and timeout
	// middleware: it is a long-lived, hijacked connection.
	r.Get(wsPath, s.ws.ServeHTTP)
	return r
}

const wsPath = "/ws"
