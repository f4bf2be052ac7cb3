package views_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/third_party/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/reference"
)

// The benchmarks of this file measure the projector and the rebuild end to
// end on the embedded broker, which runs in the same process and shares its
// CPU. Absolute figures swing between runs on shared machines: compare the
// ratios of one run (see shared/PERF.md). Each iteration starts from a fresh
// broker (and store) prepared with the timer stopped; the timer covers
// everything from starting the consumer to the last document stored,
// group join included (startup-ms reports that part).
//
//	go test ./views -run '^$' -bench . -benchtime 1x

// benchRecords is how many snapshots the throughput benchmarks read, each
// of a distinct aggregate so that nothing coalesces. Enough that the
// group join and the first fetch (which every run pays once) do not decide
// the rate: with 50,000 (15 MB), a plain consumer (BenchmarkRawConsumption)
// took one or two fetches, about 17 ms, nearly all of it joining its
// group, and the projector's ratio to it moved by a fifth from run to run
// with the join.
const benchRecords = 400_000

// benchPartitions is the partition count of the source topic, as in PERF.md.
const benchPartitions = 8

// newBenchCluster is newCluster for a benchmark iteration: the caller closes
// it, so that iterations do not pile brokers up.
func newBenchCluster(b *testing.B, aggregate string) (c *cluster, closeFn func()) {
	b.Helper()
	topics := codecs.NewTopics("", aggregate)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, topics.All()...))
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		kc.Close()
		b.Fatal(err)
	}
	return &cluster{brokers: kc.ListenAddrs(), client: cl, topics: topics}, func() { cl.Close(); kc.Close() }
}

// benchProduce is produceSnapshots for benchmarks: one snapshot per (id,
// version), all ids of a version before the next version.
func benchProduce(b *testing.B, c *cluster, ids []string, fromVersion, toVersion uint64) {
	b.Helper()
	updated := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, 0, len(ids)*int(toVersion-fromVersion+1))
	for v := fromVersion; v <= toVersion; v++ {
		for _, id := range ids {
			st, err := json.Marshal(profileState(id, v))
			if err != nil {
				b.Fatal(err)
			}
			snap, err := json.Marshal(codecs.Snapshot{AggregateID: id, Version: v, Schema: 1, State: st, UpdatedAt: updated})
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: c.topics.Table, Key: []byte(id), Value: snap})
		}
	}
	if err := c.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
}

func distinctIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%07d", i)
	}
	return ids
}

// noopStore is the cheapest possible views.Store: every write is applied
// and forgotten. It keeps just enough alias state for views.Ensure.
type noopStore struct {
	mu    sync.Mutex
	alias map[string]string // alias -> its single (write) index
}

func (s *noopStore) CreateIndex(context.Context, string, views.Mapping) error { return nil }
func (s *noopStore) DeleteIndex(context.Context, string) error                { return nil }
func (s *noopStore) Indices(context.Context, string) ([]string, error)        { return nil, nil }
func (s *noopStore) Refresh(context.Context, string) error                    { return nil }
func (s *noopStore) Close() error                                             { return nil }

func (s *noopStore) Alias(_ context.Context, alias string) ([]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.alias[alias]
	if !ok {
		return nil, "", nil // a missing alias: no indices, no error
	}
	return []string{idx}, idx, nil
}

func (s *noopStore) UpdateAliases(_ context.Context, actions []views.AliasAction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alias == nil {
		s.alias = map[string]string{}
	}
	for _, a := range actions {
		if a.Kind == views.AddAlias {
			s.alias[a.Alias] = a.Index
		}
	}
	return nil
}

func (s *noopStore) Bulk(_ context.Context, ops []views.Op) ([]views.ItemResult, error) {
	return make([]views.ItemResult, len(ops)), nil // the zero Outcome is Applied
}

func (s *noopStore) Get(context.Context, string, string) (views.Document, error) {
	return views.Document{}, views.ErrNotFound
}

func (s *noopStore) Search(context.Context, string, views.SearchRequest) (views.SearchResult, error) {
	return views.SearchResult{}, nil
}

// watchStore wraps a store and closes done once `left` operations of
// version final are stored (applied or stale): with one record per (id,
// version), that is when the last version of every document is in.
type watchStore struct {
	views.Store
	final     uint64
	left      atomic.Int64
	firstBulk atomic.Int64 // unix nanos of the first Bulk call
	done      chan struct{}
}

func newWatchStore(s views.Store, final uint64, docs int) *watchStore {
	w := &watchStore{Store: s, final: final, done: make(chan struct{})}
	w.left.Store(int64(docs))
	return w
}

func (w *watchStore) Bulk(ctx context.Context, ops []views.Op) ([]views.ItemResult, error) {
	w.firstBulk.CompareAndSwap(0, time.Now().UnixNano())
	res, err := w.Store.Bulk(ctx, ops)
	if err != nil {
		return res, err
	}
	var n int64
	for i, op := range ops {
		if op.Version == w.final && (res[i].Outcome == views.Applied || res[i].Outcome == views.Stale) {
			n++
		}
	}
	if n > 0 && w.left.Add(-n) == 0 {
		close(w.done)
	}
	return res, nil
}

// projectOnce runs a projector of view over c until store saw every
// document's final version, timing only that. It returns the projector's
// stats and the time from start to the first Bulk call.
func projectOnce(b *testing.B, c *cluster, view *views.View, store *watchStore, batch views.BatchConfig) (*views.Stats, time.Duration) {
	b.Helper()
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ), Batch: batch,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	start := time.Now()
	b.StartTimer()
	go func() { runErr <- p.Run(ctx) }()
	select {
	case <-store.done:
	case err := <-runErr:
		b.Fatalf("projector stopped early: %v", err)
	case <-time.After(2 * time.Minute):
		b.Fatalf("projector: %d documents still missing after 2m (%d records read)", store.left.Load(), p.Stats().Records.Load())
	}
	b.StopTimer()
	cancel()
	if err := <-runErr; err != nil {
		b.Fatalf("projector stopped with %v", err)
	}
	return p.Stats(), time.Unix(0, store.firstBulk.Load()).Sub(start)
}

// reportRate reports records per second and nanoseconds per record over
// the timed part of the benchmark.
func reportRate(b *testing.B, records int64, unit string) {
	secs := b.Elapsed().Seconds()
	if records == 0 || secs == 0 {
		return
	}
	b.ReportMetric(float64(records)/secs, unit+"/s")
	b.ReportMetric(secs*1e9/float64(records), "ns/"+unit[:len(unit)-1])
}

// BenchmarkProjectorNoopStore measures the projector's own cost: reading
// benchRecords profile snapshots (distinct ids, so nothing coalesces)
// through goka, decoding and projecting them, batching and "writing" them
// to a store that does nothing. Compare with BenchmarkRawConsumption, the
// same records read by a plain franz-go consumer group.
func BenchmarkProjectorNoopStore(b *testing.B) {
	ids := distinctIDs(benchRecords)
	var records int64
	var startup time.Duration
	b.StopTimer()
	for range b.N {
		c, closeCluster := newBenchCluster(b, "profile")
		benchProduce(b, c, ids, 1, 1)
		store := newWatchStore(&noopStore{}, 1, len(ids))
		st, su := projectOnce(b, c, reference.Profile(), store, views.BatchConfig{})
		closeCluster()
		if st.Records.Load() != benchRecords || st.Writes.Load() != benchRecords {
			b.Fatalf("read %d records, wrote %d, want %d", st.Records.Load(), st.Writes.Load(), benchRecords)
		}
		records += st.Records.Load()
		startup += su
	}
	reportRate(b, records, "records")
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "startup-ms")
}

// BenchmarkProjectionWork is the JSON work the projector does per record
// outside Kafka and the batcher's map, on the same snapshots as
// BenchmarkProjectorNoopStore, the way the projector does it: decode the
// view's part of the snapshot envelope (codecs.DecodeSnapshotForView), run
// the profile projection (which decodes the state), encode the document
// (reference.ProfileDoc encodes itself). Each iteration handles
// benchRecords snapshots on one goroutine.
func BenchmarkProjectionWork(b *testing.B) {
	view := reference.Profile()
	updated := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	values := make([][]byte, 0, benchRecords)
	for _, id := range distinctIDs(benchRecords) {
		st, err := json.Marshal(profileState(id, 1))
		if err != nil {
			b.Fatal(err)
		}
		snap, err := json.Marshal(codecs.Snapshot{AggregateID: id, Version: 1, Schema: 1, State: st, UpdatedAt: updated})
		if err != nil {
			b.Fatal(err)
		}
		values = append(values, snap)
	}
	var records int64
	arena := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range values {
			p, err := views.Project(view, v)
			if err != nil {
				b.Fatal(err)
			}
			if len(arena) > 60<<10 {
				arena = make([]byte, 0, 64<<10)
			}
			if _, arena, err = views.EncodeOp(p, arena); err != nil {
				b.Fatal(err)
			}
		}
		records += int64(len(values))
	}
	reportRate(b, records, "records")
}

// BenchmarkRawConsumption is the baseline of BenchmarkProjectorNoopStore:
// a franz-go consumer group reading the same records from the start,
// decoding nothing, and committing (autocommit, then a final synchronous
// commit inside the timer).
func BenchmarkRawConsumption(b *testing.B) {
	ids := distinctIDs(benchRecords)
	var records int64
	var startup time.Duration
	b.StopTimer()
	for range b.N {
		c, closeCluster := newBenchCluster(b, "profile")
		benchProduce(b, c, ids, 1, 1)
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.ConsumerGroup("raw-bench"),
			kgo.ConsumeTopics(c.topics.Table), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		b.StartTimer()
		n := 0
		for n < benchRecords {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				b.Fatalf("poll after %d records: %v", n, err)
			}
			if n == 0 && fs.NumRecords() > 0 {
				startup += time.Since(start)
			}
			n += fs.NumRecords()
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cancel()
		cl.Close()
		closeCluster()
		records += int64(n)
	}
	reportRate(b, records, "records")
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "startup-ms")
}

// BenchmarkProjectorHotProfiles measures how well batching coalesces the
// hot-profile load: 100 profiles updated 200 times each (20,000 snapshots,
// interleaved as they would arrive), projected into an on-disk bleve index.
// writes/event is the number of documents sent to the store per snapshot
// read (1 without coalescing; 100 per batch at best). The sub-benchmarks
// differ in Linger: the default, and 50ms (the coalescing test's setting).
func BenchmarkProjectorHotProfiles(b *testing.B) {
	const hot, versions = 100, 200
	ids := hotIDs(hot)
	for _, linger := range []time.Duration{0, 50 * time.Millisecond} {
		name := "linger=default"
		if linger > 0 {
			name = "linger=" + linger.String()
		}
		b.Run(name, func(b *testing.B) {
			var records, writes, batches int64
			b.StopTimer()
			for range b.N {
				c, closeCluster := newBenchCluster(b, "profile")
				benchProduce(b, c, ids, 1, versions)
				bs, err := bleve.Open(bleve.Config{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				store := newWatchStore(bs, versions, hot)
				st, _ := projectOnce(b, c, reference.Profile(), store, views.BatchConfig{Linger: linger})
				closeCluster()
				if err := bs.Close(); err != nil {
					b.Fatal(err)
				}
				records += st.Records.Load()
				writes += st.Writes.Load()
				batches += st.Batches.Load()
			}
			if records != int64(b.N)*hot*versions {
				b.Fatalf("read %d records, want %d", records, b.N*hot*versions)
			}
			b.ReportMetric(float64(writes)/float64(records), "writes/event")
			b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
			reportRate(b, records, "records")
		})
	}
}

// BenchmarkRebuild measures views.Rebuild of the profile view from 20,000
// snapshots of distinct profiles, into estest behind real HTTP (the
// Elasticsearch store) and into an on-disk bleve store. docs/s counts the
// documents applied to the new generation over the rebuild's whole run
// (replay, swap, catch-up, cleanup).
func BenchmarkRebuild(b *testing.B) {
	const n = 20_000
	c, closeCluster := newBenchCluster(b, "profile")
	defer closeCluster()
	benchProduce(b, c, distinctIDs(n), 1, 1)
	sinks := []struct {
		name string
		open func(b *testing.B) (views.Store, func())
	}{
		{"elastic", func(b *testing.B) (views.Store, func()) {
			ts := httptest.NewServer(estest.New(estest.Options{}))
			s, err := elastic.New(elastic.Config{URLs: []string{ts.URL}})
			if err != nil {
				ts.Close()
				b.Fatal(err)
			}
			return s, func() { _ = s.Close(); ts.Close() }
		}},
		{"bleve", func(b *testing.B) (views.Store, func()) {
			s, err := bleve.Open(bleve.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return s, func() { _ = s.Close() }
		}},
	}
	for _, sink := range sinks {
		b.Run(sink.name, func(b *testing.B) {
			ctx := context.Background()
			var docs int64
			b.StopTimer()
			for range b.N {
				store, closeStore := sink.open(b)
				view := reference.Profile()
				if _, err := views.Ensure(ctx, store, view); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := views.Rebuild(ctx, view, views.RebuildConfig{
					Kafka: kafka.Connection{Brokers: c.brokers},
					Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
				})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Records != n || res.Stats.Applied.Load() != n {
					b.Fatalf("rebuild read %d records and applied %d, want %d", res.Records, res.Stats.Applied.Load(), n)
				}
				if _, err := store.Get(ctx, view.Name, "user-0000042"); err != nil {
					b.Fatalf("a rebuilt document: %v", err)
				}
				closeStore()
				docs += res.Stats.Applied.Load()
			}
			reportRate(b, docs, "docs")
		})
	}
}
