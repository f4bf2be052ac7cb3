package state

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/util"
)

// cachedBytes is the size of the blocks st's LevelDB holds in its cache.
func cachedBytes(t *testing.T, st *store) int {
	t.Helper()
	v, err := st.db.GetProperty("leveldb.cachedblock")
	must(t, err)
	n, err := strconv.Atoi(v)
	must(t, err)
	return n
}

// TestSharedBlockCacheStaysWithinItsBound: stores given one BlockCache
// hold at most its capacity in cached blocks together, where stores with
// a cache each would hold up to BlockCacheCapacity apiece.
func TestSharedBlockCacheStaysWithinItsBound(t *testing.T) {
	const (
		stores   = 4
		keys     = 2000
		capacity = 256 << 10
	)
	value := make([]byte, 1000)
	fill := func(cfg Config) []*store {
		t.Helper()
		var sts []*store
		for p := range stores {
			st := openStore(t, cfg, "t", int32(p)).(*store)
			t.Cleanup(func() { _ = st.Close() })
			rng := rand.New(rand.NewPCG(uint64(p), 1))
			for i := range keys {
				for j := range value {
					value[j] = byte(rng.Uint32()) // incompressible
				}
				must(t, st.Set(fmt.Sprintf("k%05d", i), value))
			}
			must(t, st.flush())
			// Move the writes out of the memtable into tables, whose
			// blocks the reads below cache.
			must(t, st.db.CompactRange(util.Range{}))
			for i := range keys {
				if _, err := st.Get(fmt.Sprintf("k%05d", i)); err != nil {
					t.Fatal(err)
				}
			}
			sts = append(sts, st)
		}
		return sts
	}
	total := func(sts []*store) (n int) {
		for _, st := range sts {
			n += cachedBytes(t, st)
		}
		return n
	}

	own := fill(Config{Dir: t.TempDir(), BlockCacheCapacity: capacity})
	if n := total(own); n <= capacity {
		t.Fatalf("stores with a cache each hold %d bytes of blocks, want more than %d (else this test shows nothing)", n, capacity)
	}
	t.Logf("4 stores with a %d-byte cache each: %d bytes cached", capacity, total(own))
	shared := fill(Config{Dir: t.TempDir(), BlockCache: NewBlockCache(capacity)})
	t.Logf("4 stores sharing a %d-byte cache: %d bytes cached", capacity, total(shared))
	if n := total(shared); n > capacity {
		t.Errorf("stores sharing a %d-byte cache hold %d bytes of blocks", capacity, n)
	}
	for i, st := range shared {
		if n := cachedBytes(t, st); n == 0 && i == len(shared)-1 {
			t.Errorf("the last store read caches nothing")
		}
	}
}

// TestCompactionTablesFollowTheWriteBuffer: a store with a small memtable
// compacts into tables of half its size (each compaction preallocates a
// buffer of the table size, which the store pools), not goleveldb's 2 MiB.
func TestCompactionTablesFollowTheWriteBuffer(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, Config{Dir: dir, WriteBuffer: 256 << 10}, "t", 0).(*store)
	defer func() { _ = st.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 1000)
	// Keys in random order, so that the level-0 tables overlap and are
	// rewritten by compaction rather than moved down.
	for i, k := range rng.Perm(4000) {
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		must(t, st.Set(fmt.Sprintf("k%05d", k), value))
		if i%500 == 0 {
			must(t, st.flush())
		}
	}
	must(t, st.flush())
	must(t, st.db.CompactRange(util.Range{}))
	// The live tables, one per line: "<number>:<size>[<first key> .. <last key>]".
	p, err := st.db.GetProperty("leveldb.sstables")
	must(t, err)
	var sizes []int
	for _, line := range strings.Split(p, "\n") {
		if num, rest, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && num != "" && !strings.HasPrefix(line, "---") {
			size, _, _ := strings.Cut(rest, "[")
			n, err := strconv.Atoi(size)
			must(t, err)
			sizes = append(sizes, n)
		}
	}
	if len(sizes) < 20 {
		t.Fatalf("%d tables for 4 MB, want them split at about 128 KiB:\n%s", len(sizes), p)
	}
	for _, n := range sizes {
		if n > 128<<10+16<<10 {
			t.Errorf("a table of %d bytes, want about 128 KiB at most:\n%s", n, p)
		}
	}
}
