package query

import (
	"strconv"
	"strings"
)

// Parsing of the compound queries (bool, constant_score, dis_max) and of
// minimum_should_match.

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
