package bleve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
)

// TestVersionChecksAgreeWithAModel writes random versions and deletes of a
// few ids, with refreshes, reopenings and a version cache small enough to
// drop its generations often, and checks every outcome against a model of
// what the index holds: a write applies only above the held version, a
// replay of one already applied is stale whether it is buffered, being
// refreshed, remembered or only in the index. Each store mode is run: a
// batch per Bulk, and writes buffered between refreshes.
func TestVersionChecksAgreeWithAModel(t *testing.T) {
	modes := []struct {
		name string
		cfg  Config
	}{
		{"batch per bulk", Config{}},
		{"buffered", Config{RefreshInterval: time.Hour, MaxBufferedDocs: 7}},
		{"buffered, refresher running", Config{RefreshInterval: 5 * time.Millisecond, MaxBufferedDocs: 1000}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(7, uint64(len(mode.name))))
			open := func() *Store {
				cfg := mode.cfg
				cfg.Dir = dir
				s, err := Open(cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, ix := range s.indices {
					ix.versions = newVersionCache(3) // generations turn over every few ids
				}
				return s
			}
			s := open()
			defer func() { s.Close() }()
			if err := s.CreateIndex(ctx, "v", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
				t.Fatal(err)
			}
			s.indices["v"].versions = newVersionCache(3)
			type state struct {
				version uint64
				deleted bool
			}
			model := map[string]state{}
			for step := range 1500 {
				switch r := rng.IntN(100); {
				case r < 4:
					if err := s.Refresh(ctx, "v"); err != nil {
						t.Fatal(err)
					}
					continue
				case r < 5:
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = open()
					continue
				}
				ops := make([]views.Op, 1+rng.IntN(5))
				for i := range ops {
					id := fmt.Sprintf("id-%d", rng.IntN(12))
					held := model[id].version
					v := max(1, int64(held)+int64(rng.IntN(5))-2) // below, at or above what is held
					ops[i] = views.Op{Index: "v", ID: id, Version: uint64(v), Delete: rng.IntN(8) == 0,
						Doc: []byte(fmt.Sprintf(`{"n":%d}`, v))}
				}
				res, err := s.Bulk(ctx, ops)
				if err != nil {
					t.Fatal(err)
				}
				for i, op := range ops {
					m, ok := model[op.ID]
					// Elasticsearch's statuses: 201 creates, 200 replaces
					// or deletes a live document, 404 deletes none, 409.
					want, status := views.Stale, 409
					if !ok || op.Version > m.version {
						want = views.Applied
						live := ok && !m.deleted
						switch {
						case op.Delete && live:
							status = 200
						case op.Delete:
							status = 404
						case live:
							status = 200
						default:
							status = 201
						}
						model[op.ID] = state{op.Version, op.Delete}
					}
					if res[i].Outcome != want || res[i].Status != status {
						t.Fatalf("step %d, %s v%d (delete %t): %v %d, want %v %d (model: held v%d, deleted %t, known %t)",
							step, op.ID, op.Version, op.Delete, res[i].Outcome, res[i].Status, want, status, m.version, m.deleted, ok)
					}
				}
			}
			// Every id reads back as the model holds it.
			if err := s.Refresh(ctx, "v"); err != nil {
				t.Fatal(err)
			}
			for id, m := range model {
				d, err := s.Get(ctx, "v", id)
				switch {
				case m.deleted && err == nil:
					t.Errorf("%s: deleted at v%d, read v%d", id, m.version, d.Version)
				case !m.deleted && (err != nil || d.Version != m.version):
					t.Errorf("%s: want v%d, read v%d (%v)", id, m.version, d.Version, err)
				}
			}
		})
	}
}
