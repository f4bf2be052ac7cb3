package processors

import (
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WrapProducer makes the roles built with cfg produce through wrap, below
// the producer that taints the stores: tests inject produce faults with it.
func WrapProducer(cfg *Config, wrap func(goka.Producer) goka.Producer) { cfg.wrapProducer = wrap }

// ProducerOptions adds franz-go options to the producer of the roles built
// with cfg (benchmarks of its settings).
func ProducerOptions(cfg *Config, opts ...kgo.Opt) {
	cfg.producerOpts = append(cfg.producerOpts, opts...)
}

// Unfenced makes a processor built with cfg take its partitions without a
// fence: goka's tester has no broker to write one to.
func Unfenced(cfg *Config) { cfg.unfenced = true }

// CheckSnapshotCache makes a processor built with cfg decode every snapshot
// its cache answers and fail when they differ.
func CheckSnapshotCache(cfg *Config) { cfg.checkSnapshotCache = true }

// WithStateCache gives in a cache of decoded states, as the processor does;
// check makes it decode every state it answers and refuse the command when
// they differ. Reuse the returned input's cache for the next commands with
// SameStateCache.
func WithStateCache(in *StepInput, check bool) {
	in.states = newStateCache(0)
	in.states.check = check
}

// SameStateCache gives to the cache of from.
func SameStateCache(to *StepInput, from StepInput) { to.states = from.states }
