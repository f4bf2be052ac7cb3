package gateway

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Shed reasons, the reason label of sourced_gateway_shed_total and the
// code of the answer.
const (
	// ShedInFlight: Config.MaxInFlight commands were in flight (429).
	ShedInFlight = "overloaded"
	// ShedLag: the aggregate's processors were more than
	// Config.MaxCommandLag commands behind (503).
	ShedLag = "processors_behind"
)

// Metrics are the gateway's own metrics; the HTTP request metrics come
// from the telemetry server around it.
type Metrics struct {
	pending  prometheus.Gauge
	inFlight prometheus.Gauge
	limit    prometheus.Gauge
	shed     *prometheus.CounterVec
	delay    prometheus.Histogram
}

// NewMetrics registers the gateway's metrics with reg, or reuses those
// already registered there; a nil reg gives unregistered metrics:
// sourced_gateway_results_pending (requests waiting for a command's
// result), sourced_gateway_commands_in_flight and
// sourced_gateway_commands_in_flight_limit (Config.MaxInFlight, 0 when
// unbounded), and sourced_gateway_shed_total{aggregate,reason} (commands
// refused before anything was produced, reason "overloaded" or
// "processors_behind"), and sourced_gateway_result_delay_seconds (from a
// result's Kafka timestamp, when the processor emitted it, to the gateway
// reading it: the last hop of a command's latency).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sourced_gateway_results_pending",
			Help: "Requests waiting for the result of their command.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sourced_gateway_commands_in_flight",
			Help: "Commands this gateway is handling: from the POST to its answer.",
		}),
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sourced_gateway_commands_in_flight_limit",
			Help: "The bound of sourced_gateway_commands_in_flight (--max-in-flight); 0: none.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_gateway_shed_total",
			Help: "Commands refused before anything was produced: reason overloaded (429, --max-in-flight) or processors_behind (503, --max-command-lag).",
		}, []string{"aggregate", "reason"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sourced_gateway_result_delay_seconds",
			Help:    "Time from a result's Kafka timestamp (the processor emitted it) to the gateway reading it: producing, the broker and the fetch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.pending, err = registerOrReuse(reg, m.pending); err != nil {
		return nil, err
	}
	if m.inFlight, err = registerOrReuse(reg, m.inFlight); err != nil {
		return nil, err
	}
	if m.limit, err = registerOrReuse(reg, m.limit); err != nil {
		return nil, err
	}
	if m.shed, err = registerOrReuse(reg, m.shed); err != nil {
		return nil, err
	}
	if m.delay, err = registerOrReuse(reg, m.delay); err != nil {
		return nil, err
	}
	return m, nil
}

// registerOrReuse registers c with reg, or returns the collector of the
// same description reg already has.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("gateway: register metrics: %w", err)
	}
	return c, nil
}
