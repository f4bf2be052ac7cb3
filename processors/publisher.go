package processors

import (
	"context"
	"fmt"
	"strconv"

	"github.com/lovoo/goka"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/state"
)

// Publisher is the group that reads the processor's table topic and copies
// the events of every step to the events topic, keyed by aggregate id. Its
// own group table keeps the last published version per aggregate to check
// continuity: a step whose first event does not follow it is reported as a
// gap (log and Hooks.OnGap) and published anyway.
//
// Publishing is at least once: after a crash the steps since the last commit
// are published again, identically (events are immutable parts of the
// snapshot), so consumers dedupe by (aggregate_id, version).
type Publisher struct {
	def    Definition
	cfg    Config
	topics codecs.Topics
	stores *state.Builder
	gp     *goka.Processor
}

// NewPublisher builds the publisher group of def. opts are passed to goka
// after sourced's own options.
func NewPublisher(def Definition, cfg Config, opts ...goka.ProcessorOption) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	p := &Publisher{def: def, cfg: cfg, topics: codecs.NewTopics(cfg.Prefix, def.Name())}
	stores, err := state.NewBuilder(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	p.stores = stores
	graph := goka.DefineGroup(goka.Group(p.topics.PublisherGroup),
		goka.Input(goka.Stream(p.topics.Table), stepCodec{}, p.handle),
		goka.Persist(versionCodec{}),
		goka.Output(goka.Stream(p.topics.Events), codecs.JSON[codecs.Event]{}),
	)
	// A table topic is read from its start (the publisher must see every
	// step) and with tombstones delivered, so none is silently dropped.
	all := append(baseOptions(cfg, stores), goka.WithNilHandling(goka.NilProcess))
	all = append(all, opts...)
	gp, err := goka.NewProcessor(cfg.Brokers, graph, all...)
	if err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	p.gp = gp
	return p, nil
}

// Topics returns the names the publisher uses.
func (p *Publisher) Topics() codecs.Topics { return p.topics }

// Goka returns the underlying goka processor, for stats and monitoring.
func (p *Publisher) Goka() *goka.Processor { return p.gp }

// Run publishes until ctx is cancelled (nil after a clean close) or the
// group fails; on failure its stores are marked dirty.
func (p *Publisher) Run(ctx context.Context) error {
	return runGroup(ctx, p.gp, p.stores, p.topics.PublisherTable, p.cfg.Hooks.OnTable)
}

func (p *Publisher) handle(ctx goka.Context, msg any) {
	snap, _ := msg.(*codecs.Snapshot)
	if snap == nil || len(snap.Step.Events) == 0 {
		// Tombstones and accepted no-op commands carry no events.
		return
	}
	var last uint64
	if v := ctx.Value(); v != nil {
		last = v.(uint64)
	}
	events := snap.Step.Events
	if first := events[0].Version; first > last+1 {
		p.cfg.Logger.Error("version gap in published events",
			"aggregate", p.def.Name(), "aggregate_id", ctx.Key(), "last_published", last, "next", first,
			"partition", ctx.Partition(), "offset", ctx.Offset())
		if h := p.cfg.Hooks.OnGap; h != nil {
			h(p.def.Name(), ctx.Key(), last, first)
		}
	}
	for i := range events {
		ctx.Emit(goka.Stream(p.topics.Events), ctx.Key(), &events[i])
	}
	if h := p.cfg.Hooks.OnPublish; h != nil {
		h(p.def.Name(), len(events))
	}
	if newest := events[len(events)-1].Version; newest > last {
		ctx.SetValue(newest)
	}
}

// versionCodec stores a uint64 as decimal text.
type versionCodec struct{}

func (versionCodec) Encode(v any) ([]byte, error) {
	u, ok := v.(uint64)
	if !ok {
		return nil, fmt.Errorf("processors: encode %T, want uint64", v)
	}
	return strconv.AppendUint(nil, u, 10), nil
}

func (versionCodec) Decode(b []byte) (any, error) {
	u, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("processors: decode published version: %w", err)
	}
	return u, nil
}
