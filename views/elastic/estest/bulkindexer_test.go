package estest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
)

// outcome records the callbacks of one BulkIndexer item.
type outcome struct {
	ok     bool
	status int
	typ    string
	cause  string
	err    error
}

// recorder collects BulkIndexer callbacks by document id.
type recorder struct {
	mu  sync.Mutex
	got map[string][]outcome
}

func newRecorder() *recorder { return &recorder{got: map[string][]outcome{}} }

func (r *recorder) item(it esutil.BulkIndexerItem) esutil.BulkIndexerItem {
	it.OnSuccess = func(_ context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem) {
		r.add(it.DocumentID, outcome{ok: true, status: res.Status})
	}
	it.OnFailure = func(_ context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
		r.add(it.DocumentID, outcome{status: res.Status, typ: res.Error.Type, cause: res.Error.Cause.Type, err: err})
	}
	return it
}

func (r *recorder) add(id string, o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[id] = append(r.got[id], o)
}

func (r *recorder) one(t *testing.T, id string) outcome {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got[id]) != 1 {
		t.Fatalf("item %s: %d callbacks %+v, want 1", id, len(r.got[id]), r.got[id])
	}
	return r.got[id][0]
}

func newIndexer(t *testing.T, es *elasticsearch.Client, workers int, onErr func(error)) esutil.BulkIndexer {
	t.Helper()
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client: es, NumWorkers: workers, FlushBytes: 256,
		OnError: func(_ context.Context, err error) {
			if onErr != nil {
				onErr(err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return bi
}

func TestBulkIndexerExternalVersionsConvergeToMax(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	bi := newIndexer(t, e.es, 4, nil)
	const docs, versions = 20, 15
	type op struct {
		id string
		v  int64
	}
	var ops []op
	for d := 0; d < docs; d++ {
		for v := int64(1); v <= versions; v++ {
			ops = append(ops, op{fmt.Sprintf("doc-%d", d), v})
		}
	}
	rand.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	var mu sync.Mutex
	conflicts, successes := 0, 0
	for _, o := range ops {
		v := o.v
		err := bi.Add(context.Background(), esutil.BulkIndexerItem{
			Index: "ext", Action: "index", DocumentID: o.id, Version: &v, VersionType: "external",
			Body: strings.NewReader(fmt.Sprintf(`{"v":%d}`, v)),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				mu.Lock()
				successes++
				mu.Unlock()
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil || res.Status != 409 || res.Error.Type != "version_conflict_engine_exception" {
					t.Errorf("unexpected failure: %d %s %v", res.Status, res.Error.Type, err)
				}
				conflicts++
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if successes+conflicts != len(ops) || successes < docs {
		t.Fatalf("successes %d + conflicts %d != %d", successes, conflicts, len(ops))
	}
	if bi.Stats().NumRequests < 2 {
		t.Fatalf("only %d bulk requests: the test needs concurrent flushes", bi.Stats().NumRequests)
	}
	for d := 0; d < docs; d++ {
		st, m := do(t, esapi.GetRequest{Index: "ext", DocumentID: fmt.Sprintf("doc-%d", d)}, e.es)
		if st != 200 || path(m, "_version") != fmt.Sprint(versions) || path(m, "_source.v") != fmt.Sprint(versions) {
			t.Fatalf("doc-%d: %d %v, want version %d", d, st, m, versions)
		}
	}
}

func TestBulkIndexerClassifiesItems(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	createIndex(t, e.es, "typed", `{"mappings":{"properties":{"price":{"type":"long"}}}}`)
	createIndex(t, e.es, "strict", `{"mappings":{"dynamic":"strict","properties":{"a":{"type":"keyword"}}}}`)
	do(t, esapi.IndexRequest{Index: "typed", DocumentID: "old", Body: body(`{"price":1}`), Version: intp(9), VersionType: "external"}, e.es)

	bi := newIndexer(t, e.es, 1, nil)
	rec := newRecorder()
	v3 := int64(3)
	items := []esutil.BulkIndexerItem{
		{Index: "typed", Action: "create", DocumentID: "new", Body: strings.NewReader(`{"price":2}`)},
		{Index: "typed", Action: "index", DocumentID: "old", Version: &v3, VersionType: "external", Body: strings.NewReader(`{"price":3}`)},
		{Index: "typed", Action: "delete", DocumentID: "never-existed"},
		{Index: "typed", Action: "index", DocumentID: "cheap", Body: strings.NewReader(`{"price":"cheap"}`)},
		{Index: "strict", Action: "index", DocumentID: "extra", Body: strings.NewReader(`{"a":"x","b":"y"}`)},
		{Index: "typed", Action: "update", DocumentID: "missing", Body: strings.NewReader(`{"doc":{"price":4}}`)},
	}
	for _, it := range items {
		if err := bi.Add(context.Background(), rec.item(it)); err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]outcome{
		"new":           {ok: true, status: 201},
		"old":           {status: 409, typ: "version_conflict_engine_exception"},
		"never-existed": {status: 404}, // the 404-delete quirk: OnFailure with no error type
		"cheap":         {status: 400, typ: "document_parsing_exception", cause: "illegal_argument_exception"},
		"extra":         {status: 400, typ: "strict_dynamic_mapping_exception"},
		"missing":       {status: 404, typ: "document_missing_exception"},
	}
	for id, w := range want {
		if got := rec.one(t, id); got != w {
			t.Errorf("%s: got %+v, want %+v", id, got, w)
		}
	}
}

func TestBulkIndexerItemLevel429(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	e.srv.Faults().RejectItems(1, func(action, index, id string) bool { return id == "b" })
	bi := newIndexer(t, e.es, 1, nil)
	var retries sync.WaitGroup
	var add func(id string)
	add = func(id string) {
		err := bi.Add(context.Background(), esutil.BulkIndexerItem{
			Index: "q", Action: "index", DocumentID: id, Body: strings.NewReader(`{}`),
			OnFailure: func(ctx context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				if err != nil || res.Status != 429 || res.Error.Type != "es_rejected_execution_exception" {
					t.Errorf("item %s: %d %q %v", it.DocumentID, res.Status, res.Error.Type, err)
					return
				}
				// Our retry policy: re-add from OnFailure. Add may block on
				// the worker running this callback, so it runs elsewhere.
				retries.Add(1)
				go func() { defer retries.Done(); add(it.DocumentID) }()
			},
		})
		if err != nil {
			t.Error(err)
		}
	}
	add("a")
	add("b")
	if err := bi.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	retries.Wait()
	if err := bi.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := bi.Stats(); st.NumFailed != 1 || st.NumIndexed != 2 {
		t.Fatalf("stats %+v, want one failure (the 429) and two indexed", st)
	}
	if st, _ := do(t, esapi.GetRequest{Index: "q", DocumentID: "b"}, e.es); st != 200 {
		t.Fatalf("retried item b: %d", st)
	}
}

func TestBulkIndexerWholeRequest429(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	e.srv.Faults().RejectRequests("/_bulk", 429, 1)
	var mu sync.Mutex
	var onErr []error
	bi := newIndexer(t, e.es, 1, func(err error) { mu.Lock(); onErr = append(onErr, err); mu.Unlock() })
	rec := newRecorder()
	for _, id := range []string{"a", "b"} {
		if err := bi.Add(context.Background(), rec.item(esutil.BulkIndexerItem{Index: "w", Action: "index", DocumentID: id, Body: strings.NewReader(`{}`)})); err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		o := rec.one(t, id)
		if o.ok || o.err == nil || !strings.Contains(o.err.Error(), "429") {
			t.Errorf("%s: %+v, want OnFailure with a whole-request 429 error", id, o)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(onErr) != 1 || !strings.Contains(errors.Join(onErr...).Error(), "429") {
		t.Fatalf("OnError calls: %v", onErr)
	}
}
