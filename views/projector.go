package views

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// ProjectorConfig configures the live projector of one view.
type ProjectorConfig struct {
	// Kafka says how to reach Kafka (brokers, client id, SASL, TLS).
	// Required: Kafka.Brokers.
	Kafka kafka.Connection
	// Prefix is prepended to topic and group names. Default: none.
	Prefix string
	// Sarama tunes goka's sarama clients; the projector copies it and
	// applies Kafka's client id, TLS and SASL. Default: goka's. New
	// groups always start at the oldest offset.
	Sarama *sarama.Config
	// Store receives the documents. Required.
	Store Store
	// Batch sizes batches and paces retries.
	Batch BatchConfig
	// DeadLetters stores records the view cannot store. Required.
	DeadLetters DeadLetterFunc
	// ShutdownGrace bounds how long a stopping projector keeps trying to
	// write its last batch before giving up (without committing it).
	// Default: 10s.
	ShutdownGrace time.Duration
	// Logger receives retries, dead letters and errors. Default: discard.
	Logger *slog.Logger
	// Stats receives the projector's counts. Pass the same value to the
	// projectors that replace a failed one so counts survive restarts.
	// Default: a new Stats.
	Stats *Stats
}

func (c *ProjectorConfig) setDefaults() {
	c.Batch.setDefaults()
	if c.Sarama == nil {
		c.Sarama = goka.DefaultConfig()
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stats == nil {
		c.Stats = &Stats{}
	}
}

// Validate reports every problem of the configuration, joined.
func (c *ProjectorConfig) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafka connection: %w", err))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("store: missing"))
	}
	if c.DeadLetters == nil {
		errs = append(errs, errors.New("dead letters: missing"))
	}
	return errors.Join(errs...)
}

// Projector keeps a view up to date: a goka group reading the view's
// source, batching projections, and committing offsets only once their
// batch is stored (goka DeferCommit, completed in offset order).
type Projector struct {
	view   *View
	cfg    ProjectorConfig
	gp     *goka.Processor
	in     chan item
	stats  *Stats
	writer *writer
	// epochs are the table owners' epochs seen per partition.
	epochs codecs.Epochs
}

// item is one consumed record on its way to the batcher.
type item struct {
	proj   Projection
	err    error // projection failure: dead-letter the record
	rec    Record
	commit func(error)
}

// NewProjector builds the projector of v. Options are passed to goka.
func NewProjector(v *View, cfg ProjectorConfig, opts ...goka.ProcessorOption) (*Projector, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projector %s: %w", v.Name, err)
	}
	p := &Projector{view: v, cfg: cfg, stats: cfg.Stats, in: make(chan item, cfg.Batch.MaxDocs)}
	p.writer = &writer{
		store: cfg.Store, view: v, cfg: cfg.Batch, deadLetters: cfg.DeadLetters, stats: p.stats,
		logger: cfg.Logger, aliasNewIndices: true, known: map[string]bool{},
		gen: func(ctx context.Context) (int, error) { return CurrentGeneration(ctx, cfg.Store, v) },
	}
	sc := *cfg.Sarama
	if err := cfg.Kafka.Apply(&sc); err != nil {
		return nil, fmt.Errorf("projector %s: kafka connection: %w", v.Name, err)
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = true
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	topics := codecs.NewTopics(cfg.Prefix, v.Aggregate)
	graph := goka.DefineGroup(goka.Group(codecs.ViewGroup(cfg.Prefix, v.Name)),
		goka.Input(goka.Stream(v.SourceTopic(topics)), codecs.Bytes{}, p.consume))
	all := []goka.ProcessorOption{
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(&sc)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(&sc)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(&sc)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(&sc, goka.NewTopicManagerConfig())),
		goka.WithNilHandling(goka.NilProcess),
		goka.WithLogger(kafka.GokaLogger(cfg.Logger)),
	}
	gp, err := goka.NewProcessor(cfg.Kafka.Brokers, graph, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("projector %s: %w", v.Name, err)
	}
	p.gp = gp
	return p, nil
}

// Stats returns the projector's counters.
func (p *Projector) Stats() *Stats { return p.stats }

// Goka returns the underlying goka processor, for monitoring.
func (p *Projector) Goka() *goka.Processor { return p.gp }

// consume is goka's callback: project, then hand the record to the
// batcher with its deferred commit. Blocking here when the batcher is full
// pauses the partition: that is the backpressure.
func (p *Projector) consume(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	rec := Record{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(), Key: ctx.Key(), Value: value}
	proj, deposed, err := p.view.projectRecord(&p.epochs, ctx.Partition(), ctx.Key(), value, codecs.ParseEpoch(ctx.Headers()[codecs.HeaderEpoch]))
	if deposed {
		p.stats.Deposed.Add(1)
		p.cfg.Logger.Warn("stale snapshot of a deposed owner skipped", "view", p.view.Name, "key", ctx.Key(),
			"partition", ctx.Partition(), "offset", ctx.Offset(), "current_epoch", p.epochs.Max(ctx.Partition()))
	}
	it := item{proj: proj, err: err, rec: rec, commit: ctx.DeferCommit()}
	select {
	case p.in <- it:
	case <-ctx.Context().Done():
		it.commit(ctx.Context().Err()) // stopping: not stored, not committed
	}
}

// Run makes sure the view exists, then projects until ctx is cancelled
// (nil after a clean stop) or the store gives an answer that retrying
// cannot fix (an error wrapping ErrViewStopped; nothing after the failing
// batch is committed).
func (p *Projector) Run(ctx context.Context) error {
	if err := p.writer.retry(ctx, func() error {
		_, err := Ensure(ctx, p.cfg.Store, p.view)
		return stopUnlessRetryable(p.view.Name, err)
	}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// Writes outlive ctx by up to ShutdownGrace, so the last batch is
	// stored and committed on a clean stop.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	g, gctx := errgroup.WithContext(ctx)
	stopped := make(chan struct{})
	g.Go(func() error {
		defer close(stopped)
		err := p.gp.Run(gctx)
		if ctx.Err() != nil && kafka.EvictedAtStop(err) {
			p.cfg.Logger.Warn("stopped after the group evicted this member; its last offset commits were refused, the partitions' new owner goes on from the group's offsets",
				"view", p.view.Name, "error", err)
			return nil
		}
		return err
	})
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-stopped:
		}
		select {
		case <-stopped:
		case <-time.After(p.cfg.ShutdownGrace):
			wcancel()
		}
		return nil
	})
	g.Go(func() error { return p.batchLoop(wctx, stopped) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// batchLoop collects items into batches and writes them; it returns after
// goka stopped, having written or failed every item it received.
func (p *Projector) batchLoop(ctx context.Context, stopped <-chan struct{}) error {
	b := newBatch(p.cfg.Batch.MaxDocs)
	var commits []func(error)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var failed error
	flush := func() {
		linger.Stop()
		if len(commits) == 0 {
			return
		}
		err := failed
		if err == nil {
			err = p.writer.write(ctx, b)
		}
		if err != nil && failed == nil {
			failed = err
			p.cfg.Logger.Error("view stopped", "view", p.view.Name, "error", err)
		}
		for _, c := range commits {
			c(err)
		}
		clear(commits)
		commits = commits[:0]
		b.reset()
	}
	add := func(it item) {
		if len(commits) == 0 {
			linger.Reset(p.cfg.Batch.Linger)
		}
		commits = append(commits, it.commit)
		err := it.err
		if err == nil {
			err = b.add(it.proj, it.rec)
		}
		if err != nil {
			b.records++
			b.dead = append(b.dead, deadLetterFor(p.view.Name, it.rec, err))
		}
		if len(b.ops) >= p.cfg.Batch.MaxDocs || b.bytes >= p.cfg.Batch.MaxBytes || len(commits) >= 8*p.cfg.Batch.MaxDocs {
			flush()
		}
	}
	for {
		select {
		case it := <-p.in:
			add(it)
		case <-linger.C:
			flush()
		case <-stopped:
		drain:
			for {
				select {
				case it := <-p.in:
					add(it)
				default:
					break drain
				}
			}
			flush()
			return failed
		}
	}
}

// deadLetterFor describes a record that could not be projected.
func deadLetterFor(view string, rec Record, err error) DeadLetter {
	code := "invalid"
	var pe *projectError
	if errors.As(err, &pe) {
		code = pe.code
	}
	return DeadLetter{Record: rec, View: view, Code: code, Reason: err.Error()}
}
