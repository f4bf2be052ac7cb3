package query

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
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

func parseTerm(body any) (node, error) {
	field, val, err := singleField("term", body)
	if err != nil {
		return nil, err
	}
	q := termQ{field: field, boost: 1}
	if m, ok := val.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			switch k {
			case "value":
				q.value = m[k]
			case "boost":
				if q.boost, err = floatParam("term", k, m[k]); err != nil {
					return nil, err
				}
			case "case_insensitive":
				if q.ci, err = boolParam("term", k, m[k]); err != nil {
					return nil, err
				}
			case "_name":
			default:
				return nil, parsingErr("[term] query does not support [%s]", k)
			}
		}
	} else {
		q.value = val
	}
	if q.value == nil {
		return nil, illegalArg("value cannot be null")
	}
	if !scalar(q.value) {
		return nil, parsingErr("[term] query does not support array of values")
	}
	return q, nil
}

func parseTerms(body any) (node, error) {
	m, err := objectOf("terms", body)
	if err != nil {
		return nil, err
	}
	q := termsQ{boost: 1}
	for _, k := range sortedKeys(m) {
		switch k {
		case "boost":
			if q.boost, err = floatParam("terms", k, m[k]); err != nil {
				return nil, err
			}
			continue
		case "_name":
			continue
		}
		if q.field != "" {
			return nil, parsingErr("[terms] query does not support multiple fields")
		}
		arr, ok := m[k].([]any)
		if !ok {
			if _, lookup := m[k].(map[string]any); lookup {
				return nil, parsingErr("[terms] lookup is not supported by estest")
			}
			return nil, parsingErr("[terms] query does not support [%s]", k)
		}
		for _, v := range arr {
			if v == nil || !scalar(v) {
				return nil, parsingErr("[terms] query does not support null or non-scalar values")
			}
		}
		q.field, q.values = k, arr
	}
	if q.field == "" {
		return nil, parsingErr("[terms] query requires a field")
	}
	return q, nil
}

func parseRange(body any) (node, error) {
	field, val, err := singleField("range", body)
	if err != nil {
		return nil, err
	}
	m, ok := val.(map[string]any)
	if !ok {
		return nil, parsingErr("[range] query malformed, no start_object after query name")
	}
	q := rangeQ{field: field, boost: 1}
	inclLower, inclUpper := true, true
	var from, to any
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "gt":
			q.gt = v
		case "gte":
			q.gte = v
		case "lt":
			q.lt = v
		case "lte":
			q.lte = v
		case "from":
			from = v
		case "to":
			to = v
		case "include_lower":
			if inclLower, err = boolParam("range", k, v); err != nil {
				return nil, err
			}
		case "include_upper":
			if inclUpper, err = boolParam("range", k, v); err != nil {
				return nil, err
			}
		case "format":
			if q.format, err = stringParam("range", k, v); err != nil {
				return nil, err
			}
		case "time_zone":
			s, err := stringParam("range", k, v)
			if err != nil {
				return nil, err
			}
			if q.loc, err = parseZone(s); err != nil {
				return nil, parsingErr("[range] query failed to parse [time_zone]: [%s]", s)
			}
		case "boost":
			if q.boost, err = floatParam("range", k, v); err != nil {
				return nil, err
			}
		case "relation":
			if s, _ := v.(string); !strings.EqualFold(s, "intersects") {
				return nil, parsingErr("[range] query [relation] [%v] is not supported by estest", v)
			}
		case "_name":
		default:
			return nil, parsingErr("[range] query does not support [%s]", k)
		}
	}
	if from != nil {
		if inclLower {
			q.gte = from
		} else {
			q.gt = from
		}
	}
	if to != nil {
		if inclUpper {
			q.lte = to
		} else {
			q.lt = to
		}
	}
	for _, b := range []any{q.gt, q.gte, q.lt, q.lte} {
		if b != nil && !scalar(b) {
			return nil, parsingErr("[range] query bounds must be values")
		}
	}
	return q, nil
}

func parseExists(body any) (node, error) {
	m, err := objectOf("exists", body)
	if err != nil {
		return nil, err
	}
	q := existsQ{boost: 1}
	for _, k := range sortedKeys(m) {
		switch k {
		case "field":
			if q.field, err = stringParam("exists", k, m[k]); err != nil {
				return nil, err
			}
		case "boost":
			if q.boost, err = floatParam("exists", k, m[k]); err != nil {
				return nil, err
			}
		case "_name":
		default:
			return nil, parsingErr("[exists] query does not support [%s]", k)
		}
	}
	if q.field == "" {
		return nil, parsingErr("[exists] must be provided with a [field]")
	}
	return q, nil
}

func parseIDs(body any) (node, error) {
	m, err := objectOf("ids", body)
	if err != nil {
		return nil, err
	}
	q := idsQ{boost: 1, ids: map[string]bool{}}
	for _, k := range sortedKeys(m) {
		switch k {
		case "values":
			arr, ok := m[k].([]any)
			if !ok {
				return nil, parsingErr("[ids] query [values] must be an array")
			}
			for _, v := range arr {
				s, ok := stringOf(v)
				if !ok {
					return nil, parsingErr("[ids] query values must be strings")
				}
				q.ids[s] = true
			}
		case "boost":
			if q.boost, err = floatParam("ids", k, m[k]); err != nil {
				return nil, err
			}
		case "_name":
		default:
			return nil, parsingErr("[ids] query does not support [%s]", k)
		}
	}
	return q, nil
}

// parsePrefix parses prefix and wildcard queries, which share a shape.
func parsePrefix(name string, body any) (node, error) {
	field, val, err := singleField(name, body)
	if err != nil {
		return nil, err
	}
	q := prefixQ{field: field, boost: 1, wildcard: name == "wildcard"}
	if m, ok := val.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			switch k {
			case "value", "wildcard":
				if q.value, err = stringParam(name, k, m[k]); err != nil {
					return nil, err
				}
			case "boost":
				if q.boost, err = floatParam(name, k, m[k]); err != nil {
					return nil, err
				}
			case "case_insensitive":
				if q.ci, err = boolParam(name, k, m[k]); err != nil {
					return nil, err
				}
			case "rewrite", "_name":
			default:
				return nil, parsingErr("[%s] query does not support [%s]", name, k)
			}
		}
	} else if q.value, err = stringParam(name, "value", val); err != nil {
		return nil, err
	}
	return q, nil
}

// parseClauses parses a bool clause: one query object or an array of them.
// Empty objects are skipped, as ES does.
func parseClauses(v any) ([]node, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case map[string]any:
		raw = []any{x}
	default:
		return nil, parsingErr("[bool] query malformed, clauses must be objects or arrays")
	}
	var out []node
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok && len(m) == 0 {
			continue
		}
		q, err := parseQuery(r)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func parseBool(body any) (node, error) {
	m, err := objectOf("bool", body)
	if err != nil {
		return nil, err
	}
	q := boolQ{boost: 1}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "must":
			q.must, err = parseClauses(v)
		case "should":
			q.should, err = parseClauses(v)
		case "filter":
			q.filter, err = parseClauses(v)
		case "must_not", "mustNot":
			q.mustNot, err = parseClauses(v)
		case "minimum_should_match", "minimumShouldMatch":
			if q.msm, err = stringParam("bool", k, v); err == nil {
				_, err = minShouldMatch(q.msm, 1)
			}
		case "boost":
			q.boost, err = floatParam("bool", k, v)
		case "adjust_pure_negative", "_name":
		default:
			return nil, parsingErr("[bool] query does not support [%s]", k)
		}
		if err != nil {
			return nil, err
		}
	}
	return q, nil
}

func parseConstantScore(body any) (node, error) {
	m, err := objectOf("constant_score", body)
	if err != nil {
		return nil, err
	}
	q := constantScoreQ{boost: 1}
	for _, k := range sortedKeys(m) {
		switch k {
		case "filter":
			q.filter, err = parseQuery(m[k])
		case "boost":
			q.boost, err = floatParam("constant_score", k, m[k])
		case "_name":
		default:
			return nil, parsingErr("[constant_score] query does not support [%s]", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if q.filter == nil {
		return nil, parsingErr("[constant_score] requires a 'filter' element")
	}
	return q, nil
}

func parseDisMax(body any) (node, error) {
	m, err := objectOf("dis_max", body)
	if err != nil {
		return nil, err
	}
	q := disMaxQ{boost: 1}
	for _, k := range sortedKeys(m) {
		switch k {
		case "queries":
			q.queries, err = parseClauses(m[k])
		case "tie_breaker":
			q.tie, err = floatParam("dis_max", k, m[k])
		case "boost":
			q.boost, err = floatParam("dis_max", k, m[k])
		case "_name":
		default:
			return nil, parsingErr("[dis_max] query does not support [%s]", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(q.queries) == 0 {
		return nil, parsingErr("[dis_max] requires 'queries' field with at least one clause")
	}
	return q, nil
}

// minShouldMatch resolves a minimum_should_match spec ("2", "-1", "75%",
// "-25%", "3<90%", "2<-25% 9<-3") against n optional clauses.
func minShouldMatch(spec string, n int) (int, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return 0, nil
	}
	if strings.Contains(spec, "<") {
		result := n // at or below the lowest threshold every clause is required
		for _, part := range strings.Fields(spec) {
			th, rest, ok := strings.Cut(part, "<")
			t, err := strconv.Atoi(th)
			if !ok || err != nil {
				return 0, illegalArg("Invalid minimum_should_match spec [%s]", spec)
			}
			v, err := minShouldMatch(rest, n)
			if err != nil {
				return 0, err
			}
			if n > t {
				result = v
			}
		}
		return result, nil
	}
	var v int
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil {
			return 0, illegalArg("Invalid minimum_should_match spec [%s]", spec)
		}
		v = n * pct / 100 // truncates toward zero, as ES does
		if pct < 0 {
			v = n + v
		}
	} else {
		i, err := strconv.Atoi(spec)
		if err != nil {
			return 0, illegalArg("Invalid minimum_should_match spec [%s]", spec)
		}
		v = i
		if i < 0 {
			v = n + i
		}
	}
	return max(v, 0), nil
}
