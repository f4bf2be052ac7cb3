package query

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// searcher evaluates queries over one target. Field data (values, analysed
// tokens, BM25 statistics) is built lazily, once per field per search.
type searcher struct {
	t      Target
	now    time.Time
	fields map[string]*fieldIndex
	leaves [][]string // per doc: source leaf paths, for all-field queries
}

func newSearcher(t Target, now time.Time) *searcher {
	return &searcher{t: t, now: now, fields: map[string]*fieldIndex{}}
}

// fieldIndex is the per-field data of one target.
type fieldIndex struct {
	typ    string // mapped type, "" when unmapped
	vals   [][]any
	toks   [][]token // text fields only
	df     map[string]int
	docs   int // docs with at least one token
	avgLen float64
}

// fieldType returns the mapped type of path ("" and false when unmapped).
// The metadata fields _id and _index behave as keywords.
func (s *searcher) fieldType(path string) (string, bool) {
	switch path {
	case "_id", "_index":
		return "keyword", true
	}
	if s.t.Mapping == nil {
		return "", false
	}
	return s.t.Mapping.FieldType(path)
}

// field returns the field data of path.
func (s *searcher) field(path string) *fieldIndex {
	if f, ok := s.fields[path]; ok {
		return f
	}
	typ, _ := s.fieldType(path)
	f := &fieldIndex{typ: typ, vals: make([][]any, len(s.t.Docs))}
	for i, d := range s.t.Docs {
		f.vals[i] = s.docValues(d, path)
	}
	if typ == "text" {
		f.toks = make([][]token, len(s.t.Docs))
		f.df = map[string]int{}
		total := 0
		for i, v := range f.vals {
			toks := analyzeValues(v)
			f.toks[i] = toks
			if len(toks) == 0 {
				continue
			}
			f.docs++
			total += len(toks)
			seen := map[string]bool{}
			for _, t := range toks {
				if !seen[t.term] {
					seen[t.term] = true
					f.df[t.term]++
				}
			}
		}
		if f.docs > 0 {
			f.avgLen = float64(total) / float64(f.docs)
		}
	}
	s.fields[path] = f
	return f
}

// docValues returns the non-null values of path in d, flattening arrays.
// A multi-field ("name.keyword") reads its parent's values.
func (s *searcher) docValues(d *Doc, path string) []any {
	switch path {
	case "_id":
		return []any{d.ID}
	case "_index":
		return []any{d.Index}
	}
	var out []any
	extract(d.Source, path, &out)
	if len(out) == 0 {
		if i := strings.LastIndexByte(path, '.'); i > 0 {
			if pt, ok := s.fieldType(path[:i]); ok && pt != "object" {
				extract(d.Source, path[:i], &out)
			}
		}
	}
	return out
}

// extract appends the values at the dotted path of obj. Keys may themselves
// contain dots ({"a.b": 1} and {"a": {"b": 1}} are the same field in ES).
func extract(obj map[string]any, path string, out *[]any) {
	if v, ok := obj[path]; ok {
		appendLeaf(v, out)
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		sub, ok := obj[path[:i]]
		if !ok {
			continue
		}
		extractIn(sub, path[i+1:], out)
	}
}

func extractIn(v any, rest string, out *[]any) {
	switch x := v.(type) {
	case map[string]any:
		extract(x, rest, out)
	case []any:
		for _, e := range x {
			extractIn(e, rest, out)
		}
	}
}

func appendLeaf(v any, out *[]any) {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			appendLeaf(e, out)
		}
	default:
		*out = append(*out, x)
	}
}

// leafPaths returns the dotted paths of every leaf value in the source of
// doc i, sorted; used by queries over all fields (q=, query_string).
func (s *searcher) leafPaths(i int) []string {
	if s.leaves == nil {
		s.leaves = make([][]string, len(s.t.Docs))
	}
	if s.leaves[i] == nil {
		set := map[string]bool{}
		collectLeaves(s.t.Docs[i].Source, "", set)
		paths := make([]string, 0, len(set))
		for p := range set {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		s.leaves[i] = paths
	}
	return s.leaves[i]
}

func collectLeaves(v any, prefix string, set map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			collectLeaves(e, p, set)
		}
	case []any:
		for _, e := range x {
			collectLeaves(e, prefix, set)
		}
	case nil:
	default:
		if prefix != "" {
			set[prefix] = true
		}
	}
}

// stringOf returns the indexed string form of a scalar: strings as is,
// numbers in their JSON form, booleans as "true"/"false".
func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// isNumeric reports whether typ is a numeric field type.
func isNumeric(typ string) bool {
	switch typ {
	case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
		return true
	}
	return false
}

// isIntegral reports whether typ stores whole numbers.
func isIntegral(typ string) bool {
	switch typ {
	case "long", "integer", "short", "byte", "unsigned_long":
		return true
	}
	return false
}

// num is a numeric value: exact when isInt, else f.
type num struct {
	i     int64
	f     float64
	isInt bool
}

func (n num) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// cmpNum compares two numbers, exactly when both are integers.
func cmpNum(a, b num) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	af, bf := a.float(), b.float()
	switch {
	case af < bf:
		return -1
	case af > bf:
		return 1
	}
	return 0
}

// toNum converts a JSON value (number, numeric string or bool) to a number.
func toNum(v any) (num, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	case float64:
		return num{f: x}, true
	case int:
		return num{i: int64(x), isInt: true}, true
	case int64:
		return num{i: x, isInt: true}, true
	default:
		return num{}, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return num{i: i, isInt: true}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return num{}, false
	}
	return num{f: f}, true
}

// fieldNum converts a stored value of a field of type typ to its indexed
// number: integral types drop the fraction, as ES does when coercing.
func fieldNum(typ string, v any) (num, bool) {
	n, ok := toNum(v)
	if !ok {
		return n, false
	}
	if isIntegral(typ) && !n.isInt {
		if math.IsInf(n.f, 0) || math.Abs(n.f) >= 9.2e18 {
			return num{}, false
		}
		return num{i: int64(n.f), isInt: true}, true
	}
	if typ == "float" || typ == "half_float" {
		return num{f: float64(float32(n.float()))}, true
	}
	return n, true
}

// toBool converts true/false and "true"/"false".
func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch x {
		case "true":
			return true, true
		case "false", "":
			return false, true
		}
	}
	return false, false
}
