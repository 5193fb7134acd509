package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	// sessionTimeout bounds opening one session and connecting its socket.
	sessionTimeout = 10 * time.Second
	// openDeadline bounds opening all the sessions of one test.
	openDeadline = 3 * time.Minute
	// settleTime is how long the server's RSS is watched before it is read.
	settleTime = 2 * time.Second
)

// openReport is what the clients child prints once it has tried to open
// every session.
type openReport struct {
	Opened  int            `json:"opened"`
	Failed  int            `json:"failed"`
	Errors  map[string]int `json:"errors"` // the first distinct errors, with counts
	Seconds float64        `json:"seconds"`
}

// maxDistinctErrors caps the error messages an openReport keeps.
const maxDistinctErrors = 5

// clientsMain is the clients child: it opens n sessions, each with one TCP
// socket connected to the echo server, reports, and holds them open until
// its stdin ends.
func clientsMain(args []string) error {
	fs := flag.NewFlagSet("bench clients", flag.ContinueOnError)
	wsURL := fs.String("url", "", "the server's WebSocket URL")
	echoAddr := fs.String("echo", "", "the echo server's address")
	n := fs.Int("n", 0, "sessions to open")
	parallel := fs.Int("parallel", 64, "sessions opened at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	openCtx, cancel := context.WithTimeout(ctx, openDeadline)
	defer cancel()

	clients, rep := openSessions(openCtx, *wsURL, *echoAddr, *n, *parallel)
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return err
	}
	held := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin) // until the bench closes it
		close(held)
	}()
	select {
	case <-held:
	case <-ctx.Done():
	}
	return nil
}

// openSessions opens n sessions, parallel at a time, each with a TCP socket
// connected to echoAddr, and returns those that succeeded.
func openSessions(ctx context.Context, wsURL, echoAddr string, n, parallel int) ([]*client, openReport) {
	start := time.Now()
	rep := openReport{Errors: make(map[string]int)}
	var mu sync.Mutex
	var clients []*client
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Go(func() {
			for range jobs {
				c, err := openSession(ctx, wsURL, echoAddr)
				mu.Lock()
				if err != nil {
					rep.Failed++
					if _, ok := rep.Errors[err.Error()]; ok || len(rep.Errors) < maxDistinctErrors {
						rep.Errors[err.Error()]++
					}
				} else {
					clients = append(clients, c)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			mu.Lock()
			rep.Failed += n - i
			rep.Errors["not attempted: "+ctx.Err().Error()] += n - i
			mu.Unlock()
			break
		}
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	rep.Opened = len(clients)
	rep.Seconds = time.Since(start).Seconds()
	return clients, rep
}

// openSession opens one session and connects one TCP socket in it.
func openSession(ctx context.Context, wsURL, echoAddr string) (*client, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	c, err := dial(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	if _, err := c.connect(ctx, echoAddr); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// sessionsResult is what one session test measured.
type sessionsResult struct {
	wanted      int
	rep         openReport
	rssBefore   int64 // KiB
	rssAfter    int64 // KiB
	before      serverStats
	after       serverStats
	fdsBefore   int
	fdsAfter    int
	serverLimit string
	limitSoft   int64 // the server's soft RLIMIT_NOFILE; 0 if unknown
	recovered   error // nil if a new session worked once the others had gone
}

// fdCapacity is how many sessions with a socket the server's descriptor
// limit leaves room for: each holds two, its WebSocket and its socket.
func (r sessionsResult) fdCapacity() int64 {
	return (r.limitSoft - int64(r.fdsBefore)) / 2
}

// perSession returns the growth of the server's RSS per open session, KiB.
func (r sessionsResult) perSession() float64 {
	if r.rep.Opened == 0 {
		return 0
	}
	return float64(r.rssAfter-r.rssBefore) / float64(r.rep.Opened)
}

// measureSessions starts a fresh server, measures its RSS, has the clients
// child open n sessions, measures again while they are open, closes them and
// checks that the server still takes a new session.
// If heapProfile is not empty, the server writes its heap profile there
// while the sessions are open.
func measureSessions(ctx context.Context, o options, echoAddr string, n int, heapProfile string) (sessionsResult, error) {
	res := sessionsResult{wanted: n}
	srv, err := startServer(ctx, o)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	res.serverLimit = openFilesLimit(srv.pid())
	res.limitSoft, _, _ = openFiles(srv.pid())
	if err := measureServer(ctx, srv, &res.rssBefore, &res.before, &res.fdsBefore); err != nil {
		return res, err
	}

	cl, err := startChild(ctx, roleClients, nil, "-url", srv.wsURL(), "-echo", echoAddr,
		"-n", strconv.Itoa(n), "-parallel", strconv.Itoa(o.parallel))
	if err != nil {
		return res, err
	}
	defer cl.stop(nil)
	line, err := cl.readLine(ctx, openDeadline+30*time.Second)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(line), &res.rep); err != nil {
		return res, fmt.Errorf("the clients child's report %q: %w", line, err)
	}
	if err := measureServer(ctx, srv, &res.rssAfter, &res.after, &res.fdsAfter); err != nil {
		return res, err
	}
	if err := srv.writeProfile(ctx, "heap", heapProfile); err != nil {
		return res, err
	}
	if err := cl.stop(nil); err != nil {
		return res, err
	}
	res.recovered = checkSession(ctx, srv.wsURL(), echoAddr)
	return res, srv.stop()
}

// measureServer lets the server's RSS settle, then reads it, the runtime's
// statistics and the number of open descriptors.
func measureServer(ctx context.Context, srv *serverProc, rss *int64, st *serverStats, fds *int) error {
	var err error
	if *rss, err = settledRSS(ctx, srv.pid()); err != nil {
		return err
	}
	if *st, err = srv.stats(ctx); err != nil {
		return err
	}
	*fds, err = countFDs(srv.pid())
	return err
}

// settledRSS samples a process's RSS for settleTime and returns the last
// sample.
func settledRSS(ctx context.Context, pid int) (int64, error) {
	tick := time.NewTicker(settleTime / 8)
	defer tick.Stop()
	deadline := time.Now().Add(settleTime)
	var rss int64
	for {
		var err error
		if rss, err = rssKiB(pid); err != nil {
			return 0, err
		}
		if !time.Now().Before(deadline) {
			return rss, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// checkSession opens one session with a connected socket and closes it.
func checkSession(ctx context.Context, wsURL, echoAddr string) error {
	c, err := openSession(ctx, wsURL, echoAddr)
	if err != nil {
		return err
	}
	c.close()
	return nil
}
