package state

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// onDisk returns the value LevelDB holds for key, nil if none.
func onDisk(t *testing.T, s *store, key string) []byte {
	t.Helper()
	v, err := s.db.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil
	}
	must(t, err)
	return v
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		<-tick.C
	}
}

func TestPendingWrites(t *testing.T) {
	newStore := func(t *testing.T, cfg Config) *store {
		cfg.Dir = t.TempDir()
		if cfg.FlushInterval == 0 {
			cfg.FlushInterval = time.Hour
		}
		st := openStore(t, cfg, "invoice-table", 0).(*store)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}

	t.Run("pending writes are visible to Get and Has before a flush", func(t *testing.T) {
		st := newStore(t, Config{})
		must(t, st.Set("inv-1", []byte("one")))
		must(t, st.SetOffset(3))
		if v := onDisk(t, st, "inv-1"); v != nil {
			t.Fatalf("inv-1 reached LevelDB before a flush: %q", v)
		}
		wantValue(t, st, "inv-1", "one")
		if off, _ := st.GetOffset(-1); off != 3 {
			t.Fatalf("GetOffset = %d, want 3", off)
		}
	})

	t.Run("a pending delete hides a stored key", func(t *testing.T) {
		st := newStore(t, Config{})
		must(t, st.Set("inv-1", []byte("one")))
		must(t, st.MarkRecovered())
		must(t, st.Delete("inv-1"))
		if v := onDisk(t, st, "inv-1"); string(v) != "one" {
			t.Fatalf("LevelDB holds %q, want one until the flush", v)
		}
		wantValue(t, st, "inv-1", "")
		must(t, st.MarkRecovered())
		if v := onDisk(t, st, "inv-1"); v != nil {
			t.Fatalf("LevelDB holds %q after the flush of a delete", v)
		}
	})

	t.Run("values and offset are flushed together", func(t *testing.T) {
		st := newStore(t, Config{})
		must(t, st.Set("inv-1", []byte("one")))
		must(t, st.SetOffset(1234))
		must(t, st.MarkRecovered())
		if v := onDisk(t, st, "inv-1"); string(v) != "one" {
			t.Fatalf("LevelDB holds inv-1=%q, want one", v)
		}
		if v := onDisk(t, st, offsetKey); string(v) != "1234" {
			t.Fatalf("LevelDB holds %s=%q, want the decimal 1234", offsetKey, v)
		}
	})

	t.Run("a flush starts once FlushBytes are pending", func(t *testing.T) {
		var flushed atomic.Int64
		st := newStore(t, Config{FlushBytes: 1000, Hooks: Hooks{
			OnFlush: func(_ string, _ int32, keys int, _ time.Duration) { flushed.Add(int64(keys)) },
		}})
		value := []byte(strings.Repeat("x", 300))
		for _, k := range []string{"a", "b", "c"} {
			must(t, st.Set(k, value))
		}
		if flushed.Load() != 0 {
			t.Fatal("flushed below FlushBytes")
		}
		must(t, st.Set("d", value))
		eventually(t, "the pending bytes are flushed", func() bool { return flushed.Load() == 4 })
		if v := onDisk(t, st, "d"); len(v) != 300 {
			t.Fatalf("LevelDB holds d=%q, want the value", v)
		}
	})

	t.Run("a writer far ahead of the flusher flushes itself", func(t *testing.T) {
		// Without Open no flusher runs, so only the writer can flush.
		b, err := NewBuilder(Config{Dir: t.TempDir(), FlushBytes: 100, FlushInterval: time.Hour})
		must(t, err)
		built, err := b.Build("invoice-table", 0)
		must(t, err)
		st := built.(*store)
		t.Cleanup(func() { _ = st.Close() })
		value := []byte(strings.Repeat("x", 60))
		for _, k := range []string{"a", "b", "c"} {
			must(t, st.Set(k, value))
		}
		if v := onDisk(t, st, "a"); v != nil {
			t.Fatal("flushed below twice FlushBytes")
		}
		must(t, st.Set("d", value))
		if v := onDisk(t, st, "d"); len(v) != 60 {
			t.Fatalf("LevelDB holds d=%q after the writer passed twice FlushBytes", v)
		}
	})

	t.Run("the timer flushes pending writes", func(t *testing.T) {
		st := newStore(t, Config{FlushInterval: 5 * time.Millisecond})
		must(t, st.Set("inv-1", []byte("one")))
		eventually(t, "the timer flushes inv-1", func() bool {
			v, err := st.db.Get([]byte("inv-1"), nil)
			return err == nil && string(v) == "one"
		})
	})

	t.Run("Iterator sees pending writes", func(t *testing.T) {
		st := newStore(t, Config{})
		must(t, st.Set("inv-1", []byte("one")))
		must(t, st.MarkRecovered())
		must(t, st.Set("inv-2", []byte("two")))
		must(t, st.Delete("inv-1"))
		it, err := st.Iterator()
		must(t, err)
		defer it.Release()
		var keys []string
		for it.Next() {
			keys = append(keys, string(it.Key()))
		}
		if strings.Join(keys, ",") != "inv-2" {
			t.Fatalf("iterated keys %v, want [inv-2]", keys)
		}
	})

	t.Run("a closed store refuses every call", func(t *testing.T) {
		st := newStore(t, Config{})
		must(t, st.Close())
		must(t, st.Close())
		_, getErr := st.Get("k")
		_, hasErr := st.Has("k")
		_, itErr := st.Iterator()
		for name, err := range map[string]error{
			"Set":       st.Set("k", nil),
			"Delete":    st.Delete("k"),
			"SetOffset": st.SetOffset(1),
			"Open":      st.Open(),
			"Get":       getErr,
			"Has":       hasErr,
			"Iterator":  itErr,
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
	})
}

func wantValue(t *testing.T, st *store, key, want string) {
	t.Helper()
	v, err := st.Get(key)
	must(t, err)
	has, err := st.Has(key)
	must(t, err)
	if want == "" {
		if v != nil || has {
			t.Fatalf("Get(%q) = %q, Has = %v; want it absent", key, v, has)
		}
		return
	}
	if string(v) != want || !has {
		t.Fatalf("Get(%q) = %q, Has = %v; want %q", key, v, has, want)
	}
}

// TestReopenDropsOnlyEmptyJournals: a clean close leaves an empty journal,
// which the next open removes (LevelDB would allocate a whole memtable to
// replay it); a journal holding writes, and any other file, stay.
func TestReopenDropsOnlyEmptyJournals(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"000003.log": "", "000004.log": "records", "000005.ldb": "", "MANIFEST-000002": "", "x.log": "", "LOG": "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stor, err := lstorage.OpenFile(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	err = dropEmptyJournals(stor)
	if cerr := stor.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := errors.Is(err, os.ErrNotExist); gone != (name == "000003.log") {
			t.Errorf("%s: removed %v, want %v", name, gone, name == "000003.log")
		}
	}

	// Through the store: what a clean close wrote is read back after the
	// journal it left was dropped, and again after the next clean close.
	cfg := Config{Dir: t.TempDir()}
	st := openStore(t, cfg, "t", 0)
	for i := range 100 {
		if err := st.Set(fmt.Sprintf("k%03d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetOffset(99); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		st := openStore(t, cfg, "t", 0)
		for i := range 100 {
			v, err := st.Get(fmt.Sprintf("k%03d", i))
			if err != nil || len(v) != 1 || v[0] != byte(i) {
				t.Fatalf("round %d: k%03d = %v, %v", round, i, v, err)
			}
		}
		if off, err := st.GetOffset(-1); err != nil || off != 99 {
			t.Fatalf("round %d: offset %d, %v; want 99", round, off, err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseLeavesNoJournal: a clean close writes the memtable to a table,
// so the next open has no journal to replay (LevelDB would replay it into
// a memtable of its own and write that to a table before the store
// serves). Every journal left is empty, the data is read back, and the
// next close leaves none either.
func TestCloseLeavesNoJournal(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	for round := range 3 {
		st := openStore(t, cfg, "t", 0)
		for i := range 1000 {
			if err := st.Set(fmt.Sprintf("k%04d", i), []byte(fmt.Sprintf("v%d-%d", round, i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetOffset(int64(round)); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		journals, err := filepath.Glob(filepath.Join(cfg.Dir, "t.0", "*.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range journals {
			fi, err := os.Stat(j)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != 0 {
				t.Errorf("round %d: journal %s holds %d bytes after a clean close", round, filepath.Base(j), fi.Size())
			}
		}
		st = openStore(t, cfg, "t", 0)
		for _, i := range []int{0, 999} {
			want := fmt.Sprintf("v%d-%d", round, i)
			if v, err := st.Get(fmt.Sprintf("k%04d", i)); err != nil || string(v) != want {
				t.Fatalf("round %d: k%04d = %q, %v; want %q", round, i, v, err, want)
			}
		}
		if off, err := st.GetOffset(-1); err != nil || off != int64(round) {
			t.Fatalf("round %d: offset %d, %v; want %d", round, off, err, round)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseWhenTheMemtableFlushFails: when the disk fails under a store
// (here its LevelDB storage is closed, so no file can be created) the
// clean close's memtable flush fails, and goleveldb keeps its write lock.
// Close still returns, with the error, within abandonWait, leaves the
// store dirty, and the next open wipes it and serves.
func TestCloseWhenTheMemtableFlushFails(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	st := openStore(t, cfg, "t", 0)
	for i := range 100 {
		if err := st.Set(fmt.Sprintf("k%03d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.(*store).flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.(*store).stor.Close(); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err == nil {
			t.Fatal("Close succeeded although the memtable could not be written")
		}
	case <-time.After(abandonWait + 10*time.Second):
		t.Fatal("Close hangs after a failed memtable flush")
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "t.0", markerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("clean marker after a failed close: %v", err)
	}
	var wiped []string
	cfg.Hooks.OnWipe = func(_ string, _ int32, reason string) { wiped = append(wiped, reason) }
	st = openStore(t, cfg, "t", 0)
	defer st.Close()
	if len(wiped) != 1 || wiped[0] != WipeDirty {
		t.Errorf("wipes at the next open: %q, want [%s]", wiped, WipeDirty)
	}
	if err := st.Set("k", []byte("v")); err != nil {
		t.Errorf("write after the wipe: %v", err)
	}
}

// TestCloseLeavesNoCompactionOwed: every open and close of a store that
// was written to leaves one more level-0 table (the close flushes the
// memtable), as a processor's restart or rebalance does with its fence and
// offset. Once there are as many as LevelDB's trigger it owes a
// compaction, which goleveldb would abandon at close and start over at the
// next open, competing with the restore. A clean Close after the owner
// stopped (Builder.StopsWith) waits for it, so such a store never owes
// one. Closes for a rebalance (before the owner stops), closes with
// CompactionWait negative or too short to finish, do not: the fourth
// leaves four level-0 tables; the store is clean all the same.
func TestCloseLeavesNoCompactionOwed(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	for _, c := range []struct {
		name     string
		wait     time.Duration
		stopping bool
		owes     bool
	}{
		{"stopping", 0, true, false},
		{"rebalance", 0, false, true},
		{"stopping, CompactionWait<0", -1, true, true},
		{"stopping, CompactionWait too short", time.Nanosecond, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), CompactionWait: c.wait}
			owedAfter := -1
			for round := range 6 {
				b, err := NewBuilder(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if c.stopping {
					b.StopsWith(stopped)
				}
				st := openBuilt(t, b, "t", 0)
				if round == 0 {
					// 2.4 MB that snappy cannot shrink much: a compaction
					// rewriting it takes tens of milliseconds, long after
					// goleveldb's Close would have abandoned it.
					rng := rand.New(rand.NewPCG(1, 2))
					for i := range 20000 {
						v := make([]byte, 120)
						for j := range v {
							v[j] = byte(rng.Uint32())
						}
						if err := st.Set(fmt.Sprintf("k%05d", i), v); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := st.Set(fmt.Sprintf("~fence/%d", round), []byte("f")); err != nil {
					t.Fatal(err)
				}
				if err := st.SetOffset(int64(round)); err != nil {
					t.Fatal(err)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				levels, owed := closedLevels(t, filepath.Join(cfg.Dir, "t.0"), b.opts)
				if owed && owedAfter < 0 {
					owedAfter = round
				}
				if owed && !c.owes {
					t.Fatalf("round %d: the closed store owes a compaction: tables per level %v", round, levels)
				}
			}
			if c.owes && owedAfter != 3 {
				t.Fatalf("the first close leaving a compaction owed was round %d, want 3 (the fourth level-0 table)", owedAfter)
			}
			st := openStore(t, cfg, "t", 0)
			defer st.Close()
			for _, k := range []string{"k00000", "k19999", "~fence/5"} {
				if v, err := st.Get(k); err != nil || v == nil {
					t.Fatalf("%s = %q, %v after the rounds (the store was wiped?)", k, v, err)
				}
			}
		})
	}
}

// closedLevels opens the closed store at path read-only and returns its
// tables per level and whether it owes a compaction under opts.
func closedLevels(t *testing.T, path string, opts *opt.Options) ([]int, bool) {
	t.Helper()
	o := *opts
	o.ReadOnly = true
	db, err := leveldb.OpenFile(path, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var st leveldb.DBStats
	if err := db.Stats(&st); err != nil {
		t.Fatal(err)
	}
	return st.LevelTablesCounts, owesCompaction(&st, opts)
}
