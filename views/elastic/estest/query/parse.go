package query

import (
	"encoding/json"
	"math"
	"sort"
)

// node is one parsed node of the query DSL. bind resolves it against a
// target (its mapping decides how values are compared) and returns the
// matcher for that target's docs, or an *Error for values that do not fit
// the field's type.
type node interface {
	bind(s *searcher) (matcher, error)
}

// matcher reports whether doc i matches, and its score.
type matcher func(i int) (float64, bool)

// knownQueries are ES query types this package does not implement; they
// get a "not supported" 400 rather than "unknown query".
var knownQueries = map[string]bool{
	"fuzzy": true, "regexp": true, "nested": true, "has_child": true, "has_parent": true,
	"geo_distance": true, "geo_bounding_box": true, "geo_shape": true, "script": true,
	"script_score": true, "function_score": true, "more_like_this": true, "boosting": true,
	"simple_query_string": true, "match_phrase_prefix": true, "match_bool_prefix": true,
	"intervals": true, "span_term": true, "span_near": true, "distance_feature": true,
	"percolate": true, "knn": true, "pinned": true, "rank_feature": true, "terms_set": true,
	"combined_fields": true, "wrapper": true, "type": true, "parent_id": true,
}

// parseQuery parses one query object {"type": {...}}.
func parseQuery(v any) (node, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("query malformed, must start with start_object")
	}
	if len(obj) == 0 {
		return matchAllQ{boost: 1}, nil
	}
	if len(obj) > 1 {
		keys := sortedKeys(obj)
		return nil, parsingErr("[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]", keys[0])
	}
	for name, body := range obj {
		return parseNamed(name, body)
	}
	return nil, parsingErr("query malformed, empty clause found")
}

func parseNamed(name string, body any) (node, error) {
	switch name {
	case "match_all":
		m, err := objectOf(name, body)
		if err != nil {
			return nil, err
		}
		b, err := boostOnly(name, m)
		return matchAllQ{boost: b}, err
	case "match_none":
		m, err := objectOf(name, body)
		if err != nil {
			return nil, err
		}
		_, err = boostOnly(name, m)
		return matchNoneQ{}, err
	case "term":
		return parseTerm(body)
	case "terms":
		return parseTerms(body)
	case "range":
		return parseRange(body)
	case "exists":
		return parseExists(body)
	case "ids":
		return parseIDs(body)
	case "prefix", "wildcard":
		return parsePrefix(name, body)
	case "bool":
		return parseBool(body)
	case "constant_score":
		return parseConstantScore(body)
	case "dis_max":
		return parseDisMax(body)
	case "match":
		return parseMatch(name, body)
	case "match_phrase":
		return parseMatch(name, body)
	case "multi_match":
		return parseMultiMatch(body)
	case "query_string":
		return parseQueryStringQuery(body)
	}
	if knownQueries[name] {
		return nil, parsingErr("query [%s] is not supported by estest", name)
	}
	return nil, parsingErr("unknown query [%s]", name)
}

// objectOf checks that the body of query name is an object.
func objectOf(name string, body any) (map[string]any, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, parsingErr("[%s] query malformed, no start_object after query name", name)
	}
	return m, nil
}

// boostOnly accepts only "boost" (and "_name") in m.
func boostOnly(name string, m map[string]any) (float64, error) {
	boost := 1.0
	for _, k := range sortedKeys(m) {
		switch k {
		case "boost":
			b, err := floatParam(name, k, m[k])
			if err != nil {
				return 0, err
			}
			boost = b
		case "_name":
		default:
			return 0, parsingErr("[%s] query does not support [%s]", name, k)
		}
	}
	return boost, nil
}

// singleField returns the one field of a field-keyed query
// ({"term": {"f": ...}}).
func singleField(name string, body any) (string, any, error) {
	m, err := objectOf(name, body)
	if err != nil {
		return "", nil, err
	}
	var field string
	var val any
	for _, k := range sortedKeys(m) {
		if k == "boost" || k == "_name" {
			continue
		}
		if field != "" {
			return "", nil, parsingErr("[%s] query doesn't support multiple fields, found [%s] and [%s]", name, field, k)
		}
		field, val = k, m[k]
	}
	if field == "" {
		return "", nil, parsingErr("[%s] query requires a field name", name)
	}
	return field, val, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// floatParam reads a numeric parameter (number or numeric string).
func floatParam(query, key string, v any) (float64, error) {
	n, ok := toNum(v)
	if !ok {
		return 0, parsingErr("[%s] query failed to parse [%s] as a number: [%v]", query, key, v)
	}
	f := n.float()
	if math.IsInf(f, 0) {
		return 0, parsingErr("[%s] query [%s] is out of range: [%v]", query, key, v)
	}
	return f, nil
}

// intParam reads an integer parameter.
func intParam(query, key string, v any) (int, error) {
	n, ok := toNum(v)
	if !ok || !n.isInt || n.i > math.MaxInt32 || n.i < math.MinInt32 {
		return 0, parsingErr("[%s] query failed to parse [%s] as an integer: [%v]", query, key, v)
	}
	return int(n.i), nil
}

// boolParam reads a boolean parameter (true/false or "true"/"false").
func boolParam(query, key string, v any) (bool, error) {
	b, ok := toBool(v)
	if !ok {
		return false, parsingErr("[%s] query failed to parse [%s] as a boolean: [%v]", query, key, v)
	}
	return b, nil
}

// stringParam reads a string parameter; numbers and booleans are accepted
// in their JSON form, as ES's parser does for string fields.
func stringParam(query, key string, v any) (string, error) {
	s, ok := stringOf(v)
	if !ok {
		return "", parsingErr("[%s] query failed to parse [%s] as a string", query, key)
	}
	return s, nil
}

// scalar reports whether v is a JSON scalar usable as a term.
func scalar(v any) bool {
	switch v.(type) {
	case string, json.Number, bool, float64, int, int64:
		return true
	}
	return false
}
