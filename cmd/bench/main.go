// Command bench measures what the WebSocket bridge costs compared with plain
// TCP, on loopback only (127.0.0.1), and prints a report with the targets.
//
//	go run ./cmd/bench            # the full report, about half a minute
//	go run ./cmd/bench -h         # flags: sizes, runs, session counts, profiles
//
// It measures, in one run:
//
//  1. Bulk echo throughput: 256 MiB each way in 64 KiB chunks through a TCP
//     echo server, over a raw TCP connection (a writer goroutine and a
//     reader goroutine), and bridged: binary "send" requests over the
//     playground's WebSocket, with the bytes of "data" events counted until
//     all are back. Every byte received is checked against a deterministic
//     pattern. Each path runs -runs times; the median is reported.
//  2. Round-trip latency of 1 KiB messages (send, wait until 1 KiB is back),
//     raw and bridged: p50, p90, p99 after a warm-up.
//  3. Memory per idle session: the server's RSS (VmRSS) before and after
//     opening -idle sessions that each hold one TCP socket connected to the
//     echo server, divided by the number of sessions.
//  4. Concurrency: -sessions such sessions at once: how many succeeded, and
//     the server's RSS per session.
//
// As a reference for 1 and 2 the raw tests also run through a plain TCP
// relay in a process of its own: the same process hops and copies as the
// bridge without WebSocket, JSON or sessions, so the best any bridge in a
// separate process can do on this machine.
//
// The playground server runs as a separate process so that its memory can be
// measured on its own: the bench re-executes itself with the environment
// variable SOCKET_PLAYGROUND_BENCH_ROLE=server, and that child runs
// server.Run on 127.0.0.1:0 until SIGTERM. The relay is another such child
// (ROLE=relay), and so are the clients that hold the sessions of tests 3
// and 4 (ROLE=clients), so that their descriptors do not count against the
// bench's own limit. Each session test gets a fresh server, so earlier tests
// do not pre-grow its heap. The TCP echo server runs inside the bench and
// serves every test. The WebSocket client is a minimal one (wsclient.go)
// that, like a browser, writes each message in one go.
//
// With -profiles DIR the server child writes pprof profiles there: CPU and
// allocations of the bridged bulk runs, CPU of the bridged latency test,
// and its heap while the idle sessions are open (`go tool pprof -top FILE`).
//
// Every step has a timeout and the whole run is bounded by -timeout, so the
// bench stops by itself even if the server misbehaves.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// roleEnv selects what this executable does: empty for the bench itself,
// roleServer or roleClients for the children it starts.
const roleEnv = "SOCKET_PLAYGROUND_BENCH_ROLE"

const (
	roleServer  = "server"
	roleClients = "clients"
	roleRelay   = "relay"
)

func main() {
	var err error
	switch role := os.Getenv(roleEnv); role {
	case "":
		err = benchMain(os.Args[1:], os.Stdout, os.Stderr)
	case roleServer:
		err = serverMain(os.Args[1:])
	case roleClients:
		err = clientsMain(os.Args[1:])
	case roleRelay:
		err = relayMain(os.Args[1:])
	default:
		err = fmt.Errorf("unknown %s %q", roleEnv, role)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// options are the bench's flags.
type options struct {
	bulkMiB      int
	chunk        int
	runs         int
	msgSize      int
	warmup       int
	samples      int
	idle         int
	sessions     int
	parallel     int
	profiles     string
	serverLog    string
	serverProcs  int
	serverWindow int64
	timeout      time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.bulkMiB, "bulk-mib", 256, "MiB sent (and echoed back) per bulk run")
	fs.IntVar(&o.chunk, "chunk", 64<<10, "bytes per write / send request in the bulk test")
	fs.IntVar(&o.runs, "runs", 5, "bulk runs per path; the median is reported")
	fs.IntVar(&o.msgSize, "msg", 1<<10, "bytes per round trip in the latency test")
	fs.IntVar(&o.warmup, "warmup", 500, "round trips before latency samples are taken")
	fs.IntVar(&o.samples, "samples", 5000, "round trips measured per path")
	fs.IntVar(&o.idle, "idle", 1000, "idle sessions for the memory test (0 skips it)")
	fs.IntVar(&o.sessions, "sessions", 10000, "concurrent sessions for the concurrency test (0 skips it)")
	fs.IntVar(&o.parallel, "parallel", 64, "sessions opened at once by the session tests")
	fs.StringVar(&o.profiles, "profiles", "", "write the server's profiles to `dir`: CPU and allocations of the bridged bulk runs, CPU of the bridged latency test, heap with the idle sessions open")
	fs.StringVar(&o.serverLog, "server-log", "error", "log level of the server child (its log goes to stderr)")
	fs.IntVar(&o.serverProcs, "server-procs", 0, "GOMAXPROCS of the server child (0: Go's default)")
	fs.Int64Var(&o.serverWindow, "server-window", 0, "the server's per-session event window in bytes (0: its default, 1 MiB)")
	fs.DurationVar(&o.timeout, "timeout", 9*time.Minute, "stop everything after this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.bulkMiB <= 0 || o.chunk <= 0 || o.chunk > maxChunk || o.runs <= 0:
		return o, fmt.Errorf("-bulk-mib and -runs must be positive and -chunk between 1 and %d", maxChunk)
	case o.msgSize <= 0 || o.msgSize > maxChunk || o.samples <= 0 || o.warmup < 0:
		return o, fmt.Errorf("-msg must be between 1 and %d, -samples positive, -warmup not negative", maxChunk)
	case o.idle < 0 || o.sessions < 0 || o.parallel <= 0 || o.serverProcs < 0 || o.serverWindow < 0:
		return o, errors.New("-idle, -sessions, -server-procs and -server-window must not be negative, -parallel must be positive")
	}
	if o.profiles != "" {
		abs, err := filepath.Abs(o.profiles)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			return o, err
		}
		o.profiles = abs
	}
	return o, nil
}

func benchMain(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	err = run(ctx, o, stdout, stderr)
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("gave up after -timeout %v: %w", o.timeout, err)
	case ctx.Err() != nil:
		err = fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// run performs every measurement and prints the report.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	echo, err := startEcho()
	if err != nil {
		return err
	}
	defer echo.close()

	r := &report{sys: readSystem(), opts: o, echoAddr: echo.addr()}
	r.printHeader(stdout)

	if err := measureTransfer(ctx, o, echo.addr(), r, progress); err != nil {
		return err
	}
	r.printTransfer(stdout)

	if o.idle > 0 {
		progress("memory: %d idle sessions on a fresh server", o.idle)
		res, err := measureSessions(ctx, o, echo.addr(), o.idle, o.profile("server-heap-idle"))
		if err != nil {
			return fmt.Errorf("idle sessions: %w", err)
		}
		r.idle = &res
		r.printSessions(stdout, "3. Memory per idle session", res)
	}
	if o.sessions > 0 {
		progress("concurrency: %d sessions on a fresh server", o.sessions)
		res, err := measureSessions(ctx, o, echo.addr(), o.sessions, "")
		if err != nil {
			return fmt.Errorf("concurrent sessions: %w", err)
		}
		r.conc = &res
		r.printSessions(stdout, "4. Concurrent sessions", res)
	}
	r.printSummary(stdout)
	return nil
}

// measureTransfer runs the bulk and latency tests: raw, through the relay
// child (the reference), and bridged through one server.
func measureTransfer(ctx context.Context, o options, echoAddr string, r *report, progress func(string, ...any)) error {
	srv, err := startServer(ctx, o)
	if err != nil {
		return err
	}
	defer srv.stop()
	relay, err := startRelay(ctx, echoAddr)
	if err != nil {
		return err
	}
	defer relay.stop(nil)

	pat := newPattern()
	if err := measureBulk(ctx, o, srv, echoAddr, relay, pat, r, progress); err != nil {
		return err
	}

	progress("latency raw TCP")
	if r.latRaw, err = latency(rawLatency(ctx, echoAddr, pat, o.msgSize, o.warmup, o.samples)); err != nil {
		return fmt.Errorf("raw latency: %w", err)
	}
	progress("latency through the TCP relay")
	if r.latRelayCPU, err = relay.cpuDuring(ctx, func() error {
		var err error
		r.latRelay, err = latency(rawLatency(ctx, relay.addr, pat, o.msgSize, o.warmup, o.samples))
		return err
	}); err != nil {
		return fmt.Errorf("latency through the relay: %w", err)
	}
	progress("latency bridged")
	if err := bridgedLatencyTest(ctx, o, srv, echoAddr, pat, r); err != nil {
		return err
	}
	if err := relay.stop(nil); err != nil {
		return err
	}
	return srv.stop()
}

// measureBulk runs the bulk test o.runs times on each path, the paths in
// turn so that a change in the machine's load hits them alike. It records
// what the server and the bench spent on the bridged runs, and the server's
// profiles if asked for.
func measureBulk(ctx context.Context, o options, srv *serverProc, echoAddr string, relay *relayProc, pat pattern, r *report, progress func(string, ...any)) error {
	total := int64(o.bulkMiB) << 20
	rate := func(d time.Duration) float64 { return float64(total) / (1 << 20) / d.Seconds() }
	err := srv.profileCPU(ctx, o.profile("server-cpu-bulk"), func() error {
		for i := range o.runs {
			progress("bulk run %d/%d: raw, relay, bridged", i+1, o.runs)
			d, err := rawBulk(ctx, echoAddr, pat, total, o.chunk)
			if err != nil {
				return fmt.Errorf("raw bulk: %w", err)
			}
			r.bulkRaw = append(r.bulkRaw, rate(d))
			cpu, err := relay.cpuDuring(ctx, func() error {
				d, err = rawBulk(ctx, relay.addr, pat, total, o.chunk)
				return err
			})
			if err != nil {
				return fmt.Errorf("bulk through the relay: %w", err)
			}
			r.bulkRelay = append(r.bulkRelay, rate(d))
			r.bulkRelayCPU += cpu
			m, err := startMeter(ctx, srv)
			if err != nil {
				return err
			}
			if d, err = bridgedBulk(ctx, srv.wsURL(), echoAddr, pat, total, o.chunk); err != nil {
				return fmt.Errorf("bridged bulk: %w", err)
			}
			r.bulkBridged = append(r.bulkBridged, rate(d))
			u, err := m.stop(ctx)
			if err != nil {
				return err
			}
			r.bulkUsage = r.bulkUsage.add(u)
			r.bulkEchoed += total
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The server has done nothing but the bridged runs: its allocations are
	// theirs.
	return srv.writeProfile(ctx, "allocs", o.profile("server-allocs-bulk"))
}

// bridgedLatencyTest runs the bridged latency test, recording what the
// server spent, and its CPU profile if asked for.
func bridgedLatencyTest(ctx context.Context, o options, srv *serverProc, echoAddr string, pat pattern, r *report) error {
	m, err := startMeter(ctx, srv)
	if err != nil {
		return err
	}
	err = srv.profileCPU(ctx, o.profile("server-cpu-latency"), func() error {
		var err error
		r.latBridged, err = latency(bridgedLatency(ctx, srv.wsURL(), echoAddr, pat, o.msgSize, o.warmup, o.samples))
		return err
	})
	if err != nil {
		return fmt.Errorf("bridged latency: %w", err)
	}
	r.latUsage, err = m.stop(ctx)
	return err
}

// profile returns the path of the named profile, or "" if -profiles is not
// set.
func (o options) profile(name string) string {
	if o.profiles == "" {
		return ""
	}
	return filepath.Join(o.profiles, name+".pprof")
}

// latency summarises the samples of a latency test.
func latency(samples []time.Duration, err error) (latencyStats, error) {
	if err != nil {
		return latencyStats{}, err
	}
	return summarize(samples), nil
}
