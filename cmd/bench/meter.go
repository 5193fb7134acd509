package main

import (
	"context"
	"time"
)

// usage is what the server and the bench spent during a test.
type usage struct {
	wall      time.Duration
	serverCPU time.Duration
	benchCPU  time.Duration // the client and the echo server
	gcCycles  uint64        // the server's
	allocated uint64        // bytes the server allocated
}

// serverCores and benchCores are the average number of CPUs each kept busy.
func (u usage) serverCores() float64 { return u.serverCPU.Seconds() / u.wall.Seconds() }
func (u usage) benchCores() float64  { return u.benchCPU.Seconds() / u.wall.Seconds() }

// add returns the sum of two usages.
func (u usage) add(v usage) usage {
	return usage{wall: u.wall + v.wall, serverCPU: u.serverCPU + v.serverCPU, benchCPU: u.benchCPU + v.benchCPU,
		gcCycles: u.gcCycles + v.gcCycles, allocated: u.allocated + v.allocated}
}

// meter measures the usage of a test from start to stop.
type meter struct {
	srv    *serverProc
	before serverStats
	self   time.Duration
	start  time.Time
}

func startMeter(ctx context.Context, srv *serverProc) (*meter, error) {
	st, err := srv.stats(ctx)
	if err != nil {
		return nil, err
	}
	return &meter{srv: srv, before: st, self: selfCPU(), start: time.Now()}, nil
}

func (m *meter) stop(ctx context.Context) (usage, error) {
	wall, self := time.Since(m.start), selfCPU()
	st, err := m.srv.stats(ctx)
	if err != nil {
		return usage{}, err
	}
	return usage{
		wall:      wall,
		serverCPU: time.Duration((st.CPUSeconds - m.before.CPUSeconds) * float64(time.Second)),
		benchCPU:  self - m.self,
		gcCycles:  st.GCCycles - m.before.GCCycles,
		allocated: st.Allocated - m.before.Allocated,
	}, nil
}
