package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrapeTimeout bounds one read of /metrics.
const scrapeTimeout = 10 * time.Second

// series is one line of the Prometheus text format.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// sample is what the load test reads from the server's /metrics at one
// moment.
type sample struct {
	Goroutines      float64            `json:"goroutines"`
	RSSBytes        float64            `json:"rss_bytes"`
	HeapInuseBytes  float64            `json:"heap_inuse_bytes"`
	Sessions        float64            `json:"sessions"`
	OpenFDs         float64            `json:"open_fds"`
	Threads         float64            `json:"threads"`
	CPUSeconds      float64            `json:"cpu_s"`                     // process_cpu_seconds_total
	LastGC          float64            `json:"last_gc_unix"`              // go_memstats_last_gc_time_seconds; 0: none yet
	NextGCBytes     float64            `json:"next_gc_bytes"`             // the heap goal: about twice the live heap at the last GC
	Sockets         map[string]float64 `json:"sockets"`                   // playground_sockets by kind
	Opened          map[string]float64 `json:"sockets_opened_total"`      // playground_sockets_opened_total by kind
	Errors          map[string]float64 `json:"errors_total"`              // playground_errors_total by code
	Refusals        map[string]float64 `json:"policy_refusals_total"`     // playground_policy_refusals_total by rule
	UpgradesRefused map[string]float64 `json:"upgrades_refused_total"`    // playground_upgrades_refused_total by reason
	FDKinds         map[string]int     `json:"fd_kinds,omitempty"`        // from /proc/PID/fd
	HeapMetric      string             `json:"heap_metric"`               // which series HeapInuseBytes came from
	Missing         []string           `json:"missing_metrics,omitempty"` // expected series the endpoint lacked
}

// scraper reads one /metrics endpoint.
type scraper struct {
	url    string
	pid    int // the playground's, for fdKinds; 0: none
	client *http.Client
}

func newScraper(url string, pid int) *scraper {
	// No keep-alive: an idle connection would be a goroutine in the server
	// that the baseline and the final count disagree about.
	return &scraper{url: url, pid: pid, client: &http.Client{Timeout: scrapeTimeout, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// scrape reads the endpoint once.
func (s *scraper) scrape(ctx context.Context) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return sample{}, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sample{}, fmt.Errorf("scrape %s: %s", s.url, resp.Status)
	}
	all, err := parseMetrics(resp.Body)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	smp := newSample(all)
	if s.pid > 0 {
		smp.FDKinds = fdKinds(s.pid)
	}
	return smp, nil
}

// newSample picks the series the report needs.
func newSample(all []series) sample {
	smp := sample{Sockets: map[string]float64{}, Opened: map[string]float64{}, Errors: map[string]float64{}, Refusals: map[string]float64{}, UpgradesRefused: map[string]float64{}}
	seen := map[string]bool{}
	var heapObjects, heapUnused float64
	for _, s := range all {
		seen[s.name] = true
		switch s.name {
		case "go_goroutines":
			smp.Goroutines = s.value
		case "process_resident_memory_bytes":
			smp.RSSBytes = s.value
		case "go_memstats_heap_inuse_bytes":
			smp.HeapInuseBytes = s.value
		case "go_memory_classes_heap_objects_bytes":
			heapObjects = s.value
		case "go_memory_classes_heap_unused_bytes":
			heapUnused = s.value
		case "process_open_fds":
			smp.OpenFDs = s.value
		case "go_threads":
			smp.Threads = s.value
		case "process_cpu_seconds_total":
			smp.CPUSeconds = s.value
		case "go_memstats_last_gc_time_seconds":
			smp.LastGC = s.value
		case "go_memstats_next_gc_bytes":
			smp.NextGCBytes = s.value
		case "playground_sessions":
			smp.Sessions = s.value
		case "playground_sockets":
			smp.Sockets[s.labels["kind"]] = s.value
		case "playground_sockets_opened_total":
			smp.Opened[s.labels["kind"]] = s.value
		case "playground_errors_total":
			smp.Errors[s.labels["code"]] = s.value
		case "playground_policy_refusals_total":
			smp.Refusals[s.labels["rule"]] = s.value
		case "playground_upgrades_refused_total":
			smp.UpgradesRefused[s.labels["reason"]] = s.value
		}
	}
	// The Go collector's memstats name, or its runtime/metrics equivalent
	// (heap in use = object bytes + unused bytes of in-use spans).
	switch {
	case seen["go_memstats_heap_inuse_bytes"]:
		smp.HeapMetric = "go_memstats_heap_inuse_bytes"
	case seen["go_memory_classes_heap_objects_bytes"]:
		smp.HeapInuseBytes = heapObjects + heapUnused
		smp.HeapMetric = "go_memory_classes_heap_objects_bytes + go_memory_classes_heap_unused_bytes"
	default:
		smp.Missing = append(smp.Missing, "go_memstats_heap_inuse_bytes")
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "playground_sessions"} {
		if !seen[name] {
			smp.Missing = append(smp.Missing, name)
		}
	}
	return smp
}

// parseMetrics reads the Prometheus text exposition format: one series a
// line, "name{label="value",…} value [timestamp]", comments skipped.
func parseMetrics(r io.Reader) ([]series, error) {
	var all []series
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSeries(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %.200q", err, line)
		}
		all = append(all, s)
	}
	return all, sc.Err()
}

func parseSeries(line string) (series, error) {
	s := series{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, errors.New("no metric name")
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, ", ")
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			name, rest, ok := strings.Cut(line, `="`)
			if !ok {
				return s, errors.New("a label without a quoted value")
			}
			var val strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					if rest[j] == 'n' {
						val.WriteByte('\n')
						continue
					}
				}
				val.WriteByte(rest[j])
			}
			if j == len(rest) {
				return s, errors.New("an unterminated label value")
			}
			s.labels[strings.TrimSpace(name)] = val.String()
			line = rest[j+1:]
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return s, errors.New("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, fmt.Errorf("value: %w", err)
	}
	s.value = v
	return s, nil
}
