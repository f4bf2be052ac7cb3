package gateway

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's own metrics; the HTTP request metrics come
// from the telemetry server around it.
type Metrics struct {
	pending prometheus.Gauge
}

// NewMetrics registers sourced_gateway_results_pending (requests waiting
// for a command result) with reg, or reuses the gauge already registered
// there; a nil reg gives unregistered metrics.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sourced_gateway_results_pending",
		Help: "Requests waiting for the result of their command.",
	})
	if reg != nil {
		if err := reg.Register(g); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("gateway: register metrics: %w", err)
			}
			existing, ok := are.ExistingCollector.(prometheus.Gauge)
			if !ok {
				return nil, fmt.Errorf("gateway: register metrics: %w", err)
			}
			g = existing
		}
	}
	return &Metrics{pending: g}, nil
}
