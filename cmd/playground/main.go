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
	"strconv"
	"syscall"

	"github.com/socketplayground/playground/internal/server"
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
	envBool := func(name string) bool {
		b, _ := strconv.ParseBool(getenv(name))
		return b
	}
	d := session.DefaultLimits
	logLevel := fs.String("log-level", env("PLAYGROUND_LOG_LEVEL", "info"), "log level: debug, info, warn, error (PLAYGROUND_LOG_LEVEL)")
	fs.StringVar(&cfg.Addr, "addr", env("PLAYGROUND_ADDR", server.DefaultAddr), "HTTP listen address (PLAYGROUND_ADDR)")
	fs.StringVar(&cfg.Mode, "mode", env("PLAYGROUND_MODE", "local"), "local; hosted comes later (PLAYGROUND_MODE)")
	fs.IntVar(&cfg.EchoPort, "echo-port", envInt("PLAYGROUND_ECHO_PORT", server.DefaultEchoPort), "port of the built-in TCP and UDP echo services on loopback (PLAYGROUND_ECHO_PORT)")
	fs.BoolVar(&cfg.NoEcho, "no-echo", envBool("PLAYGROUND_NO_ECHO"), "do not start the built-in echo services (PLAYGROUND_NO_ECHO)")
	fs.IntVar(&cfg.Limits.MaxSockets, "max-sockets", envInt("PLAYGROUND_MAX_SOCKETS", d.MaxSockets), "open sockets per session (PLAYGROUND_MAX_SOCKETS)")
	fs.IntVar(&cfg.Limits.MaxSend, "max-send", envInt("PLAYGROUND_MAX_SEND", d.MaxSend), "bytes per send or sendto (PLAYGROUND_MAX_SEND)")
	fs.IntVar(&cfg.MaxMessage, "max-message", envInt("PLAYGROUND_MAX_MESSAGE", 3<<20), "bytes per WebSocket message (PLAYGROUND_MAX_MESSAGE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return server.Run(ctx, cfg, stdout)
}
