// Package metrics counts what the playground does, for /metrics in the
// Prometheus text format: sessions, sockets by kind, bytes by direction,
// policy refusals by rule, errors by code and the WebSocket queue depth.
//
// It never records payload bytes, addresses, host names or tokens: only
// counts, and labels from small fixed sets (a socket kind, an error code, a
// policy rule), so a person cannot grow the series without bound.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the playground's collectors. A nil *Metrics is valid and
// records nothing, so code below the server need not check.
type Metrics struct {
	reg       *prometheus.Registry
	sessions  prometheus.Gauge
	started   prometheus.Counter
	refusedWS *prometheus.CounterVec // upgrades refused, by reason
	sockets   *prometheus.GaugeVec   // open sockets, by kind
	opened    *prometheus.CounterVec // sockets ever opened, by kind
	bytes     *prometheus.CounterVec // payload bytes, by direction
	refusals  *prometheus.CounterVec // policy refusals, by rule
	errors    *prometheus.CounterVec // error events, by code

	mu     sync.Mutex
	queues map[any]func() int64 // each live connection's undelivered event bytes
}

// New returns a Metrics with its own registry, including the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), queues: map[any]func() int64{}}
	m.sessions = prometheus.NewGauge(prometheus.GaugeOpts{Name: "playground_sessions", Help: "Sessions open now."})
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "playground_sessions_started_total", Help: "Sessions started."})
	m.refusedWS = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "playground_upgrades_refused_total",
		Help: "WebSocket upgrades refused before a session started, by reason."}, []string{"reason"})
	m.sockets = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "playground_sockets", Help: "Sockets open now, by kind."}, []string{"kind"})
	m.opened = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "playground_sockets_opened_total", Help: "Sockets opened, by kind."}, []string{"kind"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "playground_bytes_total",
		Help: "Payload bytes sent (out) and received (in) by sessions' sockets."}, []string{"direction"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "playground_policy_refusals_total",
		Help: "Operations the policy refused, by rule."}, []string{"rule"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "playground_errors_total",
		Help: "Error events sent to sessions, by code."}, []string{"code"})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "playground_websocket_queue_bytes",
		Help: "Event bytes waiting to be written to browsers, summed over sessions."}, m.queueDepth)
	m.reg.MustRegister(m.sessions, m.started, m.refusedWS, m.sockets, m.opened, m.bytes, m.refusals, m.errors, queue,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, d := range []string{"in", "out"} {
		m.bytes.WithLabelValues(d)
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SessionStarted counts a session that began; its queue reports the bytes
// of events not yet written to its browser. Call SessionEnded with the same
// key when it ends.
func (m *Metrics) SessionStarted(key any, queue func() int64) {
	if m == nil {
		return
	}
	m.sessions.Inc()
	m.started.Inc()
	m.mu.Lock()
	m.queues[key] = queue
	m.mu.Unlock()
}

// SessionEnded counts a session that ended.
func (m *Metrics) SessionEnded(key any) {
	if m == nil {
		return
	}
	m.sessions.Dec()
	m.mu.Lock()
	delete(m.queues, key)
	m.mu.Unlock()
}

func (m *Metrics) queueDepth() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, q := range m.queues {
		n += q()
	}
	return float64(n)
}

// UpgradeRefused counts a WebSocket upgrade refused for reason (a short,
// fixed word such as "sessions_per_ip", "origin" or "token").
func (m *Metrics) UpgradeRefused(reason string) {
	if m == nil {
		return
	}
	m.refusedWS.WithLabelValues(reason).Inc()
}

// SocketOpened and SocketClosed count a socket of kind.
func (m *Metrics) SocketOpened(kind string) {
	if m == nil {
		return
	}
	m.sockets.WithLabelValues(kind).Inc()
	m.opened.WithLabelValues(kind).Inc()
}

func (m *Metrics) SocketClosed(kind string) {
	if m == nil {
		return
	}
	m.sockets.WithLabelValues(kind).Dec()
}

// Bytes counts n payload bytes in direction "in" or "out".
func (m *Metrics) Bytes(direction string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.bytes.WithLabelValues(direction).Add(float64(n))
}

// Refused counts an operation the policy refused under rule.
func (m *Metrics) Refused(rule string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(rule).Inc()
}

// Error counts an error event with code.
func (m *Metrics) Error(code string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(code).Inc()
}
