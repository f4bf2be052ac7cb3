package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/third_party/kfake"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedBrokerReadsHistoryBack writes a log of many sealed segments
// (most of whose batch indexes the broker drops from memory) and reads it
// all back from the start, as a processor restoring its table or a view
// rebuilding does, before and after a restart; and finds a record by its
// timestamp, as an offset reset to a time does.
func TestEmbeddedBrokerReadsHistoryBack(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	small := kfake.BrokerConfigs(map[string]string{"log.segment.bytes": "4096"})
	const topic, n = "history", 1500
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)

	b, err := Start(Config{Dir: dir, Listen: "127.0.0.1:0", extra: []kfake.Opt{small}})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.ListenAddrs()[0]
	createTopic(t, ctx, addr, topic)
	pr, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := &kgo.Record{Partition: int32(i % 2), Key: fmt.Appendf(nil, "k%d", i%50), Value: fmt.Appendf(nil, "v%d", i),
			Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := pr.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pr.Close()

	readBack := func(stage string) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(8192))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		next := [2]int{0, 1} // the next record index expected on each partition
		for got := 0; got < n; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: read %d of %d records back", stage, got, n)
			}
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("%s: fetch: %v", stage, err) })
			fs.EachRecord(func(r *kgo.Record) {
				p := r.Partition
				if want := fmt.Sprintf("v%d", next[p]); string(r.Value) != want || r.Offset != int64(next[p]/2) {
					t.Fatalf("%s: partition %d offset %d holds %q, want %q at offset %d", stage, p, r.Offset, r.Value, want, next[p]/2)
				}
				next[p] += 2
				got++
			})
		}
		adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		i := n / 3 // on partition i%2, at offset i/2
		lo, err := kadm.NewClient(adm).ListOffsetsAfterMilli(ctx, base.Add(time.Duration(i)*time.Second).UnixMilli(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := lo.Lookup(topic, int32(i%2)); o.Err != nil || o.Offset != int64(i/2) {
			t.Fatalf("%s: offset of the record written at its timestamp: %d (%v), want %d", stage, o.Offset, o.Err, i/2)
		}
	}
	readBack("written")
	b.Close()

	b, err = Start(Config{Dir: dir, Listen: addr, extra: []kfake.Opt{small}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	readBack("after a restart")
}
