package bleve_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
)

var testMapping = views.Mapping{Properties: map[string]views.Field{
	"customer": {Type: views.Text, WithKeyword: true},
	"seq":      {Type: views.Long},
}}

func mustBulk(t *testing.T, s views.Store, ops ...views.Op) []views.ItemResult {
	t.Helper()
	res, err := s.Bulk(context.Background(), ops)
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	return res
}

func TestReopenKeepsDocumentsTombstonesAndAliases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := bleve.Open(bleve.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"inv-1", "inv-2", "gone"} {
		if err := s.CreateIndex(ctx, name, testMapping); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateAliases(ctx, []views.AliasAction{
		{Kind: views.AddAlias, Index: "inv-1", Alias: "inv"},
		{Kind: views.AddAlias, Index: "inv-2", Alias: "inv", IsWriteIndex: true},
		{Kind: views.RemoveIndex, Index: "gone"},
	}); err != nil {
		t.Fatal(err)
	}
	mustBulk(t, s,
		views.Op{Index: "inv", ID: "a", Version: 3, Doc: json.RawMessage(`{"customer":"Ann","seq":1}`)},
		views.Op{Index: "inv", ID: "b", Version: 1, Doc: json.RawMessage(`{"seq":2}`)},
		views.Op{Index: "inv", ID: "b", Version: 4, Delete: true},
		views.Op{Index: "inv", ID: "never", Version: 9, Delete: true},
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "inv", "a"); err == nil {
		t.Error("Get on a closed store succeeded")
	}

	s = openStore(t, dir)
	indices, w, err := s.Alias(ctx, "inv")
	if err != nil || !cmp.Equal(indices, []string{"inv-1", "inv-2"}) || w != "inv-2" {
		t.Errorf("Alias after reopen = %v, %q, %v", indices, w, err)
	}
	if got, _ := s.Indices(ctx, ""); !cmp.Equal(got, []string{"inv-1", "inv-2"}) {
		t.Errorf("Indices after reopen = %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "indices", "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed index's directory is still there: %v", err)
	}
	d, err := s.Get(ctx, "inv-2", "a")
	if err != nil || d.Version != 3 || string(d.Source) != `{"customer":"Ann","seq":1}` {
		t.Errorf("Get after reopen = %+v, %v", d, err)
	}
	res := mustBulk(t, s,
		views.Op{Index: "inv", ID: "a", Version: 3, Doc: json.RawMessage(`{"seq":9}`)},
		views.Op{Index: "inv", ID: "b", Version: 4, Doc: json.RawMessage(`{"seq":9}`)},
		views.Op{Index: "inv", ID: "never", Version: 8, Doc: json.RawMessage(`{"seq":9}`)},
		views.Op{Index: "inv", ID: "b", Version: 5, Doc: json.RawMessage(`{"seq":5}`)},
	)
	for i, wantOutcome := range []views.Outcome{views.Stale, views.Stale, views.Stale, views.Applied} {
		if res[i].Outcome != wantOutcome {
			t.Errorf("op %d after reopen: %v (%s), want %v", i, res[i].Outcome, res[i].Reason, wantOutcome)
		}
	}
	sr, err := s.Search(ctx, "inv", views.SearchRequest{Query: "ann"})
	if err != nil || sr.Total != 1 {
		t.Errorf("Search after reopen = %+v, %v", sr, err)
	}
}

func TestOpenRemovesStrayIndexDirectories(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.CreateIndex(context.Background(), "kept", testMapping); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "indices", "half-created")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stray directory kept: %v", err)
	}
	if got, _ := s.Indices(context.Background(), ""); !cmp.Equal(got, []string{"kept"}) {
		t.Errorf("Indices = %v", got)
	}
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir)
	if s, err := bleve.Open(bleve.Config{Dir: dir}); err == nil {
		s.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func TestGetThroughAnAliasOfSeveralIndicesReadsEach(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	for _, name := range []string{"h-2026.10", "h-2026.11"} {
		if err := s.CreateIndex(ctx, name, testMapping); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: name, Alias: "h"}}); err != nil {
			t.Fatal(err)
		}
	}
	mustBulk(t, s,
		views.Op{Index: "h-2026.10", ID: "a", Version: 1, Doc: json.RawMessage(`{"seq":1}`)},
		views.Op{Index: "h-2026.11", ID: "b", Version: 1, Doc: json.RawMessage(`{"seq":2}`)},
	)
	for id, index := range map[string]string{"a": "h-2026.10", "b": "h-2026.11"} {
		if d, err := s.Get(ctx, "h", id); err != nil || d.Index != index {
			t.Errorf("Get(h, %s) = %+v, %v; want it from %s", id, d, err, index)
		}
	}
}

func TestInvalidNamesAreRefused(t *testing.T) {
	s := openStore(t, "")
	for _, name := range []string{"", "Upper", "a/b", "..", "_x", "-x", "a b", "a:b", "a*"} {
		if err := s.CreateIndex(context.Background(), name, testMapping); err == nil {
			t.Errorf("CreateIndex(%q) succeeded", name)
		}
	}
	bad := views.Mapping{Properties: map[string]views.Field{"_source": {Type: views.Keyword}}}
	if err := s.CreateIndex(context.Background(), "meta", bad); err == nil {
		t.Error("a mapping with a metadata field name was accepted")
	}
}
