package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
)

// cluster is the test's broker (the shared Apache Kafka under
// SOURCED_TEST_KAFKA, else an embedded one) with clients for the test and
// the topics of one aggregate under a name prefix of the test's own.
type cluster struct {
	brokers []string
	prefix  string
	// real is true on Apache Kafka.
	real   bool
	cl     *kgo.Client
	adm    *kadm.Client
	topics codecs.Topics
}

// startCluster gives the test a broker (brokertest.Kafka: the embedded broker `dev` runs, or the shared Apache Kafka) with the topics
// of the invoice aggregate, created as `topics ensure` creates them.
func startCluster(t testing.TB, partitions int32) *cluster {
	t.Helper()
	k := brokertest.Kafka(t)
	prefix := strings.TrimSuffix(k.Prefix, "-")
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(cl.Close)
	c := &cluster{brokers: k.Brokers, prefix: prefix, real: k.Real, cl: cl, adm: kadm.NewClient(cl),
		topics: codecs.NewTopics(prefix, "invoice")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(partitions)); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	if k.Real {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("keeping topics %s on the shared broker", strings.Join(c.topics.All(), ", "))
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.adm.DeleteTopics(ctx, c.topics.All()...); err != nil {
				t.Logf("delete topics: %v", err)
			}
		})
	}
	return c
}

// spec is the TopicSpec of the broker: compacted tables on Apache Kafka,
// never-deleted ones on the embedded broker, which ignores
// min.compaction.lag.ms.
func (c *cluster) spec(partitions int32) kafka.TopicSpec {
	return kafka.TopicSpec{Partitions: partitions, NoCompaction: !c.real}
}

// sub is a prefix for more topics of the test: the cluster's prefix and name.
func (c *cluster) sub(name string) string { return strings.TrimPrefix(c.prefix+"-"+name, "-") }

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
