package processors

import (
	"cmp"
	"context"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/state"
)

// Dead-letter headers name why and where a message failed (see codecs).
const (
	HeaderErrorCode       = codecs.HeaderErrorCode
	HeaderError           = codecs.HeaderError
	HeaderSourceTopic     = codecs.HeaderSourceTopic
	HeaderSourcePartition = codecs.HeaderSourcePartition
	HeaderSourceOffset    = codecs.HeaderSourceOffset
)

// RejectReplayed is the error code of a duplicate result for a command
// that was processed before (its input offset is at or below the
// snapshot's) but is no longer among the remembered commands, so its
// outcome is unknown. It is never decided again.
const RejectReplayed = "replayed"

// RejectTooLarge is the error code of a command whose snapshot would exceed
// the table topic's message limit: it is refused, and the aggregate stays as
// it was (DESIGN.md guarantee 10).
const RejectTooLarge = "too_large"

// Processor is the command processor group of one aggregate: it consumes
// commands, decides them against the snapshot in its group table, writes one
// snapshot (state plus the step's events) per accepted command, and emits a
// result per command and a dead letter per undecodable or unhandleable one.
type Processor struct {
	def    Definition
	cfg    Config
	topics codecs.Topics
	stores *state.Builder
	gp     *goka.Processor
	// maxSnapshot is the largest encoded snapshot written (Config.MaxSnapshotBytes
	// or learned from the table topic at Run).
	maxSnapshot atomic.Int64
	// input is what is known of the commands topic (learned at Run and at
	// every partition open); nil when nothing is.
	input atomic.Pointer[inputTopic]
	// meta is the client Run asks the broker with, nil outside Run.
	meta atomic.Pointer[kgo.Client]
	// fencer writes the fences of partitions this replica takes (DESIGN.md
	// guarantee 7); nil outside Run.
	fencer atomic.Pointer[kgo.Client]
	// running is Run's context, for the takeovers goka starts.
	running atomic.Pointer[context.Context]
	// owners are the partitions this replica owns and their epochs.
	owners owners
	// table builds the fenced stores of the group table.
	table *FencedTable
	// cache holds the snapshots last written, decoded; nil for none.
	cache *snapshotCache
	// states holds the states last decided, decoded, for aggregates that
	// CacheDecodedStates; nil for none.
	states *stateCache
}

// NewProcessor builds the processor group of def. opts are passed to goka
// after sourced's own options, so goka.WithTester replaces the Kafka and
// storage builders in tests.
func NewProcessor(def Definition, cfg Config, opts ...goka.ProcessorOption) (*Processor, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("processor %s: %w", def.Name(), err)
	}
	if err := cfg.connect(); err != nil {
		return nil, fmt.Errorf("processor %s: %w", def.Name(), err)
	}
	p := &Processor{def: def, cfg: cfg, topics: codecs.NewTopics(cfg.Prefix, def.Name())}
	p.maxSnapshot.Store(int64(cmp.Or(cfg.MaxSnapshotBytes, DefaultMaxSnapshotBytes)))
	p.cache = newSnapshotCache(cfg.SnapshotCacheBytes)
	if p.cache != nil {
		p.cache.check = cfg.checkSnapshotCache
	}
	p.states = newStateCache(cfg.SnapshotCacheBytes)
	if p.states != nil {
		p.states.check = cfg.checkSnapshotCache
	}
	stores, err := state.NewBuilder(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("processor %s: %w", def.Name(), err)
	}
	p.stores = stores
	p.table = NewFencedTable(stores.Build, cfg.Logger, cfg.Hooks.OnStale)
	p.table.takeOver = p.takeOver

	graph := goka.DefineGroup(goka.Group(p.topics.Group),
		goka.Input(goka.Stream(p.topics.Commands), codecs.CommandCodec{MaxBytes: cfg.MaxCommandBytes}, p.handle),
		goka.Persist(tableCodec{cache: p.cache}),
		goka.Output(goka.Stream(p.topics.Results), codecs.JSON[codecs.Result]{}),
		goka.Output(goka.Stream(p.topics.DLQ), codecs.Bytes{}),
	)
	all := append(baseOptions(cfg, stores),
		goka.WithStorageBuilder(p.buildStore),
		goka.WithUpdateCallback(p.table.Update),
		goka.WithRebalanceCallback(p.owners.assigned))
	all = append(all, opts...)
	gp, err := goka.NewProcessor(cfg.Kafka.Brokers, graph, all...)
	if err != nil {
		return nil, fmt.Errorf("processor %s: %w", def.Name(), err)
	}
	p.gp = gp
	return p, nil
}

// baseOptions wires sourced's Kafka settings and stores into goka. Every
// produce error taints the stores before goka sees it, so no store closed
// after a failed changelog write is marked clean.
func baseOptions(cfg Config, stores *state.Builder) []goka.ProcessorOption {
	sc := cfg.Sarama // connected
	produce := kafka.ProducerBuilder(slices.Concat(cfg.kopts, cfg.producerOpts))
	return []goka.ProcessorOption{
		goka.WithStorageBuilder(stores.Build),
		goka.WithProducerBuilder(func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
			pr, err := produce(brokers, clientID, hasher)
			if err != nil {
				return nil, err
			}
			if cfg.wrapProducer != nil {
				pr = cfg.wrapProducer(pr)
			}
			return taintingProducer{Producer: pr, stores: stores}, nil
		}),
		// PromptRejoin: a rebalance costs every member goka's 5 s sleep otherwise.
		goka.WithConsumerGroupBuilder(kafka.PromptRejoin(kafka.OrderedCommits(goka.ConsumerGroupBuilderWithConfig(sc)))),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		// The partition tables' offset lookups at start, at once instead
		// of one at a time (a clean restart waited on them).
		goka.WithTopicManagerBuilder(kafka.ConcurrentOffsets(
			goka.TopicManagerBuilderWithConfig(sc, goka.NewTopicManagerConfig()), cfg.kopts)),
		goka.WithLogger(kafka.GokaLogger(cfg.Logger)),
	}
}

// Topics returns the names the processor uses.
func (p *Processor) Topics() codecs.Topics { return p.topics }

// Goka returns the underlying goka processor, for stats and monitoring.
func (p *Processor) Goka() *goka.Processor { return p.gp }

// Run processes commands until ctx is cancelled (returning nil after a
// clean close) or the group fails. On failure every store is marked dirty
// before Run returns, so the next start restores them from the changelog.
func (p *Processor) Run(ctx context.Context) error {
	cl, err := p.cfg.Kafka.NewClient()
	if err != nil {
		p.cfg.Logger.Warn("no metadata client; topics not checked", "error", err)
	} else {
		defer cl.Close()
		_ = p.learnInput(ctx, cl) // logged; goka reports a missing topic
		if p.cfg.MaxSnapshotBytes == 0 {
			p.learnSnapshotLimit(ctx, cl)
		}
		p.meta.Store(cl)
		defer p.meta.Store(nil)
	}
	fencer, err := p.cfg.Kafka.NewClient(
		kgo.ClientID(p.cfg.Sarama.ClientID+"-fencer"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return fmt.Errorf("processor %s: fence client: %w", p.def.Name(), err)
	}
	defer fencer.Close()
	// The first fence waits on the client's metadata and producer id:
	// load them while the group forms, off the path of a restart.
	warmed := make(chan struct{})
	go func() {
		defer close(warmed)
		wctx, cancel := context.WithTimeout(ctx, fenceTimeout)
		defer cancel()
		_, _, _ = fencer.ProducerID(wctx)
		_, _ = kadm.NewClient(fencer).ListEndOffsets(wctx, p.topics.Table)
	}()
	defer func() { <-warmed }()
	p.fencer.Store(fencer)
	defer p.fencer.Store(nil)
	p.running.Store(&ctx)
	return runGroup(ctx, p.gp, p.stores, p.topics.Table, p.cfg)
}

// learnSnapshotLimit bounds snapshots by the table topic's
// max.message.bytes, less room for the key and the record batch framing.
// The broker limits batches after compression; the bound is on the
// uncompressed encoding, so it is the same for every replica and replay.
// When the limit cannot be read, DefaultMaxSnapshotBytes stays.
func (p *Processor) learnSnapshotLimit(ctx context.Context, cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(ctx, metaTimeout)
	defer cancel()
	rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, p.topics.Table)
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = rcs.On(p.topics.Table, nil); err == nil {
			for _, c := range rc.Configs {
				if c.Key != "max.message.bytes" {
					continue
				}
				n, perr := strconv.Atoi(c.MaybeValue())
				if perr == nil && n > snapshotFraming {
					p.maxSnapshot.Store(int64(min(n-snapshotFraming, DefaultMaxSnapshotBytes)))
				}
				return
			}
		}
	}
	p.cfg.Logger.Warn("table topic's max.message.bytes unknown; snapshots bounded by the default",
		"table", p.topics.Table, "max_snapshot_bytes", p.maxSnapshot.Load(), "error", err)
}

// snapshotFraming is room left in a table message for the record batch
// header, the record's own framing and its key (aggregate ids are short).
const snapshotFraming = 1024

// runGroup runs gp until ctx is done or it fails. A failure taints the
// stores and marks them dirty, so they are restored before their next use;
// a stop after the group had evicted this member is not a failure
// (kafka.EvictedAtStop).
func runGroup(ctx context.Context, gp *goka.Processor, stores *state.Builder, table string, cfg Config) error {
	if onTable := cfg.Hooks.OnTable; onTable != nil {
		stop := watchTable(gp, table, onTable)
		defer func() {
			stop()
			onTable(table, TableStopped, 0)
		}()
	}
	// Stores closed once ctx is done are closed for a stop, not a
	// rebalance: they settle LevelDB's compactions first.
	stores.StopsWith(ctx)
	err := gp.Run(ctx)
	if ctx.Err() != nil && kafka.EvictedAtStop(err) {
		cfg.Logger.Warn("stopped after the group evicted this member; its last offset commits were refused, the partitions' new owner goes on from the group's offsets",
			"table", table, "error", err)
		err = nil
	}
	if err == nil {
		err = stores.Tainted()
	}
	if err != nil {
		stores.Taint(err)
		if derr := stores.MarkDirty(); derr != nil {
			return fmt.Errorf("%w (and marking stores dirty: %v)", err, derr)
		}
		return err
	}
	return nil
}

// watchTable reports the recovery of gp's table to onTable until the
// returned stop is called. goka's processor is Starting, then in Setup
// while a rebalance restores its partitions, and Running once every
// assigned partition is recovered.
func watchTable(gp *goka.Processor, table string, onTable func(string, TableState, time.Duration)) (stop func()) {
	obs := gp.StateReader().ObserveStateChange()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var since time.Time
		for st := range obs.C() {
			switch st {
			case goka.ProcStateStarting, goka.ProcStateSetup:
				if since.IsZero() {
					since = time.Now()
					onTable(table, TableRecovering, 0)
				}
			case goka.ProcStateRunning:
				if !since.IsZero() {
					onTable(table, TableReady, time.Since(since))
					since = time.Time{}
				}
			case goka.ProcStateStopping, goka.ProcStateStopped:
				since = time.Time{}
			}
		}
	}()
	// Stop closes the observer's channel, which ends the loop.
	return func() {
		obs.Stop()
		<-done
	}
}

// handle is the goka callback for one command message: it gathers what
// Step needs from ctx and the processor, and applies what Step returns.
func (p *Processor) handle(ctx goka.Context, msg any) {
	if h := p.cfg.Hooks.OnCommand; h != nil {
		h(p.def.Name(), time.Since(ctx.Timestamp()))
	}
	cmd, _ := msg.(*codecs.Command)
	in := StepInput{
		Command:          cmd,
		Key:              ctx.Key(),
		Offset:           ctx.Offset(),
		Timestamp:        ctx.Timestamp(),
		InputID:          p.inputID(),
		DedupeWindow:     p.cfg.DedupeWindow,
		MaxSnapshotBytes: p.maxSnapshot.Load(),
		states:           p.states,
	}
	if cmd != nil {
		// A misrouted command's partition store does not hold its
		// aggregate's snapshot (that one is in the store of the key's
		// partition): nothing may be read or written here.
		if in.Misrouted, _ = p.misrouted(ctx); in.Misrouted == "" {
			if v := ctx.Value(); v != nil {
				in.Snapshot = v.(*codecs.Snapshot)
			}
		}
	}
	// Decide's latency is only measured for a hook that wants it: two
	// clock reads per command are not free on the hot path.
	if p.cfg.Hooks.OnResult != nil {
		in.Now = time.Now
	}
	out := Step(p.def, in)

	for _, l := range out.Logs {
		p.cfg.Logger.Log(context.Background(), l.Level, l.Msg, l.Attrs...)
	}
	if out.Err != nil {
		ctx.Fail(out.Err)
	}
	if w := out.Write; w != nil {
		// Every write is stamped, a remembered refusal's too: it carries
		// the state it was decided on, which a deposed owner's may not be.
		v := encodedSnapshot{snap: w.Snapshot, encoded: w.Encoded}
		epoch := p.owners.epoch(ctx.Partition())
		switch {
		case epoch != nil:
			ctx.SetValue(v, goka.WithCtxEmitHeaders(goka.Headers{codecs.HeaderEpoch: epoch}))
		case p.cfg.unfenced:
			ctx.SetValue(v)
		default:
			ctx.Fail(fmt.Errorf("partition %d of %s: no epoch (the partition was not taken over)", ctx.Partition(), p.topics.Table))
		}
	}
	if dl := out.DeadLetter; dl != nil {
		p.deadLetter(ctx, dl.Raw, dl.Code, dl.Reason)
	}
	if r := out.Result; r != nil {
		p.reply(ctx, cmd.Type, r, out.Decided)
	}
}

func (p *Processor) reply(ctx goka.Context, typ string, r *codecs.Result, took time.Duration) {
	ctx.Emit(goka.Stream(p.topics.Results), ctx.Key(), r)
	if h := p.cfg.Hooks.OnResult; h != nil {
		h(p.def.Name(), typ, r.Status, took, ctx.Timestamp())
	}
}

func (p *Processor) deadLetter(ctx goka.Context, raw []byte, code, reason string) {
	emitDeadLetter(ctx, goka.Stream(p.topics.DLQ), raw, code, reason)
	p.cfg.Logger.Warn("dead-lettered input", "aggregate", p.def.Name(), "key", ctx.Key(),
		"topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "code", code, "error", reason)
	if h := p.cfg.Hooks.OnDeadLetter; h != nil {
		h(p.def.Name(), code)
	}
}

// emitDeadLetter emits raw to dlq under the same key, with headers naming the
// error and the source position.
func emitDeadLetter(ctx goka.Context, dlq goka.Stream, raw []byte, code, reason string) {
	headers := goka.Headers{
		HeaderErrorCode:       []byte(code),
		HeaderError:           []byte(reason),
		HeaderSourceTopic:     []byte(ctx.Topic()),
		HeaderSourcePartition: []byte(strconv.FormatInt(int64(ctx.Partition()), 10)),
		HeaderSourceOffset:    []byte(strconv.FormatInt(ctx.Offset(), 10)),
	}
	if raw == nil {
		raw = []byte{}
	}
	ctx.Emit(dlq, ctx.Key(), raw, goka.WithCtxEmitHeaders(headers))
}

// taintingProducer tells the stores of every write until it is
// acknowledged (a store closed before its changelog writes are is left
// dirty), and marks them tainted as soon as any produce fails, before
// goka's own callbacks run and close the partitions.
type taintingProducer struct {
	goka.Producer
	stores *state.Builder
}

func (t taintingProducer) Emit(topic, key string, value []byte) *goka.Promise {
	done := t.stores.Begin(topic)
	return t.watch(t.Producer.Emit(topic, key, value), done)
}

func (t taintingProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	done := t.stores.Begin(topic)
	return t.watch(t.Producer.EmitWithHeaders(topic, key, value, headers), done)
}

// watch ends the write's tracking when pr finishes. goka registers its own
// callbacks on the promise returned, so they run after this one.
func (t taintingProducer) watch(pr *goka.Promise, done func(error)) *goka.Promise {
	return pr.Then(func(err error) {
		if err != nil {
			err = fmt.Errorf("produce: %w", err)
		}
		done(err)
	})
}
