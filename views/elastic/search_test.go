package elastic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

func TestCreateIndexSetsTextDefaultFields(t *testing.T) {
	_, ts := server(t, estest.Options{})
	s := open(t, fastRetries(ts.URL))
	m := views.Mapping{Properties: map[string]views.Field{
		"title": {Type: views.Text},
		"code":  {Type: views.Keyword},
		"lines": {Type: views.Object, Properties: map[string]views.Field{"description": {Type: views.Text}}},
	}}
	if err := s.CreateIndex(context.Background(), "v", m); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(ts.URL + "/v/_settings")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var got map[string]struct {
		Settings struct {
			Index struct {
				Query struct {
					DefaultField any `json:"default_field"`
				} `json:"query"`
				Mapping any `json:"mapping"`
			} `json:"index"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	df := fmt.Sprint(got["v"].Settings.Index.Query.DefaultField)
	if df != "[lines.description title]" && df != "lines.description,title" {
		t.Errorf("index.query.default_field = %v (%s), want the text fields", df, body)
	}
}

func TestAdmin(t *testing.T) {
	s, _ := newStore(t, estest.Options{})
	ctx := context.Background()
	createIndex(t, s, "app-1")
	createIndex(t, s, "app-2")
	createIndex(t, s, "other")
	if err := s.CreateIndex(ctx, "app-1", testMapping); !errors.Is(err, views.ErrIndexExists) {
		t.Errorf("CreateIndex of an existing index: %v", err)
	}
	if err := s.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: "app-1", Alias: "app"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIndex(ctx, "app", testMapping); !errors.Is(err, views.ErrIndexExists) {
		t.Errorf("CreateIndex of an alias name: %v", err)
	}
	got, err := s.Indices(ctx, "app")
	if err != nil || !cmp.Equal(got, []string{"app-1", "app-2"}) {
		t.Errorf("Indices(app) = %v, %v", got, err)
	}
	if got, err := s.Indices(ctx, ""); err != nil || len(got) != 3 {
		t.Errorf("Indices() = %v, %v", got, err)
	}
	if got, err := s.Indices(ctx, "-x"); err != nil || len(got) != 0 {
		t.Errorf("Indices(-x) = %v, %v", got, err)
	}
	if ix, w, err := s.Alias(ctx, "app"); err != nil || !cmp.Equal(ix, []string{"app-1"}) || w != "app-1" {
		t.Errorf("Alias(app) = %v, %q, %v", ix, w, err)
	}
	if ix, w, err := s.Alias(ctx, "none"); err != nil || ix != nil || w != "" {
		t.Errorf("Alias(none) = %v, %q, %v", ix, w, err)
	}
	err = s.UpdateAliases(ctx, []views.AliasAction{
		{Kind: views.AddAlias, Index: "app-2", Alias: "app", IsWriteIndex: true},
		{Kind: views.AddAlias, Index: "missing", Alias: "app"},
	})
	if !errors.Is(err, views.ErrNotFound) {
		t.Errorf("UpdateAliases with a missing index: %v", err)
	}
	if ix, _, _ := s.Alias(ctx, "app"); len(ix) != 1 {
		t.Errorf("a failed update changed the alias: %v", ix)
	}
	if err := s.UpdateAliases(ctx, []views.AliasAction{
		{Kind: views.AddAlias, Index: "app-2", Alias: "app", IsWriteIndex: true},
		{Kind: views.RemoveIndex, Index: "other"},
	}); err != nil {
		t.Fatal(err)
	}
	if ix, w, err := s.Alias(ctx, "app"); err != nil || len(ix) != 2 || w != "app-2" {
		t.Errorf("Alias(app) = %v, %q, %v", ix, w, err)
	}
	if err := s.DeleteIndex(ctx, "other"); !errors.Is(err, views.ErrNotFound) {
		t.Errorf("DeleteIndex of a removed index: %v", err)
	}
	var e *elastic.Error
	if err := s.DeleteIndex(ctx, "app"); err == nil || !errors.As(err, &e) || e.Status != 400 {
		t.Errorf("DeleteIndex of an alias: %v", err)
	}
	if err := s.DeleteIndex(ctx, "app-*"); err == nil {
		t.Error("DeleteIndex with a wildcard: nil error")
	}
	if _, err := s.Get(ctx, "app-1", "nothing"); !errors.Is(err, views.ErrNotFound) {
		t.Errorf("Get of a missing doc: %v", err)
	}
	if _, err := s.Get(ctx, "nope", "a"); !errors.Is(err, views.ErrNotFound) {
		t.Errorf("Get in a missing index: %v", err)
	}
	if err := s.Refresh(ctx, "nope"); !errors.Is(err, views.ErrNotFound) {
		t.Errorf("Refresh of a missing index: %v", err)
	}
	if _, err := s.Search(ctx, "nope", views.SearchRequest{}); !errors.Is(err, views.ErrNotFound) {
		t.Errorf("Search of a missing index: %v", err)
	}
}

func TestSearch(t *testing.T) {
	s, _ := newStore(t, estest.Options{})
	ctx := context.Background()
	createIndex(t, s, "v")
	var ops []views.Op
	for i := range 25 {
		ops = append(ops, put("v", fmt.Sprintf("d%02d", i), uint64(i+1),
			fmt.Sprintf(`{"name":"item %d %s","code":"c%02d","count":%d}`, i, map[bool]string{true: "red", false: "blue"}[i%2 == 0], i, i%5)))
	}
	bulk(t, s, ops...)
	if err := s.Refresh(ctx, "v"); err != nil {
		t.Fatal(err)
	}

	t.Run("query, filter, sort and versions", func(t *testing.T) {
		res, err := s.Search(ctx, "v", views.SearchRequest{
			Query:   "red",
			Filters: []views.Filter{{Field: "count", Value: 0}},
			Sort:    []views.SortField{{Field: "code", Desc: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
		// red: even i; count 0: i%5==0 -> 0, 10, 20.
		want := []string{"d20", "d10", "d00"}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.ID)
			if h.Version == 0 || len(h.Source) == 0 || h.Index != "v" {
				t.Errorf("hit %+v lacks version, source or index", h)
			}
		}
		if res.Total != 3 || !cmp.Equal(got, want) {
			t.Errorf("total %d hits %v, want %v", res.Total, got, want)
		}
	})

	t.Run("search_after pages through everything", func(t *testing.T) {
		req := views.SearchRequest{Size: 7, Sort: []views.SortField{{Field: "count"}, {Field: "code"}}}
		var got []string
		for page := 0; ; page++ {
			res, err := s.Search(ctx, "v", req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 25 {
				t.Errorf("total %d", res.Total)
			}
			if len(res.Hits) == 0 {
				break
			}
			for _, h := range res.Hits {
				got = append(got, h.ID)
			}
			last := res.Hits[len(res.Hits)-1].Sort
			if _, ok := last[0].(int64); !ok {
				t.Fatalf("long sort value %T, want int64", last[0])
			}
			req.After = last
			if page > 5 {
				t.Fatal("too many pages")
			}
		}
		if len(got) != 25 || got[0] != "d00" || got[1] != "d05" {
			t.Errorf("paged ids %v", got)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, req := range []views.SearchRequest{
			{Size: -1}, {Size: 10001},
			{Filters: []views.Filter{{Field: "code"}}},
			{Sort: []views.SortField{{Field: "code"}}, After: []any{"a", "b"}},
		} {
			if _, err := s.Search(ctx, "v", req); err == nil {
				t.Errorf("Search(%+v): nil error", req)
			}
		}
		_, err := s.Search(ctx, "v", views.SearchRequest{Sort: []views.SortField{{Field: "name"}}})
		var e *elastic.Error
		if !errors.As(err, &e) || e.Status != 400 || views.IsRetryable(err) {
			t.Errorf("sort on a text field: %v", err)
		}
	})
}
