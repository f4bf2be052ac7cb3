package bleve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/b2dc4357/sourced/views"
)

var benchMapping = views.Mapping{Properties: map[string]views.Field{
	"customer": {Type: views.Text, WithKeyword: true},
	"currency": {Type: views.Keyword},
	"status":   {Type: views.Keyword},
	"total":    {Type: views.Long},
	"due_date": {Type: views.Date},
}}

// BenchmarkBulk measures Bulk with batches of 1,000 small (~120-byte)
// documents, as the projector sends them, into an on-disk index. Each
// iteration is one batch; docs/s is the throughput. "new" writes fresh ids;
// "update" rewrites 10,000 existing ids with newer versions (the steady
// state of a state view).
func BenchmarkBulk(b *testing.B) {
	const batch, keys = 1000, 10_000
	for _, mode := range []string{"new", "update"} {
		b.Run(mode, func(b *testing.B) {
			s := openStore(b, benchDir(b))
			ctx := context.Background()
			if err := s.CreateIndex(ctx, "bench", benchMapping); err != nil {
				b.Fatal(err)
			}
			docs := make([]json.RawMessage, batch)
			for i := range docs {
				docs[i] = json.RawMessage(fmt.Sprintf(
					`{"customer":"Customer %d Ltd","currency":"EUR","status":"issued","total":%d,"due_date":"2026-11-%02d"}`,
					i, i*100, 1+i%28))
			}
			ops := make([]views.Op, batch)
			version := uint64(1)
			fill := func(n int) {
				for i := range ops {
					id := n*batch + i
					if mode == "update" {
						id %= keys
					}
					ops[i] = views.Op{Index: "bench", ID: fmt.Sprintf("inv-%08d", id), Version: version, Doc: docs[i]}
				}
			}
			if mode == "update" {
				for n := range keys / batch {
					fill(n)
					if _, err := s.Bulk(ctx, ops); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				b.StopTimer()
				version++
				fill(n)
				b.StartTimer()
				res, err := s.Bulk(ctx, ops)
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Outcome != views.Applied {
					b.Fatalf("outcome %v: %s", res[0].Outcome, res[0].Reason)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// benchDir is a fresh directory, or "" (an in-memory store, to tell the
// cost of persistence apart) when BENCH_MEM is set.
func benchDir(b *testing.B) string {
	if os.Getenv("BENCH_MEM") != "" {
		return ""
	}
	return b.TempDir()
}
