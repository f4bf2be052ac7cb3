package query

import (
	"path"
	"strings"
	"time"
)

// Term-level queries: the value is not analysed and compared with the
// indexed values according to the field's mapped type.

type matchAllQ struct{ boost float64 }

func (q matchAllQ) bind(*searcher) (matcher, error) {
	return func(int) (float64, bool) { return q.boost, true }, nil
}

type matchNoneQ struct{}

func (matchNoneQ) bind(*searcher) (matcher, error) { return never, nil }

func never(int) (float64, bool) { return 0, false }

type termQ struct {
	field string
	value any
	boost float64
	ci    bool
}

func (q termQ) bind(s *searcher) (matcher, error) {
	return bindTerms(s, q.field, []any{q.value}, q.boost, q.ci, false)
}

type termsQ struct {
	field  string
	values []any
	boost  float64
}

func (q termsQ) bind(s *searcher) (matcher, error) {
	m, err := bindTerms(s, q.field, q.values, q.boost, false, false)
	if err != nil {
		return nil, err
	}
	// terms is a constant-score query in ES
	return constant(m, q.boost), nil
}

func constant(m matcher, boost float64) matcher {
	return func(i int) (float64, bool) {
		_, ok := m(i)
		return boost, ok
	}
}

// bindTerms matches docs holding any of values in field. Text fields compare
// with the analysed tokens and keywords with whole values (both BM25
// scored); numbers, dates and booleans compare by value (constant score).
// lenient turns values that do not fit the field's type into no match.
func bindTerms(s *searcher, field string, values []any, boost float64, ci, lenient bool) (matcher, error) {
	typ, ok := s.fieldType(field)
	if !ok || typ == "object" || typ == "nested" {
		return never, nil
	}
	f := s.field(field)
	switch {
	case typ == "text":
		terms := make([]string, 0, len(values))
		for _, v := range values {
			str, _ := stringOf(v)
			terms = append(terms, str)
		}
		return func(i int) (float64, bool) {
			best, hit := 0.0, false
			for _, t := range terms {
				freq := 0
				for _, tok := range f.toks[i] {
					if tok.term == t || (ci && strings.EqualFold(tok.term, t)) {
						freq++
					}
				}
				if freq > 0 {
					hit = true
					best = max(best, s.bm25(f, t, freq, len(f.toks[i])))
				}
			}
			return best * boost, hit
		}, nil
	case typ == "keyword" || typ == "wildcard" || typ == "constant_keyword":
		terms := make([]string, 0, len(values))
		for _, v := range values {
			str, _ := stringOf(v)
			terms = append(terms, str)
		}
		return func(i int) (float64, bool) {
			for _, v := range f.vals[i] {
				sv, ok := stringOf(v)
				if !ok {
					continue
				}
				for _, t := range terms {
					if sv == t || (ci && strings.EqualFold(sv, t)) {
						return s.keywordScore(f, field, t) * boost, true
					}
				}
			}
			return 0, false
		}, nil
	}
	conv, err := valueConverter(s, field, typ)
	if err != nil {
		return nil, err
	}
	// Each value matches the range [conv(v, false), conv(v, true)]. For
	// numbers and booleans that is one value; on a date field ES runs a
	// term as rangeQuery(v, v, includeLower, includeUpper), the upper bound
	// rounded up, so a date without a time ("2026-11-01", "now/d") matches
	// its whole day.
	type span struct{ lo, hi num }
	want := make([]span, 0, len(values))
	for _, v := range values {
		lo, err := conv(v, false)
		if err == nil {
			var hi num
			if hi, err = conv(v, true); err == nil {
				want = append(want, span{lo, hi})
				continue
			}
		}
		if !lenient {
			return nil, err
		}
	}
	return func(i int) (float64, bool) {
		for _, v := range f.vals[i] {
			n, err := conv(v, false)
			if err != nil {
				continue
			}
			for _, w := range want {
				if cmpNum(n, w.lo) >= 0 && cmpNum(n, w.hi) <= 0 {
					return boost, true
				}
			}
		}
		return 0, false
	}, nil
}

// valueConverter returns how values of a numeric, date or boolean field
// convert to numbers; errors are ES's query_shard_exception.
func valueConverter(s *searcher, field, typ string) (func(v any, roundUp bool) (num, error), error) {
	return valueConverterFmt(s, field, typ, "", nil)
}

func valueConverterFmt(s *searcher, field, typ, format string, loc *time.Location) (func(v any, roundUp bool) (num, error), error) {
	switch {
	case isNumeric(typ):
		return func(v any, _ bool) (num, error) {
			n, ok := fieldNum(typ, v)
			if !ok {
				str, _ := stringOf(v)
				return num{}, queryShardErr(badRequest("number_format_exception", "For input string: \"%s\"", str),
					"failed to create query: For input string: \"%s\"", str)
			}
			return n, nil
		}, nil
	case typ == "date" || typ == "date_nanos":
		return func(v any, roundUp bool) (num, error) {
			ms, err := dateMillis(v, format, loc, s.now, roundUp)
			if err != nil {
				return num{}, queryShardErr(badRequest("parse_exception", "%s", err.Error()),
					"failed to create query: %s", err.Error())
			}
			return num{i: ms, isInt: true}, nil
		}, nil
	case typ == "boolean":
		return func(v any, _ bool) (num, error) {
			b, ok := toBool(v)
			if !ok {
				str, _ := stringOf(v)
				return num{}, queryShardErr(illegalArg("Failed to parse value [%s] as only [true] or [false] are allowed.", str),
					"failed to create query: Failed to parse value [%s] as only [true] or [false] are allowed.", str)
			}
			if b {
				return num{i: 1, isInt: true}, nil
			}
			return num{i: 0, isInt: true}, nil
		}, nil
	}
	return nil, queryShardErr(illegalArg("Field [%s] of type [%s] does not support this query", field, typ),
		"failed to create query: Field [%s] of type [%s] does not support this query", field, typ)
}

type rangeQ struct {
	field            string
	gt, gte, lt, lte any
	format           string
	loc              *time.Location
	boost            float64
}

func (q rangeQ) bind(s *searcher) (matcher, error) {
	typ, ok := s.fieldType(q.field)
	if !ok || typ == "object" {
		return never, nil
	}
	f := s.field(q.field)
	if typ == "keyword" || typ == "text" {
		var bounds [4]*string
		for j, b := range []any{q.gt, q.gte, q.lt, q.lte} {
			if b != nil {
				str, _ := stringOf(b)
				bounds[j] = &str
			}
		}
		in := func(v string) bool {
			return (bounds[0] == nil || v > *bounds[0]) && (bounds[1] == nil || v >= *bounds[1]) &&
				(bounds[2] == nil || v < *bounds[2]) && (bounds[3] == nil || v <= *bounds[3])
		}
		return func(i int) (float64, bool) {
			if typ == "text" {
				for _, t := range f.toks[i] {
					if in(t.term) {
						return q.boost, true
					}
				}
				return 0, false
			}
			for _, v := range f.vals[i] {
				if sv, ok := stringOf(v); ok && in(sv) {
					return q.boost, true
				}
			}
			return 0, false
		}, nil
	}
	conv, err := valueConverterFmt(s, q.field, typ, q.format, q.loc)
	if err != nil {
		return nil, err
	}
	var bounds [4]*num
	for j, b := range []any{q.gt, q.gte, q.lt, q.lte} {
		if b == nil {
			continue
		}
		n, err := conv(b, j == 0 || j == 3) // gt and lte round up
		if err != nil {
			return nil, err
		}
		bounds[j] = &n
	}
	docConv, _ := valueConverter(s, q.field, typ)
	return func(i int) (float64, bool) {
		for _, v := range f.vals[i] {
			n, err := docConv(v, false)
			if err != nil {
				continue
			}
			if (bounds[0] == nil || cmpNum(n, *bounds[0]) > 0) && (bounds[1] == nil || cmpNum(n, *bounds[1]) >= 0) &&
				(bounds[2] == nil || cmpNum(n, *bounds[2]) < 0) && (bounds[3] == nil || cmpNum(n, *bounds[3]) <= 0) {
				return q.boost, true
			}
		}
		return 0, false
	}, nil
}

type existsQ struct {
	field string
	boost float64
}

func (q existsQ) bind(s *searcher) (matcher, error) {
	typ, ok := s.fieldType(q.field)
	if !ok {
		return never, nil
	}
	f := s.field(q.field)
	return func(i int) (float64, bool) {
		for _, v := range f.vals[i] {
			if m, isObj := v.(map[string]any); isObj && typ == "object" && len(m) == 0 {
				continue
			}
			return q.boost, true
		}
		return 0, false
	}, nil
}

type idsQ struct {
	ids   map[string]bool
	boost float64
}

func (q idsQ) bind(s *searcher) (matcher, error) {
	return func(i int) (float64, bool) {
		return q.boost, q.ids[s.t.Docs[i].ID]
	}, nil
}

// prefixQ is prefix and wildcard (* and ?) on keyword and text fields.
type prefixQ struct {
	field    string
	value    string
	boost    float64
	ci       bool
	wildcard bool
}

func (q prefixQ) bind(s *searcher) (matcher, error) {
	typ, ok := s.fieldType(q.field)
	if !ok {
		return never, nil
	}
	if typ != "keyword" && typ != "text" && typ != "wildcard" && typ != "constant_keyword" {
		name := "prefix"
		if q.wildcard {
			name = "wildcard"
		}
		return nil, queryShardErr(illegalArg("Can only use %s queries on keyword and text fields - not on [%s] which is of type [%s]", name, q.field, typ),
			"failed to create query: Can only use %s queries on keyword and text fields - not on [%s] which is of type [%s]", name, q.field, typ)
	}
	want := q.value
	if q.ci {
		want = strings.ToLower(want)
	}
	test := func(v string) bool {
		if q.ci {
			v = strings.ToLower(v)
		}
		if q.wildcard {
			return globMatch(want, v)
		}
		return strings.HasPrefix(v, want)
	}
	f := s.field(q.field)
	return func(i int) (float64, bool) {
		if typ == "text" {
			for _, t := range f.toks[i] {
				if test(t.term) {
					return q.boost, true
				}
			}
			return 0, false
		}
		for _, v := range f.vals[i] {
			if sv, ok := stringOf(v); ok && test(sv) {
				return q.boost, true
			}
		}
		return 0, false
	}, nil
}

// globMatch matches * and ? wildcards; path.Match's other syntax ([...],
// backslash) is neutralised by escaping.
func globMatch(pattern, v string) bool {
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	// path.Match treats '/' as a separator that * cannot cross; map it away.
	p := strings.ReplaceAll(b.String(), "/", "\x00")
	ok, err := path.Match(p, strings.ReplaceAll(v, "/", "\x00"))
	return err == nil && ok
}

type constantScoreQ struct {
	filter node
	boost  float64
}

func (q constantScoreQ) bind(s *searcher) (matcher, error) {
	m, err := q.filter.bind(s)
	if err != nil {
		return nil, err
	}
	return constant(m, q.boost), nil
}
