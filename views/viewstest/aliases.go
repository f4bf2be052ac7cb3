package viewstest

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/b2dc4357/sourced/views"
)

var aliasTests = []test{
	{"an alias reports its indices and write index", func(t *testing.T, e *env) {
		a, b := e.create(t, "a"), e.create(t, "b")
		alias := e.name("al")
		e.aliases(t, views.AliasAction{Kind: views.AddAlias, Index: b, Alias: alias})
		e.wantAlias(t, alias, []string{b}, b) // the only index takes writes
		e.aliases(t, views.AliasAction{Kind: views.AddAlias, Index: a, Alias: alias})
		e.wantAlias(t, alias, []string{a, b}, "")
		e.aliases(t, views.AliasAction{Kind: views.AddAlias, Index: a, Alias: alias, IsWriteIndex: true})
		e.wantAlias(t, alias, []string{a, b}, a)
		e.aliases(t, views.AliasAction{Kind: views.RemoveAlias, Index: a, Alias: alias})
		e.wantAlias(t, alias, []string{b}, b)
		e.aliases(t, views.AliasAction{Kind: views.RemoveAlias, Index: b, Alias: alias})
		e.wantAlias(t, alias, nil, "")
	}},
	{"writes through an alias go to its write index", func(t *testing.T, e *env) {
		a, b := e.create(t, "a"), e.create(t, "b")
		single, multi, nowrite := e.name("single"), e.name("multi"), e.name("nowrite")
		e.aliases(t,
			views.AliasAction{Kind: views.AddAlias, Index: a, Alias: single},
			views.AliasAction{Kind: views.AddAlias, Index: a, Alias: multi},
			views.AliasAction{Kind: views.AddAlias, Index: b, Alias: multi, IsWriteIndex: true},
			views.AliasAction{Kind: views.AddAlias, Index: a, Alias: nowrite},
			views.AliasAction{Kind: views.AddAlias, Index: b, Alias: nowrite},
		)
		res := e.bulk(t, put(single, "s", 1, `{"seq":1}`), put(multi, "m", 1, `{"seq":2}`), put(nowrite, "n", 1, `{"seq":3}`),
			del(nowrite, "s", 2))
		want(t, "through the single-index alias", res[0], views.Applied, 201)
		want(t, "through the write index", res[1], views.Applied, 201)
		want(t, "alias without write index", res[2], views.Fatal, res[2].Status)
		want(t, "delete through alias without write index", res[3], views.Fatal, res[3].Status)
		if !strings.Contains(res[2].Reason, "no write index") {
			t.Errorf("reason %q, want one like Elasticsearch's \"no write index is defined for alias\"", res[2].Reason)
		}
		if d := e.get(t, a, "s"); d.Index != a {
			t.Errorf("document index %q, want %q", d.Index, a)
		}
		e.missing(t, a, "m")
		if d := e.get(t, b, "m"); d.Index != b {
			t.Errorf("document index %q, want %q", d.Index, b)
		}
		e.missing(t, a, "n")
		e.missing(t, b, "n")
		// Reads through an alias see its indices.
		if d := e.get(t, single, "s"); d.Index != a || d.Version != 1 {
			t.Errorf("Get through alias = %+v", d)
		}
		res2 := e.search(t, multi, views.SearchRequest{Sort: []views.SortField{{Field: "seq"}}})
		if diff := cmp.Diff([]string{"s", "m"}, ids(res2.Hits)); diff != "" || res2.Total != 2 {
			t.Errorf("search through an alias of two indices: total %d, ids (-want +got):\n%s", res2.Total, diff)
		}
	}},
	{"alias updates apply all or nothing", func(t *testing.T, e *env) {
		a := e.create(t, "a")
		alias := e.name("al")
		err := e.s.UpdateAliases(e.ctx, []views.AliasAction{
			{Kind: views.AddAlias, Index: a, Alias: alias},
			{Kind: views.RemoveIndex, Index: a},
			{Kind: views.AddAlias, Index: e.name("missing"), Alias: alias},
		})
		if !errors.Is(err, views.ErrNotFound) {
			t.Errorf("UpdateAliases with a missing index: %v, want ErrNotFound", err)
		}
		e.wantAlias(t, alias, nil, "")
		if got, _ := e.s.Indices(e.ctx, a); !cmp.Equal(got, []string{a}) {
			t.Errorf("a failed update deleted the index: Indices = %v", got)
		}
		err = e.s.UpdateAliases(e.ctx, []views.AliasAction{
			{Kind: views.AddAlias, Index: a, Alias: alias},
			{Kind: views.RemoveAlias, Index: a, Alias: e.name("never-added")},
		})
		if !errors.Is(err, views.ErrNotFound) {
			t.Errorf("UpdateAliases removing a missing alias: %v, want ErrNotFound", err)
		}
		e.wantAlias(t, alias, nil, "")
		if err := e.s.UpdateAliases(e.ctx, []views.AliasAction{{Kind: views.AddAlias, Index: a, Alias: a}}); err == nil {
			t.Error("an alias named like an index was added")
		}
	}},
	{"remove index in an alias update deletes the index", func(t *testing.T, e *env) {
		old, next := e.create(t, "old"), e.create(t, "new")
		alias := e.name("live")
		e.aliases(t, views.AliasAction{Kind: views.AddAlias, Index: old, Alias: alias})
		e.bulk(t, put(old, "a", 1, `{"seq":1}`), put(next, "a", 1, `{"seq":1}`))
		e.aliases(t,
			views.AliasAction{Kind: views.AddAlias, Index: next, Alias: alias},
			views.AliasAction{Kind: views.RemoveIndex, Index: old},
		)
		e.wantAlias(t, alias, []string{next}, next)
		if got, _ := e.s.Indices(e.ctx, old); len(got) != 0 {
			t.Errorf("Indices after remove_index = %v", got)
		}
		e.missing(t, old, "a")
	}},
	{"an alias swap is atomic to concurrent searches", func(t *testing.T, e *env) {
		const docs = 25
		old, next := e.create(t, "old"), e.create(t, "new")
		alias := e.name("live")
		var ops []views.Op
		for i := range docs {
			ops = append(ops, put(old, doc("d%02d", i), 1, doc(`{"seq":%d,"customer":"old"}`, i)))
			ops = append(ops, put(next, doc("d%02d", i), 1, doc(`{"seq":%d,"customer":"new"}`, i)))
		}
		e.bulk(t, ops...)
		e.search(t, old, views.SearchRequest{}) // refresh
		e.search(t, next, views.SearchRequest{})
		e.aliases(t, views.AliasAction{Kind: views.AddAlias, Index: old, Alias: alias})

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var searches atomic.Int64
		failures := 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := e.s.Search(e.ctx, alias, views.SearchRequest{Query: "old new"})
				searches.Add(1)
				if err != nil || res.Total != docs || len(res.Hits) != 10 {
					failures++
					if failures <= 3 {
						t.Errorf("search during swap: total %d, %d hits, err %v; want %d", res.Total, len(res.Hits), err, docs)
					}
				}
			}
		}()
		// waitSearch waits until a search started after the last swap ended,
		// so that searches and swaps interleave even on a fast store.
		waitSearch := func() {
			t.Helper()
			n := searches.Load()
			deadline := time.Now().Add(10 * time.Second)
			for searches.Load() < n+2 {
				if time.Now().After(deadline) {
					t.Fatal("the searching goroutine is stuck")
				}
				runtime.Gosched()
			}
		}
		from, to := old, next
		for range 20 {
			waitSearch()
			e.aliases(t,
				views.AliasAction{Kind: views.RemoveAlias, Index: from, Alias: alias},
				views.AliasAction{Kind: views.AddAlias, Index: to, Alias: alias},
			)
			from, to = to, from
		}
		// The rebuild's last step: swap and delete the old index at once.
		waitSearch()
		e.aliases(t,
			views.AliasAction{Kind: views.AddAlias, Index: to, Alias: alias},
			views.AliasAction{Kind: views.RemoveIndex, Index: from},
		)
		waitSearch()
		close(stop)
		wg.Wait()
		t.Logf("%d searches during 21 swaps", searches.Load())
	}},
}

// aliases applies alias actions that must succeed.
func (e *env) aliases(t *testing.T, actions ...views.AliasAction) {
	t.Helper()
	if err := e.s.UpdateAliases(e.ctx, actions); err != nil {
		t.Fatalf("UpdateAliases(%+v): %v", actions, err)
	}
}

// wantAlias checks Alias.
func (e *env) wantAlias(t *testing.T, alias string, indices []string, writeIndex string) {
	t.Helper()
	got, w, err := e.s.Alias(e.ctx, alias)
	if err != nil {
		t.Fatalf("Alias(%q): %v", alias, err)
	}
	if !cmp.Equal(got, indices, cmpEmpty) || w != writeIndex {
		t.Errorf("Alias(%q) = %v, %q; want %v, %q", alias, got, w, indices, writeIndex)
	}
}

var cmpEmpty = cmpopts.EquateEmpty()
