package elastic_test

import (
	"context"
	"fmt"
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
