package query

import (
	"math"
)

// BM25 parameters (Lucene defaults).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// idf is Lucene's BM25 inverse document frequency for a term found in n of
// docCount docs.
func idf(n, docCount int) float64 {
	return math.Log(1 + (float64(docCount)-float64(n)+0.5)/(float64(n)+0.5))
}

// bm25 scores a term occurring freq times in a text field of length dl,
// with the field statistics of the target (Lucene 9 BM25, without the
// constant (k1+1) factor).
func (s *searcher) bm25(f *fieldIndex, term string, freq, dl int) float64 {
	if freq == 0 {
		return 0
	}
	avg := f.avgLen
	if avg == 0 {
		avg = 1
	}
	tf := float64(freq)
	norm := tf / (tf + bm25K1*(1-bm25B+bm25B*float64(dl)/avg))
	return idf(f.df[term], f.docs) * norm
}

// keywordScore scores a keyword term: BM25 with freq 1 and no length norm.
func (s *searcher) keywordScore(f *fieldIndex, field, term string) float64 {
	if f.df == nil {
		f.df = map[string]int{}
		for _, vals := range f.vals {
			seen := map[string]bool{}
			has := false
			for _, v := range vals {
				sv, ok := stringOf(v)
				if !ok {
					continue
				}
				has = true
				if !seen[sv] {
					seen[sv] = true
					f.df[sv]++
				}
			}
			if has {
				f.docs++
			}
		}
	}
	return idf(f.df[term], f.docs) / (1 + bm25K1)
}

type boolQ struct {
	must, should, filter, mustNot []node
	msm                           string
	boost                         float64
}

func bindAll(s *searcher, qs []node) ([]matcher, error) {
	ms := make([]matcher, len(qs))
	for j, q := range qs {
		m, err := q.bind(s)
		if err != nil {
			return nil, err
		}
		ms[j] = m
	}
	return ms, nil
}

func (q boolQ) bind(s *searcher) (matcher, error) {
	must, err := bindAll(s, q.must)
	if err != nil {
		return nil, err
	}
	should, err := bindAll(s, q.should)
	if err != nil {
		return nil, err
	}
	filter, err := bindAll(s, q.filter)
	if err != nil {
		return nil, err
	}
	mustNot, err := bindAll(s, q.mustNot)
	if err != nil {
		return nil, err
	}
	if len(must)+len(should)+len(filter)+len(mustNot) == 0 {
		return matchAllQ{boost: q.boost}.bind(s)
	}
	need := 0
	if q.msm != "" {
		if need, err = minShouldMatch(q.msm, len(should)); err != nil {
			return nil, err
		}
	} else if len(should) > 0 && len(must) == 0 && len(filter) == 0 {
		need = 1
	}
	if need > len(should) {
		return never, nil
	}
	return func(i int) (float64, bool) {
		score := 0.0
		for _, m := range filter {
			if _, ok := m(i); !ok {
				return 0, false
			}
		}
		for _, m := range mustNot {
			if _, ok := m(i); ok {
				return 0, false
			}
		}
		for _, m := range must {
			sc, ok := m(i)
			if !ok {
				return 0, false
			}
			score += sc
		}
		hits := 0
		for _, m := range should {
			if sc, ok := m(i); ok {
				hits++
				score += sc
			}
		}
		if hits < need {
			return 0, false
		}
		return score * q.boost, true
	}, nil
}

// disMaxQ scores the best matching clause plus tie times the others.
type disMaxQ struct {
	queries []node
	tie     float64
	boost   float64
}

func (q disMaxQ) bind(s *searcher) (matcher, error) {
	ms, err := bindAll(s, q.queries)
	if err != nil {
		return nil, err
	}
	return disMax(ms, q.tie, q.boost), nil
}

func disMax(ms []matcher, tie, boost float64) matcher {
	return func(i int) (float64, bool) {
		best, sum, hit := 0.0, 0.0, false
		for _, m := range ms {
			if sc, ok := m(i); ok {
				hit = true
				best = max(best, sc)
				sum += sc
			}
		}
		if !hit {
			return 0, false
		}
		return (best + tie*(sum-best)) * boost, true
	}
}
