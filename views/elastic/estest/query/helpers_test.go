package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of every test search.
var testNow = time.Date(2024, 5, 15, 10, 30, 0, 0, time.UTC)

// newTarget builds a target from ids and JSON sources, in index order.
func newTarget(t testing.TB, index string, m Mapping, idsAndSources ...string) Target {
	t.Helper()
	tg := Target{Index: index, Mapping: m}
	for j := 0; j+1 < len(idsAndSources); j += 2 {
		raw := idsAndSources[j+1]
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var src map[string]any
		if err := dec.Decode(&src); err != nil {
			t.Fatalf("source %q: %v", raw, err)
		}
		tg.Docs = append(tg.Docs, &Doc{Index: index, ID: idsAndSources[j], Source: src, Raw: json.RawMessage(raw),
			Version: 1, SeqNo: int64(j / 2), PrimaryTerm: 1})
	}
	return tg
}

// response is the decoded part of a search response the tests look at.
type response struct {
	PitID  string `json:"pit_id"`
	Took   *int   `json:"took"`
	Shards struct {
		Total, Successful int
	} `json:"_shards"`
	Hits struct {
		Total    json.RawMessage `json:"total"`
		MaxScore *float64        `json:"max_score"`
		Hits     []struct {
			Index       string          `json:"_index"`
			ID          string          `json:"_id"`
			Score       *float64        `json:"_score"`
			Source      json.RawMessage `json:"_source"`
			Sort        []any           `json:"sort"`
			SeqNo       *int64          `json:"_seq_no"`
			PrimaryTerm *int64          `json:"_primary_term"`
			Version     *int64          `json:"_version"`
		} `json:"hits"`
	} `json:"hits"`
}

func (r response) ids() []string {
	out := []string{}
	for _, h := range r.Hits.Hits {
		out = append(out, h.ID)
	}
	return out
}

// search runs Search and decodes the response, failing the test on error.
func search(t testing.TB, body string, params url.Values, targets ...Target) response {
	t.Helper()
	out, err := Search([]byte(body), params, targets, Options{Now: testNow})
	if err != nil {
		t.Fatalf("Search(%s): %v", body, err)
	}
	var r response
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return r
}

// searchErr runs Search and returns its *Error, failing if there is none.
func searchErr(t testing.TB, body string, params url.Values, targets ...Target) *Error {
	t.Helper()
	out, err := Search([]byte(body), params, targets, Options{Now: testNow})
	if err == nil {
		t.Fatalf("Search(%s) = %s, want an error", body, out)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Search(%s) error %T %v, want *Error", body, err, err)
	}
	return e
}

// total decodes hits.total as {value, relation}.
func (r response) total(t testing.TB) (int, string) {
	t.Helper()
	var tot struct {
		Value    int    `json:"value"`
		Relation string `json:"relation"`
	}
	if err := json.Unmarshal(r.Hits.Total, &tot); err != nil {
		t.Fatalf("hits.total %s: %v", r.Hits.Total, err)
	}
	return tot.Value, tot.Relation
}

// books is the corpus most query tests use.
func books(t testing.TB) Target {
	return newTarget(t, "books", MapMapping{
		"title": "text", "title.keyword": "keyword", "tag": "keyword", "n": "long",
		"price": "double", "d": "date", "ok": "boolean", "author": "object",
		"author.name": "text", "author.name.keyword": "keyword",
	},
		"1", `{"title":"Quick brown fox","tag":["a","b"],"n":1,"price":9.5,"d":"2000-01-01","ok":true,"author":{"name":"Ann Lee"}}`,
		"2", `{"title":"Brown quick fox","tag":["b","c"],"n":2,"price":20,"d":"2999-01-01","ok":"false","author":{"name":"Bob Stone"}}`,
		"3", `{"title":"The lazy dog","tag":["c"],"n":3,"d":"2024-05-15T01:00:00Z","author":{"name":"Ann Stone"}}`,
		"4", `{"title":"Don't panic: the Hitchhiker's Guide","tag":"d","n":"4","price":4.25,"d":1715731200000}`,
		"5", `{"title":null,"n":5,"ok":false,"d":"2024-05-14"}`,
	)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
