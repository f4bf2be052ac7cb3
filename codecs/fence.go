package codecs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Fencing of deposed owners (DESIGN.md guarantee 7).
//
// A processor replica that lost its partitions while paused (GC, SIGSTOP,
// a network stall) can still deliver snapshot writes after the new owner
// wrote newer ones. Every owner therefore takes a partition with an epoch:
// the table partition's end offset when its restore finished, plus one, so
// a later owner's epoch is always larger (its restore read the earlier
// owner's fence). Before it decides a command it writes a fence record to
// the table partition, carrying the epoch, and it stamps every snapshot it
// writes with its epoch in the HeaderEpoch header. A reader of the table
// (restore, the publisher, views, the gateway, tools) reads a partition in
// order and drops a snapshot whose epoch is below the largest fence or
// snapshot epoch it has seen in that partition: that write came from an
// owner deposed before it landed. Records without an epoch (written before
// fencing existed) are never dropped.
//
// Fence keys are unique per epoch, so compaction never removes a fence a
// stale write behind it depends on; there is one per partition takeover.

// HeaderEpoch is the record header holding the epoch (decimal) of the owner
// that wrote a snapshot or a fence.
const HeaderEpoch = "sourced-epoch"

// FencePrefix starts every fence key. It is not a valid aggregate id
// (ValidateID), so no command can address a fence.
const FencePrefix = "~fence/"

// Fence is the value of a fence record.
type Fence struct {
	// Partition is the table partition the fence was written to.
	Partition int32 `json:"partition"`
	// Epoch is the epoch of the owner that took the partition.
	Epoch uint64 `json:"epoch"`
	// Owner names the replica that wrote it (its client id), for operators.
	Owner string `json:"owner,omitempty"`
}

// IsFence reports whether key is a fence record's key.
func IsFence(key string) bool { return strings.HasPrefix(key, FencePrefix) }

// FenceKey returns the key of the fence of epoch on partition: the first of
// "~fence/<partition>/<epoch>/<n>" (n = 0, 1, ...) that partitionOf places on
// partition, so that the fence and whatever a reader stores under its key
// stay in that partition. partitions must be positive.
func FenceKey(partition int32, epoch uint64, partitions int32, partitionOf func(key string, partitions int32) int32) string {
	base := FencePrefix + strconv.FormatInt(int64(partition), 10) + "/" + strconv.FormatUint(epoch, 10) + "/"
	for n := 0; ; n++ {
		key := base + strconv.Itoa(n)
		if partitionOf(key, partitions) == partition {
			return key
		}
	}
}

// EncodeFence encodes f as JSON.
func EncodeFence(f Fence) []byte {
	b, _ := json.Marshal(f) // a struct of ints and a string always encodes
	return b
}

// DecodeFence decodes a fence record's value.
func DecodeFence(b []byte) (Fence, error) {
	var f Fence
	if err := json.Unmarshal(b, &f); err != nil {
		return Fence{}, fmt.Errorf("decode fence: %w", err)
	}
	if f.Epoch == 0 {
		return Fence{}, fmt.Errorf("decode fence: no epoch in %q", b)
	}
	return f, nil
}

// ParseEpoch returns the epoch in a HeaderEpoch header value, 0 when it is
// absent or not a number (a record written before fencing existed).
func ParseEpoch(v []byte) uint64 {
	if len(v) == 0 {
		return 0
	}
	e, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0
	}
	return e
}

// FormatEpoch returns the HeaderEpoch value of epoch.
func FormatEpoch(epoch uint64) []byte { return strconv.AppendUint(nil, epoch, 10) }

// Epochs tracks, per partition, the largest epoch a reader has seen, and
// tells stale snapshots from current ones. A reader must feed it every
// record of a partition in offset order, from the partition's start or from
// a point whose epoch it restored with Restore. It is safe for concurrent
// use by one goroutine per partition.
type Epochs struct {
	mu  sync.Mutex
	max map[int32]uint64
}

// Fence records a fence of epoch on partition.
func (e *Epochs) Fence(partition int32, epoch uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.max == nil {
		e.max = make(map[int32]uint64)
	}
	if epoch > e.max[partition] {
		e.max[partition] = epoch
	}
}

// Restore sets partition's epoch to at least epoch (read back from a store).
func (e *Epochs) Restore(partition int32, epoch uint64) { e.Fence(partition, epoch) }

// Reset sets partition's epoch to exactly epoch: a reader that goes back
// to an earlier point of the partition restores the epoch it had there (0
// for the partition's start).
func (e *Epochs) Reset(partition int32, epoch uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.max == nil {
		e.max = make(map[int32]uint64)
	}
	e.max[partition] = epoch
}

// Max returns the largest epoch seen on partition.
func (e *Epochs) Max(partition int32) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.max[partition]
}

// Observe is Stale, also returning the partition's epoch after the
// snapshot (one lock instead of two for a reader that tracks it).
func (e *Epochs) Observe(partition int32, epoch uint64) (stale bool, current uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.max == nil {
		e.max = make(map[int32]uint64)
	}
	m := e.max[partition]
	switch {
	case epoch == 0:
	case epoch < m:
		return true, m
	case epoch > m:
		e.max[partition] = epoch
		m = epoch
	}
	return false, m
}

// Stale reports whether a snapshot of epoch, next in partition, was
// written by a deposed owner. A snapshot that is not stale raises the
// partition's epoch to its own. epoch 0 (no header) is never stale.
func (e *Epochs) Stale(partition int32, epoch uint64) bool {
	if epoch == 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.max == nil {
		e.max = make(map[int32]uint64)
	}
	switch m := e.max[partition]; {
	case epoch < m:
		return true
	case epoch > m:
		e.max[partition] = epoch
	}
	return false
}
