package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/metrics"
	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

type server struct {
	cfg      Config
	log      *slog.Logger
	ws       *bridge.Handler
	services []bridge.Service
	caps     Caps
	policy   *policy.Policy
	metrics  *metrics.Metrics
	tokens   *tokens
	count    sessionCount
	watchers sessionCount // watchers, per address and in all
	ready    atomic.Bool  // serving, and not shutting down
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
		cfg.Mode = ModeLocal
	}
	if cfg.Mode != ModeLocal && cfg.Mode != ModeHosted {
		return fmt.Errorf("mode %q: want %q or %q", cfg.Mode, ModeLocal, ModeHosted)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tlsRoots, err := loadCA(cfg.TLSCA)
	if err != nil {
		return err
	}
	// Load the system's roots now, once, rather than in a person's first
	// TLS handshake (which would take 100 ms longer).
	if _, err := x509.SystemCertPool(); err != nil {
		cfg.Logger.Warn("no system roots: TLS connects that verify will fail unless -tls-ca names the authorities to trust", "err", err)
	}
	s := &server{cfg: cfg, log: cfg.Logger, caps: cfg.Caps.withDefaults(cfg.Mode), metrics: metrics.New(),
		tokens: newTokens(cfg.TokenKey), count: sessionCount{perIP: map[string]int{}},
		watchers: sessionCount{perIP: map[string]int{}}}

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

	s.policy = policy.Local()
	limits := cfg.Limits
	if cfg.Mode == ModeHosted {
		pc := cfg.Policy
		for _, svc := range s.services {
			if ap, err := netip.ParseAddrPort(svc.Addr); err == nil {
				pc.Services = append(pc.Services, ap)
			}
		}
		var err error
		if s.policy, err = policy.Hosted(pc); err != nil {
			return fmt.Errorf("hosted policy: %w", err)
		}
		limits = limits.Or(HostedLimits)
		if cfg.MaxMessage <= 0 {
			cfg.MaxMessage = HostedMaxMessage
		}
		if len(cfg.TrustedProxies) == 0 {
			if ap, err := netip.ParseAddrPort(cfg.Addr); err == nil && ap.Addr().IsLoopback() {
				cfg.Logger.Warn("hosted mode on a loopback address, presumably behind a proxy, but no -trusted-proxies: every person will seem to come from the proxy's address and share its session cap, and an https page's Origin will not match; see docs/deploy.md")
			}
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
		Mode:          cfg.Mode,
		Services:      s.services,
		MaxMessage:    cfg.MaxMessage,
		Logger:        cfg.Logger,
		OriginChecked: true, // by admitWS, with the server's rules
		Metrics:       s.metrics,
		PingInterval:  s.caps.PingInterval,
		PingTimeout:   s.caps.PingTimeout,
		WriteTimeout:  s.caps.WriteTimeout,
		IdleTimeout:   s.caps.IdleTimeout,
		MaxAge:        s.caps.MaxAge,
		MessageRate:   s.caps.MessageRate,
		Grace:         s.caps.Grace,
		MaxWatchers:   s.caps.WatchersPerSession,
		Session: session.Options{
			Limits:   limits,
			Policy:   s.policy,
			Resolver: cfg.Resolver,
			TLSRoots: tlsRoots,
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

	var msrv *http.Server
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for metrics: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.Handler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
		fmt.Fprintf(out, "Metrics: http://%s/metrics\n", mln.Addr())
	}

	fmt.Fprintf(out, "Socket Playground: http://%s/\n", ln.Addr())
	cfg.Logger.Info("listening", "addr", ln.Addr().String(), "mode", cfg.Mode, "services", len(s.services))

	serveErr := make(chan error, 1)
	s.ready.Store(true)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	s.ready.Store(false)
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
