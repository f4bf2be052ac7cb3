package metrics

import (
	"regexp"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/b2dc4357/sourced/cmd/sourced/gateway"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/processors"
)

// Set is the collectors of one process, registered in its one registry
// and fed by its roles.
type Set struct {
	// Processors feeds on processors.Config.Hooks.
	Processors *Processors
	// Views hands out the per-view Stats and rebuild progress.
	Views *Views
	// Lag is sourced_consumer_lag{group,topic,partition}, set by the
	// process's lag poll.
	Lag *prometheus.GaugeVec
}

// Register registers every collector sourced's roles export, and the Go
// runtime and process collectors, in reg. aggregates are the aggregates
// whose command types may appear as labels (NewProcessors). It panics if
// reg already holds any of them: a wiring bug.
func Register(reg prometheus.Registerer, aggregates []processors.Definition) *Set {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Set{
		Processors: NewProcessors(reg, aggregates...),
		Views:      NewViews(reg),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_consumer_lag",
			Help: "Records a consumer group has yet to process: end offset minus committed offset, by group, topic and partition (polled every 10 s).",
		}, []string{"group", "topic", "partition"}),
	}
	reg.MustRegister(s.Lag)
	return s
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names returns the name of every metric family sourced exports, sorted:
// those of Register, of the HTTP endpoint (telemetry) and of the gateway,
// read from the collectors' descriptions. It is the one table of metric
// names; the Grafana dashboards' test checks their queries against it.
func Names() []string {
	reg := prometheus.NewRegistry()
	Register(reg, nil)
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
