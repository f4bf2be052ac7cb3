package query

import (
	"math"
	"strings"
)

// sortField is one entry of the request's sort.
type sortField struct {
	field        string // a field, "_score", "_doc" or "_shard_doc"
	desc         bool
	missing      any // "_last" (default), "_first" or a value
	unmappedType string
	mode         string // min, max, sum, avg; "" picks min (asc) or max (desc)
}

func (f sortField) missingFirst() bool { return f.missing == "_first" }

// parseSort parses the body's sort: a string, an object or an array of them.
func parseSort(v any) ([]sortField, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case string, map[string]any:
		raw = []any{x}
	default:
		return nil, parsingErr("[sort] must be a string, an object or an array")
	}
	out := make([]sortField, 0, len(raw))
	for _, r := range raw {
		switch x := r.(type) {
		case string:
			out = append(out, newSortField(x, ""))
		case map[string]any:
			for _, k := range sortedKeys(x) {
				f, err := parseSortObject(k, x[k])
				if err != nil {
					return nil, err
				}
				out = append(out, f)
			}
		default:
			return nil, parsingErr("[sort] entries must be strings or objects")
		}
	}
	return out, nil
}

func newSortField(field, order string) sortField {
	f := sortField{field: field, missing: "_last", desc: field == "_score"}
	switch order {
	case "asc":
		f.desc = false
	case "desc":
		f.desc = true
	}
	return f
}

func parseOrder(v any) (string, error) {
	s, _ := v.(string)
	switch strings.ToLower(s) {
	case "asc", "desc":
		return strings.ToLower(s), nil
	}
	return "", illegalArg("No enum constant org.elasticsearch.search.sort.SortOrder.%s", strings.ToUpper(s))
}

func parseSortObject(field string, v any) (sortField, error) {
	if s, ok := v.(string); ok {
		order, err := parseOrder(s)
		if err != nil {
			return sortField{}, err
		}
		return newSortField(field, order), nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return sortField{}, parsingErr("[sort] malformed entry for [%s]", field)
	}
	f := newSortField(field, "")
	for _, k := range sortedKeys(m) {
		switch k {
		case "order":
			order, err := parseOrder(m[k])
			if err != nil {
				return sortField{}, err
			}
			f.desc = order == "desc"
		case "missing":
			if m[k] == nil || !scalar(m[k]) {
				return sortField{}, parsingErr("[field_sort] [missing] must be a value")
			}
			f.missing = m[k]
		case "unmapped_type":
			s, err := stringParam("field_sort", k, m[k])
			if err != nil {
				return sortField{}, err
			}
			f.unmappedType = s
		case "mode":
			s, _ := m[k].(string)
			switch s {
			case "min", "max", "sum", "avg":
				f.mode = s
			default:
				return sortField{}, illegalArg("Unknown SortMode [%v]", m[k])
			}
		default:
			return sortField{}, parsingErr("[field_sort] unknown field [%s]", k)
		}
	}
	return f, nil
}

// parseSortParam parses the URL form "f:asc,g,_score".
func parseSortParam(p string) ([]sortField, error) {
	var out []sortField
	for _, part := range strings.Split(p, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		field, order, _ := strings.Cut(part, ":")
		if order != "" {
			o, err := parseOrder(order)
			if err != nil {
				return nil, err
			}
			order = o
		}
		out = append(out, newSortField(field, order))
	}
	return out, nil
}

// sortValue is one hit's value for one sort field: a number (integral or
// not), a string, or missing (keywords only: numbers use sentinels).
type sortValue struct {
	n       num
	s       string
	isStr   bool
	missing bool
}

// boundSort is a sort field resolved against one target.
type boundSort struct {
	sortField
	typ string // "_score", "_doc", "_shard_doc", "keyword" or a numeric/date/boolean type
	f   *fieldIndex
}

// bindSort resolves the sort against a target. A field unmapped here but
// in mappedElsewhere sorts as missing.
func bindSort(s *searcher, fields []sortField, mappedElsewhere map[string]bool) ([]boundSort, error) {
	out := make([]boundSort, len(fields))
	for j, f := range fields {
		b := boundSort{sortField: f}
		switch f.field {
		case "_score", "_doc", "_shard_doc":
			b.typ = f.field
			out[j] = b
			continue
		case "_id":
			return nil, shardFailure(illegalArg("Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled"))
		}
		typ, ok := s.fieldType(f.field)
		switch {
		case !ok && f.unmappedType != "":
			typ = f.unmappedType
		case !ok && mappedElsewhere[f.field]:
			typ = "keyword"
		case !ok || typ == "object" || typ == "nested":
			return nil, shardFailure(badRequest("query_shard_exception", "No mapping found for [%s] in order to sort on", f.field))
		case typ == "text":
			return nil, shardFailure(illegalArg("Fielddata is disabled on [%s] in [%s]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. Note that this can use significant memory.", f.field, s.t.Index, f.field))
		}
		if typ != "keyword" && !isNumeric(typ) && typ != "date" && typ != "date_nanos" && typ != "boolean" {
			typ = "keyword" // ip, constant_keyword, wildcard...: sort as strings
		}
		b.typ = typ
		if ok {
			b.f = s.field(f.field)
		}
		out[j] = b
	}
	return out, nil
}

// floatSort reports whether the sort type renders as a double.
func floatSort(typ string) bool { return isNumeric(typ) && !isIntegral(typ) }

// value computes the sort value of doc i (target ti) with score sc.
func (b boundSort) value(s *searcher, ti, i int, sc float64) (sortValue, error) {
	switch b.typ {
	case "_score":
		return sortValue{n: num{f: float64(float32(sc))}}, nil
	case "_doc":
		return sortValue{n: num{i: int64(i), isInt: true}}, nil
	case "_shard_doc":
		return sortValue{n: num{i: int64(ti)<<32 | int64(i), isInt: true}}, nil
	}
	var vals []any
	if b.f != nil {
		vals = b.f.vals[i]
	}
	if b.typ == "keyword" {
		var best *string
		for _, v := range vals {
			sv, ok := stringOf(v)
			if !ok {
				continue
			}
			if best == nil || (b.pickMax() && sv > *best) || (!b.pickMax() && sv < *best) {
				best = &sv
			}
		}
		if best != nil {
			return sortValue{s: *best, isStr: true}, nil
		}
		if b.missing == "_last" || b.missing == "_first" {
			return sortValue{missing: true, isStr: true}, nil
		}
		sv, _ := stringOf(b.missing)
		return sortValue{s: sv, isStr: true}, nil
	}
	conv, err := valueConverter(s, b.field, b.typ)
	if err != nil {
		return sortValue{}, err
	}
	var acc []num
	for _, v := range vals {
		if n, err := conv(v, false); err == nil {
			acc = append(acc, n)
		}
	}
	if len(acc) == 0 {
		return b.missingNum(conv)
	}
	return sortValue{n: b.reduce(acc)}, nil
}

func (b boundSort) pickMax() bool {
	if b.mode != "" {
		return b.mode == "max"
	}
	return b.desc
}

func (b boundSort) reduce(acc []num) num {
	switch b.mode {
	case "sum", "avg":
		sum := 0.0
		isInt := true
		var isum int64
		for _, n := range acc {
			sum += n.float()
			isum += n.i
			isInt = isInt && n.isInt
		}
		if b.mode == "avg" {
			return b.conform(num{f: sum / float64(len(acc))})
		}
		if isInt {
			return num{i: isum, isInt: true}
		}
		return num{f: sum}
	}
	best := acc[0]
	for _, n := range acc[1:] {
		if c := cmpNum(n, best); (b.pickMax() && c > 0) || (!b.pickMax() && c < 0) {
			best = n
		}
	}
	return b.conform(best)
}

// conform gives a value the representation of the field type: integral
// types sort as longs, the others as doubles.
func (b boundSort) conform(n num) num {
	if floatSort(b.typ) {
		return num{f: n.float()}
	}
	if !n.isInt {
		return num{i: int64(n.f), isInt: true}
	}
	return n
}

// missingNum substitutes ES's sentinels for a doc without a value: the
// largest value when missing sorts last in ascending order (or first in
// descending order), the smallest otherwise; or the "missing" value.
func (b boundSort) missingNum(conv func(any, bool) (num, error)) (sortValue, error) {
	if b.missing != "_last" && b.missing != "_first" {
		n, err := conv(b.missing, false)
		if err != nil {
			return sortValue{}, err
		}
		return sortValue{n: b.conform(n)}, nil
	}
	high := b.missingFirst() == b.desc
	if floatSort(b.typ) {
		if high {
			return sortValue{n: num{f: math.Inf(1)}}, nil
		}
		return sortValue{n: num{f: math.Inf(-1)}}, nil
	}
	if high {
		return sortValue{n: num{i: math.MaxInt64, isInt: true}}, nil
	}
	return sortValue{n: num{i: math.MinInt64, isInt: true}}, nil
}

// compare orders two values of this sort field (descending flips numbers
// and strings; a missing keyword goes last or first in both directions).
func (b boundSort) compare(x, y sortValue) int {
	if x.missing || y.missing {
		switch {
		case x.missing && y.missing:
			return 0
		case x.missing == b.missingFirst():
			return -1
		default:
			return 1
		}
	}
	var c int
	if x.isStr || y.isStr {
		c = strings.Compare(x.s, y.s)
	} else {
		c = cmpNum(x.n, y.n)
	}
	if b.desc {
		c = -c
	}
	return c
}

// afterValue converts a search_after value for this sort field.
func (b boundSort) afterValue(s *searcher, v any) (sortValue, error) {
	switch {
	case b.typ == "keyword":
		if v == nil {
			return sortValue{missing: true, isStr: true}, nil
		}
		sv, ok := stringOf(v)
		if !ok {
			return sortValue{}, b.afterErr(v)
		}
		return sortValue{s: sv, isStr: true}, nil
	case b.typ == "_score" || floatSort(b.typ):
		if str, ok := v.(string); ok {
			switch str {
			case "Infinity":
				return sortValue{n: num{f: math.Inf(1)}}, nil
			case "-Infinity":
				return sortValue{n: num{f: math.Inf(-1)}}, nil
			}
		}
		n, ok := toNum(v)
		if !ok {
			return sortValue{}, b.afterErr(v)
		}
		return sortValue{n: num{f: n.float()}}, nil
	case b.typ == "_doc" || b.typ == "_shard_doc":
		n, ok := toNum(v)
		if !ok || !n.isInt {
			return sortValue{}, b.afterErr(v)
		}
		return sortValue{n: n}, nil
	}
	conv, err := valueConverter(s, b.field, b.typ)
	if err != nil {
		return sortValue{}, err
	}
	if v == nil {
		return b.missingNum(conv)
	}
	n, err := conv(v, false)
	if err != nil {
		return sortValue{}, b.afterErr(v)
	}
	return sortValue{n: b.conform(n)}, nil
}

func (b boundSort) afterErr(v any) error {
	return shardFailure(illegalArg("Failed to parse search_after value for field [%s].", b.field))
}

// render returns the JSON value ES shows in a hit's sort array.
func (v sortValue) render() any {
	switch {
	case v.missing:
		return nil
	case v.isStr:
		return v.s
	case v.n.isInt:
		return v.n.i
	case math.IsInf(v.n.f, 1):
		return "Infinity"
	case math.IsInf(v.n.f, -1):
		return "-Infinity"
	}
	return v.n.f
}
