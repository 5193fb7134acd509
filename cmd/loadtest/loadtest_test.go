package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestLoadTest runs the whole load test in miniature against a freshly
// built playground: 20 sessions, a 1 s ramp, 3 s of rounds.
func TestLoadTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the playground and runs it under load for a few seconds")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the playground with")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "playground")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/socketplayground/playground/cmd/playground")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/playground: %v\n%s", err, out)
	}

	cfg, err := parseFlags([]string{"-sessions", "20", "-duration", "3s", "-ramp", "1s", "-playground", bin}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.settle = time.Second
	var out bytes.Buffer
	rep, err := loadTest(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	rep.print(&out)
	t.Log("\n" + out.String())

	if rep.Reached != 20 {
		t.Errorf("%d sessions reached, want 20", rep.Reached)
	}
	if rep.Rounds == 0 {
		t.Error("no round completed")
	}
	if rep.WebSocketFailures != 0 || rep.UnexpectedErrors != 0 || rep.EchoMismatches != 0 || rep.ServerErrorLines != 0 {
		t.Errorf("failures: %d WebSocket, %d error events (%v), %d mismatches, %d server ERROR lines",
			rep.WebSocketFailures, rep.UnexpectedErrors, rep.ErrorEvents, rep.EchoMismatches, rep.ServerErrorLines)
	}
	if !rep.Pass || len(rep.Failures) > 0 {
		t.Errorf("the report fails: %q", rep.Failures)
	}
	if rep.Peak.Sessions != 20 || rep.After.Sessions != 0 {
		t.Errorf("playground_sessions: %.0f under load, %.0f after; want 20, 0", rep.Peak.Sessions, rep.After.Sessions)
	}
	if rep.Baseline.Goroutines == 0 || rep.Peak.RSSBytes == 0 || rep.Peak.HeapInuseBytes == 0 {
		t.Errorf("metrics not read: baseline %+v, peak %+v", rep.Baseline, rep.Peak)
	}
	var back report
	if b, err := json.Marshal(rep); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &back); err != nil || back.Rounds != rep.Rounds || back.Pass != rep.Pass {
		t.Errorf("the JSON report does not read back: %v, %+v", err, back)
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 1.2582912e+07
process_resident_memory_bytes 3.3554432e+07
playground_sessions 3
playground_sockets{kind="tcp"} 2
playground_sockets{kind="tcp-listener"} 0
playground_errors_total{code="policy"} 5
playground_policy_refusals_total{rule="connect_rate"} 5
playground_upgrades_refused_total{reason="sessions_per_ip"} 1
odd{a="x\"y",b="z\\"} 7 1700000000000
`
	all, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := newSample(all)
	if s.Goroutines != 42 || s.HeapInuseBytes != 12582912 || s.RSSBytes != 33554432 || s.Sessions != 3 {
		t.Errorf("sample %+v", s)
	}
	if s.Sockets["tcp"] != 2 || s.Errors["policy"] != 5 || s.Refusals["connect_rate"] != 5 || s.UpgradesRefused["sessions_per_ip"] != 1 {
		t.Errorf("labelled series: %+v", s)
	}
	if len(s.Missing) != 0 || s.HeapMetric != "go_memstats_heap_inuse_bytes" {
		t.Errorf("missing %q, heap from %q", s.Missing, s.HeapMetric)
	}
	last := all[len(all)-1]
	if last.labels["a"] != `x"y` || last.labels["b"] != `z\` || last.value != 7 {
		t.Errorf("escaped labels: %+v", last)
	}

	// The runtime/metrics names stand in for the memstats one.
	s = newSample([]series{{name: "go_memory_classes_heap_objects_bytes", value: 10}, {name: "go_memory_classes_heap_unused_bytes", value: 5}})
	if s.HeapInuseBytes != 15 || len(s.Missing) != 3 {
		t.Errorf("fallback heap: %v, missing %q", s.HeapInuseBytes, s.Missing)
	}

	for _, bad := range []string{"{x=\"1\"} 2", "name{x=\"1} 2", "name", "name{x} 2", "name abc"} {
		if _, err := parseSeries(bad); err == nil {
			t.Errorf("parseSeries(%q): no error", bad)
		}
	}
}

func binaryEvent(header string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	return append(append(b, header...), payload...)
}

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name    string
		typ     websocket.MessageType
		msg     []byte
		want    event
		payload string
		bad     bool
	}{
		{name: "text", typ: websocket.MessageText,
			msg:  []byte(`{"seq":3,"t":1,"type":"result","sock":2,"id":"c1","op":"connect","addr":"127.0.0.1:7","unknown":[1]}`),
			want: event{Type: "result", Sock: 2, ID: "c1", Op: "connect"}},
		{name: "error", typ: websocket.MessageText,
			msg:  []byte(`{"seq":4,"type":"error","sock":2,"id":"c2","op":"connect","code":"policy","message":"too fast"}`),
			want: event{Type: "error", Sock: 2, ID: "c2", Op: "connect", Code: "policy", Message: "too fast"}},
		{name: "binary data", typ: websocket.MessageBinary,
			msg:  binaryEvent(`{"seq":12,"type":"data","sock":3,"op":"recv","auto":true,"len":6}`, []byte("hello\n")),
			want: event{Type: "data", Sock: 3, Op: "recv", Len: 6}, payload: "hello\n"},
		{name: "binary empty", typ: websocket.MessageBinary,
			msg:  binaryEvent(`{"seq":1,"type":"data","sock":1,"op":"recvfrom"}`, nil),
			want: event{Type: "data", Sock: 1, Op: "recvfrom"}},
		{name: "short", typ: websocket.MessageBinary, msg: []byte{0, 0}, bad: true},
		{name: "header too long", typ: websocket.MessageBinary, msg: []byte{0, 0, 1, 0, '{', '}'}, bad: true},
		{name: "len disagrees", typ: websocket.MessageBinary, msg: binaryEvent(`{"type":"data","len":2}`, []byte("x")), bad: true},
		{name: "hello", typ: websocket.MessageText, msg: []byte(`{"type":"hello"}`), bad: true},
		{name: "not JSON", typ: websocket.MessageText, msg: []byte(`nope`), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, payload, err := decodeEvent(tt.typ, tt.msg)
			if tt.bad {
				if err == nil {
					t.Errorf("no error; got %+v", ev)
				}
				return
			}
			if err != nil || ev != tt.want || string(payload) != tt.payload {
				t.Errorf("got %+v %q %v; want %+v %q", ev, payload, err, tt.want, tt.payload)
			}
		})
	}
}

func TestPageConfig(t *testing.T) {
	page := `<html><head><script id="playground-config" type="application/json">{"ws_path":"/ws","subprotocol":"socket-playground.v1","token":"abc_-"}</script></head></html>`
	m := configScript.FindSubmatch([]byte(page))
	if m == nil {
		t.Fatal("no match")
	}
	var pc pageConfig
	if err := json.Unmarshal(m[1], &pc); err != nil || pc.WSPath != "/ws" || pc.Token != "abc_-" {
		t.Errorf("%+v %v", pc, err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(d, tt.q); got != tt.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestMaxSessions(t *testing.T) {
	if got := maxSessions(20000); got != (20000-fdSpare)/fdPerSessionServer {
		t.Errorf("maxSessions(20000) = %d", got)
	}
	if got := maxSessions(100); got != 0 {
		t.Errorf("maxSessions(100) = %d", got)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(true, binaryEvent(`{"type":"data","sock":3,"len":2}`, []byte("hi")))
	f.Add(false, []byte(`{"type":"result","id":"c1","sock":1}`))
	f.Fuzz(func(t *testing.T, bin bool, msg []byte) {
		typ := websocket.MessageText
		if bin {
			typ = websocket.MessageBinary
		}
		ev, payload, err := decodeEvent(typ, msg)
		if err == nil && bin && len(payload) != ev.Len {
			t.Errorf("payload of %d bytes, len %d", len(payload), ev.Len)
		}
	})
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("go_goroutines 42\nplayground_sockets{kind=\"tcp\"} 2\n")
	f.Add("odd{a=\"x\\\"y\"} 7 1\n# comment\n")
	f.Fuzz(func(t *testing.T, in string) {
		parseMetrics(strings.NewReader(in))
	})
}
