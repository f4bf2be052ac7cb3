package processors_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

func TestPartitionerPlacesKeysAsGokaDoes(t *testing.T) {
	gokas := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("commands")
	ours := processors.Partitioner().ForTopic("commands")
	for _, n := range []int32{1, 3, 8, 12, 64} {
		for i := 0; i < 2000; i++ {
			key := fmt.Sprintf("inv-%d", i)
			want, err := gokas.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			if got := ours.Partition(&kgo.Record{Key: []byte(key)}, int(n)); int32(got) != want {
				t.Fatalf("key %q over %d partitions: ours %d, goka %d", key, n, got, want)
			}
		}
	}
}

func TestEnsureTopicsCreatesAndVerifies(t *testing.T) {
	c := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("ensuring again with the same shape succeeds", func(t *testing.T) {
		if err := processors.EnsureTopics(ctx, c.cl, c.topics, c.spec(3)); err != nil {
			t.Fatal(err)
		}
		n, err := processors.CheckTopics(ctx, c.cl, c.topics)
		if err != nil || n != 3 {
			t.Fatalf("check: %d, %v", n, err)
		}
	})
	t.Run("another partition count is a mismatch", func(t *testing.T) {
		err := processors.EnsureTopics(ctx, c.cl, c.topics, c.spec(5))
		var mm *processors.TopicMismatchError
		if !errors.As(err, &mm) || mm.Field != "partitions" {
			t.Fatalf("want a partitions mismatch, got %v", err)
		}
	})
	t.Run("missing topics are reported by name", func(t *testing.T) {
		other := codecs.NewTopics(c.prefix, "nothing")
		_, err := processors.CheckTopics(ctx, c.cl, other)
		if !errors.Is(err, processors.ErrTopicMissing) {
			t.Fatalf("want ErrTopicMissing, got %v", err)
		}
	})
	t.Run("a compacted events topic is a mismatch", func(t *testing.T) {
		bad := codecs.NewTopics(c.prefix+"-bad", "invoice")
		if err := processors.EnsureTopics(ctx, c.cl, bad, c.spec(1)); err != nil {
			t.Fatal(err)
		}
		if c.real {
			defer c.adm.DeleteTopics(context.Background(), bad.All()...)
		}
		compact := "compact"
		if _, err := c.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: &compact}}, bad.Events); err != nil {
			t.Fatal(err)
		}
		waitTopicConfig(t, c, bad.Events, "cleanup.policy", compact)
		_, err := processors.CheckTopics(ctx, c.cl, bad)
		var mm *processors.TopicMismatchError
		if !errors.As(err, &mm) || mm.Topic != bad.Events || mm.Field != "cleanup.policy" {
			t.Fatalf("want a cleanup.policy mismatch on %s, got %v", bad.Events, err)
		}
	})
}

func TestChangelogIdentityChangesWhenTheTopicIsRecreated(t *testing.T) {
	c := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	identify := processors.Changelog(c.cl, 10*time.Second)
	before, err := identify(c.topics.Table, 1)
	if err != nil {
		t.Fatal(err)
	}
	if before.ID == "" || before.End != 0 {
		t.Fatalf("identity of a new table: %+v", before)
	}
	if _, err := c.adm.DeleteTopics(ctx, c.topics.Table); err != nil {
		t.Fatal(err)
	}
	if _, err := identify(c.topics.Table, 1); !errors.Is(err, processors.ErrTopicMissing) {
		t.Fatalf("identify a deleted topic: want ErrTopicMissing, got %v", err)
	}
	if err := processors.EnsureTopics(ctx, c.cl, c.topics, c.spec(2)); err != nil {
		t.Fatal(err)
	}
	after, err := identify(c.topics.Table, 1)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID == before.ID {
		t.Fatalf("a recreated topic kept its identity %q", after.ID)
	}
}

// waitTopicConfig waits until the broker describes topic with key=value.
// Apache Kafka applies an altered config through its metadata log: a
// DescribeConfigs right after the AlterConfigs answer may still show the
// old value (the embedded broker applies it at once).
func waitTopicConfig(t *testing.T, c *cluster, topic, key, value string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rcs, err := c.adm.DescribeTopicConfigs(ctx, topic)
		cancel()
		var got string
		if err == nil {
			if rc, err := rcs.On(topic, nil); err == nil {
				for _, cfg := range rc.Configs {
					if cfg.Key == key {
						got = cfg.MaybeValue()
					}
				}
			}
		}
		if got == value {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %s is %q 10 s after it was set to %q (describe error %v)", topic, key, got, value, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
