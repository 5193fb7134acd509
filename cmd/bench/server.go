package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socketplayground/playground/internal/server"
	"github.com/socketplayground/playground/internal/session"
)

// The server child's commands, one a line on its stdin. It answers each
// with one line: "ok" and an optional payload, or "error" and a message.
const (
	cmdProfileStart = "profile-start" // profile-start FILE: start a CPU profile
	cmdProfileStop  = "profile-stop"  // write and close the profile
	cmdProfileWrite = "profile-write" // profile-write NAME FILE: write pprof.Lookup(NAME)
	cmdStats        = "stats"         // runtime statistics as JSON (serverStats)
)

// serverStats is what the server child reports about itself. Reading them
// triggers nothing: no GC, no scavenging.
type serverStats struct {
	Goroutines uint64  `json:"goroutines"`
	HeapLive   uint64  `json:"heap_live"`    // live heap as of the last GC, bytes
	HeapObj    uint64  `json:"heap_objects"` // heap in objects, live or not yet swept, bytes
	Stacks     uint64  `json:"stacks"`       // goroutine and OS stacks, bytes
	GoTotal    uint64  `json:"go_total"`     // all memory the Go runtime mapped, bytes
	GCCycles   uint64  `json:"gc_cycles"`
	Allocated  uint64  `json:"allocated"`   // heap bytes allocated since the start
	CPUSeconds float64 `json:"cpu_seconds"` // user + system
}

// serverMain is the server child: server.Run on 127.0.0.1:0 until SIGTERM
// or until its stdin (the bench) goes away.
func serverMain(args []string) error {
	fs := flag.NewFlagSet("bench server", flag.ContinueOnError)
	logLevel := fs.String("log-level", "error", "log level")
	window := fs.Int64("window", 0, "session event window in bytes (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	out := &lockedWriter{w: os.Stdout}
	go func() {
		serveCommands(os.Stdin, out)
		cancel() // stdin closed: the bench is gone
	}()
	cfg := server.Config{
		Addr:     "127.0.0.1:0",
		Services: server.Services{None: true},
		Limits:   session.Limits{Window: *window},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	return server.Run(ctx, cfg, out)
}

// lockedWriter serialises writes from server.Run and the command loop.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// serveCommands answers the bench's commands until in ends.
func serveCommands(in io.Reader, out io.Writer) {
	var prof *os.File
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var reply string
		var err error
		switch cmd {
		case cmdProfileStart:
			prof, err = startProfile(arg)
		case cmdProfileStop:
			err = stopProfile(prof)
			prof = nil
		case cmdProfileWrite:
			name, file, _ := strings.Cut(arg, " ")
			err = writeProfile(name, file)
		case cmdStats:
			var b []byte
			b, err = json.Marshal(readStats())
			reply = string(b)
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		if err != nil {
			fmt.Fprintf(out, "error %v\n", err)
		} else {
			fmt.Fprintf(out, "ok %s\n", reply)
		}
	}
	if prof != nil {
		stopProfile(prof)
	}
}

func startProfile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func stopProfile(f *os.File) error {
	if f == nil {
		return fmt.Errorf("no profile is running")
	}
	pprof.StopCPUProfile()
	return f.Close()
}

// writeProfile writes a runtime profile such as "allocs" or "heap". It
// reports the heap as of the last GC and triggers none.
func writeProfile(name, path string) error {
	p := pprof.Lookup(name)
	if p == nil {
		return fmt.Errorf("no profile %q", name)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readStats() serverStats {
	names := []string{
		"/sched/goroutines:goroutines",
		"/gc/heap/live:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/os-stacks:bytes",
		"/memory/classes/total:bytes",
		"/gc/cycles/total:gc-cycles",
		"/gc/heap/allocs:bytes",
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	return serverStats{Goroutines: v(0), HeapLive: v(1), HeapObj: v(2), Stacks: v(3) + v(4), GoTotal: v(5),
		GCCycles: v(6), Allocated: v(7), CPUSeconds: selfCPU().Seconds()}
}

// serverProc is the bench's handle on the server child.
type serverProc struct {
	*childProc
	addr string // host:port, always on 127.0.0.1
}

// startServer starts the server child and waits for the address it prints.
func startServer(ctx context.Context, o options) (*serverProc, error) {
	var env []string
	if o.serverProcs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(o.serverProcs))
	}
	p, err := startChild(ctx, roleServer, env, "-log-level", o.serverLog, "-window", strconv.FormatInt(o.serverWindow, 10))
	if err != nil {
		return nil, err
	}
	s := &serverProc{childProc: p}
	if err := s.readAddr(ctx); err != nil {
		p.stop(syscall.SIGTERM)
		return nil, err
	}
	return s, nil
}

// readAddr reads the "Socket Playground: http://ADDR/" line and checks that
// ADDR is on loopback.
func (s *serverProc) readAddr(ctx context.Context) error {
	line, err := s.readLine(ctx, 15*time.Second)
	if err != nil {
		return err
	}
	addr, ok := strings.CutPrefix(line, "Socket Playground: http://")
	addr = strings.TrimSuffix(addr, "/")
	if !ok {
		return fmt.Errorf("the server's first line is %q, want \"Socket Playground: http://ADDR/\"", line)
	}
	if err := checkLoopback(addr); err != nil {
		return fmt.Errorf("the server's address: %w", err)
	}
	s.addr = addr
	return nil
}

func (s *serverProc) wsURL() string { return "ws://" + s.addr + "/ws" }

// call sends the server child a command and returns its answer's payload.
func (s *serverProc) call(ctx context.Context, command string) (string, error) {
	if err := s.writeLine(command); err != nil {
		return "", fmt.Errorf("%s: %w", command, err)
	}
	line, err := s.readLine(ctx, 30*time.Second)
	if err != nil {
		return "", fmt.Errorf("%s: %w", command, err)
	}
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return "", fmt.Errorf("%s: %s", command, msg)
	}
	payload, ok := strings.CutPrefix(line, "ok")
	if !ok {
		return "", fmt.Errorf("%s: unexpected answer %q", command, line)
	}
	return strings.TrimPrefix(payload, " "), nil
}

func (s *serverProc) stats(ctx context.Context) (serverStats, error) {
	var st serverStats
	payload, err := s.call(ctx, cmdStats)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(payload), &st)
}

// stop sends the server SIGTERM and waits for it to exit.
func (s *serverProc) stop() error { return s.childProc.stop(syscall.SIGTERM) }

// profileCPU runs f while the server writes a CPU profile to path. An empty
// path just runs f.
func (s *serverProc) profileCPU(ctx context.Context, path string, f func() error) error {
	if path == "" {
		return f()
	}
	if _, err := s.call(ctx, cmdProfileStart+" "+path); err != nil {
		return err
	}
	err := f()
	if _, serr := s.call(ctx, cmdProfileStop); err == nil {
		err = serr
	}
	return err
}

// writeProfile has the server write its profile name ("allocs", "heap") to
// path. An empty path does nothing.
func (s *serverProc) writeProfile(ctx context.Context, name, path string) error {
	if path == "" {
		return nil
	}
	_, err := s.call(ctx, cmdProfileWrite+" "+name+" "+path)
	return err
}
