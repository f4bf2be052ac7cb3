package viewstest

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
)

var indexTests = []test{
	{"created indices are listed by prefix in name order", func(t *testing.T, e *env) {
		b := e.create(t, "list-b")
		a := e.create(t, "list-a")
		other := e.create(t, "other")
		got, err := e.s.Indices(e.ctx, e.name("list-"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{a, b}, got); diff != "" {
			t.Errorf("Indices(list-) (-want +got):\n%s", diff)
		}
		got, err = e.s.Indices(e.ctx, e.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{a, b, other}, got); diff != "" {
			t.Errorf("Indices(prefix) (-want +got):\n%s", diff)
		}
	}},
	{"a name taken by an index or an alias cannot be created", func(t *testing.T, e *env) {
		ix := e.create(t, "taken")
		if err := e.s.CreateIndex(e.ctx, ix, testMapping); !errors.Is(err, views.ErrIndexExists) {
			t.Errorf("CreateIndex of an existing index: %v, want ErrIndexExists", err)
		}
		alias := e.name("alias")
		if err := e.s.UpdateAliases(e.ctx, []views.AliasAction{{Kind: views.AddAlias, Index: ix, Alias: alias}}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.CreateIndex(e.ctx, alias, testMapping); !errors.Is(err, views.ErrIndexExists) {
			t.Errorf("CreateIndex of an alias name: %v, want ErrIndexExists", err)
		}
	}},
	{"an invalid mapping is refused", func(t *testing.T, e *env) {
		bad := views.Mapping{Properties: map[string]views.Field{"x": {Type: "nope"}}}
		if err := e.s.CreateIndex(e.ctx, e.name("bad"), bad); err == nil {
			t.Error("CreateIndex with an unknown field type succeeded")
		}
		if got, _ := e.s.Indices(e.ctx, e.name("bad")); len(got) != 0 {
			t.Errorf("a failed create left index %v", got)
		}
	}},
	{"a deleted index is gone from the listing, its aliases and reads", func(t *testing.T, e *env) {
		ix := e.create(t, "gone")
		keep := e.create(t, "keep")
		alias := e.name("both")
		if err := e.s.UpdateAliases(e.ctx, []views.AliasAction{
			{Kind: views.AddAlias, Index: ix, Alias: alias},
			{Kind: views.AddAlias, Index: keep, Alias: alias},
			{Kind: views.AddAlias, Index: ix, Alias: e.name("only")},
		}); err != nil {
			t.Fatal(err)
		}
		e.bulk(t, put(ix, "a", 1, `{"seq":1}`))
		if err := e.s.DeleteIndex(e.ctx, ix); err != nil {
			t.Fatalf("DeleteIndex: %v", err)
		}
		if got, _ := e.s.Indices(e.ctx, e.name("gone")); len(got) != 0 {
			t.Errorf("Indices after delete = %v", got)
		}
		indices, w, err := e.s.Alias(e.ctx, alias)
		if err != nil || !cmp.Equal(indices, []string{keep}) || w != keep {
			t.Errorf("Alias(both) = %v, %q, %v; want [%s], %q", indices, w, err, keep, keep)
		}
		if indices, _, err := e.s.Alias(e.ctx, e.name("only")); err != nil || len(indices) != 0 {
			t.Errorf("Alias(only) = %v, %v; want no indices", indices, err)
		}
		e.missing(t, ix, "a")
		if _, err := e.s.Search(e.ctx, ix, views.SearchRequest{}); !errors.Is(err, views.ErrNotFound) {
			t.Errorf("Search of a deleted index: %v, want ErrNotFound", err)
		}
		// The name is free again, with no documents or tombstones.
		e.create(t, "gone")
		res := e.bulk(t, put(ix, "a", 1, `{"seq":1}`))
		want(t, "write to the recreated index", res[0], views.Applied, 201)
	}},
	{"missing indices give not found", func(t *testing.T, e *env) {
		missing := e.name("missing")
		if err := e.s.DeleteIndex(e.ctx, missing); !errors.Is(err, views.ErrNotFound) {
			t.Errorf("DeleteIndex: %v, want ErrNotFound", err)
		}
		if _, err := e.s.Get(e.ctx, missing, "a"); !errors.Is(err, views.ErrNotFound) {
			t.Errorf("Get: %v, want ErrNotFound", err)
		}
		if _, err := e.s.Search(e.ctx, missing, views.SearchRequest{}); !errors.Is(err, views.ErrNotFound) {
			t.Errorf("Search: %v, want ErrNotFound", err)
		}
		if err := e.s.Refresh(e.ctx, missing); !errors.Is(err, views.ErrNotFound) {
			t.Errorf("Refresh: %v, want ErrNotFound", err)
		}
		indices, w, err := e.s.Alias(e.ctx, missing)
		if err != nil || len(indices) != 0 || w != "" {
			t.Errorf("Alias of a missing alias = %v, %q, %v; want nothing", indices, w, err)
		}
		ix := e.create(t, "present")
		e.missing(t, ix, "no-such-doc")
	}},
}
