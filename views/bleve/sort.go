package bleve

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/b2dc4357/sourced/views"
)

// sortKind is how one sort key's values are encoded.
type sortKind uint8

const (
	sortScore sortKind = iota
	sortID
	sortString
	sortLong
	sortDouble
	sortDate
	sortBool
)

// sortKey is one sort key of a search.
type sortKey struct {
	field string
	desc  bool
	kind  sortKind
}

// sortPlan is the sort of a search: the keys bleve sorts by, and how their
// values go to Hit.Sort and come back as After.
type sortPlan []sortKey

// newSortPlan checks the requested sort against the mappings. No sort means
// relevance, then id. Sorting on a text field or an unmapped one is an
// error, as in Elasticsearch.
func newSortPlan(ixs []*index, fields []views.SortField) (sortPlan, error) {
	if len(fields) == 0 {
		return sortPlan{{field: "_score", desc: true, kind: sortScore}, {field: "_id", kind: sortID}}, nil
	}
	plan := make(sortPlan, 0, len(fields))
	for _, f := range fields {
		k := sortKey{field: f.Field, desc: f.Desc}
		switch f.Field {
		case "_score":
			k.kind = sortScore
		case "_id":
			k.kind = sortID
		default:
			typ, ok := fieldType(ixs, f.Field)
			if !ok {
				return nil, fmt.Errorf("no mapping found for [%s] in order to sort on", f.Field)
			}
			switch typ {
			case views.Keyword:
				k.kind = sortString
			case views.Long:
				k.kind = sortLong
			case views.Double:
				k.kind = sortDouble
			case views.Date:
				k.kind = sortDate
			case views.Boolean:
				k.kind = sortBool
			default:
				return nil, fmt.Errorf("cannot sort on [%s] of type [%s]: use a keyword field", f.Field, typ)
			}
		}
		plan = append(plan, k)
	}
	return plan, nil
}

// order is the bleve sort order. A multi-valued field sorts by its smallest
// value ascending and its largest descending, and documents without a value
// sort last, as in Elasticsearch. Number and date keys are compared as the
// raw prefix-coded terms (SortFieldAuto), so that After can name a missing
// value; values decides how they read.
func (p sortPlan) order() search.SortOrder {
	out := make(search.SortOrder, len(p))
	for i, k := range p {
		switch k.kind {
		case sortScore:
			out[i] = &search.SortScore{Desc: k.desc}
		case sortID:
			out[i] = &search.SortDocID{Desc: k.desc}
		default:
			sf := &search.SortField{Field: k.field, Desc: k.desc, Mode: search.SortFieldMin, Missing: search.SortFieldMissingLast}
			if k.desc {
				sf.Mode = search.SortFieldMax
			}
			if k.kind == sortString || k.kind == sortBool {
				sf.Type = search.SortFieldAsString
			}
			out[i] = sf
		}
	}
	return out
}

// missing is the sort term bleve gives a document without a value.
func (k sortKey) missing() string {
	if k.desc {
		return search.LowTerm
	}
	return search.HighTerm
}

// values decodes a hit's sort values: float64 scores, string ids and
// keywords, int64 longs, float64 doubles, int64 epoch milliseconds for
// dates (Elasticsearch's sort values), bools, and nil for a missing value.
func (p sortPlan) values(h *search.DocumentMatch) []any {
	out := make([]any, len(p))
	for i, k := range p {
		if k.kind == sortScore {
			out[i] = h.Score
			continue
		}
		if i >= len(h.Sort) {
			break
		}
		v := h.Sort[i]
		if k.kind != sortID && (v == search.HighTerm || v == search.LowTerm) {
			continue // nil: no value
		}
		switch k.kind {
		case sortID, sortString:
			out[i] = v
		case sortBool:
			out[i] = v == "T"
		case sortLong, sortDouble, sortDate:
			n, err := numeric.PrefixCoded(v).Int64()
			if err != nil {
				out[i] = v // not from this package's fields
				continue
			}
			switch k.kind {
			case sortLong:
				out[i] = int64(numeric.Int64ToFloat64(n))
			case sortDouble:
				out[i] = numeric.Int64ToFloat64(n)
			default:
				out[i] = time.Unix(0, n).UnixMilli()
			}
		}
	}
	return out
}

// after encodes After values (a previous hit's Sort, possibly through JSON)
// as bleve's SearchAfter terms.
func (p sortPlan) after(vals []any) ([]string, error) {
	if len(vals) != len(p) {
		return nil, fmt.Errorf("search after has %d value(s) but sort has %d", len(vals), len(p))
	}
	out := make([]string, len(p))
	for i, k := range p {
		v := vals[i]
		bad := func() error {
			return fmt.Errorf("search after value %v (%T) does not fit sort key [%s]", v, v, k.field)
		}
		if v == nil {
			if k.kind == sortScore || k.kind == sortID {
				return nil, bad()
			}
			out[i] = k.missing()
			continue
		}
		switch k.kind {
		case sortScore:
			x, ok := toNumber(v)
			if !ok {
				return nil, bad()
			}
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		case sortID, sortString:
			s, ok := toTerm(v)
			if !ok {
				return nil, bad()
			}
			out[i] = s
		case sortBool:
			b, ok := toBool(v)
			if !ok {
				return nil, bad()
			}
			out[i] = "F"
			if b {
				out[i] = "T"
			}
		case sortLong, sortDouble:
			x, ok := toNumber(v)
			if !ok || math.IsNaN(x) {
				return nil, bad()
			}
			out[i] = string(numeric.MustNewPrefixCodedInt64(numeric.Float64ToInt64(x), 0))
		case sortDate:
			t, _, err := parseDateValue(v)
			if err != nil {
				return nil, bad()
			}
			out[i] = string(numeric.MustNewPrefixCodedInt64(t.UnixNano(), 0))
		}
	}
	return out, nil
}
