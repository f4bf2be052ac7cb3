package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// Search limits of views.SearchRequest.
const (
	defaultSize = 10
	maxSize     = 10000
)

// Search runs the request against an index or alias (POST
// /{index}/_search) and returns one page of hits, sorted:
//
//   - Query becomes a multi_match (best_fields, lenient) over the index's
//     default fields: the mapping's text fields for indices made by
//     CreateIndex, which sets index.query.default_field; every field
//     otherwise. An empty Query matches every document.
//   - Each Filter becomes a term query in filter context.
//   - Sort becomes the sort; an empty Sort is relevance, then index order
//     (_doc). Elasticsearch 8 cannot sort on _id (fielddata on _id is
//     disabled), so a stable order for paging needs a keyword field that
//     is unique per document as the last key.
//   - After becomes search_after.
//   - The total is exact (track_total_hits: true).
//
// Sort values are returned as Elasticsearch gives them: int64 for long,
// date (epoch milliseconds) and boolean (0 or 1) keys, float64 for
// scores and doubles, strings for keywords, nil for a missing keyword.
// A missing index gives an error wrapping views.ErrNotFound; a request
// Elasticsearch refuses (such as a sort on a text field) gives an error
// wrapping *Error.
func (s *Store) Search(ctx context.Context, index string, req views.SearchRequest) (views.SearchResult, error) {
	op := "search " + strconv.Quote(index)
	if err := checkName(index); err != nil {
		return views.SearchResult{}, fmt.Errorf("elastic: %s: %w", op, err)
	}
	body, err := searchBody(req)
	if err != nil {
		return views.SearchResult{}, fmt.Errorf("elastic: %s: %w", op, err)
	}
	res, err := esapi.SearchRequest{Index: []string{url.PathEscape(index)}, Body: bytes.NewReader(body)}.Do(ctx, s.es)
	if err != nil {
		return views.SearchResult{}, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return views.SearchResult{}, statusError(op, res, true)
	}
	var resp struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				Index   string          `json:"_index"`
				ID      string          `json:"_id"`
				Version uint64          `json:"_version"`
				Source  json.RawMessage `json:"_source"`
				Sort    []any           `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
	}
	dec := json.NewDecoder(res.Body)
	dec.UseNumber() // sort values: a long must not go through float64
	if err := dec.Decode(&resp); err != nil {
		return views.SearchResult{}, fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	out := views.SearchResult{Total: resp.Hits.Total.Value, Hits: make([]views.Hit, len(resp.Hits.Hits))}
	for i, h := range resp.Hits.Hits {
		for k, v := range h.Sort {
			h.Sort[k] = sortValue(v)
		}
		out.Hits[i] = views.Hit{
			Document: views.Document{Index: h.Index, ID: h.ID, Version: h.Version, Source: h.Source},
			Sort:     h.Sort,
		}
	}
	return out, nil
}

// sortValue turns a json.Number into an int64 when it is an integer and
// a float64 otherwise.
func sortValue(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return v
}

// searchBody renders the request as Elasticsearch query DSL.
func searchBody(req views.SearchRequest) ([]byte, error) {
	size := req.Size
	switch {
	case size == 0:
		size = defaultSize
	case size < 0 || size > maxSize:
		return nil, fmt.Errorf("size %d out of range [1, %d]", size, maxSize)
	}
	var must, filter []any
	if req.Query != "" {
		must = append(must, map[string]any{"multi_match": map[string]any{
			"query": req.Query, "type": "best_fields", "lenient": true,
		}})
	}
	for _, f := range req.Filters {
		if f.Field == "" {
			return nil, fmt.Errorf("filter with an empty field")
		}
		if f.Value == nil {
			return nil, fmt.Errorf("filter on %q: nil value", f.Field)
		}
		filter = append(filter, map[string]any{"term": map[string]any{f.Field: map[string]any{"value": f.Value}}})
	}
	var query any = map[string]any{"match_all": map[string]any{}}
	if len(must)+len(filter) > 0 {
		b := map[string]any{}
		if len(must) > 0 {
			b["must"] = must
		}
		if len(filter) > 0 {
			b["filter"] = filter
		}
		query = map[string]any{"bool": b}
	}
	sort := make([]any, 0, len(req.Sort)+1)
	for _, f := range req.Sort {
		if f.Field == "" {
			return nil, fmt.Errorf("sort with an empty field")
		}
		order := "asc"
		if f.Desc {
			order = "desc"
		}
		sort = append(sort, map[string]any{f.Field: map[string]any{"order": order}})
	}
	if len(sort) == 0 {
		sort = append(sort, map[string]any{"_score": map[string]any{"order": "desc"}}, map[string]any{"_doc": map[string]any{"order": "asc"}})
	}
	body := map[string]any{
		"query":            query,
		"size":             size,
		"sort":             sort,
		"track_total_hits": true,
		"version":          true,
	}
	if req.After != nil {
		if len(req.After) != len(sort) {
			return nil, fmt.Errorf("after has %d values but the sort has %d keys", len(req.After), len(sort))
		}
		body["search_after"] = req.After
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("render query: %w", err)
	}
	return b, nil
}
