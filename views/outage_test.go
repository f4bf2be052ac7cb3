package views_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

func TestProjectorLosesNothingAndCommitsNothingEarlyThroughAnElasticsearchOutage(t *testing.T) {
	c := newCluster(t, "profile", 2)
	ids := hotIDs(50)
	c.produceSnapshots(t, ids, 1, 20, profileState)

	// Elasticsearch (estest or the real node) behind a fault proxy answers
	// every bulk with 503 for 5 s, then with 429 for the next 10 bulk
	// requests, and every request is 30 ms slower.
	url, faults, _ := stacktest.ESFaults(t, estest.Options{})
	faults.RejectRequestsFor("/_bulk", 503, 5*time.Second)
	faults.RejectRequests("/_bulk", 429, 10)
	faults.Delay("", 30*time.Millisecond)
	store, names := openElastic(t, elastic.Config{URLs: []string{url}, MaxRetries: 1,
		RetryBackoffMin: 20 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond})

	view := profileView(names)
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
		Batch: views.BatchConfig{RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	runProjector(t, p)

	// During the outage nothing is committed.
	adm := kadm.NewClient(c.client)
	group := codecs.ViewGroup(c.prefix, view.Name)
	time.Sleep(3 * time.Second)
	committed, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.At > 0 {
			t.Errorf("partition %d committed at %d while Elasticsearch was down", o.Partition, o.At)
		}
	})
	if p.Stats().Retries.Load() == 0 {
		t.Fatal("no retries during the outage")
	}

	// Afterwards every document arrives at its last version, and the
	// offsets are committed to the end.
	waitVersions(t, store, view.Name, ids, 20)
	ends, err := adm.ListEndOffsets(context.Background(), c.topics.Table)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		committed, err = adm.FetchOffsets(context.Background(), group)
		if err != nil {
			t.Fatal(err)
		}
		behind := 0
		ends.Each(func(e kadm.ListedOffset) {
			if o, ok := committed.Lookup(e.Topic, e.Partition); !ok || o.At < e.Offset {
				behind++
			}
		})
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d partitions not committed to their end after the outage", behind)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("outage: %d retries, %d batches, %d writes, %d dead letters", p.Stats().Retries.Load(),
		p.Stats().Batches.Load(), p.Stats().Writes.Load(), p.Stats().DeadLetters.Load())
	if p.Stats().DeadLetters.Load() != 0 {
		t.Fatalf("the outage produced %d dead letters", p.Stats().DeadLetters.Load())
	}
}
