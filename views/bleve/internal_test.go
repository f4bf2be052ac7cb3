package bleve

import (
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/search"
	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
)

func TestParseDate(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	cases := []struct {
		in         string
		start, end string
	}{
		{"2026-11-23", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026-11-23T10:15", "2026-11-23T10:15:00Z", "2026-11-23T10:16:00Z"},
		{"2026-11-23T10:15:30", "2026-11-23T10:15:30Z", "2026-11-23T10:15:31Z"},
		{"2026-11-23T10:15:30Z", "2026-11-23T10:15:30Z", "2026-11-23T10:15:31Z"},
		{"2026-11-23T10:15:30.123456Z", "2026-11-23T10:15:30.123Z", "2026-11-23T10:15:30.124Z"},
		{"2026-11-23T11:15:30+01:00", "2026-11-23T10:15:30Z", "2026-11-23T10:15:31Z"},
		{"1700000000000", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.001Z"},
	}
	for _, c := range cases {
		start, end, err := parseDate(c.in)
		if err != nil {
			t.Errorf("parseDate(%q): %v", c.in, err)
			continue
		}
		if !start.Equal(utc(c.start)) || !end.Equal(utc(c.end)) {
			t.Errorf("parseDate(%q) = [%s, %s), want [%s, %s)", c.in, start, end, c.start, c.end)
		}
	}
	for _, bad := range []string{"", "next tuesday", "2026-13-01", "23/11/2026", "2026-11-23 10:15"} {
		if _, _, err := parseDate(bad); err == nil {
			t.Errorf("parseDate(%q) succeeded", bad)
		}
	}
}

func TestBuildRefusals(t *testing.T) {
	sc, err := compileSchema(views.Mapping{Properties: map[string]views.Field{
		"n":   {Type: views.Long},
		"d":   {Type: views.Double},
		"obj": {Type: views.Object, Properties: map[string]views.Field{"k": {Type: views.Keyword}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := builder{schema: sc}
	cases := []struct {
		doc    string
		refuse *refusal
	}{
		{`{"n":1,"d":2.5,"obj":{"k":"x"}}`, nil},
		{`{"n":"12","d":"1e3","obj":[{"k":1},{"k":true}],"x":null}`, &refusal{typeStrict, "mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed"}},
		{`{"n":1.9,"d":null,"obj":null}`, nil},
		{`{"obj":{"q":1}}`, &refusal{typeStrict, "mapping set to strict, dynamic introduction of [q] within [obj] is not allowed"}},
		{`{"n":"abc"}`, &refusal{typeParsing, `failed to parse field [n] of type [long] in document with id 'id'. Preview of field's value: 'abc': for input string: "abc"`}},
		{`{"n":1e30}`, &refusal{typeParsing, "failed to parse field [n] of type [long] in document with id 'id'. Preview of field's value: '1e30': value [1e30] is out of range for a long"}},
		{`{"obj":"x"}`, &refusal{typeParsing, "object mapping for [obj] tried to parse field [obj] as object, but found a concrete value"}},
		{`[1]`, &refusal{typeParsing, ""}},
		{`{"n":1} {"n":2}`, &refusal{typeParsing, ""}},
		{`null`, &refusal{typeParsing, ""}},
	}
	for _, c := range cases {
		b.text, b.kw = nil, nil // analyzers are not used before indexing
		_, got := b.build("id", 1, json.RawMessage(c.doc))
		switch {
		case c.refuse == nil && got != nil:
			t.Errorf("%s refused: %+v", c.doc, got)
		case c.refuse != nil && got == nil:
			t.Errorf("%s accepted, want %+v", c.doc, c.refuse)
		case c.refuse != nil && (got.typ != c.refuse.typ || c.refuse.reason != "" && got.reason != c.refuse.reason):
			t.Errorf("%s: got %+v\nwant %+v", c.doc, got, c.refuse)
		}
	}
}

func TestSortValuesRoundTripThroughJSON(t *testing.T) {
	plan := sortPlan{
		{field: "total", desc: true, kind: sortLong},
		{field: "rate", kind: sortDouble},
		{field: "due", kind: sortDate},
		{field: "paid", kind: sortBool},
		{field: "currency", desc: true, kind: sortString},
		{field: "missing", kind: sortLong},
		{field: "_id", kind: sortID},
	}
	after := []any{int64(-42), 2.5, int64(1700000000123), true, "EUR", nil, "inv-1"}
	encoded, err := plan.after(after)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(after)
	var viaJSON []any
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatal(err)
	}
	encoded2, err := plan.after(viaJSON)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(encoded, encoded2); diff != "" {
		t.Errorf("encoding differs after JSON (-direct +json):\n%s", diff)
	}
	if encoded[5] != search.HighTerm {
		t.Errorf("a missing value encodes as %q, want the high term", encoded[5])
	}
	// The encoded terms are what bleve reports as hit sort values.
	got := plan.values(&search.DocumentMatch{Sort: encoded})
	if diff := cmp.Diff(after, got); diff != "" {
		t.Errorf("decoded sort values (-want +got):\n%s", diff)
	}
	if _, err := plan.after(after[:2]); err == nil {
		t.Error("After shorter than the sort was accepted")
	}
	if _, err := plan.after([]any{"x", 2.5, 1, true, "EUR", nil, "inv-1"}); err == nil {
		t.Error("a string After for a long key was accepted")
	}
}

// TestSplitSpanCoversTheSpanExactly checks that the block ranges of every
// span of a small value space, and of spans at the ends of the whole
// uint64 space, cover each value of the span once and nothing else.
func TestSplitSpanCoversTheSpanExactly(t *testing.T) {
	shifts := []uint{0, 2, 3, 5}
	for lo := uint64(0); lo < 200; lo++ {
		for hi := lo; hi < 200; hi++ {
			covered := map[uint64]int{}
			for _, r := range splitSpan(lo, hi, shifts) {
				if r.first > r.last {
					t.Fatalf("%d..%d: empty range %+v", lo, hi, r)
				}
				for k := r.first; k <= r.last; k++ {
					for v := k << r.shift; v < (k+1)<<r.shift; v++ {
						covered[v]++
					}
				}
			}
			for v := lo; v <= hi; v++ {
				if covered[v] != 1 {
					t.Fatalf("%d..%d: value %d covered %d times", lo, hi, v, covered[v])
				}
				delete(covered, v)
			}
			if len(covered) != 0 {
				t.Fatalf("%d..%d: covers values outside it: %v", lo, hi, covered)
			}
		}
	}
	// The ends of the space: sorted, the ranges must run from lo to hi
	// without a gap or an overlap.
	const max = ^uint64(0)
	for _, span := range [][2]uint64{{0, max}, {0, 0}, {max, max}, {1, max - 1}, {max - 1<<40, max}, {0, 1<<56 + 3}, {1 << 63, 1<<63 + 86_400_000_000_000}} {
		lo, hi := span[0], span[1]
		var covered [][2]uint64
		for _, r := range splitSpan(lo, hi, dateShifts[:]) {
			covered = append(covered, [2]uint64{r.first << r.shift, r.last<<r.shift | (1<<r.shift - 1)})
		}
		sort.Slice(covered, func(i, j int) bool { return covered[i][0] < covered[j][0] })
		next := lo
		for i, c := range covered {
			if c[0] != next || c[1] < c[0] || c[1] > hi {
				t.Fatalf("%d..%d: range %d of %v does not follow on", lo, hi, i, covered)
			}
			next = c[1] + 1
		}
		if covered[len(covered)-1][1] != hi {
			t.Errorf("%d..%d: ranges end at %d", lo, hi, covered[len(covered)-1][1])
		}
		if len(covered) > 2*len(dateShifts) {
			t.Errorf("%d..%d: %d ranges, want at most two per precision", lo, hi, len(covered))
		}
	}
}
