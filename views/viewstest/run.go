package viewstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
)

// Run runs the contract suite against the stores open returns. open is
// called once per test and must return a store ready for use; it should
// register its own cleanup (t.Cleanup) to close the store. Tests run in
// sequence; some start goroutines of their own.
func Run(t *testing.T, open func(t *testing.T) views.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"indices", indexTests},
		{"bulk", bulkTests},
		{"aliases", aliasTests},
		{"get and search", searchTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newEnv(t, open(t)))
				})
			}
		})
	}
}

// test is one contract test.
type test struct {
	name string
	run  func(t *testing.T, e *env)
}

// env is one test's store and name prefix.
type env struct {
	s      views.Store
	ctx    context.Context
	prefix string
}

func newEnv(t *testing.T, s views.Store) *env {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	e := &env{s: s, ctx: t.Context(), prefix: "viewstest-" + hex.EncodeToString(b) + "-"}
	// Delete the test's indices (on a shared cluster they would pile up).
	// Registered after open's cleanup, so it runs while the store is open.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		names, err := s.Indices(ctx, e.prefix)
		if err != nil {
			t.Logf("clean up: list indices %s*: %v", e.prefix, err)
			return
		}
		for _, n := range names {
			if err := s.DeleteIndex(ctx, n); err != nil && !errors.Is(err, views.ErrNotFound) {
				t.Logf("clean up: delete index %s: %v", n, err)
			}
		}
	})
	return e
}

// name returns a test-unique index or alias name.
func (e *env) name(suffix string) string { return e.prefix + suffix }

// testMapping is the mapping every test index uses: an invoice-like view
// with every field type.
var testMapping = views.Mapping{Properties: map[string]views.Field{
	"customer": {Type: views.Text, WithKeyword: true},
	"currency": {Type: views.Keyword},
	"seq":      {Type: views.Long},
	"total":    {Type: views.Long},
	"rate":     {Type: views.Double},
	"paid":     {Type: views.Boolean},
	"due_date": {Type: views.Date},
	"notes":    {Type: views.Text},
	"lines": {Type: views.Object, Properties: map[string]views.Field{
		"description": {Type: views.Text},
		"quantity":    {Type: views.Long},
	}},
}}

// create creates an index with testMapping and returns its name.
func (e *env) create(t *testing.T, suffix string) string {
	t.Helper()
	name := e.name(suffix)
	if err := e.s.CreateIndex(e.ctx, name, testMapping); err != nil {
		t.Fatalf("CreateIndex(%q): %v", name, err)
	}
	return name
}

// bulk applies ops and fails the test on a request error.
func (e *env) bulk(t *testing.T, ops ...views.Op) []views.ItemResult {
	t.Helper()
	res, err := e.s.Bulk(e.ctx, ops)
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	if len(res) != len(ops) {
		t.Fatalf("Bulk returned %d results for %d operations", len(res), len(ops))
	}
	return res
}

// want checks one item result's outcome and status.
func want(t *testing.T, what string, got views.ItemResult, outcome views.Outcome, status int) {
	t.Helper()
	if got.Outcome != outcome || got.Status != status {
		t.Errorf("%s: got %v %d (%s: %s), want %v %d", what, got.Outcome, got.Status, got.Type, got.Reason, outcome, status)
	}
}

// put is an index operation.
func put(index, id string, version uint64, doc string) views.Op {
	return views.Op{Index: index, ID: id, Version: version, Doc: json.RawMessage(doc)}
}

// del is a delete operation.
func del(index, id string, version uint64) views.Op {
	return views.Op{Index: index, ID: id, Version: version, Delete: true}
}

// get reads a document that must exist.
func (e *env) get(t *testing.T, index, id string) views.Document {
	t.Helper()
	d, err := e.s.Get(e.ctx, index, id)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", index, id, err)
	}
	return d
}

// missing checks that Get finds no document.
func (e *env) missing(t *testing.T, index, id string) {
	t.Helper()
	d, err := e.s.Get(e.ctx, index, id)
	if !errors.Is(err, views.ErrNotFound) {
		t.Errorf("Get(%q, %q) = %+v, %v; want an error wrapping ErrNotFound", index, id, d, err)
	}
}

// search refreshes the index and runs a search that must succeed.
func (e *env) search(t *testing.T, index string, req views.SearchRequest) views.SearchResult {
	t.Helper()
	if err := e.s.Refresh(e.ctx, index); err != nil {
		t.Fatalf("Refresh(%q): %v", index, err)
	}
	res, err := e.s.Search(e.ctx, index, req)
	if err != nil {
		t.Fatalf("Search(%q, %+v): %v", index, req, err)
	}
	return res
}

// ids returns the ids of hits.
func ids(hits []views.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// jsonRoundTrip passes sort values through JSON as a gateway cursor does:
// numbers come back as float64.
func jsonRoundTrip(t *testing.T, v []any) []any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal sort values %v: %v", v, err)
	}
	var out []any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal sort values %s: %v", b, err)
	}
	return out
}

func doc(format string, args ...any) string { return fmt.Sprintf(format, args...) }
