package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b2dc4357/sourced/cmd/sourced/metrics"
	"github.com/b2dc4357/sourced/views"
)

func TestViewsExportStatsAndRebuildProgress(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewViews(reg)
	st := m.Stats("invoice-search")
	if m.Stats("invoice-search") != st {
		t.Fatal("Stats returns a new value for the same view: counts would reset when a projector is replaced")
	}
	st.Batches.Add(2)
	st.Records.Add(10)
	st.Applied.Add(5)
	st.Stale.Add(2)
	st.Refused.Add(1)
	st.Writes.Add(9) // includes a retried operation, not counted as a document again
	st.Retries.Add(1)
	st.DeadLetters.Add(1)
	st.Deposed.Add(3)

	progress := m.RebuildProgress("invoice-search")
	progress(views.RebuildProgress{Phase: "replay", Records: 30, ETA: 4 * time.Second,
		Partitions: []views.PartitionProgress{{Partition: 0, Next: 10, End: 50}, {Partition: 1, Next: 40, End: 40}}})

	want := `
# HELP sourced_view_batches_total Batches a view's projector wrote to the store.
# TYPE sourced_view_batches_total counter
sourced_view_batches_total{view="invoice-search"} 2
# HELP sourced_view_conflicts_total Document operations the store found stale (external version not newer than the stored one).
# TYPE sourced_view_conflicts_total counter
sourced_view_conflicts_total{view="invoice-search"} 2
# HELP sourced_view_dead_letters_total Source records a view sent to its dead-letter sink.
# TYPE sourced_view_dead_letters_total counter
sourced_view_dead_letters_total{view="invoice-search"} 1
# HELP sourced_view_deposed_total Snapshots a view skipped because a deposed owner wrote them after a newer owner fenced the partition.
# TYPE sourced_view_deposed_total counter
sourced_view_deposed_total{view="invoice-search"} 3
# HELP sourced_view_documents_total Document operations the store answered (applied, stale or refused), each counted once whatever the retries.
# TYPE sourced_view_documents_total counter
sourced_view_documents_total{view="invoice-search"} 8
# HELP sourced_view_records_total Source records a view's projector consumed and finished; documents / records is the writes per event.
# TYPE sourced_view_records_total counter
sourced_view_records_total{view="invoice-search"} 10
# HELP sourced_view_retries_total Store requests or operations a view's projector tried again.
# TYPE sourced_view_retries_total counter
sourced_view_retries_total{view="invoice-search"} 1
# HELP sourced_rebuild_eta_seconds Estimated time left in a view rebuild's current phase at the rate so far.
# TYPE sourced_rebuild_eta_seconds gauge
sourced_rebuild_eta_seconds{view="invoice-search"} 4
`
	names := []string{"sourced_view_batches_total", "sourced_view_conflicts_total", "sourced_view_dead_letters_total",
		"sourced_view_deposed_total", "sourced_view_documents_total", "sourced_view_records_total", "sourced_view_retries_total", "sourced_rebuild_eta_seconds"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// 30 records replayed, 40 left on partition 0.
	ratio := gaugeValue(t, reg, "sourced_rebuild_progress_ratio")
	if ratio < 0.428 || ratio > 0.429 {
		t.Fatalf("progress ratio = %v, want 30/70", ratio)
	}
	progress(views.RebuildProgress{Phase: "done", Records: 70})
	if r := gaugeValue(t, reg, "sourced_rebuild_progress_ratio"); r != 1 {
		t.Fatalf("progress ratio when done = %v, want 1", r)
	}
	if eta := gaugeValue(t, reg, "sourced_rebuild_eta_seconds"); eta != 0 {
		t.Fatalf("eta when done = %v, want 0", eta)
	}
}

// gaugeValue returns the value of the one series of gauge family name.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single series of %s", name)
	return 0
}
