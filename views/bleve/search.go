package bleve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/b2dc4357/sourced/views"
)

// Search page sizes.
const (
	defaultSize = 10
	maxSize     = 10_000
)

// Get reads a document from an index, or from the indices of an alias (the
// newest version when several hold the id). It is realtime: it sees every
// Bulk that returned. A missing index, alias or document (or a tombstone)
// gives an error wrapping views.ErrNotFound. The returned Source is the
// caller's.
func (s *Store) Get(ctx context.Context, name, id string) (views.Document, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ixs, err := s.readIndices(name)
	if err != nil {
		return views.Document{}, fmt.Errorf("bleve: get %q from %q: %w", id, name, err)
	}
	var best views.Document
	found := false
	for _, ix := range ixs {
		d, ok, err := ix.get(id)
		if err != nil {
			return views.Document{}, fmt.Errorf("bleve: get %q from index %q: %w", id, ix.name, err)
		}
		if ok && (!found || d.Version > best.Version) {
			best, found = d, true
		}
	}
	if !found {
		return views.Document{}, fmt.Errorf("bleve: get %q from %q: %w", id, name, views.ErrNotFound)
	}
	return best, nil
}

func (ix *index) get(id string) (views.Document, bool, error) {
	if d, ok := ix.getBuffered(id); ok {
		return d, d.Source != nil, nil
	}
	doc, err := ix.bi.Document(id)
	if err != nil || doc == nil {
		return views.Document{}, false, err
	}
	d := views.Document{Index: ix.name, ID: id}
	var verr error
	doc.VisitFields(func(f bindex.Field) {
		switch f.Name() {
		case sourceField:
			d.Source = json.RawMessage(f.Value()) // a copy bleve made for this call
		case versionField:
			d.Version, verr = strconv.ParseUint(string(f.Value()), 10, 64)
		}
	})
	if verr != nil {
		return views.Document{}, false, fmt.Errorf("read version: %w", verr)
	}
	if d.Source == nil { // a tombstone
		return views.Document{}, false, nil
	}
	return d, true, nil
}

// Refresh applies the writes buffered in the index, or in every index of
// the alias (Config.RefreshInterval), so that Search sees them; they are
// then on disk too. Without a RefreshInterval, bleve makes a batch
// searchable before Batch returns, and there is nothing to do. A missing
// index or alias gives an error wrapping views.ErrNotFound.
func (s *Store) Refresh(ctx context.Context, name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ixs, err := s.readIndices(name)
	if err != nil {
		return fmt.Errorf("bleve: refresh %q: %w", name, err)
	}
	for _, ix := range ixs {
		if err := ix.refresh(); err != nil {
			return fmt.Errorf("bleve: refresh index %q: %w", ix.name, err)
		}
	}
	return nil
}

// Search runs a query against an index or alias (every index of the alias,
// merged in sort order). Query is matched against every text field of the
// mappings with Elasticsearch's standard analysis, terms joined with OR;
// filters are exact terms (see Filter semantics in the package
// documentation). Sort values in the hits are typed as Elasticsearch returns
// them (strings for keyword fields and ids, numbers otherwise, nil for a
// missing value) and After accepts them after a JSON round trip, when every
// number is a float64. A missing index or alias gives an error wrapping
// views.ErrNotFound; an invalid request (size, unknown sort field, After not
// matching the sort) gives an error.
func (s *Store) Search(ctx context.Context, name string, req views.SearchRequest) (views.SearchResult, error) {
	size := req.Size
	switch {
	case size == 0:
		size = defaultSize
	case size < 0 || size > maxSize:
		return views.SearchResult{}, fmt.Errorf("bleve: search %q: size %d out of range [1, %d]", name, size, maxSize)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ixs, err := s.readIndices(name)
	if err != nil {
		return views.SearchResult{}, fmt.Errorf("bleve: search %q: %w", name, err)
	}
	// A search first applies the writes buffered in its indices (as
	// Elasticsearch refreshes a search-idle shard before searching it), so
	// it sees every Bulk that returned, as without a refresh interval.
	for _, ix := range ixs {
		if err := ix.refresh(); err != nil {
			return views.SearchResult{}, fmt.Errorf("bleve: search %q: refresh index %q: %w", name, ix.name, err)
		}
	}
	res, plan, err := runSearch(ctx, ixs, req, size)
	if err != nil {
		return views.SearchResult{}, fmt.Errorf("bleve: search %q: %w", name, err)
	}
	out := views.SearchResult{Total: int(res.Total), Hits: make([]views.Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		hit := views.Hit{Document: views.Document{Index: h.Index, ID: h.ID}, Sort: plan.values(h)}
		if src, ok := h.Fields[sourceField].(string); ok {
			hit.Source = json.RawMessage(src)
		}
		if v, ok := h.Fields[versionField].(string); ok {
			hit.Version, _ = strconv.ParseUint(v, 10, 64) // written by this package
		}
		out.Hits = append(out.Hits, hit)
	}
	return out, nil
}

func runSearch(ctx context.Context, ixs []*index, req views.SearchRequest, size int) (*bleve.SearchResult, sortPlan, error) {
	plan, err := newSortPlan(ixs, req.Sort)
	if err != nil {
		return nil, nil, err
	}
	q, err := buildQuery(ixs, req)
	if err != nil {
		return nil, nil, err
	}
	br := bleve.NewSearchRequestOptions(q, size, 0 /* from */, false /* explain */)
	br.Fields = []string{sourceField, versionField}
	br.SortByCustom(plan.order())
	if req.After != nil {
		if br.SearchAfter, err = plan.after(req.After); err != nil {
			return nil, nil, err
		}
	}
	var res *bleve.SearchResult
	if len(ixs) == 1 {
		res, err = ixs[0].bi.SearchInContext(ctx, br)
	} else {
		members := make([]bleve.Index, len(ixs))
		for i, ix := range ixs {
			members[i] = ix.bi
		}
		res, err = bleve.NewIndexAlias(members...).SearchInContext(ctx, br)
	}
	if err != nil {
		return nil, nil, err
	}
	return res, plan, nil
}

// buildQuery translates the query and filters, excluding tombstones.
func buildQuery(ixs []*index, req views.SearchRequest) (query.Query, error) {
	var must []query.Query
	if req.Query != "" {
		var fields []string
		seen := map[string]bool{}
		for _, ix := range ixs {
			for _, f := range ix.b.schema.textFields {
				if !seen[f] {
					seen[f] = true
					fields = append(fields, f)
				}
			}
		}
		anyOf := make([]query.Query, 0, len(fields))
		for _, f := range fields {
			m := bleve.NewMatchQuery(req.Query)
			m.SetField(f)
			m.Analyzer = textAnalyzer
			anyOf = append(anyOf, m)
		}
		if len(anyOf) == 0 {
			must = append(must, bleve.NewMatchNoneQuery())
		} else {
			must = append(must, bleve.NewDisjunctionQuery(anyOf...))
		}
	}
	for _, f := range req.Filters {
		q, err := filterQuery(ixs, f)
		if err != nil {
			return nil, err
		}
		must = append(must, unscored(q))
	}
	if len(must) == 0 {
		must = append(must, bleve.NewMatchAllQuery())
	}
	live := bleve.NewBooleanQuery()
	live.AddMust(must...)
	dead := bleve.NewBoolFieldQuery(true)
	dead.SetField(deletedField)
	live.AddMustNot(dead)
	return live, nil
}

// unscored makes q score nothing, so that a filter narrows the hits without
// reordering them, as in Elasticsearch's filter context: a date filter
// reads several terms, rare and common, which would otherwise add more to
// some scores than to others.
func unscored(q query.Query) query.Query {
	if d, ok := q.(*query.DisjunctionQuery); ok {
		for _, sub := range d.Disjuncts {
			unscored(sub)
		}
	}
	if b, ok := q.(query.BoostableQuery); ok {
		b.SetBoost(0)
	}
	return q
}

// fieldType returns the type of a field path in the first of the indices
// that maps it.
func fieldType(ixs []*index, path string) (views.FieldType, bool) {
	for _, ix := range ixs {
		if f, ok := ix.mapping.Lookup(path); ok {
			return f.Type, true
		}
	}
	return "", false
}

// filterQuery translates a filter as Elasticsearch's term query does for the
// field's type: an unmapped field matches nothing, a value of the wrong type
// is an error, and a date matches the whole span its text denotes (a day for
// "2026-11-23").
func filterQuery(ixs []*index, f views.Filter) (query.Query, error) {
	if f.Value == nil {
		return nil, fmt.Errorf("filter on [%s]: value cannot be null", f.Field)
	}
	if f.Field == "_id" {
		id, ok := toTerm(f.Value)
		if !ok {
			return nil, fmt.Errorf("filter on [_id]: %v is not a term", f.Value)
		}
		return bleve.NewDocIDQuery([]string{id}), nil
	}
	typ, ok := fieldType(ixs, f.Field)
	if !ok {
		return bleve.NewMatchNoneQuery(), nil
	}
	bad := func() error {
		return fmt.Errorf("filter on [%s] of type [%s]: cannot use value %v (%T)", f.Field, typ, f.Value, f.Value)
	}
	switch typ {
	case views.Text, views.Keyword:
		term, ok := toTerm(f.Value)
		if !ok {
			return nil, bad()
		}
		q := bleve.NewTermQuery(term)
		q.SetField(f.Field)
		return q, nil
	case views.Long, views.Double:
		x, ok := toNumber(f.Value)
		if !ok || math.IsNaN(x) {
			return nil, bad()
		}
		if typ == views.Long && x != math.Trunc(x) {
			return bleve.NewMatchNoneQuery(), nil // no long equals 1.5
		}
		if typ == views.Long && x == 0 {
			x = 0 // -0 is the long 0
		}
		return numberQuery(f.Field, numeric.Float64ToInt64(x)), nil
	case views.Boolean:
		b, ok := toBool(f.Value)
		if !ok {
			return nil, bad()
		}
		q := bleve.NewBoolFieldQuery(b)
		q.SetField(f.Field)
		return q, nil
	case views.Date:
		start, end, err := parseDateValue(f.Value)
		if err != nil {
			return nil, fmt.Errorf("filter on [%s]: %w", f.Field, err)
		}
		return dateSpanQuery(f.Field, start, end), nil
	}
	return nil, errors.New("filter on [" + f.Field + "]: an object field has no value to match")
}
