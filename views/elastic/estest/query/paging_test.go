package query

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSearchAfterPagesWithKeywordTiebreaker(t *testing.T) {
	s := newTarget(t, "s", MapMapping{"title": "text", "k": "keyword", "n": "long"},
		"1", `{"title":"one","k":"a","n":1}`,
		"2", `{"title":"two","k":"b","n":1}`,
		"3", `{"title":"three","k":"c","n":2}`,
		"4", `{"title":"four","k":"d","n":2}`,
		"5", `{"title":"five","k":"e","n":3}`,
	)
	var after any
	var pages [][]string
	for page := 0; page < 4; page++ {
		body := map[string]any{"size": 2, "sort": []any{map[string]any{"n": "asc"}, map[string]any{"k": "asc"}}}
		if after != nil {
			body["search_after"] = after
		}
		r := search(t, mustJSON(body), url.Values{}, s)
		if v, rel := r.total(t); v != 5 || rel != "eq" {
			t.Fatalf("page %d total %d %s", page, v, rel)
		}
		pages = append(pages, r.ids())
		if len(r.Hits.Hits) == 0 {
			break
		}
		after = r.Hits.Hits[len(r.Hits.Hits)-1].Sort
	}
	want := [][]string{{"1", "2"}, {"3", "4"}, {"5"}, {}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

// TestSearchAfterYAML replays search/90_search_after.yml "search with
// search_after parameter" and "date".
func TestSearchAfterYAML(t *testing.T) {
	t.Run("search with search_after parameter", func(t *testing.T) {
		tg := newTarget(t, "test", MapMapping{"id": "long", "foo": "text", "foo.keyword": "keyword", "age": "long"},
			"1", `{"id":1,"foo":"bar","age":18}`,
			"42", `{"id":42,"foo":"bar","age":18}`,
			"172", `{"id":172,"foo":"bar","age":24}`,
		)
		params := url.Values{"rest_total_hits_as_int": {"true"}}
		steps := []struct {
			after    string
			wantID   string
			wantSort [][]any
		}{
			{"", "172", [][]any{{"24", "172"}}},
			{`[24, 172]`, "42", [][]any{{"18", "42"}}},
			{`[18, 42]`, "1", [][]any{{"18", "1"}}},
			{`[18, 1]`, "", [][]any{}},
		}
		for _, st := range steps {
			body := `{"size":1,"query":{"match":{"foo":"bar"}},"sort":[{"age":"desc"},{"id":"desc"}]`
			if st.after != "" {
				body += `,"search_after":` + st.after
			}
			r := search(t, body+"}", params, tg)
			if string(r.Hits.Total) != "3" {
				t.Errorf("after %s: total %s, want 3", st.after, r.Hits.Total)
			}
			var ids []string
			if st.wantID != "" {
				ids = []string{st.wantID}
			}
			if diff := cmp.Diff(ids, r.ids(), cmpEmpty); diff != "" {
				t.Errorf("after %s: ids (-want +got):\n%s", st.after, diff)
			}
			if diff := cmp.Diff(st.wantSort, sortOf(r)); diff != "" {
				t.Errorf("after %s: sort (-want +got):\n%s", st.after, diff)
			}
		}
	})
	t.Run("date", func(t *testing.T) {
		tg := newTarget(t, "test", MapMapping{"timestamp": "date"},
			"a", `{"timestamp":"2019-10-21 00:30:04.828"}`,
			"b", `{"timestamp":"2019-10-21 08:30:04.828"}`,
		)
		r := search(t, `{"size":1,"sort":[{"timestamp":"desc"}]}`, url.Values{}, tg)
		if diff := cmp.Diff([][]any{{"1571646604828"}}, sortOf(r)); diff != "" {
			t.Errorf("sort (-want +got):\n%s", diff)
		}
		for _, after := range []string{`[1571646604828]`, `["2019-10-21 08:30:04.828"]`} {
			r := search(t, `{"size":1,"sort":[{"timestamp":"desc"}],"search_after":`+after+`}`, url.Values{}, tg)
			if diff := cmp.Diff([][]any{{"1571617804828"}}, sortOf(r)); diff != "" {
				t.Errorf("after %s: sort (-want +got):\n%s", after, diff)
			}
		}
		tg.Docs = append(tg.Docs, newTarget(t, "test", nil, "c", `{"timestamp":null}`).Docs...)
		r = search(t, `{"size":5,"sort":[{"timestamp":{"order":"asc","missing":"_last"}}],"search_after":["2021-10-21 08:30:04.828"]}`, url.Values{}, tg)
		if diff := cmp.Diff([]string{"c"}, r.ids()); diff != "" {
			t.Errorf("missing after the last value (-want +got):\n%s", diff)
		}
	})
	t.Run("missing values after out-of-range search_after", func(t *testing.T) {
		tg := newTarget(t, "test", MapMapping{"population": "float", "id": "long"},
			"1", `{"population":144.4,"id":1}`, "2", `{"population":164.375,"id":2}`, "3", `{"population":null,"id":3}`)
		for _, tc := range []struct {
			body string
			want []string
		}{
			{`{"sort":[{"population":{"order":"asc","missing":"_last"}}],"search_after":[200]}`, []string{"3"}},
			{`{"sort":[{"population":{"order":"desc","missing":"_last"}}],"search_after":[100]}`, []string{"3"}},
			{`{"sort":[{"population":"desc"}],"search_after":[164.375]}`, []string{"1", "3"}},
		} {
			r := search(t, tc.body, url.Values{}, tg)
			if diff := cmp.Diff(tc.want, r.ids()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.body, diff)
			}
		}
	})
}

var cmpEmpty = cmp.Transformer("nilToEmpty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

func TestPaging(t *testing.T) {
	var src []string
	for i := 0; i < 25; i++ {
		src = append(src, strconv.Itoa(i), `{"n":`+strconv.Itoa(i)+`}`)
	}
	tg := newTarget(t, "p", MapMapping{"n": "long"}, src...)
	tests := []struct {
		name   string
		body   string
		params url.Values
		want   []string
	}{
		{"size defaults to 10", `{"sort":["n"]}`, nil, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{"from and size", `{"sort":["n"],"from":20,"size":3}`, nil, []string{"20", "21", "22"}},
		{"from past the end", `{"sort":["n"],"from":30}`, nil, []string{}},
		{"size 0", `{"size":0}`, nil, []string{}},
		{"URL params override the body", `{"sort":["n"],"from":20,"size":3}`, url.Values{"from": {"1"}, "size": {"2"}}, []string{"1", "2"}},
		{"the last page is short", `{"sort":[{"n":"desc"}],"from":23}`, nil, []string{"1", "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := search(t, tc.body, tc.params, tg)
			if diff := cmp.Diff(tc.want, r.ids()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if v, rel := r.total(t); v != 25 || rel != "eq" {
				t.Errorf("total %d %s, want 25 eq", v, rel)
			}
		})
	}
}

// TestTotalHits follows search/220_total_hits_object.yml.
func TestTotalHits(t *testing.T) {
	t1 := newTarget(t, "test_1", MapMapping{"foo": "text"},
		"1", `{"foo":"bar"}`, "3", `{"foo":"baz"}`, "2", `{"foo":"bar"}`, "4", `{"foo":"bar"}`)
	t2 := newTarget(t, "test_2", MapMapping{"foo": "text"},
		"42", `{"foo":"bar"}`, "24", `{"foo":"baz"}`, "36", `{"foo":"bar"}`)
	body := `{"query":{"match":{"foo":"bar"}}}`
	tests := []struct {
		name      string
		params    url.Values
		body      string
		wantTotal string // raw JSON; "" when absent
	}{
		{"default is exact under 10000", nil, body, `{"value":5,"relation":"eq"}`},
		{"track_total_hits false omits total", url.Values{"track_total_hits": {"false"}}, body, ""},
		{"a limit below the count", url.Values{"track_total_hits": {"4"}}, body, `{"value":4,"relation":"gte"}`},
		{"a limit below the count with size 0", url.Values{"track_total_hits": {"4"}, "size": {"0"}}, body, `{"value":4,"relation":"gte"}`},
		{"a limit equal to the count", url.Values{"track_total_hits": {"5"}, "size": {"0"}}, body, `{"value":5,"relation":"eq"}`},
		{"track_total_hits in the body", nil, `{"track_total_hits":2,"query":{"match":{"foo":"bar"}}}`, `{"value":2,"relation":"gte"}`},
		{"track_total_hits true", nil, `{"track_total_hits":true}`, `{"value":7,"relation":"eq"}`},
		{"rest_total_hits_as_int", url.Values{"rest_total_hits_as_int": {"true"}}, body, `5`},
		{"rest_total_hits_as_int untracked is -1", url.Values{"rest_total_hits_as_int": {"true"}, "track_total_hits": {"false"}}, body, `-1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := search(t, tc.body, tc.params, t1, t2)
			if string(r.Hits.Total) != tc.wantTotal {
				t.Errorf("hits.total = %s, want %s", r.Hits.Total, tc.wantTotal)
			}
		})
	}
	t.Run("the default limit is 10000", func(t *testing.T) {
		big := Target{Index: "big", Mapping: MapMapping{}}
		for i := 0; i < 10001; i++ {
			big.Docs = append(big.Docs, &Doc{Index: "big", ID: strconv.Itoa(i), Source: map[string]any{}, Raw: json.RawMessage(`{}`)})
		}
		r := search(t, `{"size":0}`, url.Values{}, big)
		if v, rel := r.total(t); v != 10000 || rel != "gte" {
			t.Errorf("total %d %s, want 10000 gte", v, rel)
		}
	})
}

func TestHitFields(t *testing.T) {
	tg := newTarget(t, "test_1", MapMapping{"foo": "text", "obj": "object", "obj.a": "long", "obj.b": "keyword"},
		"1", `{"foo":"bar", "obj":{"a":1,"b":"x"},"list":[{"a":1,"c":2}]}`)
	t.Run("seq_no_primary_term and version are opt-in", func(t *testing.T) {
		r := search(t, ``, url.Values{}, tg)
		h := r.Hits.Hits[0]
		if h.SeqNo != nil || h.PrimaryTerm != nil || h.Version != nil {
			t.Errorf("unrequested fields present: %+v", h)
		}
		r = search(t, `{"seq_no_primary_term":true,"version":true}`, url.Values{}, tg)
		if h := r.Hits.Hits[0]; h.SeqNo == nil || *h.SeqNo != 0 || h.PrimaryTerm == nil || *h.PrimaryTerm != 1 || h.Version == nil {
			t.Errorf("body flags: %+v", h)
		}
		r = search(t, ``, url.Values{"seq_no_primary_term": {"true"}}, tg)
		if h := r.Hits.Hits[0]; h.SeqNo == nil {
			t.Errorf("URL flag: %+v", h)
		}
	})
	tests := []struct {
		name   string
		body   string
		params url.Values
		want   string // _source, "" when absent
	}{
		{"the raw source by default", ``, nil, `{"foo":"bar", "obj":{"a":1,"b":"x"},"list":[{"a":1,"c":2}]}`},
		{"_source false", `{"_source":false}`, nil, ``},
		{"_source URL false", ``, url.Values{"_source": {"false"}}, ``},
		{"includes", `{"_source":["foo","obj.a"]}`, nil, `{"foo":"bar","obj":{"a":1}}`},
		{"a single pattern", `{"_source":"obj"}`, nil, `{"obj":{"a":1,"b":"x"}}`},
		{"wildcards", `{"_source":{"includes":["obj.*"]}}`, nil, `{"obj":{"a":1,"b":"x"}}`},
		{"excludes", `{"_source":{"excludes":["obj.b","list"]}}`, nil, `{"foo":"bar","obj":{"a":1}}`},
		{"includes into arrays", `{"_source":["list.c"]}`, nil, `{"list":[{"c":2}]}`},
		{"URL includes", ``, url.Values{"_source_includes": {"foo"}}, `{"foo":"bar"}`},
		{"URL excludes", ``, url.Values{"_source_excludes": {"obj,list"}}, `{"foo":"bar"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := search(t, tc.body, tc.params, tg)
			got := string(r.Hits.Hits[0].Source)
			if tc.want != "" {
				var w any
				if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
					t.Fatal(err)
				}
				var g any
				if err := json.Unmarshal([]byte(got), &g); err != nil {
					t.Fatalf("_source %q: %v", got, err)
				}
				if diff := cmp.Diff(w, g); diff != "" {
					t.Errorf("_source (-want +got):\n%s", diff)
				}
			} else if got != "" {
				t.Errorf("_source = %s, want none", got)
			}
		})
	}
}

func TestPointInTime(t *testing.T) {
	tg := newTarget(t, "p", MapMapping{"n": "long"}, "1", `{"n":1}`, "2", `{"n":2}`)
	body := `{"pit":{"id":"abc","keep_alive":"1m"},"sort":[{"n":"asc"}],"size":1}`
	id, ok, err := ParsePIT([]byte(body))
	if err != nil || !ok || id != "abc" {
		t.Fatalf("ParsePIT = %q %v %v", id, ok, err)
	}
	r := search(t, body, url.Values{}, tg)
	if r.PitID != "abc" {
		t.Errorf("pit_id = %q", r.PitID)
	}
	if diff := cmp.Diff([][]any{{"1", "0"}}, sortOf(r)); diff != "" {
		t.Errorf("sort with the _shard_doc tiebreaker (-want +got):\n%s", diff)
	}
	r = search(t, `{"pit":{"id":"abc"},"sort":[{"n":"asc"}],"search_after":[1,0]}`, url.Values{}, tg)
	if diff := cmp.Diff([]string{"2"}, r.ids()); diff != "" {
		t.Errorf("next page (-want +got):\n%s", diff)
	}
	if _, ok, err := ParsePIT([]byte(`{"query":{"match_all":{}}}`)); ok || err != nil {
		t.Errorf("ParsePIT without pit = %v %v", ok, err)
	}
}

func TestTargetFilter(t *testing.T) {
	tg := newTarget(t, "f", MapMapping{"k": "keyword"}, "1", `{"k":"a"}`, "2", `{"k":"b"}`)
	tg.Filter = json.RawMessage(`{"term":{"k":"b"}}`)
	r := search(t, ``, url.Values{}, tg)
	if diff := cmp.Diff([]string{"2"}, r.ids()); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	n, err := Count(nil, nil, []Target{tg}, Options{})
	if err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
}
