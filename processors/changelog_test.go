package processors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
)

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
	// Apache Kafka applies a deletion through its metadata log: a
	// metadata request right after the DeleteTopics answer may still
	// list the topic (the embedded broker deletes it at once).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := identify(c.topics.Table, 1)
		if errors.Is(err, kafka.ErrTopicMissing) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("identify a deleted topic: want ErrTopicMissing within 10s, got %v", err)
		}
	}
	if err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(2)); err != nil {
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
