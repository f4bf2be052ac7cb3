package processors

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

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
	// epochs are the owner epochs seen per table partition (DESIGN.md
	// guarantee 7); partitions is where each partition's store is.
	epochs     codecs.Epochs
	partitions sync.Map // int32 -> *publisherPartition
}

// publisherPartition is the publisher's store of one partition; its fences
// are read back once, on the first step after the store opened.
type publisherPartition struct {
	store  storage.Storage
	loaded bool
}

// PublisherWriteBuffer is the LevelDB memtable size of the publisher's
// stores unless Config.Store.WriteBuffer says otherwise. They hold one
// small record per aggregate (its last published version): with state's
// default of 4 MiB, a publisher at 1,000 invoice commands/s took more than
// 10 minutes to fill its eight memtables (goleveldb keeps a memtable and a
// spare per store), its heap growing by half all along (soak of
// 2026-12-07, scripts/soak-memory roles --heap-at).
const PublisherWriteBuffer = 1 << 20

// NewPublisher builds the publisher group of def. opts are passed to goka
// after sourced's own options.
func NewPublisher(def Definition, cfg Config, opts ...goka.ProcessorOption) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	if err := cfg.connect(); err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	if cfg.Store.WriteBuffer == 0 {
		cfg.Store.WriteBuffer = PublisherWriteBuffer
	}
	p := &Publisher{def: def, cfg: cfg, topics: codecs.NewTopics(cfg.Prefix, def.Name())}
	stores, err := state.NewBuilder(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("publisher %s: %w", def.Name(), err)
	}
	p.stores = stores
	graph := goka.DefineGroup(goka.Group(p.topics.PublisherGroup),
		goka.Input(goka.Stream(p.topics.Table), codecs.RawStepCodec{}, p.handle),
		goka.Persist(versionCodec{}),
		goka.Output(goka.Stream(p.topics.Events), codecs.EventCodec{}),
	)
	// A table topic is read from its start (the publisher must see every
	// step) and with tombstones delivered, so none is silently dropped.
	all := append(baseOptions(cfg, stores), goka.WithNilHandling(goka.NilProcess), goka.WithStorageBuilder(p.buildStore))
	all = append(all, opts...)
	gp, err := goka.NewProcessor(cfg.Kafka.Brokers, graph, all...)
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
	return runGroup(ctx, p.gp, p.stores, p.topics.PublisherTable, p.cfg)
}

// buildStore opens a partition's store and notes it, for its fences.
func (p *Publisher) buildStore(topic string, partition int32) (storage.Storage, error) {
	st, err := p.stores.Build(topic, partition)
	if err != nil {
		return nil, err
	}
	p.partitions.Store(partition, &publisherPartition{store: st})
	return st, nil
}

// epoch returns the largest owner epoch seen on the partition of ctx,
// reading the fences kept in its store after it opened.
func (p *Publisher) epoch(ctx goka.Context) uint64 {
	part := ctx.Partition()
	if v, ok := p.partitions.Load(part); ok {
		pp := v.(*publisherPartition)
		if !pp.loaded {
			pp.loaded = true
			it, err := pp.store.IteratorWithRange([]byte(codecs.FencePrefix), []byte(fenceLimit))
			if err != nil {
				ctx.Fail(fmt.Errorf("read fences of partition %d: %w", part, err))
			}
			for it.Next() {
				if v, err := it.Value(); err == nil {
					if e, err := strconv.ParseUint(string(v), 10, 64); err == nil {
						p.epochs.Restore(part, e)
					}
				}
			}
			it.Release()
		}
	}
	return p.epochs.Max(part)
}

func (p *Publisher) handle(ctx goka.Context, msg any) {
	if codecs.IsFence(ctx.Key()) {
		// A new owner took the partition: steps of older epochs after
		// this point are a deposed owner's. The fence is kept under its
		// key, so a restart knows it.
		p.epoch(ctx)
		e := codecs.ParseEpoch(ctx.Headers()[codecs.HeaderEpoch])
		if e == 0 {
			p.cfg.Logger.Warn("fence without an epoch ignored", "aggregate", p.def.Name(), "key", ctx.Key(),
				"partition", ctx.Partition(), "offset", ctx.Offset())
			return
		}
		p.epochs.Fence(ctx.Partition(), e)
		ctx.SetValue(e)
		return
	}
	step, _ := msg.(*codecs.RawStep)
	if step != nil {
		p.epoch(ctx)
		if e := codecs.ParseEpoch(ctx.Headers()[codecs.HeaderEpoch]); p.epochs.Stale(ctx.Partition(), e) {
			p.cfg.Logger.Warn("stale snapshot of a deposed owner not published", "aggregate", p.def.Name(),
				"aggregate_id", ctx.Key(), "epoch", e, "current_epoch", p.epochs.Max(ctx.Partition()),
				"partition", ctx.Partition(), "offset", ctx.Offset())
			if h := p.cfg.Hooks.OnStale; h != nil {
				h(p.topics.Table, ctx.Partition())
			}
			return
		}
	}
	if step == nil || len(step.Events) == 0 {
		// Tombstones and accepted no-op commands carry no events.
		return
	}
	var last uint64
	if v := ctx.Value(); v != nil {
		last = v.(uint64)
	}
	events := step.Events
	first, err := codecs.EventVersion(events[0])
	if err != nil {
		ctx.Fail(fmt.Errorf("step of %s at %d/%d: %w", ctx.Key(), ctx.Partition(), ctx.Offset(), err))
	}
	newest := first
	if len(events) > 1 {
		if newest, err = codecs.EventVersion(events[len(events)-1]); err != nil {
			ctx.Fail(fmt.Errorf("step of %s at %d/%d: %w", ctx.Key(), ctx.Partition(), ctx.Offset(), err))
		}
	}
	if first > last+1 {
		p.cfg.Logger.Error("version gap in published events",
			"aggregate", p.def.Name(), "aggregate_id", ctx.Key(), "last_published", last, "next", first,
			"partition", ctx.Partition(), "offset", ctx.Offset())
		if h := p.cfg.Hooks.OnGap; h != nil {
			h(p.def.Name(), ctx.Key(), last, first)
		}
	}
	// The events are emitted as the snapshot holds them (DecodeRawStep).
	for _, e := range events {
		ctx.Emit(goka.Stream(p.topics.Events), ctx.Key(), e)
	}
	if h := p.cfg.Hooks.OnPublish; h != nil {
		h(p.def.Name(), len(events))
	}
	if newest > last {
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
