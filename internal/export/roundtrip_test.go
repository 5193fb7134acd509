package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/session"
)

// traffic is what each socket sent and received, by socket name ("s1"):
// TCP as one stream each way, UDP as its datagrams.
type traffic map[string]*flow

type flow struct {
	sent, recv [][]byte
}

func (tr traffic) add(sock, dir string, data []byte) {
	f := tr[sock]
	if f == nil {
		f = &flow{}
		tr[sock] = f
	}
	if dir == "send" {
		f.sent = append(f.sent, data)
	} else {
		f.recv = append(f.recv, data)
	}
}

// logTraffic is the traffic the session's log records: the bytes of its
// sent and data events.
func logTraffic(evs []*session.Event) traffic {
	tr := traffic{}
	for _, e := range evs {
		switch {
		case e.Type == session.TypeSent:
			tr.add(fmt.Sprintf("s%d", e.Sock), "send", e.Data)
		case e.Type == session.TypeData && !e.EOF:
			tr.add(fmt.Sprintf("s%d", e.Sock), "recv", e.Data)
		}
	}
	return tr
}

// traceTraffic is the traffic a program's PLAYGROUND_TRACE=1 output shows,
// and its other lines.
func traceTraffic(t *testing.T, out []byte) (traffic, []string) {
	t.Helper()
	tr := traffic{}
	var other []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "trace" {
			other = append(other, sc.Text())
			continue
		}
		var data []byte
		if len(f) == 4 {
			var err error
			if data, err = hex.DecodeString(f[3]); err != nil {
				t.Fatalf("trace line %q: %v", sc.Text(), err)
			}
		}
		if len(data) == 0 && f[2] == "recv" {
			continue // end-of-file: the log has no bytes for it either
		}
		tr.add(f[1], f[2], data)
	}
	return tr, other
}

// compare reports every socket whose bytes differ: per datagram for the
// UDP sockets, as one stream each way for TCP, where the pieces are the
// network's business.
func compare(t *testing.T, lang string, want, got traffic, udp map[string]bool) {
	t.Helper()
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	if len(names) == 0 {
		t.Fatalf("%s: no traffic at all", lang)
	}
	for n := range names {
		w, g := want[n], got[n]
		if w == nil {
			w = &flow{}
		}
		if g == nil {
			g = &flow{}
		}
		for _, d := range []struct {
			dir       string
			want, got [][]byte
		}{{"sent", w.sent, g.sent}, {"received", w.recv, g.recv}} {
			if udp[n] {
				if !slices.EqualFunc(d.want, d.got, bytes.Equal) {
					t.Errorf("%s: %s %s datagrams %x; the session's were %x", lang, n, d.dir, d.got, d.want)
				}
				continue
			}
			if wj, gj := bytes.Join(d.want, nil), bytes.Join(d.got, nil); !bytes.Equal(wj, gj) {
				t.Errorf("%s: %s %s %x; the session %s %x", lang, n, d.dir, gj, d.dir, wj)
			}
		}
	}
}

// run runs a program with PLAYGROUND_TRACE=1 and returns its output; it
// fails the test, showing the program's source, if the program fails or
// takes too long.
func run(t *testing.T, dir, source, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PLAYGROUND_TRACE=1", "GOFLAGS=", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s\nthe program:\n%s", name, strings.Join(args, " "), err, out, stderr.Bytes(), source)
	}
	return out
}

// TestRoundTrip exports real sessions as Python and as Go, runs both
// against the same services, and checks that every socket sent and
// received exactly the bytes the session's log says it did, and that each
// call that failed in the session failed again, as expected.
func TestRoundTrip(t *testing.T) {
	sc := play(t)
	ed := playEdges(t)
	for _, c := range []struct {
		name string
		evs  []*session.Event
		udp  []int
		// failed are the calls that fail as in the session: "s10: connect".
		failed []string
	}{
		{"live and step", sc.evs, []int{sc.udp, sc.stepUDP}, []string{fmt.Sprintf("s%d: connect", sc.refused)}},
		{"errors, timeouts and step switches", ed.evs, nil, []string{
			fmt.Sprintf("s%d: accept", ed.ln), fmt.Sprintf("s%d: accept", ed.ln), fmt.Sprintf("s%d: bind", ed.dup)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			runExports(t, c.evs, c.udp, c.failed)
		})
	}
}

// runExports runs the session's Python script and Go program with
// PLAYGROUND_TRACE=1 and checks that each sent and received exactly the
// bytes of the log (per datagram for the sockets in udp), and that exactly
// the calls in failed failed as in the session. It returns both sources.
func runExports(t *testing.T, evs []*session.Event, udp []int, failed []string) (py, golang string) {
	t.Helper()
	want := logTraffic(evs)
	dgram := map[string]bool{}
	for _, id := range udp {
		dgram[fmt.Sprintf("s%d", id)] = true
	}
	dir := t.TempDir()
	check := func(lang string, out []byte, program string) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Logf("the %s program:\n%s", lang, program)
			}
		}()
		got, other := traceTraffic(t, out)
		compare(t, lang, want, got, dgram)
		var fails []string
		for _, l := range other {
			if what, _, ok := strings.Cut(l, ": "); ok && strings.HasSuffix(l, "(as in the session)") {
				fails = append(fails, what+": "+strings.SplitN(l, ": ", 3)[1])
			}
		}
		if !slices.Equal(fails, failed) {
			t.Errorf("%s: the calls that failed as in the session were %q, not %q; output:\n%s", lang, fails, failed, strings.Join(other, "\n"))
		}
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to run the exported script (make test checks for it): %v", err)
	}
	py = export.Python(evs)
	script := filepath.Join(dir, "session.py")
	if err := os.WriteFile(script, []byte(py), 0o644); err != nil {
		t.Fatal(err)
	}
	check("python", run(t, dir, py, python, script), py)

	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the exported program: %v", err)
	}
	golang = export.Go(evs)
	prog := filepath.Join(dir, "session.go")
	if err := os.WriteFile(prog, []byte(golang), 0o644); err != nil {
		t.Fatal(err)
	}
	check("go", run(t, dir, golang, goBin, "run", prog), golang)
	return py, golang
}
