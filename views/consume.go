package views

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// item is one consumed record, projected and encoded, on its way to the
// batch.
type item struct {
	src    *kgo.Record // a dead letter makes its Record (recordOf)
	action Action
	op     Op
	month  string
	err    error  // projection failure: dead-letter the record
	epoch  uint64 // the partition's owner epoch after this record
	// skip is set for records that need no projection (fences, stale
	// snapshots of deposed owners).
	skip bool
}

// projectChunk is how many items a projection goroutine takes at a time.
const projectChunk = 256

// projection is one poll's items, projected in chunks by GOMAXPROCS
// goroutines while the batch loop takes the finished chunks in order.
type projection struct {
	items []item
	done  []chan struct{} // per chunk; nil when projected inline
}

// ready waits until items[i] is projected.
func (pj *projection) ready(i int) {
	if pj.done != nil && i%projectChunk == 0 {
		<-pj.done[i/projectChunk]
	}
}

// wait waits until every item is projected.
func (pj *projection) wait() {
	for _, d := range pj.done {
		<-d
	}
}

// project turns one poll's records into items, in partition and offset
// order. The epoch rule (fences, deposed owners) is applied in order on
// this goroutine; decoding, projecting and encoding, which depend on the
// record alone, run in parallel, chunk by chunk (ready waits for one).
func (p *Projector) project(fetches kgo.Fetches) *projection {
	n := fetches.NumRecords()
	if cap(p.items) < n {
		p.items = make([]item, n)
	}
	items := p.items[:n]
	pj := &projection{items: items}
	chunks := (n + projectChunk - 1) / projectChunk
	parallel := chunks > 1 && runtime.GOMAXPROCS(0) > 1
	var work chan int
	if parallel {
		pj.done = make([]chan struct{}, chunks)
		for i := range pj.done {
			pj.done[i] = make(chan struct{})
		}
		work = make(chan int, chunks)
		for range min(runtime.GOMAXPROCS(0), chunks) {
			go func() {
				for c := range work {
					p.projectItems(items[c*projectChunk : min((c+1)*projectChunk, n)])
					close(pj.done[c])
				}
			}()
		}
	}
	// The epoch rule runs here, in order; each chunk goes to the
	// projection goroutines as soon as it is through.
	i := 0
	fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if len(ftp.Records) == 0 {
			return
		}
		p.marks.markRead(ftp.Partition, ftp.Records[len(ftp.Records)-1].Offset+1)
		for _, r := range ftp.Records {
			it := &items[i]
			*it = item{src: r}
			if p.view.Source == FromState {
				it.skip, it.epoch = p.checkEpoch(r, kafka.RecordEpoch(r))
			}
			i++
			if parallel && (i%projectChunk == 0 || i == n) {
				work <- (i - 1) / projectChunk
			}
		}
	})
	if parallel {
		close(work)
	} else {
		p.projectItems(items)
	}
	return pj
}

// checkEpoch applies the epoch rule to the next record of its partition:
// a fence (skipped) raises the partition's epoch, a snapshot of a deposed
// owner is skipped and counted. It returns whether to skip the record and
// the partition's epoch after it.
func (p *Projector) checkEpoch(r *kgo.Record, e uint64) (skip bool, epoch uint64) {
	skip, deposed, current := p.view.checkEpoch(&p.epochs, r.Partition, r.Key, e)
	if deposed {
		p.stats.Deposed.Add(1)
		p.cfg.Logger.Warn("stale snapshot of a deposed owner skipped", "view", p.view.Name, "key", string(r.Key),
			"partition", r.Partition, "offset", r.Offset, "current_epoch", current)
	}
	return skip, current
}

// arenaSize is the size of the buffers documents are encoded into (one
// allocation for many documents).
const arenaSize = 64 << 10

// arenaPerItem bounds the room the first arena of a chunk leaves per item:
// a poll of a few records (the usual case at low latency) gets a buffer its
// size instead of a whole arenaSize, which allocated 64 KiB per poll (in
// `sourced dev` at 1,000 commands/s, the largest allocator of the process).
// Within the bounds, the room follows the size of the documents the
// projector encoded lately (Projector.docBytes), with a quarter to spare:
// the store keeps each document, and so its arena, until it is written.
const (
	minArenaPerItem = 256
	maxArenaPerItem = 2 << 10
)

// arenaPerItem is the room to leave per document in a new arena.
func (p *Projector) arenaPerItem() int {
	mean := int(p.docBytes.Load())
	if mean == 0 {
		return maxArenaPerItem // nothing projected yet
	}
	return min(max(mean*5/4, minArenaPerItem), maxArenaPerItem)
}

// projectItems decodes, projects and encodes items.
func (p *Projector) projectItems(items []item) {
	var arena []byte
	perItem := p.arenaPerItem()
	// One snapshot is decoded into for every item: the projection's
	// document is encoded before the next item is decoded, and a
	// projection may not keep the snapshot (View.State). A snapshot per
	// record, or a chunk of them per poll, was a third of the bytes the
	// projector allocated.
	var snap codecs.Snapshot
	var docs, size int
	for i := range items {
		it := &items[i]
		if it.skip {
			continue
		}
		proj, err := p.view.projectInto(it.src.Value, &snap)
		if err == nil && proj.Action != Skip {
			if cap(arena)-len(arena) < perItem {
				arena = make([]byte, 0, min(arenaSize, (len(items)-i)*perItem))
			}
			it.op, arena, err = encodeOp(proj, arena)
			docs, size = docs+1, size+len(it.op.Doc)
		}
		it.action, it.month, it.err = proj.Action, proj.Month, err
	}
	if docs > 0 {
		p.docBytes.Store(int64(size / docs))
	}
}

// mark is a position in a partition: the next offset to read, and the
// owner epoch of the records before it.
type mark struct {
	offset int64
	epoch  uint64
}

// batchOffsets are the positions a batch reaches, per partition, and
// where it started.
type batchOffsets struct {
	next map[int32]mark
	// first is where the batch starts: its first offset and the owner
	// epoch before it.
	first   map[int32]mark
	records int
}

// offsetsAcc accumulates the current batch's positions, in slices indexed
// by partition (a few map operations per record showed in profiles).
type offsetsAcc struct {
	next    []mark // the batch's next offset per partition; 0: not in the batch
	first   []mark
	epoch   []uint64 // the owner epoch after the last record added
	parts   []int32  // the partitions in the batch
	records int
}

func newOffsets() *offsetsAcc { return &offsetsAcc{} }

func (a *offsetsAcc) grow(partition int32) {
	for int(partition) >= len(a.next) {
		a.next = append(a.next, mark{})
		a.first = append(a.first, mark{})
		a.epoch = append(a.epoch, 0)
	}
}

// add notes the record at offset of partition, after which the
// partition's owner epoch is epoch.
func (a *offsetsAcc) add(partition int32, offset int64, epoch uint64) {
	if int(partition) >= len(a.next) {
		a.grow(partition)
	}
	if a.next[partition].offset == 0 {
		a.first[partition] = mark{offset: offset, epoch: a.epoch[partition]}
		a.parts = append(a.parts, partition)
	}
	a.next[partition] = mark{offset: offset + 1, epoch: epoch}
	a.epoch[partition] = epoch
	a.records++
}

// epochOf returns partition's owner epoch after the last record added.
func (a *offsetsAcc) epochOf(partition int32) uint64 {
	if int(partition) >= len(a.epoch) {
		return 0
	}
	return a.epoch[partition]
}

// setEpoch sets partition's owner epoch (a rewind).
func (a *offsetsAcc) setEpoch(partition int32, epoch uint64) {
	a.grow(partition)
	a.epoch[partition] = epoch
}

// take returns the batch's positions and starts the next batch's.
func (a *offsetsAcc) take() batchOffsets {
	o := batchOffsets{next: make(map[int32]mark, len(a.parts)), first: make(map[int32]mark, len(a.parts)), records: a.records}
	for _, p := range a.parts {
		o.next[p], o.first[p] = a.next[p], a.first[p]
		a.next[p] = mark{}
	}
	a.parts, a.records = a.parts[:0], 0
	return o
}

// marks are the projector's positions per partition: stored (the batch
// holding every record before it is stored: what may be committed),
// committed (acknowledged by the group), and read (the next offset
// projected). Safe for concurrent use.
type marks struct {
	mu                sync.Mutex
	stored, committed map[int32]mark
	read              map[int32]int64
}

// store records a stored batch's positions.
func (m *marks) store(o batchOffsets) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stored == nil {
		m.stored = map[int32]mark{}
	}
	for p, mk := range o.next {
		m.stored[p] = mk
	}
}

// markRead records that the records of partition before next were read.
func (m *marks) markRead(partition int32, next int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.read == nil {
		m.read = map[int32]int64{}
	}
	m.read[partition] = max(m.read[partition], next)
}

// commitDone records positions the group acknowledged.
func (m *marks) commitDone(o batchOffsets) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.committed == nil {
		m.committed = map[int32]mark{}
	}
	for p, mk := range o.next {
		if mk.offset > m.committed[p].offset {
			m.committed[p] = mk
		}
	}
}

// offsets returns o's positions as offsets to commit on topic.
func (m *marks) offsets(topic string, o batchOffsets) map[string]map[int32]kgo.EpochOffset {
	parts := make(map[int32]kgo.EpochOffset, len(o.next))
	for p, mk := range o.next {
		parts[p] = kgo.EpochOffset{Epoch: -1, Offset: mk.offset}
	}
	return map[string]map[int32]kgo.EpochOffset{topic: parts}
}

// storedOffsets returns the stored positions not yet acknowledged by the
// group, as offsets to commit on topic, without forgetting them.
func (m *marks) storedOffsets(topic string) (map[string]map[int32]kgo.EpochOffset, batchOffsets) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := batchOffsets{next: make(map[int32]mark, len(m.stored))}
	for p, mk := range m.stored {
		if mk.offset > m.committed[p].offset {
			o.next[p] = mk
		}
	}
	if len(o.next) == 0 {
		return nil, o
	}
	return m.offsets(topic, o), o
}

// takeStored returns every stored position as offsets to commit on topic,
// and forgets them: after a revocation they may belong to another member.
func (m *marks) takeStored(topic string) (map[string]map[int32]kgo.EpochOffset, batchOffsets) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := batchOffsets{next: m.stored}
	m.stored = map[int32]mark{}
	if len(o.next) == 0 {
		return nil, o
	}
	return m.offsets(topic, o), o
}

// adjustEpochs runs when the group assigns partitions, with the offsets
// consumption starts from: a partition that restarts at this projector's
// own last commit gets the epoch it had there back; one that restarts
// before what this projector read (an offset it did not commit) forgets
// its epoch, since the fences it knows may lie after that point. Without
// this, a snapshot read again after a rebalance could be dropped as stale
// because of a fence that follows it.
func (p *Projector) adjustEpochs(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	p.marks.mu.Lock()
	defer p.marks.mu.Unlock()
	for part, o := range offsets[p.topic] {
		at := o.EpochOffset().Offset
		c, ok := p.marks.committed[part]
		switch {
		case ok && c.offset == at:
			p.epochs.Reset(part, c.epoch)
		case at >= 0 && at >= p.marks.read[part]:
			// Nothing at or after at was read here: the epoch is still a
			// lower bound of the epoch there.
		default:
			p.epochs.Reset(part, 0)
		}
	}
	return offsets, nil
}

// commitResponseErr returns the first partition error of a commit
// response.
func commitResponseErr(resp *kmsg.OffsetCommitResponse) error {
	if resp == nil {
		return nil
	}
	for _, t := range resp.Topics {
		for _, pt := range t.Partitions {
			if err := kerr.ErrorForCode(pt.ErrorCode); err != nil {
				return fmt.Errorf("commit %s[%d]: %w", t.Topic, pt.Partition, err)
			}
		}
	}
	return nil
}
