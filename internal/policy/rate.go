package policy

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// connectRate counts an OpConnect check against ConnectsPerMinute. A check
// refused here is not counted, so RetryAfter is exact: when the oldest
// counted attempt leaves the window. h.mu must be held.
func (h *hosted) connectRate(a Action, s *sessionState, now time.Time) *Denied {
	limit := h.limits.ConnectsPerMinute
	if limit < 0 {
		return nil
	}
	i := 0
	for i < len(s.connects) && now.Sub(s.connects[i]) >= time.Minute {
		i++
	}
	s.connects = append(s.connects[:0], s.connects[i:]...)
	if len(s.connects) >= limit {
		retry := s.connects[0].Add(time.Minute).Sub(now)
		return &Denied{Action: a, Rule: "connect_rate", RetryAfter: retry,
			Reason: fmt.Sprintf("this session made %d connection attempts in the last minute, its limit; connecting to %s would work again in %s",
				limit, a.Addr, roundUp(retry))}
	}
	s.connects = append(s.connects, now)
	return nil
}

// targetRate refuses a target new to the session when it already reached
// TargetsPerHour others in the last hour. h.mu must be held.
func (h *hosted) targetRate(a Action, s *sessionState, key netip.AddrPort, now time.Time) *Denied {
	limit := h.limits.TargetsPerHour
	if limit < 0 {
		return nil
	}
	var oldest time.Time
	for k, t := range s.targets {
		if now.Sub(t) >= time.Hour {
			delete(s.targets, k)
			continue
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if _, seen := s.targets[key]; seen || len(s.targets) < limit {
		return nil
	}
	retry := oldest.Add(time.Hour).Sub(now)
	return &Denied{Action: a, Rule: "target_rate", RetryAfter: retry,
		Reason: fmt.Sprintf("this session reached %d different addresses and ports in the last hour, its limit, and %s would be a new one; reuse one already reached, or try again in %s",
			limit, a.Addr, roundUp(retry))}
}

// spend counts Bytes of a send or sendto against BytesPerSession, or
// refuses them all. h.mu must be held.
func (h *hosted) spend(a Action, s *sessionState) *Denied {
	limit := h.limits.BytesPerSession
	n := int64(max(a.Bytes, 0))
	if limit >= 0 && s.bytes+n > limit {
		return deny(a, "byte_quota", fmt.Sprintf("sending %d more bytes to %s would take this session past its limit of %s, sent and received (it has used %s)",
			n, a.Addr, size(limit), size(s.bytes)))
	}
	s.bytes += n
	return nil
}

// recv counts received bytes; they are already here, so the refusal only
// tells the caller to stop reading.
func (h *hosted) recv(a Action) *Denied {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(a.Session)
	s.bytes += int64(max(a.Bytes, 0))
	if limit := h.limits.BytesPerSession; limit >= 0 && s.bytes > limit {
		return deny(a, "byte_quota", fmt.Sprintf("this session has received and sent %s, past its limit of %s; it reads no more", size(s.bytes), size(limit)))
	}
	return nil
}

// wait is a token bucket in real time: the bucket holds h.burst bytes and
// refills at BytesPerSecond by the clock (Config.Now); the sleeping is done
// with real timers. A payload waits for min(n, burst) tokens and then takes
// all n, so what exceeds the burst becomes debt for the next wait.
func (h *hosted) wait(ctx context.Context, session string, n int) error {
	if n <= 0 || h.burst == 0 {
		return nil
	}
	rate, burst := float64(h.limits.BytesPerSecond), float64(h.burst)
	h.mu.Lock()
	s := h.session(session)
	now := h.now()
	if !s.primed {
		s.tokens, s.filled, s.primed = burst, now, true
	}
	if elapsed := now.Sub(s.filled); elapsed > 0 {
		s.tokens = min(burst, s.tokens+elapsed.Seconds()*rate)
		s.filled = now
	}
	need := min(float64(n), burst)
	var delay time.Duration
	if s.tokens < need {
		delay = time.Duration((need - s.tokens) / rate * float64(time.Second))
	}
	s.tokens -= float64(n)
	h.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// The bytes will not move: give their tokens back.
		h.mu.Lock()
		if h.sessions[session] == s {
			s.tokens = min(burst, s.tokens+float64(n))
		}
		h.mu.Unlock()
		return ctx.Err()
	}
}

// roundUp shows a wait in whole seconds, never shorter than it is.
func roundUp(d time.Duration) time.Duration {
	if r := d.Truncate(time.Second); r < d {
		return r + time.Second
	}
	return d
}

// size shows a byte count the way a person reads it.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
