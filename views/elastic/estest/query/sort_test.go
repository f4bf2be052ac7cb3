package query

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sortOf returns every hit's sort values with numbers as strings, so that
// json.Number compares cleanly.
func sortOf(r response) [][]any {
	out := [][]any{}
	for _, h := range r.Hits.Hits {
		row := []any{}
		for _, v := range h.Sort {
			if n, ok := v.(json.Number); ok {
				v = n.String()
			}
			row = append(row, v)
		}
		out = append(out, row)
	}
	return out
}

func TestSortValues(t *testing.T) {
	b := books(t)
	maxLong, minLong := strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MinInt64, 10)
	tests := []struct {
		name    string
		body    string
		params  url.Values
		wantIDs []string
		want    [][]any
	}{
		{"long ascending", `{"sort":["n"]}`, nil, []string{"1", "2", "3", "4", "5"},
			[][]any{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}}},
		{"long descending", `{"sort":[{"n":"desc"}]}`, nil, []string{"5", "4", "3", "2", "1"},
			[][]any{{"5"}, {"4"}, {"3"}, {"2"}, {"1"}}},
		{"URL sort parameter", ``, url.Values{"sort": {"n:desc"}}, []string{"5", "4", "3", "2", "1"},
			[][]any{{"5"}, {"4"}, {"3"}, {"2"}, {"1"}}},
		{"double with missing last", `{"sort":[{"price":{"order":"asc"}}]}`, nil, []string{"4", "1", "2", "3", "5"},
			[][]any{{"4.25"}, {"9.5"}, {"20"}, {"Infinity"}, {"Infinity"}}},
		{"double descending with missing last", `{"sort":[{"price":"desc"}]}`, nil, []string{"2", "1", "4", "3", "5"},
			[][]any{{"20"}, {"9.5"}, {"4.25"}, {"-Infinity"}, {"-Infinity"}}},
		{"double with missing first", `{"sort":[{"price":{"missing":"_first"}}]}`, nil, []string{"3", "5", "4", "1", "2"},
			[][]any{{"-Infinity"}, {"-Infinity"}, {"4.25"}, {"9.5"}, {"20"}}},
		{"double with a missing value", `{"sort":[{"price":{"missing":10}}]}`, nil, []string{"4", "1", "3", "5", "2"},
			[][]any{{"4.25"}, {"9.5"}, {"10"}, {"10"}, {"20"}}},
		{"date as epoch millis", `{"sort":[{"d":"asc"}],"size":2}`, nil, []string{"1", "5"},
			[][]any{{"946684800000"}, {"1715644800000"}}},
		{"keyword min for asc, missing last as null", `{"sort":[{"tag":"asc"},{"n":"asc"}]}`, nil, []string{"1", "2", "3", "4", "5"},
			[][]any{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {nil, "5"}}},
		{"keyword max for desc, missing still last", `{"sort":[{"tag":"desc"},{"n":"asc"}]}`, nil, []string{"4", "2", "3", "1", "5"},
			[][]any{{"d", "4"}, {"c", "2"}, {"c", "3"}, {"b", "1"}, {nil, "5"}}},
		{"keyword missing first", `{"sort":[{"tag":{"order":"asc","missing":"_first"}}]}`, nil, []string{"5", "1", "2", "3", "4"},
			[][]any{{nil}, {"a"}, {"b"}, {"c"}, {"d"}}},
		{"keyword mode max ascending", `{"sort":[{"tag":{"order":"asc","mode":"max"}},"n"]}`, nil, []string{"1", "2", "3", "4", "5"},
			[][]any{{"b", "1"}, {"c", "2"}, {"c", "3"}, {"d", "4"}, {nil, "5"}}},
		{"long missing last ascending is Long.MAX_VALUE", `{"query":{"ids":{"values":["1","5"]}},"sort":[{"price":{"unmapped_type":"long"}},{"nope":{"unmapped_type":"long"}}]}`, nil, []string{"1", "5"},
			[][]any{{"9.5", maxLong}, {"Infinity", maxLong}}},
		{"long missing last descending is Long.MIN_VALUE", `{"query":{"ids":{"values":["1"]}},"sort":[{"nope":{"order":"desc","unmapped_type":"long"}}]}`, nil, []string{"1"},
			[][]any{{minLong}}},
		{"unmapped keyword sorts as null", `{"query":{"ids":{"values":["1"]}},"sort":[{"nope":{"unmapped_type":"keyword"}}]}`, nil, []string{"1"},
			[][]any{{nil}}},
		{"boolean sorts as 0 and 1", `{"query":{"exists":{"field":"ok"}},"sort":["ok","n"]}`, nil, []string{"2", "5", "1"},
			[][]any{{"0", "2"}, {"0", "5"}, {"1", "1"}}},
		{"_score then a field", `{"query":{"constant_score":{"filter":{"term":{"tag":"c"}}}},"sort":["_score",{"n":"desc"}]}`, nil, []string{"3", "2"},
			[][]any{{"1", "3"}, {"1", "2"}}},
		{"_doc", `{"sort":["_doc"],"size":2}`, nil, []string{"1", "2"}, [][]any{{"0"}, {"1"}}},
		{"_doc descending", `{"sort":[{"_doc":{"order":"desc"}}],"size":2}`, nil, []string{"5", "4"}, [][]any{{"4"}, {"3"}}},
		{"a single sort object", `{"sort":{"n":"desc"},"size":1}`, nil, []string{"5"}, [][]any{{"5"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := tc.params
			if params == nil {
				params = url.Values{}
			}
			r := search(t, tc.body, params, b)
			if diff := cmp.Diff(tc.wantIDs, r.ids()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, sortOf(r)); diff != "" {
				t.Errorf("sort values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoresAndDefaultOrder(t *testing.T) {
	b := books(t)
	t.Run("relevance orders by score, ties by index order", func(t *testing.T) {
		r := search(t, `{"query":{"match":{"title":"quick lazy dog"}}}`, url.Values{}, b)
		if diff := cmp.Diff([]string{"3", "1", "2"}, r.ids()); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		if r.Hits.MaxScore == nil || *r.Hits.MaxScore <= 0 || *r.Hits.Hits[0].Score != *r.Hits.MaxScore {
			t.Errorf("max_score %v, first score %v", r.Hits.MaxScore, r.Hits.Hits[0].Score)
		}
		if *r.Hits.Hits[1].Score != *r.Hits.Hits[2].Score || *r.Hits.Hits[1].Score >= *r.Hits.Hits[0].Score {
			t.Errorf("scores not ordered: %v %v %v", *r.Hits.Hits[0].Score, *r.Hits.Hits[1].Score, *r.Hits.Hits[2].Score)
		}
	})
	t.Run("match_all scores 1.0", func(t *testing.T) {
		out, err := Search(nil, nil, []Target{b}, Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Hits struct {
				MaxScore json.RawMessage `json:"max_score"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(out, &raw); err != nil {
			t.Fatal(err)
		}
		if string(raw.Hits.MaxScore) != "1.0" {
			t.Errorf("max_score renders %s, want 1.0", raw.Hits.MaxScore)
		}
	})
	t.Run("filter context scores 0", func(t *testing.T) {
		r := search(t, `{"query":{"bool":{"filter":{"term":{"tag":"c"}}}}}`, url.Values{}, b)
		for _, h := range r.Hits.Hits {
			if *h.Score != 0 {
				t.Errorf("hit %s score %v, want 0", h.ID, *h.Score)
			}
		}
	})
	t.Run("sorting by a field leaves scores null", func(t *testing.T) {
		r := search(t, `{"sort":["n"]}`, url.Values{}, b)
		if r.Hits.MaxScore != nil || r.Hits.Hits[0].Score != nil {
			t.Errorf("max_score %v, _score %v, want null", r.Hits.MaxScore, r.Hits.Hits[0].Score)
		}
		r = search(t, `{"sort":["n"],"track_scores":true}`, url.Values{}, b)
		if r.Hits.MaxScore == nil || r.Hits.Hits[0].Score == nil {
			t.Errorf("track_scores: max_score %v, _score %v, want values", r.Hits.MaxScore, r.Hits.Hits[0].Score)
		}
	})
	t.Run("targets are searched in order", func(t *testing.T) {
		t1 := newTarget(t, "test_1", MapMapping{"foo": "text"}, "1", `{"foo":"bar"}`)
		t2 := newTarget(t, "test_2", MapMapping{"foo": "text"}, "42", `{"foo":"bar"}`)
		r := search(t, `{"query":{"match":{"foo":"bar"}}}`, url.Values{"rest_total_hits_as_int": {"true"}}, t1, t2)
		got := []string{}
		for _, h := range r.Hits.Hits {
			got = append(got, h.Index+"/"+h.ID)
		}
		if diff := cmp.Diff([]string{"test_1/1", "test_2/42"}, got); diff != "" {
			t.Errorf("hits (-want +got):\n%s", diff)
		}
		if string(r.Hits.Total) != "2" {
			t.Errorf("total %s, want 2", r.Hits.Total)
		}
	})
}
