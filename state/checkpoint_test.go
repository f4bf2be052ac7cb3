package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lovoo/goka/storage"
)

// fixture builds stores in one data dir and records the wipes.
type fixture struct {
	t         *testing.T
	dir       string
	changelog func(topic string, partition int32) (Changelog, error)

	mu    sync.Mutex
	wipes []string
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, dir: t.TempDir()}
}

func (f *fixture) builder() *Builder {
	f.t.Helper()
	b, err := NewBuilder(Config{
		Dir:           f.dir,
		FlushInterval: time.Hour, // flushes only when the test asks
		AckWait:       100 * time.Millisecond,
		Changelog:     f.changelog,
		Hooks: Hooks{OnWipe: func(topic string, partition int32, reason string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.wipes = append(f.wipes, reason)
		}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) open(b *Builder) *store {
	f.t.Helper()
	st, err := b.Build("invoice-table", 3)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = st.Close() })
	return st.(*store)
}

// fill writes two keys at offset 5 and flushes them to LevelDB.
func (f *fixture) fill(st storage.Storage) {
	f.t.Helper()
	for _, err := range []error{
		st.Set("inv-1", []byte("one")),
		st.Set("inv-2", []byte("two")),
		st.SetOffset(5),
		st.MarkRecovered(),
	} {
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) takeWipes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.wipes
	f.wipes = nil
	return w
}

// checkKept checks that st holds what fill wrote (kept) or nothing.
func checkKept(t *testing.T, st storage.Storage, kept bool) {
	t.Helper()
	v, err := st.Get("inv-1")
	if err != nil {
		t.Fatal(err)
	}
	off, err := st.GetOffset(-1)
	if err != nil {
		t.Fatal(err)
	}
	if kept && (string(v) != "one" || off != 5) {
		t.Fatalf("store kept inv-1=%q offset %d, want one and 5", v, off)
	}
	if !kept && (v != nil || off != -1) {
		t.Fatalf("store holds inv-1=%q offset %d, want it wiped", v, off)
	}
}

func mustClose(t *testing.T, st storage.Storage) {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpoint(t *testing.T) {
	changelogID := func(id string, end int64) func(string, int32) (Changelog, error) {
		return func(string, int32) (Changelog, error) { return Changelog{ID: id, End: end}, nil }
	}
	tests := []struct {
		name string
		// before fills a store and leaves it the way the case needs; the
		// store is then reopened with a new Builder.
		before    func(t *testing.T, f *fixture)
		changelog func(string, int32) (Changelog, error) // for the reopen
		wantKept  bool
		wantWipes []string
	}{
		{
			name: "a cleanly closed store keeps its data",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
			},
			wantKept: true,
		},
		{
			name: "a store closed while a write to its changelog is unacknowledged is wiped",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				done := b.Begin("invoice-table")
				mustClose(t, st)
				done(nil) // acknowledged too late
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "a write acknowledged while the store closes leaves it clean",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				done := b.Begin("invoice-table")
				go done(nil)
				mustClose(t, st)
			},
			wantKept: true,
		},
		{
			name: "an unacknowledged write to another topic leaves the store clean",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				_ = b.Begin("invoice-results")
				mustClose(t, st)
			},
			wantKept: true,
		},
		{
			name: "a failed write to the changelog leaves the store dirty",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				b.Begin("invoice-table")(errors.New("injected"))
				mustClose(t, st)
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "pending writes reach the disk at a clean close",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				must(t, st.Set("inv-1", []byte("one")))
				must(t, st.SetOffset(5))
				mustClose(t, st)
			},
			wantKept: true,
		},
		{
			name: "a store dropped without Close is wiped as dirty",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				must(t, st.crash())
			},
			wantWipes: []string{WipeDirty},
		},
		{
			// LevelDB runs without fsyncs between clean closes: after a
			// power loss its files may be torn. Such a store is wiped
			// without LevelDB reading it.
			name: "a dirty store that LevelDB cannot read is wiped as dirty",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				must(t, st.crash())
				names, err := filepath.Glob(filepath.Join(st.dir, "MANIFEST-*"))
				must(t, err)
				for _, n := range append(names, filepath.Join(st.dir, "CURRENT")) {
					must(t, os.WriteFile(n, []byte("torn"), 0o644))
				}
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "a store copied while open is wiped as dirty",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				copyDir(t, st.dir, st.dir+".copy")
				must(t, st.crash())
				must(t, os.RemoveAll(st.dir))
				must(t, os.Rename(st.dir+".copy", st.dir))
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "a store closed after Taint is wiped",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				produceErr := errors.New("produce invoice-table: broker down")
				b.Taint(produceErr)
				b.Taint(errors.New("second"))
				if err := b.Tainted(); !errors.Is(err, produceErr) {
					t.Fatalf("Tainted() = %v, want the first taint", err)
				}
				mustClose(t, st)
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "MarkDirty after a clean close wipes the store",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				mustClose(t, st)
				must(t, b.MarkDirty())
				if err := b.Tainted(); !errors.Is(err, ErrTainted) {
					t.Fatalf("Tainted() after MarkDirty = %v, want ErrTainted", err)
				}
			},
			wantWipes: []string{WipeDirty},
		},
		{
			name: "closing and reopening three times, as rebalances do, keeps the data",
			before: func(t *testing.T, f *fixture) {
				b := f.builder()
				st := f.open(b)
				f.fill(st)
				for range 3 {
					mustClose(t, st)
					st = f.open(b)
					checkKept(t, st, true)
				}
				mustClose(t, st)
			},
			wantKept: true,
		},
		{
			name: "a store of a recreated changelog is wiped",
			before: func(t *testing.T, f *fixture) {
				f.changelog = changelogID("topic-id-1", 100)
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
			},
			changelog: changelogID("topic-id-2", 100),
			wantWipes: []string{WipeChangelogRecreated},
		},
		{
			name: "a store with the same changelog and an offset below its end is kept",
			before: func(t *testing.T, f *fixture) {
				f.changelog = changelogID("topic-id-1", 6)
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
			},
			changelog: changelogID("topic-id-1", 6),
			wantKept:  true,
		},
		{
			name: "a store at the end of its changelog is wiped",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
			},
			changelog: changelogID("topic-id-1", 5),
			wantWipes: []string{WipeAheadOfChangelog},
		},
		{
			name: "a store ahead of an emptied changelog is wiped",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
			},
			changelog: changelogID("topic-id-1", 0),
			wantWipes: []string{WipeAheadOfChangelog},
		},
		{
			name: "a corrupt store is wiped even with its clean marker",
			before: func(t *testing.T, f *fixture) {
				st := f.open(f.builder())
				f.fill(st)
				mustClose(t, st)
				must(t, os.WriteFile(filepath.Join(st.dir, levelDBCurrent), []byte("garbage"), 0o644))
			},
			wantWipes: []string{WipeCorrupt},
		},
		{
			name: "a dirty store of a recreated changelog is wiped once",
			before: func(t *testing.T, f *fixture) {
				f.changelog = changelogID("topic-id-1", 100)
				st := f.open(f.builder())
				f.fill(st)
				must(t, st.crash())
			},
			changelog: changelogID("topic-id-2", 100),
			wantWipes: []string{WipeDirty},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.before(t, f)
			f.takeWipes()
			f.changelog = tc.changelog
			st := f.open(f.builder())
			checkKept(t, st, tc.wantKept)
			if diff := cmp.Diff(tc.wantWipes, f.takeWipes()); diff != "" {
				t.Errorf("wipes (-want +got):\n%s", diff)
			}
			if ok, _ := exists(filepath.Join(st.dir, markerFile)); ok {
				t.Error("the clean marker exists while the store is open")
			}
			if tc.changelog != nil {
				cl, _ := tc.changelog("", 0)
				if got, _ := readStamp(st.dir); got != cl.ID {
					t.Errorf("changelog stamp = %q, want %q", got, cl.ID)
				}
			}
			mustClose(t, st)
			if ok, _ := exists(filepath.Join(st.dir, markerFile)); !ok {
				t.Error("no clean marker after a clean close")
			}
		})
	}
}

func TestBuildFailsWhenTheChangelogIsUnknown(t *testing.T) {
	f := newFixture(t)
	st := f.open(f.builder())
	f.fill(st)
	mustClose(t, st)

	unreachable := errors.New("metadata: broker unreachable")
	f.changelog = func(string, int32) (Changelog, error) { return Changelog{}, unreachable }
	if _, err := f.builder().Build("invoice-table", 3); !errors.Is(err, unreachable) {
		t.Fatalf("Build = %v, want it to wrap %v", err, unreachable)
	}
	if ok, _ := exists(filepath.Join(st.dir, markerFile)); !ok {
		t.Fatal("a failed Build removed the clean marker")
	}

	f.changelog = nil
	st = f.open(f.builder())
	checkKept(t, st, true)
	if w := f.takeWipes(); len(w) != 0 {
		t.Fatalf("wipes = %v, want none", w)
	}
}

func TestBuildRefusesAStoreOpenElsewhere(t *testing.T) {
	f := newFixture(t)
	st := f.open(f.builder())
	f.fill(st)
	if _, err := f.builder().Build("invoice-table", 3); err == nil {
		t.Fatal("a second Build of an open store succeeded")
	}
	checkKept(t, st, true)
	if w := f.takeWipes(); len(w) != 0 {
		t.Fatalf("wipes = %v, want none", w)
	}
}

func TestBuildRejectsInvalidNames(t *testing.T) {
	b := newFixture(t).builder()
	for _, tc := range []struct {
		topic     string
		partition int32
	}{{"", 0}, {"..", 0}, {"a/b", 0}, {`a\b`, 0}, {"ok", -1}} {
		if _, err := b.Build(tc.topic, tc.partition); err == nil {
			t.Errorf("Build(%q, %d) succeeded", tc.topic, tc.partition)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the regular files of src into a new dir dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o755))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, d.Name()), b, 0o644)
	})
	must(t, err)
}
