package kfake

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sessionFetcher sends raw fetches of one topic's partitions in one fetch
// session (KIP-227), as a consumer does.
type sessionFetcher struct {
	t       testing.TB
	cl      *kgo.Client
	topic   string
	topicID [16]byte
	id      int32
	epoch   int32
	offsets map[int32]int64
}

func newSessionFetcher(t testing.TB, cl *kgo.Client, topic string) *sessionFetcher {
	t.Helper()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background(), topic)
	if err != nil || topics[topic].Err != nil {
		t.Fatalf("list %s: %v %v", topic, err, topics[topic].Err)
	}
	return &sessionFetcher{t: t, cl: cl, topic: topic, topicID: topics[topic].ID, offsets: map[int32]int64{}}
}

// fetch sends the partitions in send (with their current offsets) and
// returns the partitions of the response, each with its record count,
// and moves the offsets past what came back.
func (f *sessionFetcher) fetch(send ...int32) map[int32]int {
	f.t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 20
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionID, req.SessionEpoch = f.id, f.epoch
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = f.topic, f.topicID
	for _, p := range send {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p
		rp.FetchOffset = f.offsets[p]
		rp.LogStartOffset = -1
		rp.CurrentLeaderEpoch = -1
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
	}
	if len(rt.Partitions) > 0 {
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(context.Background(), f.cl)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		f.t.Fatalf("fetch error %d", resp.ErrorCode)
	}
	f.id = resp.SessionID
	f.epoch++
	got := map[int32]int{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				f.t.Fatalf("partition %d: error %d", p.Partition, p.ErrorCode)
			}
			var n int
			for raw := p.RecordBatches; len(raw) > 0; {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(raw); err != nil {
					f.t.Fatal(err)
				}
				n += int(b.NumRecords)
				f.offsets[p.Partition] = b.FirstOffset + int64(b.LastOffsetDelta) + 1
				raw = raw[12+b.Length:]
			}
			got[p.Partition] = n
		}
	}
	return got
}

// TestIncrementalFetchLeavesOutUnchangedPartitions checks what a fetch
// session answers, as Apache Kafka does: the first fetch every partition
// asked for; an incremental fetch only the partitions with records or a
// changed high watermark, nothing for partitions at the end of their log
// (whether the request names them again or not).
func TestIncrementalFetchLeavesOutUnchangedPartitions(t *testing.T) {
	c, err := NewCluster(NumBrokers(1), SeedTopics(8, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(partitions ...int32) {
		t.Helper()
		for _, p := range partitions {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := []int32{0, 1, 2, 3, 4, 5, 6, 7}
	produce(all...)

	f := newSessionFetcher(t, cl, "t")
	want := func(got map[int32]int, exp map[int32]int, what string) {
		t.Helper()
		if len(got) != len(exp) {
			t.Fatalf("%s: partitions %v, want %v", what, got, exp)
		}
		for p, n := range exp {
			if got[p] != n {
				t.Fatalf("%s: partitions %v, want %v", what, got, exp)
			}
		}
	}
	full := map[int32]int{}
	for _, p := range all {
		full[p] = 1
	}
	want(f.fetch(all...), full, "the session's first fetch")
	want(f.fetch(all...), map[int32]int{}, "every partition at its end, named again")
	produce(3)
	want(f.fetch(), map[int32]int{3: 1}, "a record in partition 3")
	want(f.fetch(3), map[int32]int{}, "partition 3 at its end")
	produce(5, 5, 1)
	got := f.fetch()
	want(got, map[int32]int{1: 1, 5: 2}, "records in partitions 1 and 5")
	want(f.fetch(1, 5), map[int32]int{}, "partitions 1 and 5 at their end")
	want(f.fetch(), map[int32]int{}, "nothing new")
	if !slices.Equal([]int64{f.offsets[1], f.offsets[3], f.offsets[5]}, []int64{2, 2, 3}) {
		t.Fatalf("offsets %v", f.offsets)
	}
}

// BenchmarkIncrementalFetch measures a broker's incremental fetch of eight
// partitions of which one has a new record, the common case of a consumer
// of `sourced dev` (allocs/op is the broker's and the client's).
func BenchmarkIncrementalFetch(b *testing.B) {
	c, err := NewCluster(NumBrokers(1), SeedTopics(8, "t"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	f := newSessionFetcher(b, cl, "t")
	f.fetch(0, 1, 2, 3, 4, 5, 6, 7)
	rec := &kgo.Record{Topic: "t", Partition: 0, Value: []byte("v")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		rec.Partition = int32(i % 8)
		if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		// The partition fetched last goes along with its new offset.
		if got := f.fetch(int32((i+7)%8), rec.Partition); len(got) != 1 {
			b.Fatalf("partitions %v", got)
		}
	}
}
