package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b2dc4357/sourced/cmd/sourced/metrics"
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestProcessorsCountWhatTheHooksReport(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewProcessors(reg, invoice.New())
	h := m.Hooks()
	h.OnResult("invoice", "IssueInvoice", codecs.StatusAccepted, time.Millisecond, time.Now())
	h.OnResult("invoice", "IssueInvoice", codecs.StatusAccepted, 0, time.Time{})
	h.OnResult("invoice", "NoSuchCommand", codecs.StatusRejected, 0, time.Time{})
	h.OnDeadLetter("invoice", codecs.RejectMalformed)
	h.OnPublish("invoice", 3)
	h.OnGap("invoice", "inv-1", 4, 6)
	h.OnStale("invoice-table", 1)
	h.OnStale("invoice-table", 0)

	want := `
# HELP sourced_dead_letters_total Commands sent to the dead-letter topic, by aggregate and error code.
# TYPE sourced_dead_letters_total counter
sourced_dead_letters_total{aggregate="invoice",code="malformed"} 1
# HELP sourced_events_published_total Events the publisher emitted to the events topic, by aggregate.
# TYPE sourced_events_published_total counter
sourced_events_published_total{aggregate="invoice"} 3
# HELP sourced_publish_gaps_total Steps whose first event did not follow the last published version, by aggregate.
# TYPE sourced_publish_gaps_total counter
sourced_publish_gaps_total{aggregate="invoice"} 1
# HELP sourced_stale_writes_total Snapshots of a deposed owner (written after a newer owner fenced the partition) that a restore of the table or the publisher dropped, by table.
# TYPE sourced_stale_writes_total counter
sourced_stale_writes_total{table="invoice-table"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sourced_dead_letters_total",
		"sourced_events_published_total", "sourced_publish_gaps_total", "sourced_stale_writes_total"); err != nil {
		t.Fatal(err)
	}
	commands := func(typ, status string) float64 {
		t.Helper()
		return seriesValue(t, reg, "sourced_commands_total", map[string]string{"aggregate": "invoice", "type": typ, "status": status})
	}
	if n := commands("IssueInvoice", "accepted"); n != 2 {
		t.Errorf("accepted IssueInvoice = %v, want 2", n)
	}
	if n := commands(metrics.UnknownLabel, "rejected"); n != 1 {
		t.Errorf("rejected unknown = %v, want 1: a type the aggregate does not define is counted as %q", n, metrics.UnknownLabel)
	}
	if n := commands("IssueInvoice", "conflict"); n != 0 {
		t.Errorf("conflict IssueInvoice = %v, want a series at 0", n)
	}
	if n := testutil.CollectAndCount(reg, "sourced_decide_duration_seconds"); n != 1 {
		t.Errorf("sourced_decide_duration_seconds has %d series, want 1", n)
	}
}

func TestProcessorsTableRecoveredFollowsOnTable(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewProcessors(reg)
	h := m.Hooks()
	ctx := context.Background()
	if err := m.TableRecovered(ctx, "invoice-table"); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("before any report: %v, want not started", err)
	}
	h.OnTable("invoice-table", processors.TableRecovering, 0)
	if err := m.TableRecovered(ctx, "invoice-table"); err == nil || !strings.Contains(err.Error(), "recovering") {
		t.Fatalf("recovering: %v", err)
	}
	h.OnTable("invoice-table", processors.TableReady, 1500*time.Millisecond)
	if err := m.TableRecovered(ctx, "invoice-table"); err != nil {
		t.Fatalf("ready: %v", err)
	}
	want := `
# HELP sourced_table_ready 1 while a group table is recovered and its group processes input, 0 while it recovers or is stopped.
# TYPE sourced_table_ready gauge
sourced_table_ready{table="invoice-table"} 1
# HELP sourced_table_recovery_seconds Time the last recovery of a group table took (start or rebalance until every assigned partition was recovered).
# TYPE sourced_table_recovery_seconds gauge
sourced_table_recovery_seconds{table="invoice-table"} 1.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sourced_table_ready", "sourced_table_recovery_seconds"); err != nil {
		t.Fatal(err)
	}
	h.OnTable("invoice-table", processors.TableStopped, 0)
	if err := m.TableRecovered(ctx, "invoice-table"); err == nil {
		t.Fatal("stopped table counts as recovered")
	}
	if v := seriesValue(t, reg, "sourced_table_ready", map[string]string{"table": "invoice-table"}); v != 0 {
		t.Fatalf("sourced_table_ready after stop = %v", v)
	}
}

// seriesValue returns the value of the series of family name with exactly
// labels, failing t if there is none.
func seriesValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}
