package kafka_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// TestConcurrentOffsetsAnswersAsSarama: the topic manager goka's partition
// tables ask for their changelog's offsets at start gives, through
// franz-go, what sarama's gives: the log start offset and the high
// watermark of each partition, also after records were deleted from the
// start, when asked by every partition at once; an unknown partition is an
// error; other times still go to sarama.
func TestConcurrentOffsetsAnswersAsSarama(t *testing.T) {
	const partitions = 4
	c := startCluster(t, partitions)
	topic := c.topics.Events
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for p := range int32(partitions) {
		for range 3 + p {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("v")})
		}
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	if err := pcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	// Partition 1 loses its first two records.
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: 1, At: 2})
	if _, err := c.adm.DeleteRecords(ctx, del); err != nil {
		t.Fatalf("delete records: %v", err)
	}

	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	plain := goka.TopicManagerBuilderWithConfig(sc, goka.NewTopicManagerConfig())
	saramaTM, err := plain(c.brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer saramaTM.Close()
	tm, err := kafka.ConcurrentOffsets(plain, []kgo.Opt{kgo.SeedBrokers(c.brokers...)})(c.brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tm.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()

	type answer struct {
		offset int64
		err    error
	}
	got := make([][2]answer, partitions)
	var wg sync.WaitGroup
	for p := range int32(partitions) {
		for i, at := range []int64{sarama.OffsetOldest, sarama.OffsetNewest} {
			wg.Go(func() {
				o, err := tm.GetOffset(topic, p, at)
				got[p][i] = answer{o, err}
			})
		}
	}
	wg.Wait()
	for p := range int32(partitions) {
		wantOldest, wantNewest := int64(0), int64(3+p)
		if p == 1 {
			wantOldest = 2
		}
		if g := got[p][0]; g.err != nil || g.offset != wantOldest {
			t.Errorf("partition %d: oldest %d, %v; want %d", p, g.offset, g.err, wantOldest)
		}
		if g := got[p][1]; g.err != nil || g.offset != wantNewest {
			t.Errorf("partition %d: newest %d, %v; want %d", p, g.offset, g.err, wantNewest)
		}
		for i, at := range []int64{sarama.OffsetOldest, sarama.OffsetNewest} {
			s, err := saramaTM.GetOffset(topic, p, at)
			if err != nil || s != got[p][i].offset {
				t.Errorf("partition %d at %d: sarama says %d, %v; franz-go %d", p, at, s, err, got[p][i].offset)
			}
		}
	}

	if _, err := tm.GetOffset(topic, partitions, sarama.OffsetNewest); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("offset of a partition the topic lacks: %v, want %v", err, kerr.UnknownTopicOrPartition)
	}
	// A timestamp is not the two offsets goka asks for at start: sarama
	// answers it, with the first offset at or after it.
	if o, err := tm.GetOffset(topic, 0, 0); err != nil || o != 0 {
		t.Errorf("offset at time 0: %d, %v; want 0", o, err)
	}
}
