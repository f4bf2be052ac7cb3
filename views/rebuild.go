package views

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// RebuildConfig configures a rebuild.
type RebuildConfig struct {
	// Kafka says how to reach Kafka (brokers, client id, SASL, TLS).
	// Required: Kafka.Brokers.
	Kafka kafka.Connection
	// Prefix is prepended to topic names. Default: none.
	Prefix string
	// Store receives the new generation. Required.
	Store Store
	// Batch sizes batches and paces retries.
	Batch BatchConfig
	// DeadLetters stores records the view cannot store. Required.
	DeadLetters DeadLetterFunc
	// KeepOld keeps the previous generation's indices after the swap.
	KeepOld bool
	// Progress, when set, is called after every batch and at each phase.
	Progress func(RebuildProgress)
	// Logger receives progress and retries. Default: discard.
	Logger *slog.Logger
}

// RebuildProgress reports where a rebuild stands.
type RebuildProgress struct {
	// Phase is "replay" (filling the new generation up to the high
	// watermarks), "swap", "catch-up" (replaying what arrived meanwhile),
	// "cleanup" or "done".
	Phase string
	// Generation is the generation being built.
	Generation int
	// Partitions holds each source partition's next offset and target.
	Partitions []PartitionProgress
	// Records is the number of source records replayed so far.
	Records int64
	// Rate is records per second so far.
	Rate float64
	// ETA estimates the time left in the current phase.
	ETA time.Duration
}

// PartitionProgress is one partition's replay position.
type PartitionProgress struct {
	Partition int32
	// Next is the next offset to read; the partition is done when it
	// reaches End.
	Next, End int64
}

// RebuildResult describes a finished rebuild.
type RebuildResult struct {
	// Generation is the new generation.
	Generation int
	// Indices are its indices, now behind the read alias.
	Indices []string
	// Removed are the previous generation's indices (deleted unless
	// KeepOld).
	Removed []string
	// Records is the number of source records replayed.
	Records int64
	// Stats counts the writes.
	Stats *Stats
}

// Rebuild rebuilds a view with no downtime: it creates a new generation,
// replays the whole source into it up to the high watermarks, swaps the
// read alias atomically, replays what arrived meanwhile up to the
// watermarks read after the swap, and deletes the old generation. The live
// projector keeps writing through the alias all along; external versions
// make the overlap harmless.
func Rebuild(ctx context.Context, v *View, cfg RebuildConfig) (*RebuildResult, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	cfg.Batch.setDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil || cfg.DeadLetters == nil {
		return nil, errors.New("rebuild: Store and DeadLetters are required")
	}
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, fmt.Errorf("rebuild: kafka connection: %w", err)
	}
	if _, err := Ensure(ctx, cfg.Store, v); err != nil {
		return nil, err
	}
	gen, err := nextGeneration(ctx, cfg.Store, v)
	if err != nil {
		return nil, err
	}
	r := &rebuild{view: v, cfg: cfg, gen: gen, stats: &Stats{}, started: time.Now()}
	r.writer = &writer{store: cfg.Store, view: v, cfg: cfg.Batch, deadLetters: cfg.DeadLetters, stats: r.stats,
		logger: cfg.Logger, known: map[string]bool{}, gen: func(context.Context) (int, error) { return gen, nil }}
	if v.Source == FromState {
		r.writer.fixedIndex = v.IndexName(gen, "")
		if err := cfg.Store.CreateIndex(ctx, r.writer.fixedIndex, v.Mapping); err != nil {
			return nil, fmt.Errorf("rebuild %s: create %s: %w", v.Name, r.writer.fixedIndex, err)
		}
	}
	cfg.Logger.Info("rebuild started", "view", v.Name, "generation", gen)
	return r.run(ctx)
}

type rebuild struct {
	view    *View
	cfg     RebuildConfig
	gen     int
	writer  *writer
	stats   *Stats
	started time.Time
	records int64
	next    map[int32]int64
	end     map[int32]int64
	// epochs are the table owners' epochs seen per partition.
	epochs codecs.Epochs
}

func (r *rebuild) run(ctx context.Context) (*RebuildResult, error) {
	topic := r.view.SourceTopic(codecs.NewTopics(r.cfg.Prefix, r.view.Aggregate))
	admin, err := r.cfg.Kafka.NewClient()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	starts, ends, err := offsets(ctx, adm, topic)
	if err != nil {
		return nil, err
	}
	r.next, r.end = starts, ends
	assign := map[int32]kgo.Offset{}
	for p, o := range starts {
		assign[p] = kgo.NewOffset().At(o)
	}
	cl, err := r.cfg.Kafka.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	if err := r.replay(ctx, cl, "replay"); err != nil {
		return nil, err
	}
	r.report("swap", 0)
	newIndices, removed, err := r.swap(ctx)
	if err != nil {
		return nil, err
	}
	_, ends, err = offsets(ctx, adm, topic)
	if err != nil {
		return nil, err
	}
	r.end = ends
	if err := r.replay(ctx, cl, "catch-up"); err != nil {
		return nil, err
	}
	// The catch-up's writes must be durable before the old generation
	// goes: they may be the only copy in the new one of what the live
	// projector wrote to the old one before the swap.
	if err := Sync(ctx, r.cfg.Store); err != nil {
		return nil, fmt.Errorf("rebuild %s: make the catch-up durable: %w", r.view.Name, err)
	}
	if !r.cfg.KeepOld {
		r.report("cleanup", 0)
		for _, idx := range removed {
			if err := r.cfg.Store.DeleteIndex(ctx, idx); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("rebuild %s: delete old index %s: %w", r.view.Name, idx, err)
			}
		}
	}
	r.report("done", 0)
	r.cfg.Logger.Info("rebuild done", "view", r.view.Name, "generation", r.gen, "records", r.records,
		"took", time.Since(r.started).Round(time.Millisecond))
	return &RebuildResult{Generation: r.gen, Indices: newIndices, Removed: removed, Records: r.records, Stats: r.stats}, nil
}

// replay reads until every partition reached its end offset, writing in
// batches.
func (r *rebuild) replay(ctx context.Context, cl *kgo.Client, phase string) error {
	b := newBatch(r.cfg.Batch.MaxDocs)
	flush := func() error {
		if b.records == 0 {
			return nil
		}
		err := r.writer.write(ctx, b)
		r.records += int64(b.records)
		b.reset()
		r.report(phase, 0)
		return err
	}
	var snap codecs.Snapshot // every snapshot is decoded into it (View.State)
	for !r.caughtUp() {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fetches := cl.PollRecords(pctx, r.cfg.Batch.MaxDocs)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				r.cfg.Logger.Warn("rebuild fetch error", "view", r.view.Name, "partition", fe.Partition, "error", fe.Err)
			}
		}
		for _, rec := range fetches.Records() {
			proj, deposed, err := r.view.projectRecord(&r.epochs, rec.Partition, rec.Key, rec.Value, kafka.RecordEpoch(rec), &snap)
			if deposed {
				r.stats.Deposed.Add(1)
				r.cfg.Logger.Warn("stale snapshot of a deposed owner skipped", "view", r.view.Name, "key", string(rec.Key),
					"partition", rec.Partition, "offset", rec.Offset)
			}
			if err == nil {
				err = b.add(proj, rec)
			} else {
				b.records++
			}
			if err != nil {
				b.dead = append(b.dead, deadLetterFor(r.view.Name, recordOf(rec), err))
			}
			r.next[rec.Partition] = rec.Offset + 1
			if len(b.ops) >= r.cfg.Batch.MaxDocs || b.bytes >= r.cfg.Batch.MaxBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if len(fetches.Records()) == 0 || r.caughtUp() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (r *rebuild) caughtUp() bool {
	for p, end := range r.end {
		if r.next[p] < end {
			return false
		}
	}
	return true
}

// swap points the read alias at the new generation, atomically, and
// returns the new and the removed indices.
func (r *rebuild) swap(ctx context.Context) (newIndices, removed []string, err error) {
	s := r.cfg.Store
	if r.view.Source == FromState {
		newIndices = []string{r.writer.fixedIndex}
	} else {
		newIndices, err = s.Indices(ctx, fmt.Sprintf("%s-v%d-", r.view.Name, r.gen))
		if err != nil {
			return nil, nil, err
		}
		if len(newIndices) == 0 { // no events at all: an empty current month
			idx := r.view.IndexName(r.gen, time.Now().UTC().Format("2006.01"))
			if err := s.CreateIndex(ctx, idx, r.view.Mapping); err != nil && !errors.Is(err, ErrIndexExists) {
				return nil, nil, err
			}
			newIndices = []string{idx}
		}
	}
	// Make the replayed documents searchable first: a store that refreshes
	// on an interval (Elasticsearch, 1 s) would otherwise answer searches
	// through the swapped alias with an empty or partial index.
	for _, idx := range newIndices {
		if err := s.Refresh(ctx, idx); err != nil {
			return nil, nil, fmt.Errorf("rebuild %s: refresh %s before the swap: %w", r.view.Name, idx, err)
		}
	}
	old, _, err := s.Alias(ctx, r.view.Name)
	if err != nil {
		return nil, nil, err
	}
	var actions []AliasAction
	for _, idx := range old {
		if !slices.Contains(newIndices, idx) {
			actions = append(actions, AliasAction{Kind: RemoveAlias, Index: idx, Alias: r.view.Name})
			removed = append(removed, idx)
		}
	}
	for _, idx := range newIndices {
		actions = append(actions, AliasAction{Kind: AddAlias, Index: idx, Alias: r.view.Name, IsWriteIndex: r.view.Source == FromState})
	}
	if err := s.UpdateAliases(ctx, actions); err != nil {
		return nil, nil, fmt.Errorf("rebuild %s: swap alias: %w", r.view.Name, err)
	}
	r.cfg.Logger.Info("rebuild swapped the alias", "view", r.view.Name, "generation", r.gen, "indices", newIndices, "previous", removed)
	return newIndices, removed, nil
}

func (r *rebuild) report(phase string, _ int) {
	if r.cfg.Progress == nil {
		return
	}
	pr := RebuildProgress{Phase: phase, Generation: r.gen, Records: r.records}
	var left int64
	for p, end := range r.end {
		pr.Partitions = append(pr.Partitions, PartitionProgress{Partition: p, Next: r.next[p], End: end})
		if end > r.next[p] {
			left += end - r.next[p]
		}
	}
	sort.Slice(pr.Partitions, func(i, j int) bool { return pr.Partitions[i].Partition < pr.Partitions[j].Partition })
	if secs := time.Since(r.started).Seconds(); secs > 0 {
		pr.Rate = float64(r.records) / secs
	}
	if pr.Rate > 0 {
		pr.ETA = time.Duration(float64(left) / pr.Rate * float64(time.Second))
	}
	r.cfg.Progress(pr)
}

// nextGeneration is one more than any generation with an index, so a
// leftover of a failed rebuild is never reused.
func nextGeneration(ctx context.Context, s Store, v *View) (int, error) {
	indices, err := s.Indices(ctx, v.Name+"-v")
	if err != nil {
		return 0, err
	}
	gen := 0
	for _, idx := range indices {
		if g, ok := v.Generation(idx); ok && g > gen {
			gen = g
		}
	}
	return gen + 1, nil
}

// offsets lists each partition's start and end offset.
func offsets(ctx context.Context, adm *kadm.Client, topic string) (starts, ends map[int32]int64, err error) {
	so, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	eo, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := errors.Join(so.Error(), eo.Error()); err != nil {
		return nil, nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	starts, ends = map[int32]int64{}, map[int32]int64{}
	so.Each(func(o kadm.ListedOffset) { starts[o.Partition] = o.Offset })
	eo.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	if len(ends) == 0 {
		return nil, nil, fmt.Errorf("topic %s: no partitions (missing?)", topic)
	}
	return starts, ends, nil
}
