package views

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// benchDoc is shaped like reference.ProfileDoc (which this package cannot
// import: reference imports views).
type benchDoc struct {
	ID             string    `json:"id"`
	Version        uint64    `json:"version"`
	Username       string    `json:"username"`
	Followers      []string  `json:"followers"`
	Following      []string  `json:"following"`
	FollowersCount int       `json:"followers_count"`
	FollowingCount int       `json:"following_count"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// BenchmarkBatchAdd measures batch.add, the per-record work of the batcher
// after projection (encoding the document and coalescing by id). Each
// iteration fills one batch of the projector's default size (2,000
// records) and resets it, so that -benchtime 1x is meaningful: divide B/op
// and allocs/op by 2,000, or read ns/record and allocs/record. "distinct"
// never coalesces (every record is a new document); "hot" spreads the
// records over 100 documents, so most adds replace an older version.
func BenchmarkBatchAdd(b *testing.B) {
	const maxDocs = 2000
	for _, tc := range []struct {
		name string
		ids  int
	}{{"distinct", 1 << 20}, {"hot", 100}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 4096 // distinct projections, reused round robin
			projs := make([]Projection, n)
			now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
			for i := range projs {
				id := fmt.Sprintf("user-%07d", i%tc.ids)
				projs[i] = Projection{Action: Put, ID: id, Version: uint64(i + 1), Doc: benchDoc{
					ID: id, Version: uint64(i + 1), Username: id + "-name",
					Followers: []string{"f0", "f1", "f2"}, Following: []string{}, FollowersCount: 3, UpdatedAt: now,
				}}
			}
			rec := &kgo.Record{Topic: "profile-table", Partition: 3, Offset: 42, Key: []byte("user-0000042"), Value: []byte(`{}`)}
			bt := newBatch(maxDocs)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			i := 0
			for b.Loop() {
				for range maxDocs {
					if err := bt.add(projs[i%n], rec); err != nil {
						b.Fatal(err)
					}
					i++
				}
				bt.reset()
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/record")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(i), "allocs/record")
		})
	}
}
