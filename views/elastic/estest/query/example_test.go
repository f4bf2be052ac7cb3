package query_test

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/b2dc4357/sourced/views/elastic/estest/query"
)

func Example() {
	mapping := query.MapMapping{"title": "text", "title.keyword": "keyword", "year": "long"}
	var docs []*query.Doc
	for id, src := range []string{`{"title":"Snow Crash","year":1992}`, `{"title":"Starship Troopers","year":1959}`} {
		var m map[string]any
		if err := json.Unmarshal([]byte(src), &m); err != nil {
			panic(err)
		}
		docs = append(docs, &query.Doc{Index: "books", ID: fmt.Sprint(id + 1), Source: m, Raw: json.RawMessage(src)})
	}
	targets := []query.Target{{Index: "books", Mapping: mapping, Docs: docs}}

	body := `{"query":{"range":{"year":{"gte":1950}}},"sort":[{"year":"desc"}],"_source":false}`
	out, err := query.Search([]byte(body), url.Values{}, targets, query.Options{})
	if err != nil {
		panic(err)
	}
	var resp struct {
		Hits struct {
			Total struct{ Value int }
			Hits  []struct {
				ID   string `json:"_id"`
				Sort []any
			}
		}
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		panic(err)
	}
	fmt.Println(resp.Hits.Total.Value, resp.Hits.Hits[0].ID, resp.Hits.Hits[0].Sort)

	n, _ := query.Count(nil, url.Values{"q": {"title:snow"}}, targets, query.Options{})
	fmt.Println(n)

	_, err = query.Search([]byte(`{"sort":["title"]}`), nil, targets, query.Options{})
	fmt.Println(err.(*query.Error).Status, err.(*query.Error).RootCause().Type)
	// Output:
	// 2 1 [1992]
	// 1
	// 400 illegal_argument_exception
}
