package estest_test

import (
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

func TestUpdate(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	do(t, esapi.IndexRequest{Index: "u", DocumentID: "1", Body: body(`{"a":{"x":1,"y":[1,2]},"b":"k"}`)}, e.es)

	st, m := do(t, esapi.UpdateRequest{Index: "u", DocumentID: "1", Body: body(`{"doc":{"a":{"y":[3]},"c":true}}`)}, e.es)
	if st != 200 || path(m, "result") != "updated" || path(m, "_version") != "2" {
		t.Fatalf("merge: %d %v", st, m)
	}
	_, m = do(t, esapi.GetRequest{Index: "u", DocumentID: "1"}, e.es)
	if path(m, "_source.a.x") != "1" || path(m, "_source.a.y.0") != "3" || path(m, "_source.a.y.1") != nil || path(m, "_source.c") != true {
		t.Fatalf("objects merge, arrays are replaced: %v", m["_source"])
	}

	st, m = do(t, esapi.UpdateRequest{Index: "u", DocumentID: "1", Body: body(`{"doc":{"b":"k"}}`)}, e.es)
	if st != 200 || path(m, "result") != "noop" || path(m, "_version") != "2" || path(m, "_shards.total") != "0" {
		t.Fatalf("noop: %d %v", st, m)
	}

	st, m = do(t, esapi.UpdateRequest{Index: "u", DocumentID: "2", Body: body(`{"doc":{"n":1}}`)}, e.es)
	if st != 404 || path(m, "error.type") != "document_missing_exception" {
		t.Fatalf("missing: %d %v", st, m)
	}
	st, m = do(t, esapi.UpdateRequest{Index: "u", DocumentID: "2", Body: body(`{"doc":{"n":1},"doc_as_upsert":true}`)}, e.es)
	if st != 201 || path(m, "result") != "created" {
		t.Fatalf("doc_as_upsert: %d %v", st, m)
	}
	st, m = do(t, esapi.UpdateRequest{Index: "u", DocumentID: "3", Body: body(`{"doc":{"n":2},"upsert":{"n":0}}`)}, e.es)
	if st != 201 {
		t.Fatalf("upsert: %d %v", st, m)
	}
	if _, m = do(t, esapi.GetRequest{Index: "u", DocumentID: "3"}, e.es); path(m, "_source.n") != "0" {
		t.Fatalf("upsert inserts the upsert document, not doc: %v", m)
	}
	st, m = do(t, esapi.UpdateRequest{Index: "u", DocumentID: "1", Body: body(`{"script":{"source":"ctx._source.n++"}}`)}, e.es)
	if st != 400 {
		t.Fatalf("scripts are refused: %d %v", st, m)
	}
}

func TestSearchThroughFilteredAlias(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	createIndex(t, e.es, "f", `{"mappings":{"properties":{"tenant":{"type":"keyword"}}},
		"aliases":{"tenant-a":{"filter":{"term":{"tenant":"a"}}}}}`)
	do(t, esapi.BulkRequest{Refresh: "true", Body: body(
		`{"index":{"_index":"f","_id":"1"}}` + "\n" + `{"tenant":"a"}` + "\n" +
			`{"index":{"_index":"f","_id":"2"}}` + "\n" + `{"tenant":"b"}` + "\n")}, e.es)
	for target, want := range map[string]string{"tenant-a": "1", "f": "2"} {
		_, m := do(t, esapi.CountRequest{Index: []string{target}}, e.es)
		if path(m, "count") != want {
			t.Errorf("count %s = %v, want %s", target, path(m, "count"), want)
		}
		_, m = do(t, esapi.SearchRequest{Index: []string{target}}, e.es)
		if path(m, "hits.total.value") != want {
			t.Errorf("search %s total = %v, want %s", target, path(m, "hits.total.value"), want)
		}
	}
}
