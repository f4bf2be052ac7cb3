package metrics_test

import (
	"slices"
	"testing"

	"github.com/b2dc4357/sourced/cmd/sourced/metrics"
)

func TestNamesCoverTheContract(t *testing.T) {
	names := metrics.Names()
	for _, want := range []string{
		"sourced_commands_total", "sourced_decide_duration_seconds", "sourced_command_result_latency_seconds",
		"sourced_events_published_total", "sourced_publish_gaps_total", "sourced_dead_letters_total",
		"sourced_stale_writes_total",
		"sourced_consumer_lag", "sourced_table_recovery_seconds", "sourced_table_ready",
		"sourced_view_batches_total", "sourced_view_documents_total", "sourced_view_records_total",
		"sourced_view_conflicts_total", "sourced_view_retries_total", "sourced_view_dead_letters_total",
		"sourced_view_deposed_total",
		"sourced_rebuild_progress_ratio", "sourced_rebuild_eta_seconds",
		"sourced_http_requests_total", "sourced_http_request_duration_seconds",
		"sourced_gateway_results_pending",
		"sourced_gateway_commands_in_flight", "sourced_gateway_commands_in_flight_limit", "sourced_gateway_shed_total",
		"sourced_http_open_connections",
		"go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %s", want)
		}
	}
	if !slices.IsSorted(names) {
		t.Error("Names() is not sorted")
	}
}
