package query

// Full-text queries: the query text is analysed with the field's analyzer
// (standard for text, the whole value for keyword); other field types fall
// back to term semantics.

type matchQ struct {
	field           string
	query           any
	boost           float64
	and             bool
	msm             string
	zeroAll         bool
	lenient         bool
	phrase          bool
	slop            int
	keywordAnalyzer bool
}

func (q matchQ) bind(s *searcher) (matcher, error) {
	typ, ok := s.fieldType(q.field)
	if !ok || typ == "object" || typ == "nested" {
		return never, nil
	}
	if typ != "text" {
		return bindTerms(s, q.field, []any{q.query}, q.boost, false, q.lenient)
	}
	text, _ := stringOf(q.query)
	terms := analyze(text)
	if q.keywordAnalyzer {
		terms = []string{text}
	}
	if len(terms) == 0 {
		if q.zeroAll {
			return matchAllQ{boost: q.boost}.bind(s)
		}
		return never, nil
	}
	f := s.field(q.field)
	if q.phrase && len(terms) > 1 {
		return q.bindPhrase(s, f, terms), nil
	}
	need := 1
	if q.and {
		need = len(terms)
	} else if q.msm != "" {
		n, err := minShouldMatch(q.msm, len(terms))
		if err != nil {
			return nil, err
		}
		need = max(n, 1)
	}
	if need > len(terms) {
		return never, nil
	}
	return func(i int) (float64, bool) {
		toks := f.toks[i]
		score, hits := 0.0, 0
		for _, t := range terms {
			freq := 0
			for _, tok := range toks {
				if tok.term == t {
					freq++
				}
			}
			if freq > 0 {
				hits++
				score += s.bm25(f, t, freq, len(toks))
			}
		}
		if hits < need {
			return 0, false
		}
		return score * q.boost, true
	}, nil
}

// bindPhrase matches terms in order, with at most slop extra positions
// between the first and the last term (in-order only: Lucene's sloppy
// phrases also allow transpositions).
func (q matchQ) bindPhrase(s *searcher, f *fieldIndex, terms []string) matcher {
	return func(i int) (float64, bool) {
		toks := f.toks[i]
		positions := make(map[string][]int, len(terms))
		for _, t := range terms {
			positions[t] = nil
		}
		for _, tok := range toks {
			if _, want := positions[tok.term]; want {
				positions[tok.term] = append(positions[tok.term], tok.pos)
			}
		}
		freq := 0
	starts:
		for _, p0 := range positions[terms[0]] {
			prev := p0
			for _, t := range terms[1:] {
				next := -1
				for _, p := range positions[t] {
					if p > prev {
						next = p
						break
					}
				}
				if next < 0 || next-p0-(len(terms)-1) > q.slop {
					continue starts
				}
				prev = next
			}
			freq++
		}
		if freq == 0 {
			return 0, false
		}
		score := 0.0
		for _, t := range terms {
			score += s.bm25(f, t, freq, len(toks))
		}
		return score * q.boost, true
	}
}

// fieldBoost is one entry of a fields list ("title^2").
type fieldBoost struct {
	field string
	boost float64
}

type multiMatchQ struct {
	query   any
	fields  []fieldBoost
	typ     string // best_fields, most_fields or phrase
	and     bool
	msm     string
	tie     float64
	boost   float64
	lenient bool
	slop    int
}

func (q multiMatchQ) perField(field string, boost float64, lenient bool) node {
	return matchQ{field: field, query: q.query, boost: boost, and: q.and, msm: q.msm,
		lenient: lenient, phrase: q.typ == "phrase", slop: q.slop}
}

func (q multiMatchQ) bind(s *searcher) (matcher, error) {
	if len(q.fields) == 0 || (len(q.fields) == 1 && q.fields[0].field == "*") {
		all := allFieldsQ{mk: func(f string) node { return q.perField(f, 1, true) }, sum: q.typ == "most_fields"}
		m, err := all.bind(s)
		if err != nil {
			return nil, err
		}
		return scaled(m, q.boost), nil
	}
	ms := make([]matcher, 0, len(q.fields))
	for _, fb := range q.fields {
		m, err := q.perField(fb.field, fb.boost, q.lenient).bind(s)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if q.typ == "most_fields" {
		return scaled(sumOf(ms), q.boost), nil
	}
	return disMax(ms, q.tie, q.boost), nil
}

func scaled(m matcher, boost float64) matcher {
	if boost == 1 {
		return m
	}
	return func(i int) (float64, bool) {
		sc, ok := m(i)
		return sc * boost, ok
	}
}

func sumOf(ms []matcher) matcher {
	return func(i int) (float64, bool) {
		sum, hit := 0.0, false
		for _, m := range ms {
			if sc, ok := m(i); ok {
				hit = true
				sum += sc
			}
		}
		return sum, hit
	}
}

// allFieldsQ runs mk(field) over every mapped leaf field of each doc (ES's
// index.query.default_field "*"), keeping the best score (or the sum).
// Fields whose type does not fit the query are skipped.
type allFieldsQ struct {
	mk  func(field string) node
	sum bool
}

func (q allFieldsQ) bind(s *searcher) (matcher, error) {
	cache := map[string]matcher{}
	get := func(field string) matcher {
		if m, ok := cache[field]; ok {
			return m
		}
		m, err := q.mk(field).bind(s)
		if err != nil {
			m = never
		}
		cache[field] = m
		return m
	}
	return func(i int) (float64, bool) {
		best, sum, hit := 0.0, 0.0, false
		for _, p := range s.leafPaths(i) {
			if _, mapped := s.fieldType(p); !mapped {
				continue
			}
			if sc, ok := get(p)(i); ok {
				hit = true
				best = max(best, sc)
				sum += sc
			}
		}
		if q.sum {
			return sum, hit
		}
		return best, hit
	}, nil
}
