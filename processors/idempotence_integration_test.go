package processors_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// TestIntegrationWritesAreIdempotent checks, as the broker stored them,
// that every record the processor and the publisher write (snapshots,
// results, events) came from an idempotent producer: the broker assigned
// it a producer id. franz-go refuses idempotence without acks from all
// in-sync replicas, so this also shows acks=all in effect. Without it a
// retried batch could duplicate or reorder two snapshots of one key.
func TestIntegrationWritesAreIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	c := startCluster(t, 2)
	cfg := c.config(t.TempDir())
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := c.config(t.TempDir())
	pub, err := processors.NewPublisher(invoice.New(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proc.Run(gctx) })
	g.Go(func() error { return pub.Run(gctx) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("roles: %v", err)
		}
	}()

	results := c.watchResults(t)
	var cmds []*codecs.Command
	var ids []string
	for _, id := range []string{"inv-a", "inv-b", "inv-c"} {
		cmd := &codecs.Command{ID: id + "-create", Aggregate: invoice.Name, AggregateID: id, Type: "CreateInvoice",
			Data: json.RawMessage(`{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)}
		cmds = append(cmds, cmd)
		ids = append(ids, cmd.ID)
	}
	c.produce(t, cmds)
	deadline := time.Now().Add(replicaTimeout)
	for results.answered(ids) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("answered %d of %d commands", results.answered(ids), len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && len(c.readAll(t, c.topics.Events)) < len(ids) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, topic := range []string{c.topics.Table, c.topics.Results, c.topics.Events} {
		recs := c.readAll(t, topic)
		if len(recs) < len(ids) {
			t.Fatalf("%s holds %d records, want at least %d", topic, len(recs), len(ids))
		}
		for _, r := range recs {
			if r.ProducerID < 0 {
				t.Errorf("%s partition %d offset %d: written without a producer id (not idempotent)", topic, r.Partition, r.Offset)
			}
		}
		t.Logf("%s: %d records, producer id %d epoch %d", topic, len(recs), recs[0].ProducerID, recs[0].ProducerEpoch)
	}
}
