// Command loadtest puts a playground in hosted mode under many simulated
// people at once, on loopback only, and checks that it comes back to rest:
//
//	go build -o bin/playground ./cmd/playground
//	go run ./cmd/loadtest -playground bin/playground   # or: make loadtest
//
// It starts the given playground binary as a child process in hosted mode
// on 127.0.0.1 with every built-in service on a free port, then ramps up
// -sessions people over -ramp. Each person loads the page as a browser does
// (keeping its cookie and reading the page token), opens the WebSocket with
// the page's origin, reads the hello, and for -duration after the ramp
// repeats a round against the TCP echo service about once a second:
// connect, send 64 bytes, wait until the same bytes come back, close, wait
// for the close's result. Hosted mode allows 60 connects a minute per
// session, which that pace stays under. Then every session closes its
// WebSocket normally (1000).
//
// The server's /metrics are read before the ramp, during the load (the
// peak is the highest reading), and at least 10 s after the sessions have
// closed, once the sessions gauge is back to 0 and the goroutines near the
// baseline (or 30 s have passed). An idle Go program collects no garbage
// until its periodic GC, two minutes after the last one, so if the heap in
// use is still high and no GC has run since the sessions closed, the load
// test waits for that GC (up to 150 s after the close) and judges the heap
// on the reading after it. The report (plain text, and JSON with -json
// FILE) gives the rounds, their latency (and that of each step), error
// events by code, the server's ERROR log lines, and goroutines, RSS, heap
// in use and descriptors at baseline, peak and after.
//
// The command exits non-zero, saying why, if the server logged an error, a
// WebSocket failed, an error event other than a policy refusal came, an
// echo came back wrong, or the server did not come back to rest: sessions
// not 0, goroutines more than 20 over the baseline, heap in use more than
// 64 MiB over it.
//
// The playground runs with -mode hosted -addr 127.0.0.1:0 -services free
// -sessions-per-ip N+100 -sessions N+100 -metrics-addr 127.0.0.1:0
// -log-format json -log-level warn; every other setting is hosted mode's
// default, the connect rate (60 a minute per session) included.
//
// It talks only to 127.0.0.1, and every wait is bounded: the whole run
// takes ramp + duration + 10 s, plus up to 2.5 min when it waits for a GC.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(1)
	}
}

// config is what a load test runs with.
type config struct {
	sessions   int           // people at once
	duration   time.Duration // how long they make rounds after the ramp
	ramp       time.Duration // over how long they arrive
	playground string        // the playground binary
	jsonPath   string        // where to write the JSON report; "": nowhere

	// Not flags; tests shorten them.
	pause     time.Duration // between one person's rounds, plus up to a quarter of it at random
	settle    time.Duration // the least time after the last session closed before "after" is read
	settleMax time.Duration // the most time to wait for the server to come back to rest
}

func defaultConfig() config {
	return config{sessions: 2000, duration: 60 * time.Second, ramp: 20 * time.Second,
		pause: time.Second, settle: 10 * time.Second, settleMax: 30 * time.Second}
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.sessions, "sessions", cfg.sessions, "simulated people, each with one session, at once")
	fs.DurationVar(&cfg.duration, "duration", cfg.duration, "how long the sessions make rounds after the ramp")
	fs.DurationVar(&cfg.ramp, "ramp", cfg.ramp, "how long the sessions take to arrive")
	fs.StringVar(&cfg.playground, "playground", "", "the playground binary to test (required): go build -o bin/playground ./cmd/playground")
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.playground == "":
		return cfg, errors.New("-playground: name the playground binary to test (go build -o bin/playground ./cmd/playground)")
	case cfg.sessions < 1:
		return cfg, fmt.Errorf("-sessions %d: want at least 1", cfg.sessions)
	case cfg.duration <= 0 || cfg.ramp < 0:
		return cfg, errors.New("-duration must be positive and -ramp not negative")
	}
	return cfg, nil
}

// run parses the flags, runs the load test, prints the report and returns
// an error if the test failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := loadTest(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	rep.print(stdout)
	if cfg.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("-json: %w", err)
		}
	}
	if len(rep.Failures) > 0 {
		return fmt.Errorf("FAIL: %s", strings.Join(rep.Failures, "; "))
	}
	return nil
}
