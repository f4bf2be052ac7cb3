package kfake

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// residentSealed reports how many sealed segments of topic's partition 0
// keep their index in memory, and how many sealed segments there are.
func residentSealed(c *Cluster, topic string) (resident, sealed int) {
	c.admin(func() {
		pd, ok := c.data.tps.getp(topic, 0)
		if !ok {
			return
		}
		for si := 0; si < len(pd.segments)-1; si++ {
			sealed++
			if pd.segments[si].index != nil && pd.segments[si].count > 0 {
				resident++
			}
		}
	})
	return resident, sealed
}

// checkIndexTotals reads every index of topic's partition 0 (back) and
// checks that the batches at or above the log start offset add up to the
// partition's byte count. (A restart from a snapshot keeps the batches of
// the first segment below the log start offset in the index, as
// upstream kfake does; they do not count.)
func checkIndexTotals(t *testing.T, c *Cluster, topic string) {
	t.Helper()
	var sum, nbytes, batches int64
	var count int
	c.admin(func() {
		pd, _ := c.data.tps.getp(topic, 0)
		for si := range pd.segments {
			idx := pd.segIndex(si)
			if len(idx) != pd.segments[si].count {
				t.Errorf("segment %d: index of %d batches, count %d", si, len(idx), pd.segments[si].count)
			}
			for _, m := range idx {
				if m.firstOffset+int64(m.lastOffsetDelta) >= pd.logStartOffset {
					sum += int64(m.nbytes)
					batches++
				}
			}
			count += pd.segments[si].count
		}
		nbytes = pd.nbytes
	})
	if sum != nbytes {
		t.Fatalf("index holds %d bytes in %d batches at or above the log start; the partition has %d bytes", sum, batches, nbytes)
	}
}

// consumeAll reads topic from its start to its end and returns the
// records' values by offset.
func consumeAll(t *testing.T, c *Cluster, topic string, want int) map[int64]string {
	t.Helper()
	cl := newPlainClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(4096))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(map[int64]string)
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), want, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got[r.Offset] = string(r.Value) })
	}
	return got
}

// TestEvictedIndexesReadBack produces a log of many small segments with
// ResidentSealedIndexes(1) and checks that everything a client reads
// through the index (fetches from any offset, ListOffsets by timestamp,
// DeleteRecords, a restart from the data directory) behaves as if every
// index had stayed in memory, while at most one sealed index does.
func TestEvictedIndexesReadBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const topic, n = "evict", 400
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)

	c := newCluster(t, DataDir(dir), NumBrokers(1), ResidentSealedIndexes(1))
	adm := kadm.NewClient(newPlainClient(t, c))
	ctx := context.Background()
	segBytes := "2048"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segBytes}, topic); err != nil {
		t.Fatal(err)
	}
	cl := newPlainClient(t, c)
	for i := range n {
		r := &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	resident, sealed := residentSealed(c, topic)
	if sealed < 10 || resident > 1 {
		t.Fatalf("after producing: %d sealed segments, %d of them with a resident index; want at least 10, at most 1", sealed, resident)
	}

	check := func(stage string, c *Cluster, from int) {
		t.Helper()
		got := consumeAll(t, c, topic, n-from)
		for i := from; i < n; i++ {
			if got[int64(i)] != fmt.Sprintf("v%d", i) {
				t.Fatalf("%s: offset %d has %q, want v%d", stage, i, got[int64(i)], i)
			}
		}
		adm := kadm.NewClient(newPlainClient(t, c))
		for _, i := range []int{from, from + 1, (from + n) / 2, n - 1} {
			lo, err := adm.ListOffsetsAfterMilli(ctx, base.Add(time.Duration(i)*time.Second).UnixMilli(), topic)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := lo.Lookup(topic, 0)
			if o.Err != nil || o.Offset != int64(i) {
				t.Fatalf("%s: offset for the timestamp of record %d: %d (%v), want %d", stage, i, o.Offset, o.Err, i)
			}
		}
		checkIndexTotals(t, c, topic)
		if resident, _ := residentSealed(c, topic); resident > 1 {
			t.Fatalf("%s: %d sealed indexes resident, want at most 1", stage, resident)
		}
	}
	check("first read", c, 0)

	const trimmed = 150
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {At: trimmed}}}); err != nil {
		t.Fatal(err)
	}
	check("after DeleteRecords", c, trimmed)
	// The first segment's index was trimmed, evicted and read back by
	// the checks; trimming it again must not count the batches the first
	// trim removed.
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {At: trimmed + 10}}}); err != nil {
		t.Fatal(err)
	}
	check("after a second DeleteRecords", c, trimmed+10)
	c.Close()

	c2 := newCluster(t, DataDir(dir), NumBrokers(1), ResidentSealedIndexes(1))
	if resident, _ := residentSealed(c2, topic); resident > 1 {
		t.Fatalf("after restart: %d sealed indexes resident, want at most 1", resident)
	}
	check("after restart", c2, trimmed+10)
}

// segmentReadsFS counts whole-file reads of segment (.dat) files: the
// reads that bring an evicted index back.
type segmentReadsFS struct {
	osFS
	reads atomic.Int64
	fail  atomic.Bool // while set, those reads fail
}

func (f *segmentReadsFS) ReadFile(name string) ([]byte, error) {
	if strings.HasSuffix(name, ".dat") {
		f.reads.Add(1)
		if f.fail.Load() {
			return nil, fmt.Errorf("read %s: staged failure", name)
		}
	}
	return f.osFS.ReadFile(name)
}

// evictFirst drops the index of the oldest segment of topic's partition
// 0, as evictIndexes does.
func evictFirst(c *Cluster, topic string) {
	c.admin(func() {
		pd, _ := c.data.tps.getp(topic, 0)
		seg := &pd.segments[0]
		seg.index = nil
		if seg.readFile != nil {
			seg.readFile.Close()
			seg.readFile = nil
		}
	})
}

// TestRetentionReadsIndexesWithoutKeepingThem expires the first records
// of a log whose oldest segments' indexes are evicted: retention reads
// the oldest segment's index back to trim it, once per pass, and must
// leave the index of the segment sealed last resident (consumers near
// the head read it) rather than the one it trimmed, while the trimmed log
// reads as before.
func TestRetentionReadsIndexesWithoutKeepingThem(t *testing.T) {
	t.Parallel()
	const topic, n, expired = "expire", 300, 10
	now := time.Now().Truncate(time.Millisecond)
	// The expired records are two hours old, the rest one hour or
	// younger, and the retention 90 minutes: no clock can blur the line.
	at := func(i int) time.Time {
		if i < expired {
			return now.Add(-2 * time.Hour).Add(time.Duration(i) * time.Second)
		}
		return now.Add(-time.Hour).Add(time.Duration(i) * time.Second)
	}

	fsys := &segmentReadsFS{}
	c := newCluster(t, DataDir(t.TempDir()), withFS(fsys), NumBrokers(1), ResidentSealedIndexes(1))
	adm := kadm.NewClient(newPlainClient(t, c))
	ctx := context.Background()
	segBytes := "2048"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segBytes}, topic); err != nil {
		t.Fatal(err)
	}
	cl := newPlainClient(t, c)
	for i := range n {
		r := &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i), Timestamp: at(i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	state := func() (lastResident, firstResident bool, resident int, logStart int64) {
		c.admin(func() {
			pd, _ := c.data.tps.getp(topic, 0)
			lastResident = pd.segments[len(pd.segments)-2].index != nil
			firstResident = pd.segments[0].index != nil
			logStart = pd.logStartOffset
		})
		resident, _ = residentSealed(c, topic)
		return
	}
	if last, first, resident, _ := state(); !last || first || resident != 1 {
		t.Fatalf("after producing: last sealed index resident %v, first %v, %d resident; want true, false, 1", last, first, resident)
	}

	retention := fmt.Sprint((90 * time.Minute).Milliseconds())
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &retention}}, topic); err != nil {
		t.Fatal(err)
	}
	for pass := 1; pass <= 2; pass++ {
		before := fsys.reads.Load()
		c.ApplyRetention()
		reads := fsys.reads.Load() - before
		last, first, resident, logStart := state()
		if logStart != expired {
			t.Fatalf("pass %d: log start offset %d, want %d", pass, logStart, expired)
		}
		if !last || first || resident != 1 {
			t.Fatalf("pass %d: last sealed index resident %v, trimmed first %v, %d resident; want true, false, 1", pass, last, first, resident)
		}
		// The first pass reads the oldest segment back once, for the
		// scan and the trim; the second finds nothing more expired in
		// the trimmed segment's bounds and reads nothing.
		if want := int64(2 - pass); reads != want {
			t.Fatalf("pass %d read %d segment files back, want %d", pass, reads, want)
		}
	}
	checkIndexTotals(t, c, topic)
	got := consumeAll(t, c, topic, n-expired)
	for i := expired; i < n; i++ {
		if got[int64(i)] != fmt.Sprintf("v%d", i) {
			t.Fatalf("offset %d has %q, want v%d", i, got[int64(i)], i)
		}
	}
	if _, ok := got[expired-1]; ok {
		t.Fatalf("an expired record was fetched")
	}
}

// TestListStartOffsetsReadsNoIndexBack lists the earliest offset of a
// log whose oldest segment's index is evicted, as lag monitors and
// consumers resetting to the start do all the time: the answer (offset
// and the leader epoch of the first record) comes from what the
// partition keeps per segment, without reading the segment back.
func TestListStartOffsetsReadsNoIndexBack(t *testing.T) {
	t.Parallel()
	const topic, n = "earliest", 200
	fsys := &segmentReadsFS{}
	c := newCluster(t, DataDir(t.TempDir()), withFS(fsys), NumBrokers(1), ResidentSealedIndexes(1))
	adm := kadm.NewClient(newPlainClient(t, c))
	ctx := context.Background()
	segBytes := "2048"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segBytes}, topic); err != nil {
		t.Fatal(err)
	}
	cl := newPlainClient(t, c)
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {At: 3}}}); err != nil {
		t.Fatal(err)
	}
	evictFirst(c, topic) // as after any read of a later segment
	var epoch int32
	c.admin(func() {
		pd, _ := c.data.tps.getp(topic, 0)
		epoch = pd.epoch
	})
	before := fsys.reads.Load()
	for range 5 {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := starts.Lookup(topic, 0)
		if o.Err != nil || o.Offset != 3 || o.LeaderEpoch != epoch {
			t.Fatalf("start offset %d, epoch %d (%v); want 3, epoch %d", o.Offset, o.LeaderEpoch, o.Err, epoch)
		}
	}
	if reads := fsys.reads.Load() - before; reads != 0 {
		t.Fatalf("listing the start offset read %d segment files back, want 0", reads)
	}
	if resident, _ := residentSealed(c, topic); resident > 1 {
		t.Fatalf("%d sealed indexes resident, want at most 1", resident)
	}
}

// TestRetentionRetriesATrimItCouldNotRead deletes records (DeleteRecords)
// past whole segments whose files cannot be read at that moment: the trim
// keeps what it cannot read instead of deleting it, the earliest offset
// is still answered, and once the files read again the next retention
// pass finishes the trim though no record expired.
func TestRetentionRetriesATrimItCouldNotRead(t *testing.T) {
	t.Parallel()
	const topic, n, deleted = "retry", 300, 100
	fsys := &segmentReadsFS{}
	c := newCluster(t, DataDir(t.TempDir()), withFS(fsys), NumBrokers(1), ResidentSealedIndexes(1))
	adm := kadm.NewClient(newPlainClient(t, c))
	ctx := context.Background()
	segBytes, retention := "2048", fmt.Sprint((24 * time.Hour).Milliseconds())
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segBytes, "retention.ms": &retention}, topic); err != nil {
		t.Fatal(err)
	}
	cl := newPlainClient(t, c)
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	segments := func() (count int, first int64, pending bool) {
		c.admin(func() {
			pd, _ := c.data.tps.getp(topic, 0)
			count, first, pending = len(pd.segments), pd.segments[0].base, pd.trimPending
		})
		return count, first, pending
	}
	before, _, _ := segments()
	if before < 6 {
		t.Fatalf("setup: %d segments", before)
	}
	evictFirst(c, topic)

	fsys.fail.Store(true)
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {At: deleted}}}); err != nil {
		t.Fatal(err)
	}
	if count, first, pending := segments(); count != before || first != 0 || !pending {
		t.Fatalf("with its files unreadable: %d segments from %d, trim pending %v; want all %d kept, pending", count, first, pending, before)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(topic, 0); o.Err != nil || o.Offset != deleted {
		t.Fatalf("start offset %d (%v), want %d", o.Offset, o.Err, deleted)
	}

	fsys.fail.Store(false)
	c.ApplyRetention()
	count, first, pending := segments()
	if count >= before || first > deleted || pending {
		t.Fatalf("after the files read again: %d segments from %d, trim pending %v; want fewer than %d, from at most %d, none pending", count, first, pending, before, deleted)
	}
	checkIndexTotals(t, c, topic)
	got := consumeAll(t, c, topic, n-deleted)
	for i := deleted; i < n; i++ {
		if got[int64(i)] != fmt.Sprintf("v%d", i) {
			t.Fatalf("offset %d has %q, want v%d", i, got[int64(i)], i)
		}
	}
}
