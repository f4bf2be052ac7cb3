package query

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
)

// FuzzSearch feeds arbitrary bodies and URL parameters to Search and Count:
// they must never panic, must fail only with *Error (status 4xx/5xx), and a
// successful search must render valid JSON whose hits respect size.
func FuzzSearch(f *testing.F) {
	seeds := []string{
		``, `{}`, `{"query":{"match_all":{}}}`, `{"query":{"bool":{"should":[{"term":{"tag":"a"}}],"minimum_should_match":"2<-25% 9<-3"}}}`,
		`{"query":{"range":{"d":{"gte":"now-1d/d","lt":"2024-01-01||+1M"}}},"sort":[{"d":"desc"},"_score"]}`,
		`{"query":{"match":{"title":{"query":"Quick fox","operator":"and"}}},"size":1,"from":2}`,
		`{"query":{"match_phrase":{"title":{"query":"brown fox","slop":2}}},"_source":["title"]}`,
		`{"query":{"multi_match":{"query":"ann","fields":["author.name^2","title"],"type":"most_fields"}}}`,
		`{"query":{"query_string":{"query":"(tag:a OR n:[1 TO *}) AND -title:\"x y\" hitch*"}}}`,
		`{"sort":[{"tag":{"order":"desc","missing":"_first","mode":"max"}},{"n":"asc"}],"search_after":[null,3]}`,
		`{"pit":{"id":"x"},"sort":["n"],"search_after":[1,2],"track_total_hits":3}`,
		`{"query":{"terms":{"n":[1,"2",true]}},"post_filter":{"exists":{"field":"price"}},"min_score":0.5}`,
		`{"query":{"prefix":{"title.keyword":{"value":"Br","case_insensitive":true}}}}`,
		`{"query":{"wildcard":{"tag":"[a-"}}}`, `{"size":2147483648}`, `[`, `null`, `{"query":{"term":{"d":"now/x"}}}`,
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add(``, `q=title:quick AND (tag:b OR -n:3)&sort=n:desc&size=2`)
	f.Add(``, `q="unterminated&track_total_hits=false&rest_total_hits_as_int=true`)
	f.Add(`{"query":{"match_all":{}}}`, `_source_includes=author.*&from=1&seq_no_primary_term=true`)
	b := books(f)
	f.Fuzz(func(t *testing.T, body, rawParams string) {
		params, err := url.ParseQuery(rawParams)
		if err != nil {
			return
		}
		out, err := Search([]byte(body), params, []Target{b}, Options{Now: testNow, MaxResultWindow: 50})
		checkErr(t, err)
		if err == nil {
			var r struct {
				Hits struct {
					Hits []json.RawMessage `json:"hits"`
				} `json:"hits"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("invalid response JSON %s: %v", out, err)
			}
			if len(r.Hits.Hits) > 50 {
				t.Fatalf("%d hits exceed the result window", len(r.Hits.Hits))
			}
		}
		_, err = Count([]byte(body), params, []Target{b}, Options{Now: testNow})
		checkErr(t, err)
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Type == "" || e.Reason == "" {
		t.Fatalf("error %T %v is not a complete *Error", err, err)
	}
}
