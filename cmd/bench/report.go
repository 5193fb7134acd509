package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets from the issue.
const (
	targetBulkRatio  = 0.6
	targetP50        = 40 * time.Microsecond
	targetSessionKiB = 64
	targetSessions   = 10000
)

// report collects the results and prints them.
type report struct {
	sys      system
	opts     options
	echoAddr string

	// MiB/s per run: raw TCP to the echo server, through the TCP relay
	// child, and bridged.
	bulkRaw, bulkRelay, bulkBridged []float64
	bulkUsage                       usage         // of the bridged runs
	bulkEchoed                      int64         // bytes echoed by the bridged runs, and by the relay runs
	bulkRelayCPU                    time.Duration // the relay's CPU time in its runs

	latRaw, latRelay, latBridged latencyStats
	latUsage                     usage         // of the bridged test
	latRelayCPU                  time.Duration // the relay's CPU time in its test

	idle, conc *sessionsResult
}

func (r *report) printHeader(w io.Writer) {
	s := r.sys
	fmt.Fprintln(w, "Socket Playground benchmark: all traffic on loopback (127.0.0.1)")
	tw := newTable(w)
	fmt.Fprintf(tw, "  Go\t%s %s\n", s.goVersion, s.goos)
	fmt.Fprintf(tw, "  GOMAXPROCS\t%d (%d logical CPUs)\n", s.gomaxprocs, s.numCPU)
	fmt.Fprintf(tw, "  CPU\t%s\n", s.cpuModel)
	fmt.Fprintf(tw, "  Open files (bench)\t%s\n", s.openFiles)
	fmt.Fprintf(tw, "  Echo server\t%s, in the bench process\n", r.echoAddr)
	fmt.Fprintf(tw, "  Playground server\ta child process: server.Run on 127.0.0.1:0, no built-in services, %s\n", r.serverConfig())
	tw.Flush()
	fmt.Fprintln(w)
}

// serverConfig describes what the server child runs with beyond defaults.
func (r *report) serverConfig() string {
	var parts []string
	if r.opts.serverProcs > 0 {
		parts = append(parts, fmt.Sprintf("GOMAXPROCS %d", r.opts.serverProcs))
	}
	if r.opts.serverWindow > 0 {
		parts = append(parts, fmt.Sprintf("event window %d bytes", r.opts.serverWindow))
	}
	if len(parts) == 0 {
		return "default limits"
	}
	return strings.Join(parts, ", ") + ", other limits default"
}

func (r *report) printTransfer(w io.Writer) {
	o := r.opts
	fmt.Fprintf(w, "1. Bulk echo: %d MiB each way in %s chunks, %d runs per path (median reported)\n",
		o.bulkMiB, sizeString(o.chunk), o.runs)
	tw := newTable(w)
	fmt.Fprintf(tw, "  \tmedian MiB/s\truns, in order\n")
	fmt.Fprintf(tw, "  raw TCP\t%.0f\t%s\n", median(r.bulkRaw), joinFloats(r.bulkRaw))
	fmt.Fprintf(tw, "  bridged\t%.0f\t%s\n", median(r.bulkBridged), joinFloats(r.bulkBridged))
	fmt.Fprintf(tw, "  bridged/raw\t%.2fx\t\n", r.bulkRatio())
	fmt.Fprintf(tw, "  reference: through a plain TCP relay process\t%.0f\t%s\n", median(r.bulkRelay), joinFloats(r.bulkRelay))
	fmt.Fprintf(tw, "  relay/raw\t%.2fx\t\n", ratio(r.bulkRelay, r.bulkRaw))
	tw.Flush()
	u, mib := r.bulkUsage, float64(r.bulkEchoed)/(1<<20)
	fmt.Fprintf(w, "  Bridged runs: the server kept %.2f CPUs busy and the bench (client + echo) %.2f, of %d;\n",
		u.serverCores(), u.benchCores(), r.sys.numCPU)
	fmt.Fprintf(w, "  the server spent %.2f ms of CPU (the relay %.2f) and allocated %.1f KiB per MiB echoed, and ran %d GC cycles.\n",
		ms(u.serverCPU)/mib, ms(r.bulkRelayCPU)/mib, float64(u.allocated)/1024/mib, u.gcCycles)
	fmt.Fprintln(w)

	fmt.Fprintf(w, "2. Round-trip latency: %s per round trip, %d measured after %d warm-up (µs)\n",
		sizeString(o.msgSize), o.samples, o.warmup)
	tw = newTable(w)
	fmt.Fprintf(tw, "  \tp50\tp90\tp99\tmax\tmean\n")
	for _, row := range []struct {
		name string
		s    latencyStats
	}{{"raw TCP", r.latRaw}, {"bridged", r.latBridged}, {"reference: through a plain TCP relay process", r.latRelay}} {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", row.name, us(row.s.p50), us(row.s.p90), us(row.s.p99), us(row.s.pmax), us(row.s.mean))
	}
	tw.Flush()
	n := float64(o.warmup + o.samples)
	fmt.Fprintf(w, "  Per round trip the server spent %.1f µs of CPU (the relay %.1f) and allocated %.1f KiB.\n",
		ms(r.latUsage.serverCPU)*1000/n, ms(r.latRelayCPU)*1000/n, float64(r.latUsage.allocated)/1024/n)
	fmt.Fprintln(w)
}

func (r *report) printSessions(w io.Writer, title string, s sessionsResult) {
	fmt.Fprintf(w, "%s: %d sessions, each with one TCP socket connected to the echo server (fresh server)\n", title, s.wanted)
	tw := newTable(w)
	rate := float64(s.rep.Opened) / max(s.rep.Seconds, 1e-9)
	fmt.Fprintf(tw, "  opened\t%d of %d in %.1f s (%.0f sessions/s)\n", s.rep.Opened, s.wanted, s.rep.Seconds, rate)
	fmt.Fprintf(tw, "  server RSS\t%s before, %s with the sessions open (each read after %v)\n",
		kibString(float64(s.rssBefore)), kibString(float64(s.rssAfter)), settleTime)
	fmt.Fprintf(tw, "  per session\t%.1f KiB of RSS\n", s.perSession())
	if n := float64(s.rep.Opened); n > 0 {
		d := func(a, b uint64) float64 { return (float64(b) - float64(a)) / n }
		fmt.Fprintf(tw, "  \t%.2f goroutines, %.1f KiB of stacks, %.1f KiB of heap objects, %.1f KiB mapped by the Go runtime\n",
			d(s.before.Goroutines, s.after.Goroutines), d(s.before.Stacks, s.after.Stacks)/1024,
			d(s.before.HeapObj, s.after.HeapObj)/1024, d(s.before.GoTotal, s.after.GoTotal)/1024)
	}
	fmt.Fprintf(tw, "  server descriptors\t%d before, %d with the sessions open; limit %s\n", s.fdsBefore, s.fdsAfter, s.serverLimit)
	if s.limitSoft > 0 && int64(s.wanted) > s.fdCapacity() {
		fmt.Fprintf(tw, "  \tat 2 per session (WebSocket + socket) that limit leaves room for %d sessions\n", s.fdCapacity())
	}
	for _, e := range sortedErrors(s.rep.Errors) {
		fmt.Fprintf(tw, "  failed\t%d× %s\n", s.rep.Errors[e], e)
	}
	if s.recovered == nil {
		fmt.Fprintf(tw, "  afterwards\ta new session and connect succeed\n")
	} else {
		fmt.Fprintf(tw, "  afterwards\ta new session fails: %v\n", s.recovered)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func (r *report) printSummary(w io.Writer) {
	fmt.Fprintln(w, "Summary")
	tw := newTable(w)
	fmt.Fprintf(tw, "  \tmeasured\treference: plain TCP relay\ttarget\t\n")
	bulk := r.bulkRatio()
	fmt.Fprintf(tw, "  bulk throughput, bridged/raw (median)\t%.2fx (%.0f / %.0f MiB/s)\t%.2fx\t≥ %.1fx\t%s\n",
		bulk, median(r.bulkBridged), median(r.bulkRaw), ratio(r.bulkRelay, r.bulkRaw), targetBulkRatio, verdict(bulk >= targetBulkRatio))
	fmt.Fprintf(tw, "  round trip p50, bridged\t%s µs (raw %s µs)\t%s µs\t≤ %s µs\t%s\n",
		us(r.latBridged.p50), us(r.latRaw.p50), us(r.latRelay.p50), us(targetP50), verdict(r.latBridged.p50 <= targetP50))
	if r.idle != nil {
		per := r.idle.perSession()
		fmt.Fprintf(tw, "  memory per idle session (%d sessions)\t%.1f KiB\t\t≤ %d KiB\t%s\n",
			r.idle.wanted, per, targetSessionKiB, verdict(per <= targetSessionKiB && r.idle.rep.Failed == 0))
	} else {
		fmt.Fprintf(tw, "  memory per idle session\tnot measured (-idle 0)\t\t≤ %d KiB\t\n", targetSessionKiB)
	}
	if r.conc != nil {
		c := r.conc
		fmt.Fprintf(tw, "  concurrent sessions with a socket\t%d of %d (%.1f KiB each)\t\t%d\t%s\n",
			c.rep.Opened, c.wanted, c.perSession(), targetSessions, verdict(c.rep.Opened >= targetSessions))
	} else {
		fmt.Fprintf(tw, "  concurrent sessions\tnot measured (-sessions 0)\t\t%d\t\n", targetSessions)
	}
	tw.Flush()
	r.printNotes(w)
	if r.opts.profiles != "" {
		fmt.Fprintf(w, "\nServer profiles in %s (go tool pprof -top FILE).\n", r.opts.profiles)
	}
}

// printNotes points out targets this machine cannot show whatever the
// server does.
func (r *report) printNotes(w io.Writer) {
	var notes []string
	if rr := ratio(r.bulkRelay, r.bulkRaw); rr < targetBulkRatio {
		notes = append(notes, fmt.Sprintf("Even a plain TCP relay in its own process reaches only %.2fx of raw here: client, "+
			"server and echo share %d CPUs, and a relay doubles the kernel's copying.", rr, r.sys.numCPU))
	}
	if r.latRelay.p50 > targetP50 {
		notes = append(notes, fmt.Sprintf("Even a plain TCP relay in its own process takes %s µs at p50 here: "+
			"each hop between processes wakes another CPU.", us(r.latRelay.p50)))
	}
	if c := r.conc; c != nil && c.limitSoft > 0 && c.fdCapacity() < int64(targetSessions) {
		notes = append(notes, fmt.Sprintf("The server's open-files limit (%s) leaves room for %d sessions with a socket; "+
			"%d need a limit of at least %d.", c.serverLimit, c.fdCapacity(), targetSessions, 2*targetSessions+c.fdsBefore))
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w, "Notes")
	for _, n := range notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}

func (r *report) bulkRatio() float64 { return ratio(r.bulkBridged, r.bulkRaw) }

// ratio is the ratio of two sets of runs' medians.
func ratio(a, b []float64) float64 {
	if median(b) == 0 {
		return 0
	}
	return median(a) / median(b)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(parts, "  ")
}

// ms returns a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }

func sizeString(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func kibString(kib float64) string { return fmt.Sprintf("%.1f MiB", kib/1024) }

func sortedErrors(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}
