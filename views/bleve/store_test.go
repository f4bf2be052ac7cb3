package bleve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
	"github.com/b2dc4357/sourced/views/viewstest"
)

// openStore opens a store in a fresh directory, closed at the end of the test.
func openStore(t testing.TB, dir string) *bleve.Store {
	t.Helper()
	return openStoreWith(t, bleve.Config{Dir: dir})
}

// openStoreWith opens a store with cfg and closes it when the test ends.
func openStoreWith(t testing.TB, cfg bleve.Config) *bleve.Store {
	t.Helper()
	dir := cfg.Dir
	s, err := bleve.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	viewstest.Run(t, func(t *testing.T) views.Store { return openStore(t, t.TempDir()) })
}

// TestContractRefreshInterval runs the store contract with writes
// buffered between refreshes: Get and the version checks see them at once,
// Search after Refresh, as Elasticsearch's.
func TestContractRefreshInterval(t *testing.T) {
	viewstest.Run(t, func(t *testing.T) views.Store {
		return openStoreWith(t, bleve.Config{Dir: t.TempDir(), RefreshInterval: time.Hour, MaxBufferedDocs: 50})
	})
}

func TestContractInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the on-disk store runs the suite under -short")
	}
	viewstest.Run(t, func(t *testing.T) views.Store { return openStore(t, "") })
}

// A reader waiting for a write (the gateway's min_version) is woken by the
// next Bulk that wrote, and not before.
func TestWrittenSignalsTheNextWrite(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	if err := s.CreateIndex(ctx, "w", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
		t.Fatal(err)
	}
	waiting := s.Written()
	select {
	case <-waiting:
		t.Fatal("Written's channel is closed before any write")
	default:
	}
	if _, err := s.Get(ctx, "w", "a"); err == nil {
		t.Fatal("a missing document was found")
	}
	res, err := s.Bulk(ctx, []views.Op{{Index: "w", ID: "a", Version: 1, Doc: json.RawMessage(`{"n":1}`)}})
	if err != nil || res[0].Outcome != views.Applied {
		t.Fatalf("Bulk: %v %+v", err, res)
	}
	select {
	case <-waiting:
	default:
		t.Fatal("Written's channel is still open after a write")
	}
	if doc, err := s.Get(ctx, "w", "a"); err != nil || doc.Version != 1 {
		t.Fatalf("after the signal, Get = %+v, %v; want version 1", doc, err)
	}
	select {
	case <-s.Written():
		t.Fatal("a new wait is woken by a write that came before it")
	default:
	}
}

// Writes buffered between refreshes are applied by Close: a store reopened
// after a clean Close holds them, and Sync returns once a refresh applied
// what was written before it.
func TestBufferedWritesSurviveCloseAndSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := bleve.Open(bleve.Config{Dir: dir, RefreshInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIndex(ctx, "docs", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
		t.Fatal(err)
	}
	write := func(id string, v uint64) {
		t.Helper()
		res, err := s.Bulk(ctx, []views.Op{{Index: "docs", ID: id, Version: v, Doc: json.RawMessage(fmt.Sprintf(`{"n":%d}`, v))}})
		if err != nil || res[0].Outcome != views.Applied {
			t.Fatalf("bulk %s v%d: %v %+v", id, v, err, res)
		}
	}
	write("a", 1)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Sync(sctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	write("a", 2)
	write("b", 1)
	if d, err := s.Get(ctx, "docs", "a"); err != nil || d.Version != 2 || string(d.Source) != `{"n":2}` {
		t.Fatalf("Get of a buffered write: %+v, %v", d, err)
	}
	if res, err := s.Search(ctx, "docs", views.SearchRequest{}); err != nil || res.Total != 2 {
		t.Fatalf("Search right after the writes: %+v, %v; want both documents", res, err)
	}
	write("b", 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStoreWith(t, bleve.Config{Dir: dir})
	for id, want := range map[string]uint64{"a": 2, "b": 2} {
		if d, err := s.Get(ctx, "docs", id); err != nil || d.Version != want {
			t.Fatalf("%s after Close and Open: %+v, %v; want version %d", id, d, err, want)
		}
	}
}

// While refreshes apply the buffer every millisecond, a reader by id never
// sees a document go back or vanish, and every write is checked against
// the newest version (none applied twice, none refused wrongly).
func TestBufferedReadsNeverGoBackDuringRefreshes(t *testing.T) {
	ctx := context.Background()
	s := openStoreWith(t, bleve.Config{Dir: t.TempDir(), RefreshInterval: time.Millisecond, MaxBufferedDocs: 7})
	if err := s.CreateIndex(ctx, "docs", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
		t.Fatal(err)
	}
	const ids, versions = 5, 300
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		last := make([]uint64, ids)
		for {
			select {
			case <-done:
				return
			default:
			}
			for i := range ids {
				d, err := s.Get(ctx, "docs", fmt.Sprint(i))
				switch {
				case err != nil && last[i] > 0:
					readErr <- fmt.Errorf("id %d: %v after version %d", i, err, last[i])
					return
				case err == nil && d.Version < last[i]:
					readErr <- fmt.Errorf("id %d went back from version %d to %d", i, last[i], d.Version)
					return
				case err == nil:
					last[i] = d.Version
				}
			}
		}
	}()
	for v := uint64(1); v <= versions; v++ {
		ops := make([]views.Op, 0, 2*ids)
		for i := range ids {
			doc := json.RawMessage(fmt.Sprintf(`{"n":%d}`, v))
			ops = append(ops, views.Op{Index: "docs", ID: fmt.Sprint(i), Version: v, Doc: doc},
				views.Op{Index: "docs", ID: fmt.Sprint(i), Version: v, Doc: doc}) // a replay: stale
		}
		res, err := s.Bulk(ctx, ops)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			want := views.Applied
			if j%2 == 1 {
				want = views.Stale
			}
			if r.Outcome != want {
				t.Fatalf("version %d op %d: %v (%s), want %v", v, j, r.Outcome, r.Reason, want)
			}
		}
	}
	close(done)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if res, err := s.Search(ctx, "docs", views.SearchRequest{}); err != nil || res.Total != ids {
		t.Fatalf("Search: %+v, %v; want %d documents", res, err, ids)
	}
}

// A refresh that cannot write its segment (the index directory replaced by
// a file) fails for good: the index refuses later writes and Sync reports
// the failure, so a projector never commits offsets past the lost writes.
func TestFailedRefreshIsReportedBySyncAndBulk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := bleve.Open(bleve.Config{Dir: dir, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateIndex(ctx, "docs", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
		t.Fatal(err)
	}
	op := func(v uint64) []views.Op {
		return []views.Op{{Index: "docs", ID: "a", Version: v, Doc: json.RawMessage(fmt.Sprintf(`{"n":%d}`, v))}}
	}
	if _, err := s.Bulk(ctx, op(1)); err != nil {
		t.Fatal(err)
	}
	ixDir := filepath.Join(dir, "indices", "docs")
	if err := os.Rename(ixDir, ixDir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ixDir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = s.Refresh(ctx, "docs")
	if err == nil {
		t.Fatal("Refresh succeeded with the index directory replaced by a file")
	}
	t.Logf("refresh: %v", err)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Sync(sctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync after a failed refresh: %v; want the refresh's error", err)
	}
	if _, err := s.Bulk(ctx, op(2)); err == nil {
		t.Fatal("Bulk accepted a write into an index whose refresh failed")
	}
}
