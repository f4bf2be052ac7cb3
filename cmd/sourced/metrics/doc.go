// Package metrics is where sourced meets Prometheus: it registers every
// metric the roles export and feeds them from the libraries' hooks, which
// know nothing of Prometheus. Processors turns processors.Hooks (results,
// dead letters, publishing, gaps, stale writes, table recovery) into the
// sourced_commands_total family and its kin; Views reads the views.Stats
// of each view and its rebuild progress; Register puts both, the consumer
// lag gauge and the Go and process collectors in one registry (a Set).
// The HTTP endpoint's metrics (telemetry) and the gateway's stay in their
// packages, and Names lists them with the rest: it is the one table of
// metric names the README documents and the Grafana dashboards query.
//
// Everything here is safe for concurrent use.
package metrics
