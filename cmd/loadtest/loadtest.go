package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"time"
)

const (
	// goroutineMargin is how far above its baseline the server's goroutine
	// count may stay once every session has closed.
	goroutineMargin = 20
	// fdMargin is how far above its baseline the server's open descriptors
	// may stay before the report warns.
	fdMargin = 20
	// heapMargin is how far above its baseline the server's heap in use may
	// stay: the Go runtime keeps freed memory, so this is loose.
	heapMargin = 64 << 20
	// sampleEvery is how often /metrics is read under load, for the peak.
	sampleEvery = 5 * time.Second
	// progressEvery is how often a progress line is printed.
	progressEvery = 10 * time.Second
	// openGrace is how long after the ramp the sessions still opening may
	// take before the first reading under load is taken anyway.
	openGrace = stepTimeout
	// baselineDelay is how long after its start the server is first read.
	baselineDelay = time.Second
	// gcWait is how long after the sessions closed the load test waits for
	// the server's first GC, if it needs one to judge the heap: the Go
	// runtime forces a GC two minutes after the last one.
	gcWait = 150 * time.Second
	// sweepDelay is how long after that GC the heap is read.
	sweepDelay = 2 * time.Second
)

// fleet is the people of one load test and what they share.
type fleet struct {
	n     int
	ramp  time.Duration
	pause time.Duration
	base  *url.URL // http://127.0.0.1:PORT/
	host  string   // 127.0.0.1:PORT, for ws:// and Origin

	// Shared by every person; without keep-alive, so that no idle
	// connection lingers as a goroutine in the server.
	pageTransport *http.Transport
	wsTransport   *http.Transport

	start, rampEnd, stop time.Time
	stats                *stats
}

// person runs one simulated person from its arrival to its normal close.
func (f *fleet) person(ctx context.Context, i int) {
	at := f.start.Add(f.ramp * time.Duration(i) / time.Duration(f.n))
	t := time.NewTimer(time.Until(at))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		f.stats.attempted.Add(1)
		return
	}
	p := &person{n: i, f: f}
	err := p.open(ctx)
	f.stats.attempted.Add(1)
	if err != nil {
		f.stats.wsFailure(fmt.Sprintf("session %d: %v", i, err))
		return
	}
	f.stats.opened()
	defer f.stats.closed()
	err = p.loop(ctx, f.stop)
	f.stats.addLatencies(p.lat)
	if err != nil {
		f.stats.wsFailure(fmt.Sprintf("session %d: %v", i, err))
		p.ws.CloseNow()
		return
	}
	if err := p.close(); err != nil {
		f.stats.wsFailure(fmt.Sprintf("session %d: %v", i, err))
	}
}

// loadTest runs one load test and returns its report; an error means it
// could not be run at all.
func loadTest(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	rep := &report{Asked: cfg.sessions, Sessions: cfg.sessions, DurationS: cfg.duration.Seconds(), RampS: cfg.ramp.Seconds(), CPUs: runtime.NumCPU()}
	soft, hard, err := raiseNoFile()
	if err != nil {
		return nil, err
	}
	rep.NoFile = hard
	fmt.Fprintf(out, "RLIMIT_NOFILE: soft %d, hard %d (soft raised to hard; the playground inherits it)\n", soft, hard)
	if m := maxSessions(hard); cfg.sessions > m {
		w := fmt.Sprintf("%d sessions need about %d descriptors in the server, more than the hard limit of %d allows: running %d sessions instead",
			cfg.sessions, fdPerSessionServer*cfg.sessions+fdSpare, hard, m)
		fmt.Fprintln(out, "WARNING:", w)
		rep.Warnings = append(rep.Warnings, w)
		rep.Sessions = m
	}
	n := rep.Sessions
	if n < 1 {
		return nil, fmt.Errorf("the descriptor limit (%d) leaves room for no session", hard)
	}

	srv, err := startPlayground(ctx, cfg.playground, n)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Fprintf(out, "playground: %s (pid %d), metrics %s; hosted mode, every service on a free port\n", srv.base, srv.cmd.Process.Pid, srv.metrics)
	// The baseline is read a moment after the start, once the services'
	// and the server's own goroutines are all up.
	t := time.NewTimer(baselineDelay)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	}
	sc := newScraper(srv.metrics, srv.cmd.Process.Pid)
	rep.Baseline, err = sc.scrape(ctx)
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // a playground that exits ends the run
		select {
		case <-srv.done:
			cancel()
		case <-runCtx.Done():
		}
	}()
	f := &fleet{n: n, ramp: cfg.ramp, pause: cfg.pause, base: srv.base, host: srv.base.Host,
		pageTransport: &http.Transport{DisableKeepAlives: true}, wsTransport: &http.Transport{DisableKeepAlives: true},
		stats: newStats()}
	clientCPU := selfCPU()
	busy0, total0, cpuOK := machineCPU()
	f.start = time.Now()
	f.rampEnd = f.start.Add(cfg.ramp)
	f.stop = f.rampEnd.Add(cfg.duration)
	fmt.Fprintf(out, "ramp: %d sessions over %v, then rounds for %v\n", n, cfg.ramp, cfg.duration)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f.person(runCtx, i) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	rep.Peak = f.watch(runCtx, sc, done, out, &rep.Warnings)
	<-done
	closedAt := time.Now()
	rep.WallS, rep.ClientCPUS = closedAt.Sub(f.start).Seconds(), (selfCPU() - clientCPU).Seconds()
	if busy1, total1, ok := machineCPU(); ok && cpuOK && total1 > total0 {
		rep.MachineBusyPct = 100 * float64(busy1-busy0) / float64(total1-total0)
	}
	if atClose, err := sc.scrape(runCtx); err == nil {
		rep.ServerCPUS = atClose.CPUSeconds - rep.Baseline.CPUSeconds
	}
	f.pageTransport.CloseIdleConnections()
	f.wsTransport.CloseIdleConnections()
	fmt.Fprintf(out, "all sessions ended after %.1fs; waiting for the server to come back to rest\n", closedAt.Sub(f.start).Seconds())

	if err := srv.exited(); err != nil {
		rep.Failures = append(rep.Failures, err.Error()+srv.stderrTail())
	} else if ctx.Err() == nil {
		err := settle(ctx, sc, cfg, rep, closedAt, out)
		if err != nil {
			rep.Failures = append(rep.Failures, "reading /metrics after the test: "+err.Error())
		}
		rep.afterRead = err == nil
	}
	if ctx.Err() != nil {
		rep.Failures = append(rep.Failures, "interrupted")
	}
	if err := srv.stop(); err != nil {
		rep.Failures = append(rep.Failures, err.Error())
	}
	rep.ServerErrorLines, rep.ServerErrorSamples = srv.serverErrors()
	rep.fill(f)
	rep.judge()
	return rep, nil
}

// watch prints progress and reads /metrics under load until done is
// closed, and returns the highest readings. The first reading is taken once
// the ramp is over and every session has opened (or failed to), so that
// it shows them all.
func (f *fleet) watch(ctx context.Context, sc *scraper, done <-chan struct{}, out io.Writer, warnings *[]string) sample {
	var peak sample
	var sampled bool
	var lastSample time.Time
	lastProgress := f.start
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return peak
		case now := <-tick.C:
			if now.Sub(lastProgress) >= progressEvery {
				lastProgress = now
				s := f.stats
				fmt.Fprintf(out, "  %5.0fs: %d sessions open, %d rounds, %d error events, %d WebSocket failures\n",
					now.Sub(f.start).Seconds(), s.open.Load(), s.rounds.Load(), s.errorCount(), s.wsFailureCount())
			}
			opened := f.stats.attempted.Load() == int64(f.n) || now.After(f.rampEnd.Add(openGrace))
			if now.Before(f.rampEnd) || now.After(f.stop) || !opened || now.Sub(lastSample) < sampleEvery {
				continue
			}
			lastSample = now
			smp, err := sc.scrape(ctx)
			if err != nil {
				if ctx.Err() == nil && !slices.Contains(*warnings, err.Error()) {
					*warnings = append(*warnings, err.Error())
				}
				continue
			}
			if !sampled {
				fmt.Fprintf(out, "  %5.0fs: under load: %.0f sessions, %.0f goroutines, RSS %s, heap in use %s\n",
					now.Sub(f.start).Seconds(), smp.Sessions, smp.Goroutines, mib(smp.RSSBytes), mib(smp.HeapInuseBytes))
			}
			peak = maxSample(peak, smp, sampled)
			sampled = true
		}
	}
}

// poll reads /metrics every second until done says the reading will do or
// the deadline passes, and returns the last reading (an error only if none
// succeeded).
func poll(ctx context.Context, sc *scraper, deadline time.Time, done func(sample) bool) (sample, error) {
	var last sample
	var lastErr error
	got := false
	for {
		smp, err := sc.scrape(ctx)
		if err == nil {
			last, got = smp, true
		} else {
			lastErr = err
		}
		if (err == nil && done(smp)) || !time.Now().Before(deadline) {
			if !got {
				return last, lastErr
			}
			return last, nil
		}
		t := time.NewTimer(time.Second)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return last, errors.Join(ctx.Err(), lastErr)
		}
	}
}

// settle reads /metrics once the sessions have closed: when the server is
// back to rest (no session, goroutines within goroutineMargin of the
// baseline) and at least cfg.settle has passed, or once cfg.settleMax has.
// If the heap in use is then over its margin but the server has not
// collected garbage since the sessions closed (an idle Go program does not
// until the runtime's periodic GC, every two minutes), it also waits up to
// gcWait for that GC and reads again.
func settle(ctx context.Context, sc *scraper, cfg config, rep *report, closedAt time.Time, out io.Writer) error {
	after, err := poll(ctx, sc, closedAt.Add(cfg.settleMax), func(s sample) bool {
		return s.Sessions == 0 && s.Goroutines <= rep.Baseline.Goroutines+goroutineMargin && time.Since(closedAt) >= cfg.settle
	})
	if err != nil {
		return err
	}
	rep.After, rep.AfterS = after, time.Since(closedAt).Seconds()
	since := float64(closedAt.UnixNano()) / 1e9
	rep.gcSinceClose = after.LastGC >= since
	if after.HeapInuseBytes <= rep.Baseline.HeapInuseBytes+heapMargin || rep.gcSinceClose {
		return nil
	}
	fmt.Fprintf(out, "heap in use %s, and no GC since the sessions closed: waiting up to %v after they closed for the runtime's periodic GC\n",
		mib(after.HeapInuseBytes), gcWait)
	gc, err := poll(ctx, sc, closedAt.Add(gcWait), func(s sample) bool { return s.LastGC >= since })
	if err != nil || gc.LastGC < since {
		return err
	}
	t := time.NewTimer(sweepDelay) // freed spans leave "in use" as they are swept
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
	gc, err = sc.scrape(ctx)
	if err != nil {
		return err
	}
	rep.AfterGC, rep.AfterGCS = &gc, time.Since(closedAt).Seconds()
	return nil
}

// maxSample keeps the highest of each reading; with ok false, a is empty.
func maxSample(a, b sample, ok bool) sample {
	if !ok {
		return b
	}
	a.Goroutines = max(a.Goroutines, b.Goroutines)
	a.RSSBytes = max(a.RSSBytes, b.RSSBytes)
	a.HeapInuseBytes = max(a.HeapInuseBytes, b.HeapInuseBytes)
	a.Sessions = max(a.Sessions, b.Sessions)
	a.OpenFDs = max(a.OpenFDs, b.OpenFDs)
	a.Threads = max(a.Threads, b.Threads)
	a.CPUSeconds = max(a.CPUSeconds, b.CPUSeconds)
	a.LastGC = max(a.LastGC, b.LastGC)
	a.NextGCBytes = max(a.NextGCBytes, b.NextGCBytes)
	for _, m := range []struct{ dst, src map[string]float64 }{
		{a.Sockets, b.Sockets}, {a.Opened, b.Opened}, {a.Errors, b.Errors}, {a.Refusals, b.Refusals}, {a.UpgradesRefused, b.UpgradesRefused},
	} {
		for k, v := range m.src {
			m.dst[k] = max(m.dst[k], v)
		}
	}
	if a.FDKinds == nil {
		a.FDKinds = map[string]int{}
	}
	for k, v := range b.FDKinds {
		a.FDKinds[k] = max(a.FDKinds[k], v)
	}
	return a
}
