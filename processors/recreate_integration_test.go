package processors_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// topicID returns the topic ID of topic, zero when it does not exist.
func (c *cluster) topicID(t *testing.T, topic string) kadm.TopicID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := c.adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	d, ok := md.Topics[topic]
	if !ok || d.Err != nil {
		return kadm.TopicID{}
	}
	return d.ID
}

// recreateCommands deletes the commands topic and creates it again as
// `topics ensure` does, retrying while the broker still deletes it.
func (c *cluster) recreateCommands(t *testing.T, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := c.adm.DeleteTopics(ctx, c.topics.Commands)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("delete %s: %v", c.topics.Commands, err)
	}
	for {
		err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(partitions))
		if err == nil {
			// The test's client keeps the old topic's ID (franz-go
			// produces by topic ID to brokers that support it) and would
			// fail with UNKNOWN_TOPIC_ID: the test produces with a new one,
			// as a client started after the recreation would. (c.adm, which
			// asks the broker afresh, stays for the cleanup.)
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RecordPartitioner(kafka.Partitioner()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			c.cl = cl
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("recreate %s: %v", c.topics.Commands, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A deleted and recreated commands topic starts its offsets at 0 again
// (guarantee 10), on both brokers: the snapshots are stamped with the
// topic's ID, so commands at offsets at or below a snapshot's offset of the
// old topic are decided, not taken for replays; retries by id are still
// recognised.
func TestIntegrationRecreatedCommandsTopicIsANewInput(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	const partitions = 2
	c := startCluster(t, partitions)
	results := c.watchResults(t)
	dir := t.TempDir()
	stop := runProcessor(t, c.config(dir))

	const id = "inv-recreated"
	line := func(n string) *codecs.Command {
		return invoiceCmd("line-"+n, id, "AddLineItem", `{"line_id":"`+n+`","description":"d","quantity":1,"unit_price":5}`)
	}
	c.produce(t, []*codecs.Command{invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`),
		line("1"), line("2"), line("3")})
	if r := results.waitResult(t, "line-3", 1); r.Status != codecs.StatusAccepted || r.Version != 4 {
		t.Fatalf("before: %+v", r)
	}
	stop()

	old := c.topicID(t, c.topics.Commands)
	c.recreateCommands(t, partitions)
	now := c.topicID(t, c.topics.Commands)
	t.Logf("commands topic %s recreated: topic ID %s, was %s", c.topics.Commands, now, old)
	if now == old || now == (kadm.TopicID{}) {
		t.Fatalf("topic ID %s after recreating, was %s", now, old)
	}

	// The same store (closed cleanly, its snapshot at offset 3 of the old
	// topic) goes on with the new topic's offsets 0, 1 and 2.
	runProcessor(t, c.config(dir))
	c.produce(t, []*codecs.Command{line("4"), line("5"), line("1")})
	for i, want := range []struct {
		id      string
		status  codecs.Status
		version uint64
	}{{"line-4", codecs.StatusAccepted, 5}, {"line-5", codecs.StatusAccepted, 6}, {"line-1", codecs.StatusDuplicate, 2}} {
		n := 1
		if want.status == codecs.StatusDuplicate {
			n = 2
		}
		r := results.waitResult(t, want.id, n)
		if r.Status != want.status || r.Version != want.version {
			t.Fatalf("command %d after the topic was recreated: %+v, want %s at version %d", i, r, want.status, want.version)
		}
	}
	var last codecs.Snapshot
	for _, rec := range c.readSnapshots(t) {
		if err := json.Unmarshal(rec.Value, &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Version != 6 || last.Offset != 1 || last.Input != now.String() {
		t.Fatalf("last snapshot: version %d, offset %d of %q; want 6, 1 of %q", last.Version, last.Offset, last.Input, now)
	}
}
