package query

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQueries(t *testing.T) {
	b := books(t)
	tests := []struct {
		name   string
		body   string
		params url.Values
		want   []string // matching ids, in any order
	}{
		{"an empty body matches everything", ``, nil, []string{"1", "2", "3", "4", "5"}},
		{"match_all", `{"query":{"match_all":{}}}`, nil, []string{"1", "2", "3", "4", "5"}},
		{"an empty query object is match_all", `{"query":{}}`, nil, []string{"1", "2", "3", "4", "5"}},
		{"match_none", `{"query":{"match_none":{}}}`, nil, []string{}},

		{"term on a keyword array", `{"query":{"term":{"tag":"b"}}}`, nil, []string{"1", "2"}},
		{"term is case sensitive on keywords", `{"query":{"term":{"tag":"B"}}}`, nil, []string{}},
		{"term case_insensitive", `{"query":{"term":{"tag":{"value":"B","case_insensitive":true}}}}`, nil, []string{"1", "2"}},
		{"term with boost", `{"query":{"term":{"tag":{"value":"c","boost":2}}}}`, nil, []string{"2", "3"}},
		{"term on text matches one token", `{"query":{"term":{"title":"quick"}}}`, nil, []string{"1", "2"}},
		{"term on text is not analysed", `{"query":{"term":{"title":"Quick"}}}`, nil, []string{}},
		{"term on text never matches several words", `{"query":{"term":{"title":"quick brown fox"}}}`, nil, []string{}},
		{"term on the keyword multi-field matches the whole value", `{"query":{"term":{"title.keyword":"Quick brown fox"}}}`, nil, []string{"1"}},
		{"term on a long coerces strings", `{"query":{"term":{"n":"4"}}}`, nil, []string{"4"}},
		{"term on a long with a number", `{"query":{"term":{"n":5}}}`, nil, []string{"5"}},
		{"term on a double", `{"query":{"term":{"price":"9.5"}}}`, nil, []string{"1"}},
		{"term on a double matches an integral value", `{"query":{"term":{"price":20.0}}}`, nil, []string{"2"}},
		{"term on a boolean", `{"query":{"term":{"ok":true}}}`, nil, []string{"1"}},
		{"term on a boolean with a string", `{"query":{"term":{"ok":"false"}}}`, nil, []string{"2", "5"}},
		{"term on a date", `{"query":{"term":{"d":"2024-05-14"}}}`, nil, []string{"5"}},
		{"term on a date matches the whole day", `{"query":{"term":{"d":"2024-05-15"}}}`, nil, []string{"3", "4"}},
		{"term on a date with an hour matches that hour", `{"query":{"term":{"d":"2024-05-15T01"}}}`, nil, []string{"3"}},
		{"term on a date with a time matches that second", `{"query":{"term":{"d":"2024-05-15T01:00:00Z"}}}`, nil, []string{"3"}},
		{"term on a date with millis is exact", `{"query":{"term":{"d":"2024-05-15T01:00:00.001Z"}}}`, nil, []string{}},
		{"term on a date with epoch millis is exact", `{"query":{"term":{"d":1715731200000}}}`, nil, []string{"4"}},
		{"term on a date with now/d matches today", `{"query":{"term":{"d":"now/d"}}}`, nil, []string{"3", "4"}},
		{"terms on dates match whole days", `{"query":{"terms":{"d":["2024-05-14","2024-05-15"]}}}`, nil, []string{"3", "4", "5"}},
		{"term on an unmapped field matches nothing", `{"query":{"term":{"nope":"a"}}}`, nil, []string{}},
		{"term on _id", `{"query":{"term":{"_id":"3"}}}`, nil, []string{"3"}},
		{"term on _index", `{"query":{"term":{"_index":"books"}}}`, nil, []string{"1", "2", "3", "4", "5"}},

		{"terms on keywords", `{"query":{"terms":{"tag":["a","d"]}}}`, nil, []string{"1", "4"}},
		{"terms on longs", `{"query":{"terms":{"n":[1,"3"]}}}`, nil, []string{"1", "3"}},
		{"terms on _id", `{"query":{"terms":{"_id":["1","5"]}}}`, nil, []string{"1", "5"}},

		{"range on a long", `{"query":{"range":{"n":{"gte":2,"lt":4}}}}`, nil, []string{"2", "3"}},
		{"range gt with a string bound", `{"query":{"range":{"n":{"gt":"3"}}}}`, nil, []string{"4", "5"}},
		{"range on a double", `{"query":{"range":{"price":{"lte":9.5}}}}`, nil, []string{"1", "4"}},
		{"range on a long with a fractional bound", `{"query":{"range":{"n":{"gt":1.5,"lte":2.5}}}}`, nil, []string{"2"}},
		{"range on a keyword is lexicographic", `{"query":{"range":{"tag":{"gte":"b","lt":"d"}}}}`, nil, []string{"1", "2", "3"}},
		{"range on text compares tokens", `{"query":{"range":{"title":{"gte":"lazy","lte":"lazy"}}}}`, nil, []string{"3"}},
		{"range from/to", `{"query":{"range":{"n":{"from":1,"to":2}}}}`, nil, []string{"1", "2"}},
		{"range from/to exclusive", `{"query":{"range":{"n":{"from":1,"to":3,"include_lower":false,"include_upper":false}}}}`, nil, []string{"2"}},
		{"range on a date with now-1d", `{"query":{"range":{"d":{"gte":"now-1d"}}}}`, nil, []string{"2", "3", "4"}},
		{"range lt now/d rounds down", `{"query":{"range":{"d":{"lt":"now/d"}}}}`, nil, []string{"1", "5"}},
		{"range lte now-1d/d rounds up", `{"query":{"range":{"d":{"lte":"now-1d/d"}}}}`, nil, []string{"1", "5"}},
		{"range gt now-1d/d rounds up", `{"query":{"range":{"d":{"gt":"now-1d/d"}}}}`, nil, []string{"2", "3", "4"}},
		{"range with an anchored date", `{"query":{"range":{"d":{"gte":"2000-01-01||+1d","lt":"2024-05-15"}}}}`, nil, []string{"5"}},
		{"range lte a date rounds up to the end of the day", `{"query":{"range":{"d":{"gte":"2024-05-15","lte":"2024-05-15"}}}}`, nil, []string{"3", "4"}},
		{"range gt a date excludes the whole day", `{"query":{"range":{"d":{"gt":"2024-05-14","lt":"2025"}}}}`, nil, []string{"3", "4"}},
		{"range lt a date does not round up", `{"query":{"range":{"d":{"lt":"2024-05-15"}}}}`, nil, []string{"1", "5"}},
		{"range with epoch millis", `{"query":{"range":{"d":{"gte":1715731200000,"lte":1715731200000}}}}`, nil, []string{"4"}},
		{"range with a custom format", `{"query":{"range":{"d":{"gte":"14/05/2024","format":"dd/MM/yyyy"}}}}`, nil, []string{"2", "3", "4", "5"}},
		{"range with a time zone", `{"query":{"range":{"d":{"gte":"2024-05-15T02:00:00","time_zone":"+02:00","lt":"now"}}}}`, nil, []string{"3", "4"}},

		{"exists", `{"query":{"exists":{"field":"price"}}}`, nil, []string{"1", "2", "4"}},
		{"exists ignores null", `{"query":{"exists":{"field":"title"}}}`, nil, []string{"1", "2", "3", "4"}},
		{"exists on an object", `{"query":{"exists":{"field":"author"}}}`, nil, []string{"1", "2", "3"}},
		{"exists on a multi-field", `{"query":{"exists":{"field":"author.name.keyword"}}}`, nil, []string{"1", "2", "3"}},
		{"exists on an unmapped field", `{"query":{"exists":{"field":"nope"}}}`, nil, []string{}},
		{"ids", `{"query":{"ids":{"values":["2","5","9"]}}}`, nil, []string{"2", "5"}},

		{"prefix on a keyword", `{"query":{"prefix":{"tag":"c"}}}`, nil, []string{"2", "3"}},
		{"prefix on text tokens", `{"query":{"prefix":{"title":{"value":"hitch"}}}}`, nil, []string{"4"}},
		{"prefix on a keyword multi-field", `{"query":{"prefix":{"title.keyword":"Brown"}}}`, nil, []string{"2"}},
		{"prefix case_insensitive", `{"query":{"prefix":{"title.keyword":{"value":"brown","case_insensitive":true}}}}`, nil, []string{"2"}},
		{"wildcard", `{"query":{"wildcard":{"title.keyword":"*fox"}}}`, nil, []string{"1", "2"}},

		{"bool should with minimum_should_match 2", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":2}}}`, nil, []string{"1", "2"}},
		{"bool must makes should optional", `{"query":{"bool":{"must":[{"term":{"tag":"c"}}],"should":[{"term":{"tag":"b"}}]}}}`, nil, []string{"2", "3"}},
		{"bool filter makes should optional", `{"query":{"bool":{"filter":{"range":{"n":{"gte":2}}},"should":{"term":{"tag":"c"}}}}}`, nil, []string{"2", "3", "4", "5"}},
		{"bool should alone needs one", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"d"}}]}}}`, nil, []string{"1", "4"}},
		{"bool must_not", `{"query":{"bool":{"must_not":[{"term":{"tag":"a"}}]}}}`, nil, []string{"2", "3", "4", "5"}},
		{"bool must and must_not", `{"query":{"bool":{"must":{"term":{"tag":"b"}},"must_not":{"term":{"tag":"a"}}}}}`, nil, []string{"2"}},
		{"bool empty matches everything", `{"query":{"bool":{}}}`, nil, []string{"1", "2", "3", "4", "5"}},
		{"msm negative int", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":-1}}}`, nil, []string{"1", "2"}},
		{"msm percentage rounds down", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":"67%"}}}`, nil, []string{"1", "2"}},
		{"msm negative percentage", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":"-34%"}}}`, nil, []string{"1", "2"}},
		{"msm 100%", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":"100%"}}}`, nil, []string{}},
		{"msm above the clause count", `{"query":{"bool":{"should":[{"term":{"tag":"a"}}],"minimum_should_match":2}}}`, nil, []string{}},
		{"msm combination", `{"query":{"bool":{"should":[{"term":{"tag":"a"}},{"term":{"tag":"b"}},{"term":{"tag":"c"}}],"minimum_should_match":"2<-1"}}}`, nil, []string{"1", "2"}},
		{"msm 0 with must", `{"query":{"bool":{"must":{"exists":{"field":"n"}},"should":{"term":{"tag":"zzz"}},"minimum_should_match":0}}}`, nil, []string{"1", "2", "3", "4", "5"}},
		{"constant_score", `{"query":{"constant_score":{"filter":{"term":{"tag":"c"}},"boost":3}}}`, nil, []string{"2", "3"}},
		{"dis_max", `{"query":{"dis_max":{"queries":[{"term":{"tag":"a"}},{"term":{"n":3}}],"tie_breaker":0.5}}}`, nil, []string{"1", "3"}},

		{"match ORs the analysed terms", `{"query":{"match":{"title":"QUICK dog"}}}`, nil, []string{"1", "2", "3"}},
		{"match operator and", `{"query":{"match":{"title":{"query":"fox quick","operator":"and"}}}}`, nil, []string{"1", "2"}},
		{"match operator and needs every term", `{"query":{"match":{"title":{"query":"quick dog","operator":"AND"}}}}`, nil, []string{}},
		{"match minimum_should_match", `{"query":{"match":{"title":{"query":"quick lazy dog","minimum_should_match":2}}}}`, nil, []string{"3"}},
		{"match minimum_should_match percentage", `{"query":{"match":{"title":{"query":"quick lazy dog","minimum_should_match":"60%"}}}}`, nil, []string{"1", "2", "3"}},
		{"match on a keyword is exact", `{"query":{"match":{"title.keyword":"Quick brown fox"}}}`, nil, []string{"1"}},
		{"match on a keyword does not analyse", `{"query":{"match":{"tag":"A"}}}`, nil, []string{}},
		{"match on a long", `{"query":{"match":{"n":"4"}}}`, nil, []string{"4"}},
		{"match lenient on a long", `{"query":{"match":{"n":{"query":"abc","lenient":true}}}}`, nil, []string{}},
		{"match keeps apostrophes", `{"query":{"match":{"title":"don't"}}}`, nil, []string{"4"}},
		{"match with no tokens matches nothing", `{"query":{"match":{"title":"!!!"}}}`, nil, []string{}},
		{"match zero_terms_query all", `{"query":{"match":{"title":{"query":"!!!","zero_terms_query":"all"}}}}`, nil, []string{"1", "2", "3", "4", "5"}},
		{"match on an object subfield", `{"query":{"match":{"author.name":"stone"}}}`, nil, []string{"2", "3"}},
		{"match_phrase in order", `{"query":{"match_phrase":{"title":"quick brown"}}}`, nil, []string{"1"}},
		{"match_phrase the other order", `{"query":{"match_phrase":{"title":"Brown Quick"}}}`, nil, []string{"2"}},
		{"match_phrase without slop", `{"query":{"match_phrase":{"title":"quick fox"}}}`, nil, []string{"2"}},
		{"match_phrase with slop", `{"query":{"match_phrase":{"title":{"query":"quick fox","slop":1}}}}`, nil, []string{"1", "2"}},
		{"match_phrase single term", `{"query":{"match_phrase":{"title":"lazy"}}}`, nil, []string{"3"}},
		{"match_phrase with apostrophes", `{"query":{"match_phrase":{"title":"the hitchhiker's guide"}}}`, nil, []string{"4"}},
		{"multi_match best_fields", `{"query":{"multi_match":{"query":"stone lazy","fields":["title","author.name"]}}}`, nil, []string{"2", "3"}},
		{"multi_match with boosts", `{"query":{"multi_match":{"query":"ann","fields":["author.name^2","title"]}}}`, nil, []string{"1", "3"}},
		{"multi_match phrase", `{"query":{"multi_match":{"query":"ann lee","type":"phrase","fields":["author.name"]}}}`, nil, []string{"1"}},
		{"multi_match most_fields", `{"query":{"multi_match":{"query":"lazy","type":"most_fields","fields":["title","tag"]}}}`, nil, []string{"3"}},
		{"multi_match over all fields", `{"query":{"multi_match":{"query":"panic"}}}`, nil, []string{"4"}},

		{"query_string field:value", `{"query":{"query_string":{"query":"title:lazy"}}}`, nil, []string{"3"}},
		{"query_string OR", `{"query":{"query_string":{"query":"tag:a OR tag:d"}}}`, nil, []string{"1", "4"}},
		{"query_string AND NOT", `{"query":{"query_string":{"query":"tag:b AND NOT tag:a"}}}`, nil, []string{"2"}},
		{"query_string modifiers", `{"query":{"query_string":{"query":"+tag:b -tag:a"}}}`, nil, []string{"2"}},
		{"query_string phrase", `{"query":{"query_string":{"query":"title:\"brown fox\""}}}`, nil, []string{"1"}},
		{"query_string prefix", `{"query":{"query_string":{"query":"title:hitch*"}}}`, nil, []string{"4"}},
		{"query_string range", `{"query":{"query_string":{"query":"n:[2 TO 3]"}}}`, nil, []string{"2", "3"}},
		{"query_string exclusive range", `{"query":{"query_string":{"query":"n:{2 TO *]"}}}`, nil, []string{"3", "4", "5"}},
		{"query_string exists", `{"query":{"query_string":{"query":"price:*"}}}`, nil, []string{"1", "2", "4"}},
		{"query_string groups", `{"query":{"query_string":{"query":"(tag:a OR tag:c) AND n:3"}}}`, nil, []string{"3"}},
		{"query_string bare term searches all fields", `{"query":{"query_string":{"query":"lazy"}}}`, nil, []string{"3"}},
		{"query_string default_field", `{"query":{"query_string":{"query":"stone","default_field":"author.name"}}}`, nil, []string{"2", "3"}},
		{"query_string default_operator", `{"query":{"query_string":{"query":"quick lazy","default_operator":"AND"}}}`, nil, []string{}},

		{"q bare term", ``, url.Values{"q": {"stone"}}, []string{"2", "3"}},
		{"q field:value", ``, url.Values{"q": {"tag:b"}}, []string{"1", "2"}},
		{"q overrides the body query", `{"query":{"match_none":{}}}`, url.Values{"q": {"tag:b"}}, []string{"1", "2"}},
		{"q with df", ``, url.Values{"q": {"fox"}, "df": {"title"}}, []string{"1", "2"}},
		{"q with default_operator AND", ``, url.Values{"q": {"quick lazy"}, "default_operator": {"AND"}}, []string{}},
		{"q with default_operator OR", ``, url.Values{"q": {"quick lazy"}}, []string{"1", "2", "3"}},
		{"q on a number field", ``, url.Values{"q": {"n:3"}}, []string{"3"}},

		{"post_filter", `{"post_filter":{"term":{"tag":"c"}}}`, nil, []string{"2", "3"}},
		{"min_score", `{"query":{"constant_score":{"filter":{"term":{"tag":"c"}},"boost":3}},"min_score":4}`, nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := tc.params
			if params == nil {
				params = url.Values{}
			}
			params.Set("size", "100")
			r := search(t, tc.body, params, b)
			got := r.ids()
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			n, err := Count([]byte(countBody(tc.body)), tc.params, []Target{b}, Options{Now: testNow})
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if int(n) != len(tc.want) && !hasSearchOnlyKeys(tc.body) {
				t.Errorf("Count = %d, want %d", n, len(tc.want))
			}
		})
	}
}

// countBody keeps only the query of a search body.
func countBody(body string) string {
	if body == "" {
		return ""
	}
	m, err := decodeBody([]byte(body))
	if err != nil {
		return body
	}
	if q, ok := m["query"]; ok {
		return mustJSON(map[string]any{"query": q})
	}
	return "{}"
}

func hasSearchOnlyKeys(body string) bool {
	m, _ := decodeBody([]byte(body))
	_, pf := m["post_filter"]
	_, ms := m["min_score"]
	return pf || ms
}

// TestSourceIsVerbatim: hits return _source byte for byte as indexed
// (whitespace, escapes, number spellings); filtered sources are re-encoded.
func TestSourceIsVerbatim(t *testing.T) {
	src := "{ \"a\" : 1.50,\n  \"s\":\"Zo\u00eb \\u00e9 <&>\", \"n\":null }"
	tg := newTarget(t, "v", MapMapping{"a": "double", "s": "keyword"}, "1", src)
	out, err := Search([]byte(`{"query":{"term":{"s":"Zoë é <&>"}},"sort":["a"]}`), nil, []Target{tg}, Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"_source":`+src+`,"sort":[1.5]}`) {
		t.Errorf("response %s does not hold the source as indexed:\n%s", out, src)
	}
	if !json.Valid(out) {
		t.Errorf("response is not valid JSON: %s", out)
	}
	r := search(t, `{"_source":["a"]}`, nil, tg)
	if got := string(r.Hits.Hits[0].Source); got != `{"a":1.50}` {
		t.Errorf("filtered _source %s, want {\"a\":1.50}", got)
	}
}
