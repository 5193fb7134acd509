package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

type server struct {
	cfg      Config
	log      *slog.Logger
	ws       *bridge.Handler
	services []bridge.Service
}

// Run serves the playground until ctx ends, then shuts down: it stops
// accepting, tells every session's browser the server is going away, closes
// every session's sockets, stops the services and returns once every
// goroutine it started has ended. It writes the URL to out once it listens.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Mode == "" {
		cfg.Mode = "local"
	}
	if cfg.Mode != "local" {
		return fmt.Errorf("mode %q is not available yet (only \"local\")", cfg.Mode)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, log: cfg.Logger}

	if !cfg.Services.None {
		svcs, err := services.Start(services.Config{Ports: cfg.Services.Ports, FreePorts: cfg.Services.Free, LossRate: cfg.Services.LossRate, Logger: cfg.Logger})
		if err != nil {
			return err
		}
		defer svcs.Close()
		for _, i := range svcs.Infos() {
			s.services = append(s.services, bridge.Service(i))
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	// base is the server's lifetime: sessions derive from it, not from a
	// request's context, which ends at the upgrade.
	base, stopSessions := context.WithCancel(context.Background())
	defer stopSessions()
	s.ws = bridge.NewHandler(base, bridge.Options{
		Mode:       cfg.Mode,
		Services:   s.services,
		MaxMessage: cfg.MaxMessage,
		Logger:     cfg.Logger,
		Session: session.Options{
			Limits:   cfg.Limits,
			Policy:   policy.Local(),
			Resolver: cfg.Resolver,
		},
	})
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Shutdown does not track hijacked connections: end the sessions here.
	srv.RegisterOnShutdown(stopSessions)

	fmt.Fprintf(out, "Socket Playground: http://%s/\n", ln.Addr())
	cfg.Logger.Info("listening", "addr", ln.Addr().String(), "mode", cfg.Mode, "services", len(s.services))

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = serr
	}
	stopSessions()
	s.ws.Wait()
	if err == nil {
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	cfg.Logger.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
