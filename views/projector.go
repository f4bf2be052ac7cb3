package views

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
	// Sarama supplies the consumer group's timings: only
	// Consumer.Group.Session.Timeout, Consumer.Group.Heartbeat.Interval and
	// Consumer.Group.Rebalance.Timeout are read (the projector is a
	// franz-go consumer; the field keeps one tuning value for every role).
	// Default: 10s, 3s and 60s, as goka's. New groups always start at the
	// oldest offset.
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

// groupTimings returns the session timeout, heartbeat interval and
// rebalance timeout of the consumer group.
func (c *ProjectorConfig) groupTimings() (session, heartbeat, rebalance time.Duration) {
	session, heartbeat, rebalance = 10*time.Second, 3*time.Second, 60*time.Second
	if c.Sarama != nil {
		g := c.Sarama.Consumer.Group
		if g.Session.Timeout > 0 {
			session = g.Session.Timeout
		}
		if g.Heartbeat.Interval > 0 {
			heartbeat = g.Heartbeat.Interval
		}
		if g.Rebalance.Timeout > 0 {
			rebalance = g.Rebalance.Timeout
		}
	}
	return session, heartbeat, rebalance
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

// Projector keeps a view up to date: a consumer group (`<view>-view`, a
// franz-go client with manual commits and eager range balancing) reading
// the view's source, projecting each poll's partitions in parallel,
// batching the operations, and committing a partition's offset only once
// the batch holding its records is stored. Rebalances wait until the
// current batch is stored and its offsets committed (or, while the store
// fails, until the batch is given up uncommitted), so a commit never
// passes a record whose write was not acknowledged.
type Projector struct {
	view   *View
	cfg    ProjectorConfig
	opts   []kgo.Opt
	stats  *Stats
	writer *writer
	topic  string
	group  string
	// docBytes is the mean size of the documents of the last poll (or
	// chunk of one) projected, for sizing the next arenas.
	docBytes atomic.Int64
	// epochs are the table owners' epochs seen per partition.
	epochs codecs.Epochs
	// marks remembers where consumption stands per partition, to restore
	// epochs when a partition comes back (see adjustEpochs).
	marks marks

	running atomic.Bool
	// rebalance is set while a rebalance waits for the current batch.
	rebalance atomic.Bool
	// retrying is set while the current batch's write waits to retry;
	// abort cancels that write when a rebalance is wanted meanwhile.
	retrying atomic.Bool
	abortMu  sync.Mutex
	abort    context.CancelFunc

	// items is reused from poll to poll.
	items []item

	// syncer is the store when its acknowledged writes become durable
	// later (a Syncer), nil otherwise. Then stored batches are committed
	// by the committer goroutine after a Sync, woken by wake; commitMu
	// orders its Sync and commit with those of a revocation.
	syncer   Syncer
	wake     chan struct{}
	commitMu sync.Mutex
}

// NewProjector builds the projector of v. Options are appended to the
// franz-go client's (after the connection's and the projector's own).
func NewProjector(v *View, cfg ProjectorConfig, opts ...kgo.Opt) (*Projector, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projector %s: %w", v.Name, err)
	}
	p := &Projector{view: v, cfg: cfg, stats: cfg.Stats, opts: opts,
		topic: v.SourceTopic(codecs.NewTopics(cfg.Prefix, v.Aggregate)), group: codecs.ViewGroup(cfg.Prefix, v.Name)}
	if sy, ok := cfg.Store.(Syncer); ok {
		p.syncer, p.wake = sy, make(chan struct{}, 1)
	}
	p.writer = &writer{
		store: cfg.Store, view: v, cfg: cfg.Batch, deadLetters: cfg.DeadLetters, stats: p.stats,
		logger: cfg.Logger, aliasNewIndices: true, known: map[string]bool{},
		gen:     func(ctx context.Context) (int, error) { return CurrentGeneration(ctx, cfg.Store, v) },
		onRetry: p.onRetry,
	}
	return p, nil
}

// Stats returns the projector's counters.
func (p *Projector) Stats() *Stats { return p.stats }

// Running reports whether the projector is a member of its group with its
// partitions assigned (readiness).
func (p *Projector) Running() bool { return p.running.Load() }

// client builds the consumer group client.
func (p *Projector) client() (*kgo.Client, error) {
	session, heartbeat, rebalance := p.cfg.groupTimings()
	opts := []kgo.Opt{
		kgo.ConsumerGroup(p.group),
		kgo.ConsumeTopics(p.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// Eager and range, as goka's groups: every partition is revoked on
		// a rebalance, so nothing buffered survives it, and the group speaks
		// the protocol of the goka builds before it (a mixed group during a
		// rolling upgrade was not tested).
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.SessionTimeout(session),
		kgo.HeartbeatInterval(heartbeat),
		kgo.RebalanceTimeout(rebalance),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.AdjustFetchOffsetsFn(p.adjustEpochs),
		// Called on every assignment, an empty one too (a spare replica is
		// ready as well).
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { p.running.Store(true) }),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			p.running.Store(false)
			p.cfg.Logger.Warn("view lost its partitions (evicted from its group); it rejoins from the group's offsets",
				"view", p.view.Name, "partitions", lost[p.topic])
		}),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { p.wantRebalance() }),
	}
	return p.cfg.Kafka.NewClient(append(opts, p.opts...)...)
}

// revoked commits, synchronously, the offsets of every batch stored so
// far (once durable, with a Syncer): the batch loop lets a rebalance
// through only with no batch pending, and the asynchronous commits it
// issued may still be in flight.
func (p *Projector) revoked(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
	p.running.Store(false)
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if offsets, o := p.marks.takeStored(p.topic); len(offsets) > 0 {
		if err := p.syncStore(ctx); err != nil {
			p.cfg.Logger.Warn("view offsets not committed on revocation: the store did not make the writes durable; the partitions' next owner re-reads from the group's offsets",
				"view", p.view.Name, "error", err)
			return
		}
		if err := p.commitSync(ctx, cl, offsets, o); err != nil {
			p.cfg.Logger.Warn("view offsets commit on revocation failed; the partitions' next owner re-reads from the group's offsets",
				"view", p.view.Name, "error", err)
		}
	}
}

// syncTimeout bounds a Sync on a revocation or a stop: a store that cannot
// make its writes durable must not hold the group's rebalance for ever
// (nothing is committed then; the records are read again).
const syncTimeout = 30 * time.Second

// syncStore waits until the store holds every stored batch durably (at
// once when it is not a Syncer).
func (p *Projector) syncStore(ctx context.Context) error {
	if p.syncer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	return p.syncer.Sync(ctx)
}

// committer commits the stored batches of a Syncer store once it made
// them durable, until ctx is done: each round takes every batch stored
// so far, waits for Sync (the store's next refresh) and commits them
// asynchronously, so a round covers the batches of a whole refresh
// interval. Commits stay ordered: rounds run one at a time, under
// commitMu, as revocations do.
func (p *Projector) committer(ctx context.Context, cl *kgo.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		p.commitMu.Lock()
		if offsets, o := p.marks.storedOffsets(p.topic); len(offsets) > 0 {
			if err := p.syncer.Sync(ctx); err != nil {
				if ctx.Err() == nil {
					p.cfg.Logger.Error("view offsets not committed: the store did not make the writes durable",
						"view", p.view.Name, "error", err)
				}
			} else {
				p.commitAsync(cl, offsets, o)
			}
		}
		p.commitMu.Unlock()
	}
}

// Run makes sure the view exists, then projects until ctx is cancelled
// (nil after a clean stop: the last batch stored and committed within
// ShutdownGrace) or the store gives an answer that retrying cannot fix
// (an error wrapping ErrViewStopped; nothing after the failing batch is
// committed).
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
	cl, err := p.client()
	if err != nil {
		return fmt.Errorf("projector %s: %w", p.view.Name, err)
	}
	defer p.running.Store(false)
	var committerDone chan struct{}
	cctx, stopCommitter := context.WithCancel(context.Background())
	defer stopCommitter()
	if p.syncer != nil {
		committerDone = make(chan struct{})
		go func() {
			defer close(committerDone)
			p.committer(cctx, cl)
		}()
	}
	// Writes outlive ctx by up to ShutdownGrace, so the last batch is
	// stored and committed on a clean stop.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.cfg.ShutdownGrace, wcancel)
		context.AfterFunc(wctx, func() { t.Stop() })
	})
	defer stop()
	err = p.loop(ctx, wctx, cl)
	stopCommitter()
	if committerDone != nil {
		<-committerDone
	}
	if err == nil {
		// The final synchronous commit (ordered after every async one).
		if offsets, o := p.marks.takeStored(p.topic); len(offsets) > 0 {
			if serr := p.syncStore(wctx); serr != nil {
				p.cfg.Logger.Warn("view's last offsets not committed: the store did not make the writes durable; the partitions' next owner re-reads from the group's offsets",
					"view", p.view.Name, "error", serr)
			} else if cerr := p.commitSync(wctx, cl, offsets, o); cerr != nil {
				p.cfg.Logger.Warn("view's last offset commit failed; the partitions' next owner re-reads from the group's offsets",
					"view", p.view.Name, "error", cerr)
			}
		}
	}
	cl.AllowRebalance()
	closeClient(cl)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// closeClient leaves the group and closes cl, without waiting on a broker
// that does not answer for longer than a few seconds.
func closeClient(cl *kgo.Client) {
	lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = cl.LeaveGroupContext(lctx)
	cl.Close()
}

// loop polls, projects and writes batches until ctx is cancelled (then it
// writes the last batch with wctx) or a batch fails for good.
func (p *Projector) loop(ctx, wctx context.Context, cl *kgo.Client) error {
	b := newBatch(p.cfg.Batch.MaxDocs)
	cur := newOffsets()
	var lingerEnd time.Time
	var lastFetchErr time.Time
	// rewind makes consumption go on from the first record of a batch
	// given up (and of the records read after it), with the owner epoch
	// each partition had there: nothing after it may be stored before
	// it, or commits would pass it.
	rewind := func(first map[int32]mark, rest []item) {
		for _, it := range rest {
			if _, ok := first[it.src.Partition]; !ok {
				first[it.src.Partition] = mark{offset: it.src.Offset, epoch: cur.epochOf(it.src.Partition)}
			}
		}
		parts := make(map[int32]kgo.EpochOffset, len(first))
		for part, m := range first {
			parts[part] = kgo.EpochOffset{Epoch: -1, Offset: m.offset}
			p.epochs.Reset(part, m.epoch)
			cur.setEpoch(part, m.epoch)
		}
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{p.topic: parts})
	}
	var givenUp map[int32]mark // set by flush when it gave a batch up
	flush := func(final bool) error {
		defer p.rebalance.Store(false)
		if b.records == 0 {
			return nil
		}
		bctx, cancel := context.WithCancel(wctx)
		p.abortMu.Lock()
		p.abort = cancel
		p.abortMu.Unlock()
		err := p.writer.write(bctx, b)
		p.abortMu.Lock()
		p.abort = nil
		p.abortMu.Unlock()
		cancel()
		p.retrying.Store(false)
		b.reset()
		batchOffsets := cur.take()
		switch {
		case err == nil:
			p.commit(cl, batchOffsets, final)
			return nil
		case wctx.Err() != nil:
			return wctx.Err() // stopping, and out of grace: nothing committed
		case bctx.Err() != nil:
			// Given up for a rebalance while the store fails: nothing of the
			// batch is committed, and its records are read again (by this
			// member or the partitions' next owner).
			p.cfg.Logger.Warn("view batch given up uncommitted for a rebalance while the store fails",
				"view", p.view.Name, "records", batchOffsets.records)
			givenUp = batchOffsets.first
			return nil
		default:
			p.cfg.Logger.Error("view stopped", "view", p.view.Name, "error", err)
			return err
		}
	}
	for {
		if ctx.Err() != nil {
			return flush(true)
		}
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if b.records > 0 {
			pctx, cancel = context.WithDeadline(ctx, lingerEnd)
		}
		fetches := cl.PollRecords(pctx, p.cfg.Batch.MaxDocs)
		cancel()
		for _, fe := range fetches.Errors() {
			switch {
			case errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded):
			case errors.Is(fe.Err, kgo.ErrClientClosed):
				return flush(true)
			case kafka.IsAuthError(fe.Err):
				return fmt.Errorf("projector %s: %w", p.view.Name, fe.Err)
			default:
				if time.Since(lastFetchErr) > time.Second {
					lastFetchErr = time.Now()
					p.cfg.Logger.Warn("view fetch error", "view", p.view.Name, "topic", fe.Topic, "partition", fe.Partition, "error", fe.Err)
				}
			}
		}
		pj := p.project(fetches)
		items := pj.items
		for i := range items {
			pj.ready(i)
			it := &items[i]
			if b.records == 0 {
				lingerEnd = time.Now().Add(p.cfg.Batch.Linger)
			}
			if it.err != nil {
				b.records++
				b.dead = append(b.dead, deadLetterFor(p.view.Name, recordOf(it.src), it.err))
			} else {
				b.addOp(it.action, it.op, it.month, it.src)
			}
			cur.add(it.src.Partition, it.src.Offset, it.epoch)
			if len(b.ops) >= p.cfg.Batch.MaxDocs || b.bytes >= p.cfg.Batch.MaxBytes || b.records >= 8*p.cfg.Batch.MaxDocs {
				if err := flush(false); err != nil {
					pj.wait()
					return err
				}
				if givenUp != nil {
					pj.wait()
					rewind(givenUp, items[i+1:])
					givenUp = nil
					break
				}
			}
		}
		pj.wait()
		clear(items) // drop references to the records
		if b.records > 0 && (p.rebalance.Load() || !time.Now().Before(lingerEnd)) {
			if err := flush(false); err != nil {
				return err
			}
			if givenUp != nil {
				rewind(givenUp, nil)
				givenUp = nil
			}
		}
		if b.records == 0 {
			cl.AllowRebalance()
		}
	}
}

// commit commits a stored batch's offsets, asynchronously (kgo orders
// commits; revocation and stop commit synchronously after them). With a
// Syncer store, the committer does, once the batch is durable.
func (p *Projector) commit(cl *kgo.Client, o batchOffsets, final bool) {
	p.marks.store(o)
	if final {
		return // Run commits synchronously
	}
	if p.syncer != nil {
		select {
		case p.wake <- struct{}{}:
		default: // a round is due already; it takes this batch too
		}
		return
	}
	p.commitAsync(cl, p.marks.offsets(p.topic, o), o)
}

// commitAsync commits offsets (o's positions) without waiting.
func (p *Projector) commitAsync(cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset, o batchOffsets) {
	cl.CommitOffsets(context.Background(), offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err == nil {
			err = commitResponseErr(resp)
		}
		if err != nil {
			p.cfg.Logger.Warn("view offset commit failed; the next commit or the partitions' next owner covers it",
				"view", p.view.Name, "error", err)
			return
		}
		p.marks.commitDone(o)
	})
}

// commitSync commits offsets (o's positions) and waits for the answer.
func (p *Projector) commitSync(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset, o batchOffsets) error {
	var err error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
		err = cerr
		if err == nil {
			err = commitResponseErr(resp)
		}
	})
	if err == nil {
		p.marks.commitDone(o)
	}
	return err
}

// onRetry is called by the writer before it waits to retry a failed
// write: while a rebalance waits for this batch, the batch is given up.
func (p *Projector) onRetry() {
	p.retrying.Store(true)
	if p.rebalance.Load() {
		p.cancelWrite()
	}
}

// wantRebalance notes that a rebalance waits for the current batch: it is
// flushed at once, and given up if its write is retrying.
func (p *Projector) wantRebalance() {
	p.rebalance.Store(true)
	if p.retrying.Load() {
		p.cancelWrite()
	}
}

func (p *Projector) cancelWrite() {
	p.abortMu.Lock()
	defer p.abortMu.Unlock()
	if p.abort != nil {
		p.abort()
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
