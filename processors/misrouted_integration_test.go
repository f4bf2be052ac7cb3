package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// runProcessor runs the invoice processor of c in the test's process with
// cfg until the returned stop is called, which fails the test if Run
// returned an error.
func runProcessor(t *testing.T, cfg processors.Config) (stop func()) {
	t.Helper()
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("processor: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// invoiceCmd is an invoice command for the tests of this file.
func invoiceCmd(id, aggID, typ, data string) *codecs.Command {
	return &codecs.Command{ID: id, Aggregate: invoice.Name, AggregateID: aggID, Type: typ, Data: json.RawMessage(data),
		IssuedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
}

// produceTo writes cmd to an explicit partition of the commands topic, as a
// producer with another partitioner (Java's murmur2, librdkafka's crc32)
// would place it.
func (c *cluster) produceTo(t *testing.T, partition int32, cmd *codecs.Command) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b, err := codecs.CommandCodec{}.Encode(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &kgo.Record{Topic: c.topics.Commands, Partition: partition, Key: []byte(cmd.AggregateID), Value: b}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce to partition %d: %v", partition, err)
	}
}

// waitResult waits for the n-th result of command id.
func (w *resultWatcher) waitResult(t *testing.T, id string, n int) codecs.Result {
	t.Helper()
	deadline := time.Now().Add(replicaTimeout)
	for {
		w.mu.Lock()
		rs := w.results[id]
		w.mu.Unlock()
		if len(rs) >= n {
			return rs[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("command %s: %d results after %s, want %d", id, len(rs), replicaTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A command written to a partition its key does not hash to (guarantee 10),
// on both brokers: it is dead-lettered with wrong_partition and answered
// rejected; no snapshot is written on that partition and the aggregate's
// real snapshot is untouched, so the next well-routed command follows it.
func TestIntegrationMisroutedCommandIsDeadLettered(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	const partitions = 4
	c := startCluster(t, partitions)
	results := c.watchResults(t)
	stop := runProcessor(t, c.config(t.TempDir()))

	const id = "inv-misrouted"
	right := kafka.PartitionOf(id, partitions)
	wrong := (right + 1) % partitions
	c.produce(t, []*codecs.Command{invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)})
	if r := results.waitResult(t, "create", 1); r.Status != codecs.StatusAccepted || r.Version != 1 {
		t.Fatalf("create: %+v", r)
	}
	c.produceTo(t, wrong, invoiceCmd("misrouted", id, "CreateInvoice", `{"customer":"other","currency":"USD","due_date":"2027-01-31"}`))
	r := results.waitResult(t, "misrouted", 1)
	t.Logf("a command for partition %d written to %d: %+v %+v", right, wrong, r, r.Error)
	if r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != processors.RejectWrongPartition {
		t.Fatalf("misrouted command: %+v, want rejected %s", r, processors.RejectWrongPartition)
	}
	c.produce(t, []*codecs.Command{invoiceCmd("line", id, "AddLineItem", `{"line_id":"l1","description":"d","quantity":1,"unit_price":5}`)})
	if r := results.waitResult(t, "line", 1); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("the command after it: %+v, want accepted at version 2", r)
	}
	stop()

	dead := c.readAll(t, c.topics.DLQ)
	if len(dead) != 1 || header(dead[0], processors.HeaderErrorCode) != processors.RejectWrongPartition ||
		header(dead[0], processors.HeaderSourcePartition) != strconv.Itoa(int(wrong)) {
		t.Fatalf("dead letters: %d, want one %s from partition %d: %v", len(dead), processors.RejectWrongPartition, wrong, dead)
	}
	for _, rec := range c.readSnapshots(t) {
		var s codecs.Snapshot
		if err := json.Unmarshal(rec.Value, &s); err != nil {
			t.Fatal(err)
		}
		if rec.Partition != right || s.Step.CommandID == "misrouted" {
			t.Fatalf("snapshot of %s v%d (command %s) written on partition %d, its key's is %d", rec.Key, s.Version, s.Step.CommandID, rec.Partition, right)
		}
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// poll waits until cond holds, failing the test after replicaTimeout.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(replicaTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s", what, replicaTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
