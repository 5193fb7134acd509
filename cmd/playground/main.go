// Command playground serves Socket Playground: open http://localhost:8080
// and drive real TCP and UDP sockets on this host from the browser.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/server"
	"github.com/socketplayground/playground/internal/services"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "playground:", err)
		}
		os.Exit(2)
	}
}

// run turns flags and environment into a server.Config and runs the server
// until ctx ends. A flag given on the command line wins over its variable.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg server.Config
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error (PLAYGROUND_LOG_LEVEL)")
	fs.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "HTTP listen address (PLAYGROUND_ADDR)")
	fs.StringVar(&cfg.Mode, "mode", server.ModeLocal, "local (your own machine: every target allowed) or hosted (a public demo: strict policy and caps; see docs/deploy.md) (PLAYGROUND_MODE)")
	logFormat := fs.String("log-format", "", "text or json; empty: text in local mode, json in hosted mode (PLAYGROUND_LOG_FORMAT)")
	hosts := fs.String("hosts", "", `comma-separated host names the page may be opened under, besides localhost, 127.0.0.1 and ::1 (a DNS-rebinding guard); "*" allows any (PLAYGROUND_HOSTS)`)
	svcSpec := fs.String("services", "", `built-in services on loopback: comma-separated name=port (0: off, -1: a free port), "free" (every one on a free port) or "none"; e.g. "chat=9000,http=0" (PLAYGROUND_SERVICES)`)
	noServices := fs.Bool("no-services", false, "start no built-in services (PLAYGROUND_NO_SERVICES)")
	lossRate := fs.Float64("lossy-rate", 0.3, "share of datagrams the lossy echo drops, above 0 and at most 1 (PLAYGROUND_LOSSY_RATE)")
	echoPort := fs.Int("echo-port", 0, "port of the TCP and UDP echo services: -services echo=PORT (PLAYGROUND_ECHO_PORT)")
	fs.IntVar(&cfg.Limits.MaxSockets, "max-sockets", 0, "open sockets per session; 0: 64 local, 16 hosted (PLAYGROUND_MAX_SOCKETS)")
	fs.IntVar(&cfg.Limits.MaxSend, "max-send", 0, "bytes per send or sendto; 0: 1 MiB local, 64 KiB hosted (PLAYGROUND_MAX_SEND)")
	fs.IntVar(&cfg.MaxMessage, "max-message", 0, "bytes per WebSocket message; 0: 3 MiB local, 256 KiB hosted (PLAYGROUND_MAX_MESSAGE)")
	fs.StringVar(&cfg.TLSCA, "tls-ca", "", "PEM file of CA certificates that TLS connects trust besides the system's roots, for devices with a private CA (PLAYGROUND_TLS_CA)")
	// Hosted mode's policy and caps. Zero takes the mode's default; a
	// negative session cap, rate or timeout means none (the write timeout
	// and the per-session limits cannot be turned off: 0 or less is the
	// default).
	allow := fs.String("allow", "", `hosted: targets besides the services and the listener pool, separated by spaces or ";": host or CIDR with ports, e.g. "example.com:80,443 203.0.113.0/24:7" (PLAYGROUND_ALLOW)`)
	pool := fs.String("pool", "", "hosted: the loopback port range listeners get, e.g. 30000-31999 (the default) (PLAYGROUND_POOL)")
	trusted := fs.String("trusted-proxies", "", "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (PLAYGROUND_TRUSTED_PROXIES)")
	origins := fs.String("origins", "", "comma-separated exact origins whose pages may open the WebSocket, e.g. https://play.example.com; empty: the page's own (PLAYGROUND_ORIGINS)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve /metrics on this address instead; hosted mode serves it nowhere else (PLAYGROUND_METRICS_ADDR)")
	fs.IntVar(&cfg.Caps.SessionsPerIP, "sessions-per-ip", 0, "sessions one client address (IPv6: /64) may hold; 0: none local, 4 hosted (PLAYGROUND_SESSIONS_PER_IP)")
	fs.IntVar(&cfg.Caps.Sessions, "sessions", 0, "sessions in all; 0: 20000 local, 2000 hosted (PLAYGROUND_SESSIONS)")
	fs.Float64Var(&cfg.Caps.MessageRate, "message-rate", 0, "requests per second per session; 0: none local, 100 hosted (PLAYGROUND_MESSAGE_RATE)")
	fs.DurationVar(&cfg.Caps.IdleTimeout, "idle-timeout", 0, "end a session with no request for this long; 0: never local, 15m hosted (PLAYGROUND_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.Caps.MaxAge, "max-age", 0, "end a session this long after it started; 0: never local, 2h hosted (PLAYGROUND_MAX_AGE)")
	fs.DurationVar(&cfg.Caps.WriteTimeout, "write-timeout", 0, "drop a browser that takes no events for this long; 0: 30s local, 15s hosted (PLAYGROUND_WRITE_TIMEOUT)")
	fs.DurationVar(&cfg.Caps.Grace, "grace", 0, "keep a session and its sockets this long after its page goes, for it to come back (a reload, a dropped network); 0: 2m (PLAYGROUND_GRACE)")
	fs.IntVar(&cfg.Caps.WatchersPerSession, "watchers-per-session", 0, "watchers one session may have through its share links; 0: 200 local, 100 hosted (PLAYGROUND_WATCHERS_PER_SESSION)")
	fs.IntVar(&cfg.Caps.WatchersPerIP, "watchers-per-ip", 0, "watchers one client address (IPv6: /64) may have at once; 0: none local, 200 hosted (PLAYGROUND_WATCHERS_PER_IP)")
	fs.IntVar(&cfg.Caps.Watchers, "watchers", 0, "watchers in all; 0: 20000 local, 5000 hosted (PLAYGROUND_WATCHERS)")
	fs.IntVar(&cfg.Policy.Limits.ConnectsPerMinute, "connects-per-minute", 0, "hosted: connect attempts per session per minute; 0: 60 (PLAYGROUND_CONNECTS_PER_MINUTE)")
	fs.IntVar(&cfg.Policy.Limits.TargetsPerHour, "targets-per-hour", 0, "hosted: distinct targets per session per hour; 0: 30 (PLAYGROUND_TARGETS_PER_HOUR)")
	fs.Int64Var(&cfg.Policy.Limits.BytesPerSecond, "bytes-per-second", 0, "hosted: payload bytes per second per session, both ways; 0: 262144 (PLAYGROUND_BYTES_PER_SECOND)")
	fs.Int64Var(&cfg.Policy.Limits.BytesPerSession, "bytes-per-session", 0, "hosted: payload bytes per session in all, both ways; 0: 67108864 (PLAYGROUND_BYTES_PER_SESSION)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fromEnvironment(fs, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	svcs, err := parseServices(*svcSpec)
	if err != nil {
		return fmt.Errorf("-services: %w", err)
	}
	if *echoPort != 0 {
		svcs.Ports["echo"] = *echoPort
	}
	svcs.None = svcs.None || *noServices
	if !(*lossRate > 0 && *lossRate <= 1) {
		return fmt.Errorf("-lossy-rate %v: must be more than 0 and at most 1 (for no loss, use the echo service)", *lossRate)
	}
	svcs.LossRate = *lossRate
	cfg.Services = svcs
	if *hosts != "" {
		cfg.Hosts = slices.Clone(server.DefaultHosts)
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]")); h != "" {
				cfg.Hosts = append(cfg.Hosts, h)
			}
		}
	}
	if err := hostedFlags(&cfg, *allow, *pool, *trusted, *origins); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch *logFormat {
	case "":
		if cfg.Mode == server.ModeHosted {
			cfg.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
		} else {
			cfg.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
		}
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		return fmt.Errorf("-log-format %q: want text or json", *logFormat)
	}
	return server.Run(ctx, cfg, stdout)
}

// fromEnvironment sets every flag not given on the command line from its
// variable, PLAYGROUND_ and the flag's name in capitals with "_" for "-"
// (-max-sockets: PLAYGROUND_MAX_SOCKETS), parsed as the flag would be: a
// bad value is an error, never silently the default.
func fromEnvironment(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "PLAYGROUND_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(name)
		if given[f.Name] || v == "" || err != nil {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, serr)
		}
	})
	return err
}

// hostedFlags reads -allow, -pool, -trusted-proxies and -origins.
func hostedFlags(cfg *server.Config, allow, pool, trusted, origins string) error {
	for _, r := range strings.FieldsFunc(allow, func(c rune) bool { return c == ';' || c == ' ' || c == '\t' || c == '\n' }) {
		rule, err := policy.ParseRule(r)
		if err != nil {
			return fmt.Errorf("-allow %q: %w", r, err)
		}
		cfg.Policy.Allow = append(cfg.Policy.Allow, rule)
	}
	if pool != "" {
		first, last, ok := strings.Cut(pool, "-")
		a, err1 := strconv.ParseUint(first, 10, 16)
		b, err2 := strconv.ParseUint(last, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
			return fmt.Errorf("-pool %q: want FIRST-LAST, two ports with FIRST at most LAST, e.g. 30000-31999", pool)
		}
		cfg.Policy.PoolFirst, cfg.Policy.PoolLast = uint16(a), uint16(b)
	}
	for _, t := range strings.Split(trusted, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		p, err := netip.ParsePrefix(t)
		if err != nil {
			a, aerr := netip.ParseAddr(t)
			if aerr != nil {
				return fmt.Errorf("-trusted-proxies %q: want an address or a CIDR", t)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("-origins %q: want scheme://host[:port], e.g. https://play.example.com", o)
		}
		cfg.Origins = append(cfg.Origins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return nil
}

// parseServices reads -services: "name=port,…", "free" or "none".
func parseServices(spec string) (server.Services, error) {
	svcs := server.Services{Ports: map[string]int{}}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch item {
		case "":
			continue
		case "free":
			svcs.Free = true
			continue
		case "none":
			svcs.None = true
			continue
		}
		name, port, ok := strings.Cut(item, "=")
		if !ok {
			return svcs, fmt.Errorf("%q: want name=port, free or none", item)
		}
		if !slices.Contains(services.Names, name) {
			return svcs, fmt.Errorf("%q: no service is called %q (there are %s)", item, name, strings.Join(services.Names, ", "))
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < -1 || n > 65535 {
			return svcs, fmt.Errorf("%q: the port must be 1 to 65535, 0 (off) or -1 (a free port)", item)
		}
		svcs.Ports[name] = n
	}
	return svcs, nil
}
