package elastic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// BenchmarkBulk writes 1,000 small documents per op to estest over HTTP.
// Versions grow with each iteration, so every write is applied.
func BenchmarkBulk(b *testing.B) {
	_, ts := server(b, estest.Options{})
	s := open(b, fastRetries(ts.URL))
	if err := s.CreateIndex(context.Background(), "bench", testMapping); err != nil {
		b.Fatal(err)
	}
	docs := make([][]byte, 1000)
	for i := range docs {
		docs[i] = fmt.Appendf(nil, `{"name":"customer %d","code":"c%d","count":%d}`, i, i%7, i)
	}
	ops := make([]views.Op, len(docs))
	for i := range ops {
		ops[i] = views.Op{Index: "bench", ID: fmt.Sprintf("doc-%d", i), Doc: docs[i]}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		for i := range ops {
			ops[i].Version = uint64(n + 1)
		}
		res, err := s.Bulk(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Outcome != views.Applied {
			b.Fatalf("outcome %v %s", res[0].Outcome, res[0].Reason)
		}
	}
	b.ReportMetric(float64(b.N*len(ops))/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkBulkClient measures the client side alone: the server answers
// every _bulk with a canned response of 1,000 created items (after
// reading the body), and the target index is already resolved.
func BenchmarkBulkClient(b *testing.B) {
	es := estest.New(estest.Options{})
	canned := []byte(`{"errors":false,"items":[`)
	for i := range 1000 {
		if i > 0 {
			canned = append(canned, ',')
		}
		canned = append(canned, `{"index":{"status":201}}`...)
	}
	canned = append(canned, "]}"...)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			es.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(canned)
	}))
	b.Cleanup(ts.Close)
	s := open(b, fastRetries(ts.URL))
	if err := s.CreateIndex(context.Background(), "bench", testMapping); err != nil {
		b.Fatal(err)
	}
	ops := make([]views.Op, 1000)
	for i := range ops {
		ops[i] = views.Op{Index: "bench", ID: fmt.Sprintf("doc-%d", i), Version: 1,
			Doc: fmt.Appendf(nil, `{"name":"customer %d","code":"c%d","count":%d}`, i, i%7, i)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Bulk(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		if res[999].Outcome != views.Applied {
			b.Fatalf("outcome %v", res[999].Outcome)
		}
	}
	b.ReportMetric(float64(b.N*len(ops))/b.Elapsed().Seconds(), "docs/s")
}
