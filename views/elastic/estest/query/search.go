package query

import (
	"encoding/json"
	"sort"
	"time"
)

// hit is one matching doc.
type hit struct {
	ti, i int // target and doc index: the index order ties are broken by
	score float64
	keys  []sortValue
}

// collect runs q (and the target filters) over every target.
func collect(q node, targets []Target, opts Options, each func(s *searcher, ti, i int, score float64) error) error {
	for ti, t := range targets {
		s := newSearcher(t, opts.Now)
		m, err := q.bind(s)
		if err != nil {
			return err
		}
		if len(t.Filter) > 0 {
			fq, err := parseFilterJSON(t.Filter)
			if err != nil {
				return err
			}
			fm, err := fq.bind(s)
			if err != nil {
				return err
			}
			inner := m
			m = func(i int) (float64, bool) {
				if _, ok := fm(i); !ok {
					return 0, false
				}
				return inner(i)
			}
		}
		for i := range t.Docs {
			if sc, ok := m(i); ok {
				if err := each(s, ti, i, sc); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func parseFilterJSON(raw json.RawMessage) (node, error) {
	m, err := decodeBody(raw)
	if err != nil {
		return nil, err
	}
	return parseQuery(m)
}

func countMatches(q node, targets []Target, opts Options) (int64, error) {
	var n int64
	err := collect(q, targets, opts, func(*searcher, int, int, float64) error {
		n++
		return nil
	})
	return n, err
}

func (r *searchRequest) run(targets []Target, opts Options) ([]byte, error) {
	start := time.Now()
	q := r.query
	if q == nil {
		q = matchAllQ{boost: 1}
	}
	if r.postFilter != nil {
		q = boolQ{must: []node{q}, filter: []node{r.postFilter}, boost: 1}
	}
	// Bind the sort per target; a field unmapped in some targets sorts as
	// missing there, and is an error only when no target maps it.
	mappedSomewhere := map[string]bool{}
	for _, t := range targets {
		s := newSearcher(t, opts.Now)
		for _, f := range r.sort {
			if _, ok := s.fieldType(f.field); ok {
				mappedSomewhere[f.field] = true
			}
		}
	}
	var hits []hit
	var after []sortValue
	boundByTarget := map[int][]boundSort{}
	err := collect(q, targets, opts, func(s *searcher, ti, i int, sc float64) error {
		if r.minScore != nil && sc < *r.minScore {
			return nil
		}
		h := hit{ti: ti, i: i, score: sc}
		if r.sort != nil {
			bs, ok := boundByTarget[ti]
			if !ok {
				var err error
				if bs, err = r.bindSort(s, mappedSomewhere); err != nil {
					return err
				}
				boundByTarget[ti] = bs
				if after == nil && r.searchAfter != nil {
					if after, err = afterKeys(s, bs, r.searchAfter); err != nil {
						return err
					}
				}
			}
			h.keys = make([]sortValue, len(bs))
			for j, b := range bs {
				v, err := b.value(s, ti, i, sc)
				if err != nil {
					return err
				}
				h.keys[j] = v
			}
		}
		hits = append(hits, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Validate the sort even when nothing matched (sort on text is a 400
	// regardless of the hits).
	if r.sort != nil && len(targets) > 0 && len(boundByTarget) == 0 {
		if _, err := r.bindSort(newSearcher(targets[0], opts.Now), mappedSomewhere); err != nil {
			return nil, err
		}
	}
	// Values compare by the sort spec and the field type; take the first
	// target that had hits, deterministically.
	var order []boundSort
	for ti := range targets {
		if bs, ok := boundByTarget[ti]; ok {
			order = bs
			break
		}
	}
	less := func(a, b *hit) int {
		if r.sort == nil {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
		} else if c := compareKeys(order, a.keys, b.keys); c != 0 {
			return c
		}
		if a.ti != b.ti {
			return a.ti - b.ti
		}
		return a.i - b.i
	}
	sort.SliceStable(hits, func(x, y int) bool { return less(&hits[x], &hits[y]) < 0 })
	total := len(hits)
	if r.searchAfter != nil {
		var err error
		if r.sort == nil {
			after, err = afterKeys(nil, []boundSort{{sortField: newSortField("_score", ""), typ: "_score"}}, r.searchAfter)
			if err != nil {
				return nil, err
			}
			order = []boundSort{{sortField: newSortField("_score", ""), typ: "_score"}}
			for j := range hits {
				hits[j].keys = []sortValue{{n: num{f: float64(float32(hits[j].score))}}}
			}
		}
		if after != nil {
			k := sort.Search(len(hits), func(j int) bool { return compareKeys(order, hits[j].keys, after) > 0 })
			hits = hits[k:]
		}
	}
	maxScore, scored := 0.0, r.sort == nil || r.trackScores || sortsByScore(r.sort)
	for j, h := range hits {
		if j == 0 || h.score > maxScore {
			maxScore = h.score
		}
	}
	page := pageOf(hits, r.from, r.size)
	return r.render(targets, opts, page, total, maxScore, scored, time.Since(start))
}

func pageOf(hits []hit, from, size int) []hit {
	if from >= len(hits) {
		return nil
	}
	end := min(from+size, len(hits))
	return hits[from:end]
}

func sortsByScore(fs []sortField) bool {
	for _, f := range fs {
		if f.field == "_score" {
			return true
		}
	}
	return false
}

func (r *searchRequest) bindSort(s *searcher, mapped map[string]bool) ([]boundSort, error) {
	return bindSort(s, r.sort, mapped)
}

func afterKeys(s *searcher, bs []boundSort, vals []any) ([]sortValue, error) {
	out := make([]sortValue, len(bs))
	for j, b := range bs {
		v, err := b.afterValue(s, vals[j])
		if err != nil {
			return nil, err
		}
		out[j] = v
	}
	return out, nil
}

func compareKeys(order []boundSort, a, b []sortValue) int {
	for j := range order {
		if j >= len(a) || j >= len(b) {
			break
		}
		if c := order[j].compare(a[j], b[j]); c != 0 {
			return c
		}
	}
	return 0
}
