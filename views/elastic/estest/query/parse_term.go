package query

import "strings"

// Parsing of the term-level queries: term, terms, range, exists, ids,
// prefix and wildcard.

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
