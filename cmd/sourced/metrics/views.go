package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b2dc4357/sourced/views"
)

// Views exports the views' counts and rebuild progress as Prometheus
// metrics:
//
//	sourced_view_batches_total{view}       batches written
//	sourced_view_documents_total{view}     document operations the store answered (applied, stale or refused; retries not counted again)
//	sourced_view_records_total{view}       source records consumed (writes per event = documents / records)
//	sourced_view_conflicts_total{view}     operations the store found stale (it had that version or a newer one)
//	sourced_view_retries_total{view}       store requests or operations tried again
//	sourced_view_dead_letters_total{view}  records sent to the dead-letter sink
//	sourced_view_deposed_total{view}       snapshots of deposed owners skipped (DESIGN.md guarantee 7)
//	sourced_rebuild_progress_ratio{view}   0..1 of the current rebuild phase
//	sourced_rebuild_eta_seconds{view}      estimated time left in the current rebuild phase
//
// The counters read the views.Stats that Views.Stats hands out, one per view,
// shared by the projectors that replace a failed one. It is safe for
// concurrent use.
type Views struct {
	batches, documents, records, conflicts, retries, deadLetters, deposed *prometheus.Desc

	progress *prometheus.GaugeVec
	eta      *prometheus.GaugeVec

	mu    sync.Mutex
	stats map[string]*views.Stats
}

// NewViews registers the view metrics in reg and returns them.
func NewViews(reg prometheus.Registerer) *Views {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"view"}, nil)
	}
	m := &Views{
		batches:     desc("sourced_view_batches_total", "Batches a view's projector wrote to the store."),
		documents:   desc("sourced_view_documents_total", "Document operations the store answered (applied, stale or refused), each counted once whatever the retries."),
		records:     desc("sourced_view_records_total", "Source records a view's projector consumed and finished; documents / records is the writes per event."),
		conflicts:   desc("sourced_view_conflicts_total", "Document operations the store found stale (external version not newer than the stored one)."),
		retries:     desc("sourced_view_retries_total", "Store requests or operations a view's projector tried again."),
		deadLetters: desc("sourced_view_dead_letters_total", "Source records a view sent to its dead-letter sink."),
		deposed:     desc("sourced_view_deposed_total", "Snapshots a view skipped because a deposed owner wrote them after a newer owner fenced the partition."),
		progress: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_rebuild_progress_ratio",
			Help: "Progress of a view rebuild's current phase, 0 to 1 (records replayed / records replayed and left).",
		}, []string{"view"}),
		eta: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_rebuild_eta_seconds",
			Help: "Estimated time left in a view rebuild's current phase at the rate so far.",
		}, []string{"view"}),
		stats: map[string]*views.Stats{},
	}
	reg.MustRegister(m, m.progress, m.eta)
	return m
}

// Stats returns the counts of view, created on first use: pass it as
// views.ProjectorConfig.Stats.
func (m *Views) Stats(view string) *views.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.stats[view]
	if !ok {
		st = &views.Stats{}
		m.stats[view] = st
	}
	return st
}

// RebuildProgress returns a views.RebuildConfig.Progress that sets view's
// rebuild gauges.
func (m *Views) RebuildProgress(view string) func(views.RebuildProgress) {
	progress, eta := m.progress.WithLabelValues(view), m.eta.WithLabelValues(view)
	return func(p views.RebuildProgress) {
		if p.Phase == "done" {
			progress.Set(1)
			eta.Set(0)
			return
		}
		var left int64
		for _, pp := range p.Partitions {
			if pp.End > pp.Next {
				left += pp.End - pp.Next
			}
		}
		ratio := 1.0
		if total := p.Records + left; total > 0 && left > 0 {
			ratio = float64(p.Records) / float64(total)
		}
		progress.Set(ratio)
		eta.Set(p.ETA.Seconds())
	}
}

// Describe implements prometheus.Collector for the view counters.
func (m *Views) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.batches, m.documents, m.records, m.conflicts, m.retries, m.deadLetters, m.deposed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector for the view counters.
func (m *Views) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	names := make([]string, 0, len(m.stats))
	for v := range m.stats {
		names = append(names, v)
	}
	sort.Strings(names)
	stats := make([]*views.Stats, len(names))
	for i, v := range names {
		stats[i] = m.stats[v]
	}
	m.mu.Unlock()
	for i, v := range names {
		st := stats[i]
		counter := func(d *prometheus.Desc, n int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), v)
		}
		counter(m.batches, st.Batches.Load())
		counter(m.documents, st.Applied.Load()+st.Stale.Load()+st.Refused.Load())
		counter(m.records, st.Records.Load())
		counter(m.conflicts, st.Stale.Load())
		counter(m.retries, st.Retries.Load())
		counter(m.deadLetters, st.DeadLetters.Load())
		counter(m.deposed, st.Deposed.Load())
	}
}
