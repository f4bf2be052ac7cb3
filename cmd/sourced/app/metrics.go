package app

import (
	"regexp"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/b2dc4357/sourced/cmd/sourced/gateway"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/views"
)

// metrics are the collectors of one process, registered in its one
// registry and fed by its roles.
type metrics struct {
	// processors feeds on processors.Config.Hooks.
	processors *processors.Metrics
	// views hands out the per-view Stats and rebuild progress.
	views *views.Metrics
	// lag is sourced_consumer_lag{group,topic,partition}, set by pollLag.
	lag *prometheus.GaugeVec
}

// registerMetrics registers every collector sourced's roles export, and
// the Go runtime and process collectors, in reg.
func registerMetrics(reg *prometheus.Registry, aggregates []processors.Definition) *metrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		processors: processors.NewMetrics(reg, aggregates...),
		views:      views.NewMetrics(reg),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_consumer_lag",
			Help: "Records a consumer group has yet to process: end offset minus committed offset, by group, topic and partition (polled every 10 s).",
		}, []string{"group", "topic", "partition"}),
	}
	reg.MustRegister(m.lag)
	return m
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// metricNames returns the name of every metric family sourced exports,
// sorted: those of registerMetrics and of the HTTP endpoint, read from the
// collectors' descriptions.
func metricNames() []string {
	reg := prometheus.NewRegistry()
	registerMetrics(reg, nil)
	telemetry.NewServer("127.0.0.1:0", reg, nil)
	if _, err := gateway.NewMetrics(reg); err != nil {
		panic(err) // a fresh registry: only a wiring bug fails
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	seen := map[string]bool{}
	for d := range ch {
		// Desc has no name accessor; its String form is stable:
		// Desc{fqName: "name", help: ...}.
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			seen[m[1]] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
