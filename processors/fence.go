package processors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// fenceTimeout bounds a partition takeover: the fence write and the read
// back to it.
const fenceTimeout = 30 * time.Second

// FencedTable builds the stores of a table (a processor's group table, or
// a view of one) that keep the largest owner epoch seen in their partition,
// and is the goka update callback that drops the snapshots of deposed
// owners when the table is restored or followed (DESIGN.md guarantee 7,
// codecs.Epochs). Pass Build to goka.WithStorageBuilder (or
// WithViewStorageBuilder) and Update to goka.WithUpdateCallback (or
// WithViewCallback).
type FencedTable struct {
	build   storage.Builder
	logger  *slog.Logger
	onStale func(table string, partition int32)
	// takeOver, for a processor, takes its own partitions over.
	takeOver func(*fencedStore) error
	stores   sync.Map // tablePartition -> *fencedStore
}

type tablePartition struct {
	topic     string
	partition int32
}

// NewFencedTable wraps build. onStale, when not nil, is called for every
// dropped snapshot; logger (default: discard) logs each.
func NewFencedTable(build storage.Builder, logger *slog.Logger, onStale func(table string, partition int32)) *FencedTable {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &FencedTable{build: build, logger: logger, onStale: onStale}
}

// Build opens the store of a table partition.
func (f *FencedTable) Build(topic string, partition int32) (storage.Storage, error) {
	st, err := f.build(topic, partition)
	if err != nil {
		return nil, err
	}
	fs := &fencedStore{Storage: st, topic: topic, partition: partition, logger: f.logger, onStale: f.onStale, takeOver: f.takeOver}
	fs.next.Store(-1)
	f.stores.Store(tablePartition{topic, partition}, fs)
	return fs, nil
}

// Update applies one record read from the table: fences raise the
// partition's epoch and are stored under their keys; a snapshot of a lower
// epoch is dropped, counted and logged; everything else is stored as goka
// would.
func (f *FencedTable) Update(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
	v, ok := f.stores.Load(tablePartition{string(ctx.Topic()), ctx.Partition()})
	if !ok {
		return fmt.Errorf("update %s/%d: no fenced store open", ctx.Topic(), ctx.Partition())
	}
	var epoch uint64
	if !codecs.IsFence(key) {
		epoch = codecs.ParseEpoch(ctx.Headers()[codecs.HeaderEpoch])
	}
	return v.(*fencedStore).apply(key, value, epoch, ctx.Offset())
}

// fencedStore is a table partition's store that knows its epochs. takeOver,
// set for a processor's own partitions, writes the owner's fence when goka
// has restored the partition and before it processes anything.
type fencedStore struct {
	storage.Storage
	topic     string
	partition int32
	logger    *slog.Logger
	onStale   func(table string, partition int32)
	takeOver  func(*fencedStore) error

	loadOnce sync.Once
	loadErr  error
	max      atomic.Uint64

	// next is the offset this owner's next write must land at once it
	// took the partition (its fence's offset + 1, then each write's + 1);
	// -1 while it does not own the partition. goka records the offset of
	// each acknowledged write with SetOffset, in order.
	next atomic.Int64
}

// errDeposed fails a processor whose own writes were interleaved with
// another owner's: it was deposed (paused past its session timeout) and
// its store holds decisions the table does not.
var errDeposed = errors.New("deposed: another owner wrote to the partition between this owner's writes")

// SetOffset records the offset of the store's last record. While this
// replica owns the partition, the offsets are those of its own writes, and
// they follow each other: a gap is another owner's write (a newer owner's
// fence or snapshots, or an older one's late write), so this store may
// hold state that every reader drops. The write fails, which fails the
// processor and marks its stores dirty: they are restored from the table
// at the next start, as every reader reads it (DESIGN.md guarantee 7).
func (s *fencedStore) SetOffset(offset int64) error {
	if next := s.next.Load(); next >= 0 && offset != next {
		s.next.Store(-1)
		s.logger.Error("this replica was deposed while it wrote; its stores will be restored", "table", s.topic,
			"partition", s.partition, "expected_offset", next, "offset", offset)
		return fmt.Errorf("%s/%d: write at offset %d, want %d: %w", s.topic, s.partition, offset, next, errDeposed)
	} else if next >= 0 {
		s.next.Store(offset + 1)
	}
	return s.Storage.SetOffset(offset)
}

// MarkRecovered takes the partition over (when this replica owns it) before
// goka's own MarkRecovered.
func (s *fencedStore) MarkRecovered() error {
	if s.takeOver != nil {
		if err := s.takeOver(s); err != nil {
			return fmt.Errorf("take over %s/%d: %w", s.topic, s.partition, err)
		}
	}
	return s.Storage.MarkRecovered()
}

// epoch returns the largest epoch the store has seen, reading its fences on
// first use (after a clean restart they are not read from Kafka again).
func (s *fencedStore) epoch() (uint64, error) {
	s.loadOnce.Do(func() {
		it, err := s.IteratorWithRange([]byte(codecs.FencePrefix), []byte(fenceLimit))
		if err != nil {
			s.loadErr = fmt.Errorf("read fences of %s/%d: %w", s.topic, s.partition, err)
			return
		}
		defer it.Release()
		for it.Next() {
			v, err := it.Value()
			if err != nil {
				s.loadErr = fmt.Errorf("read fences of %s/%d: %w", s.topic, s.partition, err)
				return
			}
			if f, err := codecs.DecodeFence(v); err == nil && f.Epoch > s.max.Load() {
				s.max.Store(f.Epoch)
			}
		}
	})
	return s.max.Load(), s.loadErr
}

// fenceLimit is the first key after every fence key.
const fenceLimit = "~fence0" // '0' follows '/'

// apply stores one record of the table partition, read in offset order.
func (s *fencedStore) apply(key string, value []byte, epoch uint64, offset int64) error {
	max, err := s.epoch()
	if err != nil {
		return err
	}
	if codecs.IsFence(key) {
		f, err := codecs.DecodeFence(value)
		if err != nil {
			s.logger.Warn("malformed fence ignored", "table", s.topic, "partition", s.partition, "offset", offset, "error", err)
			return nil
		}
		if f.Epoch > max {
			s.max.Store(f.Epoch)
		}
		return s.Set(key, value)
	}
	switch {
	case epoch != 0 && epoch < max:
		s.logger.Warn("stale snapshot of a deposed owner dropped", "table", s.topic, "partition", s.partition,
			"offset", offset, "aggregate_id", key, "epoch", epoch, "current_epoch", max)
		if s.onStale != nil {
			s.onStale(s.topic, s.partition)
		}
		return nil
	case epoch > max:
		s.max.Store(epoch)
	}
	if value == nil {
		return s.Delete(key)
	}
	return s.Set(key, value)
}

// owners tracks which partitions this processor owns in the current
// generation (goka's rebalance callback), and the epoch of each it took.
type owners struct {
	mu     sync.Mutex
	active map[int32]bool
	epochs map[int32][]byte // HeaderEpoch value per owned partition
}

func (o *owners) assigned(a goka.Assignment) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.active = make(map[int32]bool, len(a))
	for p := range a {
		o.active[p] = true
	}
	o.epochs = make(map[int32][]byte, len(a))
}

func (o *owners) owns(p int32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.active[p]
}

func (o *owners) took(p int32, epoch uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.epochs == nil {
		o.epochs = make(map[int32][]byte)
	}
	o.epochs[p] = codecs.FormatEpoch(epoch)
}

// epoch returns the HeaderEpoch value of partition p, nil if not taken.
func (o *owners) epoch(p int32) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.epochs[p]
}

// takeOver makes this replica the owner of s's partition: it writes a fence
// with an epoch above every earlier owner's, reads the partition up to the
// fence (a deposed owner's writes that landed after goka's restore are
// history now, and every reader will apply them too), and from then on
// stamps its snapshots with that epoch. A partition goka holds only as a
// hot standby is not taken.
func (p *Processor) takeOver(s *fencedStore) error {
	if !p.owners.owns(s.partition) {
		return nil
	}
	cl := p.fencer.Load()
	if cl == nil {
		return errors.New("no Kafka client to write the fence with (the processor is not running)")
	}
	ctx, cancel := context.WithTimeout(p.runCtx(), fenceTimeout)
	defer cancel()
	start := time.Now()

	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	end, ok := ends.Lookup(s.topic, s.partition)
	if !ok {
		return fmt.Errorf("no end offset for partition %d", s.partition)
	}
	partitions := int32(len(ends[s.topic]))
	if _, err := s.epoch(); err != nil {
		return err
	}
	epoch := max(uint64(end.Offset)+1, s.max.Load()+1)
	fence := codecs.Fence{Partition: s.partition, Epoch: epoch, Owner: p.cfg.Sarama.ClientID}
	rec := &kgo.Record{
		Topic:     s.topic,
		Partition: s.partition,
		Key:       []byte(codecs.FenceKey(s.partition, epoch, partitions, kafka.PartitionOf)),
		Value:     codecs.EncodeFence(fence),
		Headers:   []kgo.RecordHeader{{Key: codecs.HeaderEpoch, Value: codecs.FormatEpoch(epoch)}},
	}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("write fence: %w", err)
	}
	stored, err := s.GetOffset(-1)
	if err != nil {
		return fmt.Errorf("read stored offset: %w", err)
	}
	read := 0
	if stored+1 == rec.Offset {
		// Nothing landed between what the store holds and the fence (a
		// clean restart, no other writer): apply the fence as written
		// instead of reading it back with a client of its own.
		if err := s.apply(string(rec.Key), rec.Value, epoch, rec.Offset); err != nil {
			return fmt.Errorf("apply own fence: %w", err)
		}
		if err := s.SetOffset(rec.Offset); err != nil {
			return fmt.Errorf("apply own fence: %w", err)
		}
	} else if read, err = p.readTo(ctx, s, stored+1, rec.Offset); err != nil {
		return err
	}
	s.next.Store(rec.Offset + 1)
	p.owners.took(s.partition, epoch)
	p.cfg.Logger.Info("took partition", "table", s.topic, "partition", s.partition, "epoch", epoch,
		"fence_offset", rec.Offset, "read_after_restore", read, "took", time.Since(start))
	return nil
}

// readTo applies the records of s's partition from offset from (the first
// offset the store lacks) through the fence at offset fence, returning how
// many it read before the fence.
func (p *Processor) readTo(ctx context.Context, s *fencedStore, from, fence int64) (int, error) {
	at := kgo.NewOffset().At(from)
	if from <= 0 {
		at = kgo.NewOffset().AtStart()
	}
	cl, err := p.cfg.Kafka.NewClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {s.partition: at}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, fmt.Errorf("read to the fence: %w", err)
	}
	defer cl.Close()
	read := 0
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return read, fmt.Errorf("read to the fence at %d: %w", fence, err)
		}
		for _, fe := range fetches.Errors() {
			return read, fmt.Errorf("read to the fence at %d: %w", fence, fe.Err)
		}
		var done bool
		var applyErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if done || applyErr != nil || r.Offset > fence {
				return
			}
			if applyErr = s.apply(string(r.Key), r.Value, kafka.RecordEpoch(r), r.Offset); applyErr != nil {
				return
			}
			if applyErr = s.SetOffset(r.Offset); applyErr != nil {
				return
			}
			if r.Offset == fence {
				done = true
				return
			}
			read++
		})
		if applyErr != nil {
			return read, fmt.Errorf("read to the fence at %d: %w", fence, applyErr)
		}
		if done {
			return read, nil
		}
	}
}

// runCtx returns Run's context (Background outside Run).
func (p *Processor) runCtx() context.Context {
	if c := p.running.Load(); c != nil {
		return *c
	}
	return context.Background()
}
