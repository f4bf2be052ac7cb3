package bleve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
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

// BenchmarkBulkPaced measures what a view costs `sourced dev` at a steady
// rate: small batches (as the projector's 5 ms linger makes them at about
// 1,000 updates/s) of updates to 2,000 documents, paced at 1,000 docs/s,
// into an on-disk index. It reports CPU microseconds per document of the
// whole process, so bleve's background persister and segment merger count:
// at small batches they, not Bulk, are most of the cost. Run it for a few
// seconds of pacing, e.g. -benchtime 2000x (10 s per sub-benchmark).
// refresh=bulk applies every Bulk as its own batch; refresh=1s is
// Config.RefreshInterval (bleve.DefaultRefreshInterval), buffering the
// writes of a second into one batch.
func BenchmarkBulkPaced(b *testing.B) {
	const keys, perSecond = 2000, 1000
	for _, sub := range []struct {
		batch int
		every time.Duration
	}{{5, 0}, {25, 0}, {100, 0}, {5, bleve.DefaultRefreshInterval}, {25, bleve.DefaultRefreshInterval}} {
		refresh := "bulk"
		if sub.every > 0 {
			refresh = sub.every.String()
		}
		batch := sub.batch
		b.Run(fmt.Sprintf("refresh=%s/batch=%d", refresh, batch), func(b *testing.B) {
			s := openStoreWith(b, bleve.Config{Dir: b.TempDir(), RefreshInterval: sub.every})
			ctx := context.Background()
			if err := s.CreateIndex(ctx, "bench", benchMapping); err != nil {
				b.Fatal(err)
			}
			ops := make([]views.Op, batch)
			versions := make([]uint64, keys)
			next := 0
			fill := func() {
				for i := range ops {
					k := next % keys
					next += 7919 // a prime: ids spread over the whole key space
					versions[k]++
					ops[i] = views.Op{Index: "bench", ID: fmt.Sprintf("inv-%08d", k), Version: versions[k],
						Doc: json.RawMessage(fmt.Sprintf(
							`{"customer":"Customer %d Ltd","currency":"EUR","status":"issued","total":%d,"due_date":"2026-11-%02d"}`,
							k, int(versions[k])*100, 1+k%28))}
				}
			}
			interval := time.Duration(batch) * time.Second / perSecond
			b.ReportAllocs()
			start := cpuTime(b)
			b.ResetTimer()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for range b.N {
				<-tick.C
				fill()
				if _, err := s.Bulk(ctx, ops); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N*batch), "cpu-µs/doc")
		})
	}
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
