package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

func TestPartitionerPlacesKeysAsGokaDoes(t *testing.T) {
	gokas := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("commands")
	ours := kafka.Partitioner().ForTopic("commands")
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
		if err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(3)); err != nil {
			t.Fatal(err)
		}
		n, err := kafka.CheckTopics(ctx, c.cl, c.topics)
		if err != nil || n != 3 {
			t.Fatalf("check: %d, %v", n, err)
		}
	})
	t.Run("another partition count is a mismatch", func(t *testing.T) {
		err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(5))
		var mm *kafka.TopicMismatchError
		if !errors.As(err, &mm) || mm.Field != "partitions" {
			t.Fatalf("want a partitions mismatch, got %v", err)
		}
	})
	t.Run("missing topics are reported by name", func(t *testing.T) {
		other := codecs.NewTopics(c.prefix, "nothing")
		_, err := kafka.CheckTopics(ctx, c.cl, other)
		if !errors.Is(err, kafka.ErrTopicMissing) {
			t.Fatalf("want ErrTopicMissing, got %v", err)
		}
	})
	t.Run("a compacted events topic is a mismatch", func(t *testing.T) {
		bad := codecs.NewTopics(c.sub("bad"), "invoice")
		if err := kafka.EnsureTopics(ctx, c.cl, bad, c.spec(1)); err != nil {
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
		_, err := kafka.CheckTopics(ctx, c.cl, bad)
		var mm *kafka.TopicMismatchError
		if !errors.As(err, &mm) || mm.Topic != bad.Events || mm.Field != "cleanup.policy" {
			t.Fatalf("want a cleanup.policy mismatch on %s, got %v", bad.Events, err)
		}
	})
}

// The topics as the broker describes them after EnsureTopics, against
// DESIGN.md's topics table: compacted tables kept for ever with a week of
// min.compaction.lag.ms on Apache Kafka (never deleted, not compacted, on
// the embedded broker, which ignores the lag), and min.insync.replicas set
// on every topic when asked for.
func TestEnsureTopicsConfigsAsDescribedByTheBroker(t *testing.T) {
	c := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := c.spec(2)
	spec.MinInsyncReplicas = 1
	named := codecs.NewTopics(c.sub("isr"), "invoice")
	if c.real {
		defer c.adm.DeleteTopics(context.Background(), named.All()...)
	}
	if err := kafka.EnsureTopics(ctx, c.cl, named, spec); err != nil {
		t.Fatal(err)
	}
	table := map[string]string{"cleanup.policy": "compact", "retention.ms": "-1", "min.compaction.lag.ms": "604800000"}
	if !c.real {
		table = map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}
	}
	want := map[string]map[string]string{
		named.Commands:       {"cleanup.policy": "delete", "retention.ms": "604800000"},
		named.Table:          table,
		named.PublisherTable: table,
		named.Events:         {"cleanup.policy": "delete", "retention.ms": "-1"},
		named.Results:        {"cleanup.policy": "delete", "retention.ms": "86400000"},
		named.DLQ:            {"cleanup.policy": "delete", "retention.ms": "2592000000"},
	}
	rcs, err := c.adm.DescribeTopicConfigs(ctx, named.All()...)
	if err != nil {
		t.Fatal(err)
	}
	for topic, configs := range want {
		rc, err := rcs.On(topic, nil)
		if err != nil {
			t.Fatalf("describe %s: %v", topic, err)
		}
		got := map[string]kadm.Config{}
		for _, cfg := range rc.Configs {
			got[cfg.Key] = cfg
		}
		configs["min.insync.replicas"] = "1"
		for key, value := range configs {
			g, ok := got[key]
			if !ok || g.MaybeValue() != value {
				t.Errorf("topic %s: %s = %q, want %q", topic, key, g.MaybeValue(), value)
				continue
			}
			if g.Source != kmsg.ConfigSourceDynamicTopicConfig {
				t.Errorf("topic %s: %s = %s comes from %s, want a topic config", topic, key, value, g.Source)
			}
		}
		t.Logf("%s: cleanup.policy=%s retention.ms=%s min.compaction.lag.ms=%s min.insync.replicas=%s max.message.bytes=%s",
			topic, value(got["cleanup.policy"]), value(got["retention.ms"]), value(got["min.compaction.lag.ms"]),
			value(got["min.insync.replicas"]), value(got["max.message.bytes"]))
	}
}

func value(c kadm.Config) string { return c.MaybeValue() }

// A replication factor above the broker count, or min.insync.replicas
// above the replication factor, is refused before anything is created,
// with a message that says why.
func TestEnsureTopicsRefusesImpossibleReplication(t *testing.T) {
	c := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other := codecs.NewTopics(c.sub("rf"), "invoice")
	err := kafka.EnsureTopics(ctx, c.cl, other, kafka.TopicSpec{Partitions: 1, Replication: 3, NoCompaction: !c.real})
	if err == nil || !strings.Contains(err.Error(), "replication factor 3 exceeds the 1 broker(s)") {
		t.Fatalf("replication 3 on one broker: got %v", err)
	}
	t.Logf("replication 3: %v", err)
	err = kafka.EnsureTopics(ctx, c.cl, other, kafka.TopicSpec{Partitions: 1, Replication: 1, MinInsyncReplicas: 2, NoCompaction: !c.real})
	if err == nil || !strings.Contains(err.Error(), "min.insync.replicas 2 exceeds the replication factor 1") {
		t.Fatalf("min.insync.replicas 2 with replication 1: got %v", err)
	}
	if _, err := kafka.CheckTopics(ctx, c.cl, other); !errors.Is(err, kafka.ErrTopicMissing) {
		t.Fatalf("a refused spec created topics: %v", err)
	}
	// What the broker itself says, for the record.
	resp, err := c.adm.CreateTopic(ctx, 1, 3, nil, other.Commands)
	if err == nil {
		err = resp.Err
	}
	t.Logf("the broker asked for replication 3 on one broker: %v", err)
	if err == nil {
		_, _ = c.adm.DeleteTopics(ctx, other.Commands)
	}

	// Why sourced refuses it rather than let the broker decide: neither
	// broker stops such a write. Apache Kafka 4 caps the effective
	// min.insync.replicas at the replication factor and the embedded
	// broker ignores the setting, so it would silently promise nothing.
	two := "2"
	resp, err = c.adm.CreateTopic(ctx, 1, 1, map[string]*string{"min.insync.replicas": &two}, other.Events)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create a topic with min.insync.replicas 2: %v", err)
	}
	defer c.adm.DeleteTopics(context.Background(), other.Events)
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RecordDeliveryTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	err = pr.ProduceSync(ctx, &kgo.Record{Topic: other.Events, Value: []byte("x")}).FirstErr()
	t.Logf("produce with acks=all to min.insync.replicas 2 on one replica: %v (nil: taken)", err)
}
