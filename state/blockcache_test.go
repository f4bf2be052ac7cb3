package state

import (
	"fmt"
	"math/rand/v2"
	"strconv"
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
