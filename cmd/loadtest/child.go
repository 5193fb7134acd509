package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startTimeout bounds the wait for the playground's two address lines.
	startTimeout = 30 * time.Second
	// stopTimeout is how long the playground may take to exit after SIGTERM
	// before it is killed.
	stopTimeout = 30 * time.Second
	// maxLogLine caps a log line kept for the report.
	maxLogLine = 500
)

// playground is the server under test, a child process.
type playground struct {
	cmd     *exec.Cmd
	base    *url.URL // http://127.0.0.1:PORT/
	metrics string   // http://127.0.0.1:PORT/metrics
	done    chan struct{}
	err     error // how it exited; valid after done

	// mu guards the fields below, written by the stderr reader.
	mu          sync.Mutex
	errorLines  int      // log lines with "level":"ERROR"
	errorSample []string // the first few of them
	otherLines  []string // the first few lines that were not JSON (a flag error, a panic)
	stopping    bool     // stop was called: an exit now is expected
}

// childArgs are the playground's flags for a load test of n sessions.
func childArgs(n int) []string {
	args := []string{"-mode", "hosted", "-addr", "127.0.0.1:0", "-services", "free",
		"-sessions-per-ip", strconv.Itoa(n + 100), "-sessions", strconv.Itoa(n + 100),
		"-metrics-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "warn"}
	return args
}

// startPlayground starts the binary at path in hosted mode on loopback and
// waits for it to print its two addresses. Its environment is ours without
// PLAYGROUND_* variables, so only the flags configure it.
func startPlayground(ctx context.Context, path string, n int) (*playground, error) {
	cmd := exec.Command(path, childArgs(n)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLAYGROUND_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.WaitDelay = stopTimeout
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the playground: %w", err)
	}
	p := &playground{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string)
	var readers sync.WaitGroup
	readers.Go(func() { p.readStdout(stdout, lines) })
	readers.Go(func() { p.readStderr(stderr) })
	go func() {
		readers.Wait() // every read before Wait, as os/exec requires
		p.err = cmd.Wait()
		close(p.done)
	}()

	t := time.NewTimer(startTimeout)
	defer t.Stop()
	for p.base == nil || p.metrics == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				<-p.done
				return nil, fmt.Errorf("the playground exited before it printed its address: %v%s", p.err, p.stderrTail())
			}
			if err := p.parseAddr(line); err != nil {
				p.stop()
				return nil, err
			}
		case <-t.C:
			p.stop()
			return nil, fmt.Errorf("the playground printed no address within %v%s", startTimeout, p.stderrTail())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		}
	}
	go func() { // the rest of its stdout is not needed
		for range lines {
		}
	}()
	return p, nil
}

// parseAddr reads one line of the playground's stdout, taking the two
// addresses it prints; both must be 127.0.0.1.
func (p *playground) parseAddr(line string) error {
	var raw string
	var metrics bool
	if v, ok := strings.CutPrefix(line, "Metrics: "); ok {
		raw, metrics = v, true
	} else if v, ok := strings.CutPrefix(line, "Socket Playground: "); ok {
		raw = v
	} else {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("the playground printed %q: %w", line, err)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil || u.Scheme != "http" || ap.Addr() != netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		return fmt.Errorf("the playground printed %q: the load test talks only to http://127.0.0.1:PORT", line)
	}
	if metrics {
		p.metrics = u.String()
	} else {
		p.base = u
	}
	return nil
}

func (p *playground) readStdout(r io.Reader, lines chan<- string) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines <- sc.Text()
	}
	io.Copy(io.Discard, r) // a line too long for the scanner
}

// readStderr counts the JSON log lines at level ERROR and keeps a few; it
// passes nothing through.
func (p *playground) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var rec struct {
			Level string `json:"level"`
		}
		isJSON := json.Unmarshal([]byte(line), &rec) == nil
		p.mu.Lock()
		switch {
		case isJSON && rec.Level == "ERROR":
			p.errorLines++
			if len(p.errorSample) < maxSamples {
				p.errorSample = append(p.errorSample, truncate(line, maxLogLine))
			}
		case !isJSON && len(p.otherLines) < 20:
			p.otherLines = append(p.otherLines, truncate(line, maxLogLine))
		}
		p.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// serverErrors returns the count of ERROR log lines and a few of them.
func (p *playground) serverErrors() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errorLines, append([]string(nil), p.errorSample...)
}

// stderrTail is what the playground wrote to stderr that was not a JSON log
// line, for an error message.
func (p *playground) stderrTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.otherLines) == 0 {
		return ""
	}
	return "; it said:\n    " + strings.Join(p.otherLines, "\n    ")
}

// exited reports whether the playground ended before stop was called, and
// how.
func (p *playground) exited() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return nil
	}
	return fmt.Errorf("the playground exited during the test: %v", p.err)
}

// stop sends SIGTERM and waits for the playground to exit, killing it if
// it takes longer than stopTimeout; it returns an error if it exited other
// than cleanly. It is safe to call more than once.
func (p *playground) stop() error {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("the playground did not exit within %v of SIGTERM; killed it", stopTimeout)
		}
	}
	if p.err != nil {
		return fmt.Errorf("the playground exited: %w%s", p.err, p.stderrTail())
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
