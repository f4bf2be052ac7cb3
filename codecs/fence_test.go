package codecs_test

import (
	"hash/fnv"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
)

func fnvPartition(key string, n int32) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int32(h.Sum32() % uint32(n))
}

func TestFenceKeyLandsOnItsPartitionAndIsNoAggregateID(t *testing.T) {
	for p := int32(0); p < 12; p++ {
		key := codecs.FenceKey(p, 42, 12, fnvPartition)
		if got := fnvPartition(key, 12); got != p {
			t.Fatalf("fence key %q of partition %d hashes to %d", key, p, got)
		}
		if !codecs.IsFence(key) {
			t.Fatalf("IsFence(%q) = false", key)
		}
		if codecs.ValidateID(key) == nil {
			t.Fatalf("fence key %q is a valid aggregate id: a command could address it", key)
		}
	}
	if codecs.FenceKey(0, 1, 4, fnvPartition) == codecs.FenceKey(0, 2, 4, fnvPartition) {
		t.Fatal("two epochs share a fence key: compaction would drop the older fence")
	}
}

func TestFenceRoundTrip(t *testing.T) {
	f := codecs.Fence{Partition: 3, Epoch: 1234, Owner: "replica-1"}
	got, err := codecs.DecodeFence(codecs.EncodeFence(f))
	if err != nil || got != f {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := codecs.DecodeFence([]byte(`{"partition":1}`)); err == nil {
		t.Fatal("a fence without an epoch decoded")
	}
	if e := codecs.ParseEpoch(codecs.FormatEpoch(987)); e != 987 {
		t.Fatalf("ParseEpoch(FormatEpoch(987)) = %d", e)
	}
	if codecs.ParseEpoch(nil) != 0 || codecs.ParseEpoch([]byte("x")) != 0 {
		t.Fatal("a missing or unreadable epoch is not 0")
	}
}

// The reader's rule: per partition, in offset order, a snapshot below the
// largest epoch seen is a deposed owner's; records without an epoch (from
// before fencing) always count.
func TestEpochsDropOnlyDeposedOwnersSnapshots(t *testing.T) {
	var e codecs.Epochs
	steps := []struct {
		fence     bool
		partition int32
		epoch     uint64
		stale     bool
	}{
		{partition: 0, epoch: 1},               // first owner
		{partition: 0, epoch: 0},               // legacy record
		{fence: true, partition: 0, epoch: 10}, // a new owner took over
		{partition: 0, epoch: 1, stale: true},  // the old owner's late write
		{partition: 0, epoch: 0},               // legacy: never dropped
		{partition: 0, epoch: 10},              // the new owner
		{partition: 1, epoch: 1},               // partitions are independent
		{partition: 0, epoch: 12},              // a reader that began after a fence it never saw
		{partition: 0, epoch: 10, stale: true}, // learns from the snapshots too
	}
	for i, s := range steps {
		if s.fence {
			e.Fence(s.partition, s.epoch)
			continue
		}
		if got := e.Stale(s.partition, s.epoch); got != s.stale {
			t.Fatalf("step %d (%+v): stale = %v", i, s, got)
		}
	}
	if e.Max(0) != 12 || e.Max(1) != 1 {
		t.Fatalf("max epochs %d, %d; want 12, 1", e.Max(0), e.Max(1))
	}
}
