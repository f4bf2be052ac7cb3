package elastic_test

import (
	"context"
	"testing"

	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/viewstest"
)

// TestContract runs the store contract suite against estest, or against
// the shared real Elasticsearch under SOURCED_TEST_ES (the suite names its
// indices with a random prefix and deletes them).
func TestContract(t *testing.T) {
	url, _ := stacktest.ES(t, estest.Options{})
	viewstest.Run(t, func(t *testing.T) views.Store {
		return open(t, fastRetries(url))
	})
}

// TestContractWithIndexPrefix runs the contract suite through
// views.WithIndexPrefix (what --prefix gives dev and the roles) and checks
// that the cluster holds the prefixed names while the store answers with
// plain ones.
func TestContractWithIndexPrefix(t *testing.T) {
	url, _ := stacktest.ES(t, estest.Options{})
	prefix := stacktest.Prefix(t)
	viewstest.Run(t, func(t *testing.T) views.Store {
		return views.WithIndexPrefix(open(t, fastRetries(url)), prefix)
	})

	raw := open(t, fastRetries(url))
	prefixed := views.WithIndexPrefix(raw, prefix)
	ctx := t.Context()
	m := views.Mapping{Properties: map[string]views.Field{"name": {Type: views.Keyword}}}
	if err := prefixed.CreateIndex(ctx, "names-v1", m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.DeleteIndex(context.Background(), prefix+"names-v1") })
	if err := prefixed.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: "names-v1", Alias: "names", IsWriteIndex: true}}); err != nil {
		t.Fatal(err)
	}
	if got, err := raw.Indices(ctx, prefix+"names"); err != nil || len(got) != 1 || got[0] != prefix+"names-v1" {
		t.Errorf("cluster indices = %v, %v; want [%snames-v1]", got, err, prefix)
	}
	if got, write, err := prefixed.Alias(ctx, "names"); err != nil || len(got) != 1 || got[0] != "names-v1" || write != "names-v1" {
		t.Errorf("alias through the prefix = %v, %q, %v; want [names-v1] names-v1", got, write, err)
	}
	if got, _, err := raw.Alias(ctx, "names"); err != nil || len(got) != 0 {
		t.Errorf("an unprefixed alias exists: %v, %v", got, err)
	}
}
