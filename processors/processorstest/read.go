// Package processorstest holds helpers for tests that run sourced's roles
// against a Kafka-protocol broker.
package processorstest

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

// ReadTopic returns every record of topic up to the end offsets it has when
// called, failing the test after a minute.
func ReadTopic(t testing.TB, brokers []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	var recs []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %v (missing partitions %v)", topic, err, want)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("read %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset < end {
				recs = append(recs, r)
				if r.Offset+1 >= end {
					delete(want, r.Partition)
				}
			}
		})
	}
	return recs
}

// Table is a table topic read as every reader of it reads it (DESIGN.md
// guarantee 7): fences skipped, and the snapshots a deposed owner wrote
// after a newer owner's fence dropped.
type Table struct {
	// Latest is each aggregate's latest snapshot.
	Latest map[string]codecs.Snapshot
	// Stale counts the dropped snapshots of deposed owners.
	Stale int
	// Regressed counts the aggregates whose last record in the topic is
	// older than their latest snapshot: a reader without fencing would
	// have seen them go backwards.
	Regressed int
}

// ReadTable reads the table topic up to its current end offsets.
func ReadTable(t testing.TB, brokers []string, topic string) Table {
	t.Helper()
	var epochs codecs.Epochs
	tab := Table{Latest: map[string]codecs.Snapshot{}}
	naive := map[string]uint64{}
	for _, r := range ReadTopic(t, brokers, topic) {
		epoch := kafka.RecordEpoch(r)
		if codecs.IsFence(string(r.Key)) {
			epochs.Fence(r.Partition, epoch)
			continue
		}
		var s codecs.Snapshot
		if err := json.Unmarshal(r.Value, &s); err != nil {
			t.Fatalf("undecodable snapshot %q in %s: %v", r.Value, topic, err)
		}
		naive[string(r.Key)] = s.Version
		if epochs.Stale(r.Partition, epoch) {
			tab.Stale++
			continue
		}
		tab.Latest[string(r.Key)] = s
	}
	for id, s := range tab.Latest {
		if naive[id] < s.Version {
			tab.Regressed++
		}
	}
	return tab
}
