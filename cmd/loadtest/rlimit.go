package main

import (
	"fmt"
	"syscall"
	"time"
)

// Descriptors per session: the client holds its WebSocket; the server holds
// the WebSocket, and during a round the socket to the echo, the echo's end
// of it, and the two ends of the pipe Go's io.Copy splices the echo
// through (pooled, and freed only by later GCs). fdSpare covers everything
// else (listeners, services, the page loads of the ramp, connections still
// closing).
const (
	fdPerSessionServer = 5
	fdSpare            = 256
)

// raiseNoFile raises RLIMIT_NOFILE's soft limit to the hard limit. Setting
// it explicitly also makes the playground child inherit it (the Go runtime
// otherwise restores the original soft limit for children).
func raiseNoFile() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("setrlimit: %w", err)
	}
	return lim.Cur, lim.Max, nil
}

// maxSessions is the most sessions a descriptor limit allows, per process:
// the server needs the most.
func maxSessions(limit uint64) int {
	if limit <= fdSpare {
		return 0
	}
	return int(min((limit-fdSpare)/fdPerSessionServer, 1<<20))
}

// selfCPU returns the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
