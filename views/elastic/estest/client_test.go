package estest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

func TestProductCheck(t *testing.T) {
	t.Run("the client accepts the server as Elasticsearch", func(t *testing.T) {
		e := newEnv(t, elasticsearch.Config{})
		st, m := do(t, esapi.InfoRequest{}, e.es)
		if st != 200 || path(m, "version.number") != "8.19.0" || path(m, "tagline") != "You Know, for Search" {
			t.Fatalf("info: %d %v", st, m)
		}
	})
	t.Run("a missing product header fails the client loudly", func(t *testing.T) {
		e := newEnv(t, elasticsearch.Config{})
		e.srv.Faults().SetMissingProductHeader(true)
		_, err := e.es.Info()
		if err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
			t.Fatalf("want product check error, got %v", err)
		}
	})
}

func TestTransportRetriesWholeRequest503(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	createIndex(t, e.es, "r", `{}`)
	e.srv.Faults().RejectRequests("/_count", 503, 2)
	before := e.srv.Requests()
	st, m := do(t, esapi.CountRequest{Index: []string{"r"}}, e.es)
	if st != 200 || path(m, "count") != "0" {
		t.Fatalf("count: %d %v", st, m)
	}
	if got := e.srv.Requests() - before; got != 3 {
		t.Fatalf("requests = %d, want 3 (two 503s retried)", got)
	}
}

func TestWholeRequest429IsNotRetriedByDefault(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	e.srv.Faults().RejectRequests("/_bulk", 429, 1)
	st, m := do(t, esapi.BulkRequest{Body: body(`{"index":{"_index":"a","_id":"1"}}` + "\n{}\n")}, e.es)
	if st != 429 || path(m, "error.type") != "es_rejected_execution_exception" {
		t.Fatalf("bulk: %d %v", st, m)
	}
	if e.srv.BulkRequests() != 0 {
		t.Fatalf("a rejected request reached the bulk handler")
	}
	if st, _ := do(t, esapi.GetRequest{Index: "a", DocumentID: "1"}, e.es); st != 404 {
		t.Fatalf("rejected bulk was applied: %d", st)
	}
}

func TestDroppedConnectionIsRetried(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	e.srv.Faults().DropConnections("/_doc/1", 1)
	st, m := do(t, esapi.IndexRequest{Index: "d", DocumentID: "1", Body: body(`{"a":1}`)}, e.es)
	if st != 201 || path(m, "_version") != "1" {
		t.Fatalf("index after drop: %d %v", st, m)
	}
}

func TestSearchSeesOnlyRefreshedWrites(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	createIndex(t, e.es, "v", `{"settings":{"number_of_replicas":0}}`)
	do(t, esapi.IndexRequest{Index: "v", DocumentID: "1", Body: body(`{"n":1}`)}, e.es)

	count := func() string {
		_, m := do(t, esapi.CountRequest{Index: []string{"v"}}, e.es)
		return path(m, "count").(string)
	}
	if c := count(); c != "0" {
		t.Fatalf("count before refresh = %s, want 0", c)
	}
	if st, m := do(t, esapi.GetRequest{Index: "v", DocumentID: "1"}, e.es); st != 200 || path(m, "_source.n") != "1" {
		t.Fatalf("realtime get: %d %v", st, m)
	}
	if st, _ := do(t, esapi.GetRequest{Index: "v", DocumentID: "1", Realtime: new(bool)}, e.es); st != 404 {
		t.Fatalf("non-realtime get before refresh: %d, want 404", st)
	}
	e.clock.Advance(1500e6) // past index.refresh_interval (1s)
	if c := count(); c != "1" {
		t.Fatalf("count after the periodic refresh = %s, want 1", c)
	}
	do(t, esapi.IndexRequest{Index: "v", DocumentID: "2", Body: body(`{"n":2}`), Refresh: "wait_for"}, e.es)
	if c := count(); c != "2" {
		t.Fatalf("count after refresh=wait_for = %s, want 2", c)
	}
}

func TestTombstonesExpireAfterGCDeletes(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	st, m := do(t, esapi.DeleteRequest{Index: "g", DocumentID: "9", Version: intp(7), VersionType: "external"}, e.es)
	if st != 404 || path(m, "result") != "not_found" || path(m, "_version") != "7" {
		t.Fatalf("external delete of a missing doc: %d %v", st, m)
	}
	index6 := esapi.IndexRequest{Index: "g", DocumentID: "9", Body: body(`{"n":6}`), Version: intp(6), VersionType: "external"}
	if st, m := do(t, index6, e.es); st != 409 || path(m, "error.type") != "version_conflict_engine_exception" {
		t.Fatalf("stale write within gc_deletes: %d %v", st, m)
	}
	e.clock.Advance(61e9)
	index6.Body = body(`{"n":6}`)
	if st, m := do(t, index6, e.es); st != 201 {
		t.Fatalf("stale write after gc_deletes resurrects the doc: %d %v", st, m)
	}
}

func TestGzipAndCompatibilityMode(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{CompressRequestBody: true, EnableCompatibilityMode: true})
	st, m := do(t, esapi.BulkRequest{Body: body(`{"index":{"_index":"z","_id":"1"}}` + "\n" + `{"a":"b"}` + "\n"), Refresh: "true"}, e.es)
	if st != 200 || path(m, "items.0.index.status") != "201" || path(m, "items.0.index.forced_refresh") != true {
		t.Fatalf("gzip compat bulk: %d %v", st, m)
	}
	res, err := e.es.Count(e.es.Count.WithContext(context.Background()), e.es.Count.WithIndex("z"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "compatible-with=8") {
		t.Fatalf("content type %q, want the compatible-with=8 media type", ct)
	}
}
