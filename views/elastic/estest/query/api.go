package query

import (
	"encoding/json"
	"net/url"
	"time"
)

// Mapping gives the mapped type of a dotted field path, including
// multi-fields ("name.keyword"): "text", "keyword", "long", "integer",
// "short", "byte", "double", "float", "scaled_float", "boolean", "date" or
// "object". The second result is false for an unmapped path.
type Mapping interface {
	FieldType(path string) (string, bool)
}

// MapMapping is a Mapping backed by a map from dotted path to type. It is
// handy in tests; a nil MapMapping maps nothing.
type MapMapping map[string]string

// FieldType implements Mapping.
func (m MapMapping) FieldType(path string) (string, bool) {
	t, ok := m[path]
	return t, ok
}

// Doc is one searchable document.
type Doc struct {
	Index string
	ID    string
	// Source is the decoded _source, decoded with json.Decoder.UseNumber so
	// numbers are json.Number. Search never modifies it.
	Source map[string]any
	// Raw is the _source as indexed; hits without _source filtering return
	// it byte for byte.
	Raw         json.RawMessage
	Version     int64
	SeqNo       int64
	PrimaryTerm int64
}

// Target is one index to search: its mapping and its refreshed, searchable
// documents in index order (the order ties are broken in).
type Target struct {
	Index   string
	Mapping Mapping
	Docs    []*Doc
	// Filter is an optional query object (an alias filter) applied in
	// filter context to this target only. Nil: none.
	Filter json.RawMessage
}

// Options tunes a search.
type Options struct {
	// Now is the time date math "now" resolves to. Default: time.Now().
	Now time.Time
	// MaxResultWindow is index.max_result_window: from+size above it is a
	// 400. Default: 10000.
	MaxResultWindow int
	// Shards is the total shard count reported in the _shards block.
	// Default: len(targets).
	Shards int
}

func (o Options) withDefaults(targets []Target) Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxResultWindow <= 0 {
		o.MaxResultWindow = 10000
	}
	if o.Shards <= 0 {
		o.Shards = len(targets)
	}
	return o
}

// Search parses a _search request (a JSON body, possibly empty, and the URL
// parameters q, df, default_operator, size, from, sort, track_total_hits,
// track_scores, seq_no_primary_term, version, _source, _source_includes,
// _source_excludes and rest_total_hits_as_int; other parameters are
// ignored, the server validates them) and runs it over targets. It returns
// the complete response body
// {"took","timed_out","_shards","hits":{"total","max_score","hits"}} and,
// when the body has a "pit", "pit_id".
//
// Errors are always *Error carrying ES's status, type and reason. Search
// neither retains nor modifies targets; the returned bytes are the
// caller's.
func Search(body []byte, params url.Values, targets []Target, opts Options) ([]byte, error) {
	opts = opts.withDefaults(targets)
	req, err := parseSearch(body, params, opts)
	if err != nil {
		return nil, err
	}
	return req.run(targets, opts)
}

// Count parses a _count request (a body with an optional "query"; any other
// top-level key is a 400, and the URL parameters q, df and
// default_operator) and returns the number of documents of targets that
// match. Errors are *Error.
func Count(body []byte, params url.Values, targets []Target, opts Options) (int64, error) {
	opts = opts.withDefaults(targets)
	q, err := parseCount(body, params, opts)
	if err != nil {
		return 0, err
	}
	return countMatches(q, targets, opts)
}
