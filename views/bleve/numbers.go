package bleve

import (
	"math"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Numbers and dates are indexed as bleve's prefix-coded terms, the same
// bytes bleve's own numeric and date fields use, but with fewer of them.
// bleve indexes every value at 16 precisions (shifts 0, 4, ..., 60) so that
// any range can be searched; that made numbers most of the terms of a
// typical view document, and building segments the largest cost of the
// embedded store. The views contract filters longs and doubles by equality
// only, so they get the exact term alone (shift 0). Dates are filtered by
// the span their text denotes (a millisecond up to a year), so they get the
// exact term and the coarser precisions of dateShifts, which bound the
// terms a span query reads. Every shift here is one bleve also writes, so
// the queries below read indices written by earlier versions too.
var dateShifts = [...]uint{0, 24, 32, 40, 48, 56}

// numberTerm is the field of one long or double value, as bleve's
// float64-ordered int64: its exact term, with doc values for sorting.
func (b *builder) numberTerm(path string, ap []uint64, n int64) *document.TextField {
	return document.NewTextFieldCustom(path, ap, numeric.MustNewPrefixCodedInt64(n, 0), exactOptions, b.kw)
}

// dateTerms is the field of one date (Unix nanoseconds): its exact term and
// the coarser precisions of dateShifts (dateAnalyzer), with doc values for
// sorting, whose shift-0 term bleve's sort picks out.
func (b *builder) dateTerms(path string, ap []uint64, n int64) *document.TextField {
	return document.NewTextFieldCustom(path, ap, numeric.MustNewPrefixCodedInt64(n, 0), exactOptions, dateAnalyzer{})
}

// dateAnalyzer turns the exact prefix-coded term of a date into its terms
// at every precision of dateShifts.
type dateAnalyzer struct{}

// Analyze implements analysis.Analyzer.
func (dateAnalyzer) Analyze(exact []byte) analysis.TokenStream {
	n, err := numeric.PrefixCoded(exact).Int64()
	if err != nil {
		return analysis.TokenStream{{Term: exact, End: len(exact), Position: 1, Type: analysis.DateTime}}
	}
	tokens := make([]analysis.Token, len(dateShifts))
	stream := make(analysis.TokenStream, len(dateShifts))
	for i, shift := range dateShifts {
		term := exact
		if shift != 0 {
			term = numeric.MustNewPrefixCodedInt64(n, shift)
		}
		tokens[i] = analysis.Token{Term: term, End: len(term), Position: 1, Type: analysis.DateTime}
		stream[i] = &tokens[i]
	}
	return stream
}

// representable reports whether t has Unix nanoseconds, the form dates are
// indexed in (years 1678 to 2262).
func representable(t time.Time) bool {
	return !t.Before(document.MinTimeRepresentable) && !t.After(document.MaxTimeRepresentable)
}

// numberQuery matches the documents whose field holds the number n (as
// bleve's float64-ordered int64), however many precisions it was indexed at.
func numberQuery(field string, n int64) query.Query {
	q := query.NewTermQuery(string(numeric.MustNewPrefixCodedInt64(n, 0)))
	q.SetField(field)
	return q
}

// dateSpanQuery matches the documents whose date field holds an instant in
// [start, end): term ranges at the coarsest precision of dateShifts that
// whole blocks of the span allow, and finer ones only at its edges. The
// part of the span no date can be indexed at matches nothing.
func dateSpanQuery(field string, start, end time.Time) query.Query {
	minT, maxT := document.MinTimeRepresentable, document.MaxTimeRepresentable
	if !end.After(start) || !end.After(minT) || start.After(maxT) {
		return query.NewMatchNoneQuery()
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if start.After(minT) {
		lo = start.UnixNano()
	}
	if !end.After(maxT) {
		hi = end.UnixNano() - 1 // end is exclusive
	}
	if lo > hi {
		return query.NewMatchNoneQuery()
	}
	incl := true
	ranges := splitSpan(sortable(lo), sortable(hi), dateShifts[:])
	anyOf := make([]query.Query, len(ranges))
	for i, r := range ranges {
		q := query.NewTermRangeInclusiveQuery(r.term(r.first), r.term(r.last), &incl, &incl)
		q.SetField(field)
		anyOf[i] = q
	}
	if len(anyOf) == 1 {
		return anyOf[0]
	}
	return query.NewDisjunctionQuery(anyOf)
}

// sortable maps an int64 to the uint64 whose order is the int64's, as the
// prefix coding does.
func sortable(n int64) uint64 { return uint64(n) ^ (1 << 63) }

// blockRange is the run of blocks first..last (inclusive) at one
// precision: block k holds the sortable values k<<shift to
// (k+1)<<shift - 1, and is one prefix-coded term.
type blockRange struct {
	shift       uint
	first, last uint64
}

// term is the prefix-coded term of block k at the range's precision.
func (r blockRange) term(k uint64) string {
	return string(numeric.MustNewPrefixCodedInt64(int64((k<<r.shift)^(1<<63)), r.shift))
}

// splitSpan covers the sortable values lo..hi (inclusive) with block
// ranges: whole blocks of the coarsest precision that fit, and at each edge
// the remainder in blocks of the next finer precision. shifts ascend from
// 0 (single values).
func splitSpan(lo, hi uint64, shifts []uint) []blockRange {
	var out []blockRange
	for i, shift := range shifts {
		var up, down uint64
		ok := false
		if i+1 < len(shifts) {
			up, down, ok = wholeBlocks(lo, hi, uint64(1)<<shifts[i+1])
		}
		if !ok {
			return append(out, blockRange{shift, lo >> shift, hi >> shift})
		}
		if lo < up {
			out = append(out, blockRange{shift, lo >> shift, (up - 1) >> shift})
		}
		if down < hi {
			out = append(out, blockRange{shift, (down + 1) >> shift, hi >> shift})
		}
		lo, hi = up, down
	}
	return out
}

// wholeBlocks is the part up..down of lo..hi made of whole blocks of size
// (a power of two, aligned to it), and whether there is one.
func wholeBlocks(lo, hi, size uint64) (up, down uint64, ok bool) {
	mask := size - 1
	up = lo
	if lo&mask != 0 {
		if lo|mask == math.MaxUint64 {
			return 0, 0, false
		}
		up = lo | mask + 1
	}
	down = hi
	if hi&mask != mask {
		if hi&^mask == 0 {
			return 0, 0, false
		}
		down = hi&^mask - 1
	}
	if up > down {
		return 0, 0, false
	}
	return up, down, true
}
