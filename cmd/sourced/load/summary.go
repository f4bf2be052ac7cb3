package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary is the outcome of a Run. Every command sent is counted once in
// Accepted, Rejected, Conflict, Duplicate, Other, NoResult or Shed; a shed
// command is sent again (and counted again) after the gateway's
// Retry-After. Durations
// are in milliseconds, rates per second.
type Summary struct {
	Aggregate   string  `json:"aggregate"`
	Via         string  `json:"via"`
	Seed        uint64  `json:"seed"`
	Aggregates  int     `json:"aggregates"`
	Rate        float64 `json:"rate"`       // target commands/s
	Duration    float64 `json:"duration_s"` // target seconds of sending
	Elapsed     float64 `json:"elapsed_s"`  // seconds actually sending
	Interrupted bool    `json:"interrupted"`
	// AchievedRate is Sent / Elapsed; Limit explains why it is below
	// Rate, when it is by more than 5%.
	AchievedRate float64 `json:"achieved_rate"`
	Limit        string  `json:"limit,omitempty"`
	// Throughput is results received per second, from the start to the
	// last result.
	Throughput float64 `json:"throughput"`

	Sent      int64 `json:"sent"`
	Accepted  int64 `json:"accepted"`
	Rejected  int64 `json:"rejected"`
	Conflict  int64 `json:"conflict"`
	Duplicate int64 `json:"duplicate"`
	Other     int64 `json:"other"` // results with a status sourced does not emit
	NoResult  int64 `json:"no_result"`
	// Shed counts commands the gateway refused before producing them
	// (429 overloaded, 503 processors_behind), by code in ShedReasons;
	// ShedLatency is how fast those answers came.
	Shed        int64            `json:"shed"`
	ShedReasons map[string]int64 `json:"shed_reasons"`
	ShedLatency Percentiles      `json:"shed_latency_ms"`
	// RejectedExpected counts the deliberately invalid commands rejected
	// with the code they were meant to get.
	RejectedExpected int64 `json:"rejected_expected"`
	// UnexpectedTotal counts results other than the one the scenario
	// expects (an unexpected rejection, an accepted invalid command, a
	// conflict, a duplicate); Unexpected lists up to 20 kinds.
	UnexpectedTotal int64            `json:"unexpected"`
	Unexpected      map[string]int64 `json:"unexpected_kinds,omitempty"`
	Rejections      map[string]int64 `json:"rejections"`        // by code
	NoResultReasons map[string]int64 `json:"no_result_reasons"` // by reason
	Commands        map[string]int64 `json:"commands"`          // sent, by type

	// Latency is command->result, from just before sending to the result.
	Latency Percentiles `json:"latency_ms"`
	// View is result->view-visible, for a sample of accepted commands.
	View     ViewSummary `json:"view"`
	ViewNote string      `json:"view_note,omitempty"`
}

// Percentiles summarises a latency distribution, in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// ViewSummary is the result->view-visible measurement.
type ViewSummary struct {
	Enabled     bool   `json:"enabled"`
	View        string `json:"view"`
	SampleEvery int    `json:"sample_every"`
	// Sampled checks started; Visible ones saw the version in time,
	// NotVisible did not (timeout or error); Skipped samples found too
	// many checks in flight.
	Sampled    int64       `json:"sampled"`
	Visible    int64       `json:"visible"`
	NotVisible int64       `json:"not_visible"`
	Skipped    int64       `json:"skipped"`
	Latency    Percentiles `json:"latency_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(h *Histogram) Percentiles {
	return Percentiles{Count: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)),
		P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

func (r *runner) summary() *Summary {
	s := &r.s
	s.Interrupted = r.interrupted
	s.Elapsed = r.stopAt.Sub(r.start).Seconds()
	if s.Elapsed > 0 {
		s.AchievedRate = float64(s.Sent) / s.Elapsed
	}
	if s.AchievedRate < 0.95*s.Rate && !s.Interrupted {
		if r.busy > 0 {
			s.Limit = fmt.Sprintf("every one of the %d aggregates had a command in flight at times: raise --aggregates, or the system is saturated", s.Aggregates)
		} else {
			s.Limit = "the generator could not keep up (CPU)"
		}
	}
	results := s.Accepted + s.Rejected + s.Conflict + s.Duplicate + s.Other
	if d := r.lastResult.Sub(r.start).Seconds(); d > 0 {
		s.Throughput = float64(results) / d
	}
	s.Latency = percentiles(&r.latency)
	s.ShedLatency = percentiles(&r.shedLatency)
	s.View.View = r.cfg.Scenario.View()
	s.View.Enabled = r.cfg.Viewer != nil && r.cfg.ViewSample > 0
	if s.View.Enabled {
		s.View.SampleEvery = r.cfg.ViewSample
		s.View.Latency = percentiles(&r.viewLatency)
	} else if s.ViewNote = r.cfg.ViewNote; s.ViewNote == "" {
		s.ViewNote = "not measured"
	}
	return s
}

// counts formats a map as "k1 n1, k2 n2", largest first.
func counts(m map[string]int64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%d)", p.P50, p.P95, p.P99, p.Max, p.Count)
}

// WriteText writes the summary as aligned text.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	state := ""
	if s.Interrupted {
		state = ", interrupted"
	}
	fmt.Fprintf(&b, "sourced load: %s via %s, %.1fs at %g/s over %d aggregates (seed %d%s)\n",
		s.Aggregate, s.Via, s.Elapsed, s.Rate, s.Aggregates, s.Seed, state)
	line := func(name string, n int64, note string) {
		if note != "" {
			note = "  (" + note + ")"
		}
		fmt.Fprintf(&b, "  %-16s %9d%s\n", name, n, note)
	}
	line("sent", s.Sent, fmt.Sprintf("achieved %.1f/s of %g/s; %s", s.AchievedRate, s.Rate, counts(s.Commands)))
	if s.Limit != "" {
		fmt.Fprintf(&b, "  %-16s %s\n", "", s.Limit)
	}
	line("accepted", s.Accepted, "")
	rej := fmt.Sprintf("%d deliberate", s.RejectedExpected)
	if len(s.Rejections) > 0 {
		rej += ": " + counts(s.Rejections)
	}
	line("rejected", s.Rejected, rej)
	line("conflict", s.Conflict, "")
	if s.Duplicate > 0 || s.Other > 0 {
		line("duplicate", s.Duplicate, "")
		line("other status", s.Other, "")
	}
	line("no result", s.NoResult, counts(s.NoResultReasons))
	shed := "refused by the gateway before producing; sent again after Retry-After"
	if s.Shed > 0 {
		shed = counts(s.ShedReasons) + "; answered " + s.ShedLatency.String() + "; sent again after Retry-After"
	}
	line("shed", s.Shed, shed)
	if s.UnexpectedTotal > 0 {
		line("unexpected", s.UnexpectedTotal, counts(s.Unexpected))
	}
	fmt.Fprintf(&b, "  %-16s %9.1f  results/s\n", "throughput", s.Throughput)
	fmt.Fprintf(&b, "  %-16s %s\n", "command->result", s.Latency)
	if s.View.Enabled {
		fmt.Fprintf(&b, "  %-16s %s\n", "result->view", s.View.Latency)
		fmt.Fprintf(&b, "  %-16s %s: 1 in %d accepted commands with events; %d sampled, %d visible, %d not visible in time, %d skipped\n",
			"", s.View.View, s.View.SampleEvery, s.View.Sampled, s.View.Visible, s.View.NotVisible, s.View.Skipped)
	} else {
		fmt.Fprintf(&b, "  %-16s %s\n", "result->view", s.ViewNote)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// progress writes the progress line; final ends it.
func (r *runner) progress(final bool) {
	w := r.cfg.Progress
	if w == nil {
		return
	}
	now := time.Now()
	elapsed := now.Sub(r.start)
	if !r.stopAt.IsZero() {
		elapsed = r.stopAt.Sub(r.start)
	}
	rate := 0.0
	if d := now.Sub(r.lastAt).Seconds(); d > 0 {
		rate = float64(r.s.Sent-r.lastSent) / d
	}
	r.lastSent, r.lastAt = r.s.Sent, now
	frac := min(1, elapsed.Seconds()/r.cfg.Duration.Seconds())
	const width = 20
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	phase := ""
	if !r.stopAt.IsZero() && r.inflight > 0 {
		phase = " draining"
	}
	text := fmt.Sprintf("[%s] %5.1fs/%gs  sent %d  acc %d  rej %d  no-result %d  shed %d  %6.0f/s  in flight %d  p99 %.1f ms%s",
		bar, elapsed.Seconds(), r.cfg.Duration.Seconds(), r.s.Sent, r.s.Accepted, r.s.Rejected, r.s.NoResult, r.s.Shed,
		rate, r.inflight, ms(r.latency.Quantile(0.99)), phase)
	switch {
	case r.cfg.ProgressTTY && final:
		fmt.Fprintf(w, "\r%s\x1b[K\n", text)
	case r.cfg.ProgressTTY:
		fmt.Fprintf(w, "\r%s\x1b[K", text)
	default:
		fmt.Fprintln(w, "load:", text)
	}
}
