package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// expectedCodes are the error codes a load test may see without failing: a
// policy refusal means a hosted-mode limit was hit, which is the server
// doing its job; the report counts them separately.
var expectedCodes = []string{"policy"}

// report is the outcome of one load test; it is also the JSON written
// with -json.
type report struct {
	Asked     int     `json:"sessions_asked"`
	Sessions  int     `json:"sessions"` // asked, after any lowering for the descriptor limit
	Reached   int64   `json:"sessions_reached"`
	RampS     float64 `json:"ramp_s"`
	DurationS float64 `json:"duration_s"`
	NoFile    uint64  `json:"rlimit_nofile"`

	Rounds          int64   `json:"rounds"`        // completed, in all
	SteadyRounds    int64   `json:"steady_rounds"` // completed between the end of the ramp and the stop
	RoundsPerSecond float64 `json:"rounds_per_s"`  // SteadyRounds / duration
	FailedRounds    int64   `json:"failed_rounds"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	LatencyMaxMs    float64 `json:"latency_max_ms"`
	// Steps is the latency of each step of a round: connect, echo, close.
	Steps map[string]stepLatency `json:"step_latency"`

	ErrorEvents        map[string]int64  `json:"error_events"` // by code, as the sessions saw them
	ErrorSamples       map[string]string `json:"error_samples,omitempty"`
	PolicyErrors       int64             `json:"policy_errors"`
	UnexpectedErrors   int64             `json:"unexpected_errors"`
	WebSocketFailures  int64             `json:"websocket_failures"`
	WebSocketSamples   []string          `json:"websocket_failure_samples,omitempty"`
	EchoMismatches     int64             `json:"echo_mismatches"`
	EchoSamples        []string          `json:"echo_mismatch_samples,omitempty"`
	ServerErrorLines   int               `json:"server_error_lines"`
	ServerErrorSamples []string          `json:"server_error_samples,omitempty"`

	Baseline sample  `json:"baseline"`
	Peak     sample  `json:"peak"` // the highest of the readings under load
	After    sample  `json:"after"`
	AfterS   float64 `json:"after_s"` // when After was read, in seconds after the last session closed
	// AfterGC is read only if After's heap in use was over its margin with
	// no GC since the sessions closed: after the next GC.
	AfterGC  *sample `json:"after_gc,omitempty"`
	AfterGCS float64 `json:"after_gc_s,omitempty"`
	// CPU time used during the test, in seconds: the playground's (from
	// process_cpu_seconds_total) and the load test's own.
	ServerCPUS float64 `json:"server_cpu_s"`
	ClientCPUS float64 `json:"client_cpu_s"`
	WallS      float64 `json:"wall_s"` // from the start of the ramp to the last session closed
	CPUs       int     `json:"cpus"`
	// MachineBusyPct is how busy the machine's CPUs were over WallS, every
	// process counted (/proc/stat); 0 if unknown.
	MachineBusyPct float64 `json:"machine_busy_pct"`

	afterRead    bool // After was read; not when the playground exited early or the run was interrupted
	gcSinceClose bool // the server collected garbage between the sessions' close and After

	Warnings []string `json:"warnings,omitempty"`
	Failures []string `json:"failures,omitempty"`
	Pass     bool     `json:"pass"`
}

type stepLatency struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// fill copies the sessions' counts into the report.
func (r *report) fill(f *fleet) {
	s := f.stats
	r.Reached = s.peakOpen.Load()
	r.Rounds, r.SteadyRounds, r.FailedRounds = s.rounds.Load(), s.steady.Load(), s.failed.Load()
	r.RoundsPerSecond = float64(r.SteadyRounds) / r.DurationS
	var rounds []roundTimes
	r.ErrorEvents, r.ErrorSamples, r.WebSocketFailures, r.WebSocketSamples, r.EchoMismatches, r.EchoSamples, rounds = s.snapshot()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	quantiles := func(step func(roundTimes) time.Duration) (p50, p99, most float64) {
		d := make([]time.Duration, len(rounds))
		for i, rt := range rounds {
			d[i] = step(rt)
		}
		slices.Sort(d)
		if len(d) > 0 {
			most = ms(d[len(d)-1])
		}
		return ms(percentile(d, 0.50)), ms(percentile(d, 0.99)), most
	}
	r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs = quantiles(func(rt roundTimes) time.Duration { return rt.total })
	r.Steps = map[string]stepLatency{}
	for name, step := range map[string]func(roundTimes) time.Duration{
		"connect": func(rt roundTimes) time.Duration { return rt.connect },
		"echo":    func(rt roundTimes) time.Duration { return rt.echo },
		"close":   func(rt roundTimes) time.Duration { return rt.close },
	} {
		var l stepLatency
		l.P50Ms, l.P99Ms, l.MaxMs = quantiles(step)
		r.Steps[name] = l
	}
	for code, n := range r.ErrorEvents {
		if slices.Contains(expectedCodes, code) {
			r.PolicyErrors += n
		} else {
			r.UnexpectedErrors += n
		}
	}
}

// judge decides the verdict.
func (r *report) judge() {
	fail := func(format string, a ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, a...)) }
	warn := func(format string, a ...any) { r.Warnings = append(r.Warnings, fmt.Sprintf(format, a...)) }
	if r.ServerErrorLines > 0 {
		fail("the server logged %d ERROR lines", r.ServerErrorLines)
	}
	if r.WebSocketFailures > 0 {
		fail("%d sessions failed (page, WebSocket or its close)", r.WebSocketFailures)
	}
	if r.UnexpectedErrors > 0 {
		fail("%d error events other than %s: %s", r.UnexpectedErrors, strings.Join(expectedCodes, ", "), codes(r.ErrorEvents))
	}
	if r.EchoMismatches > 0 {
		fail("%d echoes came back wrong or incomplete", r.EchoMismatches)
	}
	if r.Reached < int64(r.Sessions) {
		fail("only %d of %d sessions were open at once", r.Reached, r.Sessions)
	}
	if r.Rounds == 0 {
		fail("no round completed")
	}
	if r.PolicyErrors > 0 {
		warn("the policy refused %d operations (a hosted-mode limit was hit): a pace of about one round a second per session should stay under 60 connects a minute", r.PolicyErrors)
	}
	if !r.afterRead {
		r.Pass = false
		return // the server was not read after the test
	}
	for _, m := range [][]string{r.Baseline.Missing, r.After.Missing} {
		if len(m) > 0 {
			fail("/metrics lacks %s", strings.Join(m, ", "))
		}
	}
	if r.After.Goroutines > r.Baseline.Goroutines+goroutineMargin {
		fail("%.0f server goroutines %.0fs after the sessions closed, baseline %.0f (margin %d)",
			r.After.Goroutines, r.AfterS, r.Baseline.Goroutines, goroutineMargin)
	}
	if r.After.Sessions != 0 {
		fail("playground_sessions is %.0f %.0fs after every session closed", r.After.Sessions, r.AfterS)
	}
	heap, when := r.lastAfter(), fmt.Sprintf("%.0fs after the sessions closed", r.AfterS)
	if r.AfterGC != nil {
		when = fmt.Sprintf("%.0fs after the sessions closed, after a GC", r.AfterGCS)
	} else if !r.gcSinceClose {
		when += " (no GC since they closed)"
	}
	if heap.HeapInuseBytes > r.Baseline.HeapInuseBytes+heapMargin {
		fail("heap in use %s %s, baseline %s (margin %s)", mib(heap.HeapInuseBytes), when, mib(r.Baseline.HeapInuseBytes), mib(heapMargin))
	}
	if last := r.lastAfter(); last.OpenFDs > r.Baseline.OpenFDs+fdMargin {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(last.FDKinds)) {
			if d := last.FDKinds[k] - r.Baseline.FDKinds[k]; d != 0 {
				kinds = append(kinds, fmt.Sprintf("%s %+d", k, d))
			}
		}
		warn("the server still has %.0f descriptors open, baseline %.0f (%s); pipes are Go's splice pipes (the TCP echo's io.Copy), pooled until later GCs free them",
			last.OpenFDs, r.Baseline.OpenFDs, strings.Join(kinds, ", "))
	}
	for kind, v := range r.After.Sockets {
		if v != 0 {
			warn("playground_sockets{kind=%q} is %.0f after every session closed", kind, v)
		}
	}
	r.Pass = len(r.Failures) == 0
}

// lastAfter is the last reading after the sessions closed.
func (r *report) lastAfter() sample {
	if r.AfterGC != nil {
		return *r.AfterGC
	}
	return r.After
}

// print writes the report as plain text.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nSocket Playground load test, hosted mode, loopback: %d sessions, ramp %gs, rounds for %gs\n\n", r.Sessions, r.RampS, r.DurationS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "sessions\t%d reached of %d (server's playground_sessions under load: %.0f)\n", r.Reached, r.Sessions, r.Peak.Sessions)
	fmt.Fprintf(tw, "rounds\t%d completed, %d failed; %d in the %gs after the ramp: %.1f rounds/s\n", r.Rounds, r.FailedRounds, r.SteadyRounds, r.DurationS, r.RoundsPerSecond)
	fmt.Fprintf(tw, "round latency\tp50 %.2f ms, p99 %.2f ms, max %.2f ms (connect, %d-byte echo, close)\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, payloadSize)
	for _, name := range []string{"connect", "echo", "close"} {
		l := r.Steps[name]
		fmt.Fprintf(tw, "  %s\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\n", name, l.P50Ms, l.P99Ms, l.MaxMs)
	}
	fmt.Fprintf(tw, "error events\t%s (policy %d, others %d)\n", codes(r.ErrorEvents), r.PolicyErrors, r.UnexpectedErrors)
	fmt.Fprintf(tw, "  server: errors_total\t%s\n", floats(r.After.Errors))
	fmt.Fprintf(tw, "  server: policy refusals\t%s\n", floats(r.After.Refusals))
	fmt.Fprintf(tw, "  server: upgrades refused\t%s\n", floats(r.After.UpgradesRefused))
	fmt.Fprintf(tw, "WebSocket failures\t%d\n", r.WebSocketFailures)
	fmt.Fprintf(tw, "echo mismatches\t%d\n", r.EchoMismatches)
	fmt.Fprintf(tw, "server ERROR lines\t%d\n", r.ServerErrorLines)
	tw.Flush()

	fmt.Fprintf(w, "\nserver (/metrics)\n")
	cols := []sample{r.Baseline, r.Peak, r.After}
	heads := []string{"baseline", "peak", fmt.Sprintf("after %.0fs", r.AfterS)}
	if r.AfterGC != nil {
		cols, heads = append(cols, *r.AfterGC), append(heads, fmt.Sprintf("after GC %.0fs", r.AfterGCS))
	}
	row := func(name string, cell func(sample) string) {
		fmt.Fprintf(w, "  %-22s", name)
		for _, c := range cols {
			fmt.Fprintf(w, " %14s", cell(c))
		}
		fmt.Fprintln(w)
	}
	num := func(f func(sample) float64) func(sample) string {
		return func(s sample) string { return fmt.Sprintf("%.0f", f(s)) }
	}
	bytes := func(f func(sample) float64) func(sample) string {
		return func(s sample) string { return mib(f(s)) }
	}
	fmt.Fprintf(w, "  %-22s", "")
	for _, h := range heads {
		fmt.Fprintf(w, " %14s", h)
	}
	fmt.Fprintln(w)
	row("goroutines", num(func(s sample) float64 { return s.Goroutines }))
	row("RSS", bytes(func(s sample) float64 { return s.RSSBytes }))
	row("heap in use", bytes(func(s sample) float64 { return s.HeapInuseBytes }))
	row("heap goal (next GC)", bytes(func(s sample) float64 { return s.NextGCBytes }))
	row("open fds", num(func(s sample) float64 { return s.OpenFDs }))
	row("threads", num(func(s sample) float64 { return s.Threads }))
	row("sessions", num(func(s sample) float64 { return s.Sessions }))
	kinds := slices.Sorted(maps.Keys(r.Peak.Sockets))
	for _, k := range slices.Sorted(maps.Keys(r.After.Sockets)) {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		row("sockets "+k, num(func(s sample) float64 { return s.Sockets[k] }))
	}
	for _, k := range slices.Sorted(maps.Keys(r.After.Opened)) {
		row("sockets opened "+k, num(func(s sample) float64 { return s.Opened[k] }))
	}
	for _, k := range []string{"socket", "pipe", "anon_inode", "file"} {
		row("  fds: "+k, func(s sample) string { return strconv.Itoa(s.FDKinds[k]) })
	}
	avail := r.WallS * float64(r.CPUs)
	fmt.Fprintf(w, "\nCPU over the %.1fs of load on %d CPUs: playground %.1fs (%.0f%%), load test %.1fs (%.0f%%); the machine was %.0f%% busy, every process counted\n",
		r.WallS, r.CPUs, r.ServerCPUS, 100*r.ServerCPUS/avail, r.ClientCPUS, 100*r.ClientCPUS/avail, r.MachineBusyPct)
	if r.AfterGC != nil {
		fmt.Fprintf(w, "(the heap is judged on the after-GC reading: an idle Go program collects no garbage until its periodic GC, so before it \"in use\" still counts the load's garbage)\n")
	}
	if r.Baseline.HeapMetric != "" {
		fmt.Fprintf(w, "(heap in use: %s; peak: the highest reading under load)\n", r.Baseline.HeapMetric)
	}

	samples := func(title string, s []string) {
		if len(s) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, l := range s {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	samples("server ERROR lines (the first few)", r.ServerErrorSamples)
	samples("WebSocket failures (the first few)", r.WebSocketSamples)
	samples("echo mismatches (the first few)", r.EchoSamples)
	var errs []string
	for _, code := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		errs = append(errs, code+": "+r.ErrorSamples[code])
	}
	samples("error events (one per code)", errs)
	samples("warnings", r.Warnings)
	if r.Pass {
		fmt.Fprintf(w, "\nPASS\n")
	} else {
		samples("FAIL", r.Failures)
	}
}

// codes writes counts by key, or "none".
func codes(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func floats(m map[string]float64) string {
	c := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			c[k] = int64(v)
		}
	}
	return codes(c)
}

// mib writes a byte count in MiB.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
