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
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/socketplayground/playground/internal/server"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
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
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if v := getenv(name); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
		return def
	}
	envFloat := func(name string, def float64) float64 {
		if v := getenv(name); v != "" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
		return def
	}
	envBool := func(name string) bool {
		b, _ := strconv.ParseBool(getenv(name))
		return b
	}
	d := session.DefaultLimits
	logLevel := fs.String("log-level", env("PLAYGROUND_LOG_LEVEL", "info"), "log level: debug, info, warn, error (PLAYGROUND_LOG_LEVEL)")
	fs.StringVar(&cfg.Addr, "addr", env("PLAYGROUND_ADDR", server.DefaultAddr), "HTTP listen address (PLAYGROUND_ADDR)")
	fs.StringVar(&cfg.Mode, "mode", env("PLAYGROUND_MODE", "local"), "local; hosted comes later (PLAYGROUND_MODE)")
	hosts := fs.String("hosts", env("PLAYGROUND_HOSTS", ""), `comma-separated host names the page may be opened under, besides localhost, 127.0.0.1 and ::1 (a DNS-rebinding guard); "*" allows any (PLAYGROUND_HOSTS)`)
	svcSpec := fs.String("services", env("PLAYGROUND_SERVICES", ""), `built-in services on loopback: comma-separated name=port (0: off, -1: a free port), "free" (every one on a free port) or "none"; e.g. "chat=9000,http=0" (PLAYGROUND_SERVICES)`)
	noServices := fs.Bool("no-services", envBool("PLAYGROUND_NO_SERVICES"), "start no built-in services (PLAYGROUND_NO_SERVICES)")
	lossRate := fs.Float64("lossy-rate", envFloat("PLAYGROUND_LOSSY_RATE", 0.3), "share of datagrams the lossy echo drops, above 0 and at most 1 (PLAYGROUND_LOSSY_RATE)")
	echoPort := fs.Int("echo-port", envInt("PLAYGROUND_ECHO_PORT", 0), "port of the TCP and UDP echo services: -services echo=PORT (PLAYGROUND_ECHO_PORT)")
	fs.IntVar(&cfg.Limits.MaxSockets, "max-sockets", envInt("PLAYGROUND_MAX_SOCKETS", d.MaxSockets), "open sockets per session (PLAYGROUND_MAX_SOCKETS)")
	fs.IntVar(&cfg.Limits.MaxSend, "max-send", envInt("PLAYGROUND_MAX_SEND", d.MaxSend), "bytes per send or sendto (PLAYGROUND_MAX_SEND)")
	fs.IntVar(&cfg.MaxMessage, "max-message", envInt("PLAYGROUND_MAX_MESSAGE", 3<<20), "bytes per WebSocket message (PLAYGROUND_MAX_MESSAGE)")
	if err := fs.Parse(args); err != nil {
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return server.Run(ctx, cfg, stdout)
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
