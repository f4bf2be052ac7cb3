package query

import (
	"strconv"
	"strings"
)

// parseMatch parses match and match_phrase, short ({"f": "text"}) or long
// ({"f": {"query": "text", ...}}).
func parseMatch(name string, body any) (node, error) {
	field, val, err := singleField(name, body)
	if err != nil {
		return nil, err
	}
	q := matchQ{field: field, boost: 1, phrase: name == "match_phrase"}
	m, long := val.(map[string]any)
	if !long {
		q.query = val
		return q, checkMatchValue(name, q.query)
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch {
		case k == "query":
			q.query = v
		case k == "boost":
			q.boost, err = floatParam(name, k, v)
		case k == "operator" && !q.phrase:
			q.and, err = parseOperator(name, v)
		case k == "minimum_should_match" && !q.phrase:
			if q.msm, err = stringParam(name, k, v); err == nil {
				_, err = minShouldMatch(q.msm, 1)
			}
		case k == "zero_terms_query":
			var s string
			if s, err = stringParam(name, k, v); err == nil {
				switch strings.ToLower(s) {
				case "none":
				case "all":
					q.zeroAll = true
				default:
					err = parsingErr("[%s] query unsupported zero_terms_query value [%s]", name, s)
				}
			}
		case k == "lenient":
			q.lenient, err = boolParam(name, k, v)
		case k == "slop" && q.phrase:
			q.slop, err = intParam(name, k, v)
		case k == "analyzer":
			var s string
			if s, err = stringParam(name, k, v); err == nil && s != "standard" && s != "default" && s != "keyword" {
				err = parsingErr("[%s] analyzer [%s] is not supported by estest", name, s)
			}
			q.keywordAnalyzer = s == "keyword"
		case k == "auto_generate_synonyms_phrase_query", k == "_name":
		case k == "fuzziness", k == "prefix_length", k == "max_expansions", k == "fuzzy_transpositions", k == "fuzzy_rewrite", k == "cutoff_frequency":
			return nil, parsingErr("[%s] query parameter [%s] is not supported by estest", name, k)
		default:
			return nil, parsingErr("[%s] query does not support [%s]", name, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return q, checkMatchValue(name, q.query)
}

func checkMatchValue(name string, v any) error {
	if v == nil {
		return illegalArg("[%s] requires query value", name)
	}
	if !scalar(v) {
		return parsingErr("[%s] unknown token [START_OBJECT] after [query]", name)
	}
	return nil
}

func parseOperator(name string, v any) (bool, error) {
	s, _ := v.(string)
	switch strings.ToLower(s) {
	case "or":
		return false, nil
	case "and":
		return true, nil
	}
	return false, illegalArg("No enum constant org.elasticsearch.index.query.Operator.%s", strings.ToUpper(s))
}

// parseFieldList parses ["title^2", "body"] into fields and boosts.
func parseFieldList(name string, v any) ([]fieldBoost, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case string:
		raw = []any{x}
	default:
		return nil, parsingErr("[%s] query [fields] must be an array of strings", name)
	}
	var out []fieldBoost
	for _, r := range raw {
		s, ok := r.(string)
		if !ok {
			return nil, parsingErr("[%s] query [fields] must be an array of strings", name)
		}
		fb := fieldBoost{field: s, boost: 1}
		if f, b, ok := strings.Cut(s, "^"); ok {
			bf, err := strconv.ParseFloat(b, 64)
			if err != nil {
				return nil, parsingErr("[%s] query failed to parse boost of field [%s]", name, s)
			}
			fb = fieldBoost{field: f, boost: bf}
		}
		if fb.field != "*" && strings.ContainsAny(fb.field, "*?") {
			return nil, parsingErr("[%s] wildcard field names [%s] are not supported by estest", name, fb.field)
		}
		out = append(out, fb)
	}
	return out, nil
}

func parseMultiMatch(body any) (node, error) {
	const name = "multi_match"
	m, err := objectOf(name, body)
	if err != nil {
		return nil, err
	}
	q := multiMatchQ{boost: 1, typ: "best_fields"}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "query":
			q.query = v
		case "fields":
			q.fields, err = parseFieldList(name, v)
		case "type":
			var s string
			if s, err = stringParam(name, k, v); err == nil {
				switch s {
				case "best_fields", "most_fields", "phrase":
					q.typ = s
				case "cross_fields", "phrase_prefix", "bool_prefix":
					err = parsingErr("[%s] query type [%s] is not supported by estest", name, s)
				default:
					err = parsingErr("[%s] query does not support type %s", name, s)
				}
			}
		case "operator":
			q.and, err = parseOperator(name, v)
		case "minimum_should_match":
			if q.msm, err = stringParam(name, k, v); err == nil {
				_, err = minShouldMatch(q.msm, 1)
			}
		case "tie_breaker":
			q.tie, err = floatParam(name, k, v)
		case "boost":
			q.boost, err = floatParam(name, k, v)
		case "lenient":
			q.lenient, err = boolParam(name, k, v)
		case "slop":
			q.slop, err = intParam(name, k, v)
		case "zero_terms_query", "analyzer", "auto_generate_synonyms_phrase_query", "_name":
		case "fuzziness", "prefix_length", "max_expansions":
			return nil, parsingErr("[%s] query parameter [%s] is not supported by estest", name, k)
		default:
			return nil, parsingErr("[%s] query does not support [%s]", name, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := checkMatchValue(name, q.query); err != nil {
		return nil, err
	}
	return q, nil
}

func parseQueryStringQuery(body any) (node, error) {
	const name = "query_string"
	m, err := objectOf(name, body)
	if err != nil {
		return nil, err
	}
	var text string
	var fields []fieldBoost
	and, lenient, haveQuery := false, false, false
	boost := 1.0
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "query":
			text, err = stringParam(name, k, v)
			haveQuery = true
		case "default_field":
			var s string
			if s, err = stringParam(name, k, v); err == nil {
				fields, err = parseFieldList(name, s)
			}
		case "fields":
			fields, err = parseFieldList(name, v)
		case "default_operator":
			and, err = parseOperator(name, v)
		case "lenient":
			lenient, err = boolParam(name, k, v)
		case "boost":
			boost, err = floatParam(name, k, v)
		case "analyze_wildcard", "allow_leading_wildcard", "analyzer", "_name", "auto_generate_synonyms_phrase_query":
		default:
			return nil, parsingErr("[%s] query does not support [%s]", name, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveQuery {
		return nil, parsingErr("[%s] must be provided with a [query]", name)
	}
	q, err := parseQueryString(text, fields, and, lenient)
	if err != nil {
		return nil, err
	}
	if boost != 1 {
		q = boolQ{must: []node{q}, boost: boost}
	}
	return q, nil
}
