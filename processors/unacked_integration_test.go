package processors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/state"
)

// The clean-close checkpoint (guarantee 3) with a staged fault, on both
// brokers: the snapshot write of an accepted command is held, never
// acknowledged, while the processor is stopped. goka waits 60 s for the
// command's writes and then closes the store anyway. The store holds a
// snapshot Kafka lacks, so it must not be marked clean: the next start
// finds it dirty, restores it from the changelog and decides the command
// again (its offset was never committed, guarantee 8), and the table in
// Kafka gets the snapshot. Kept clean, the store would answer the replayed
// command as a duplicate of a version Kafka never received.
func TestIntegrationStoreWithUnacknowledgedWriteStaysDirty(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker (over a minute: goka's shutdown wait)")
	}
	c := startCluster(t, 1)
	results := c.watchResults(t)
	dir := t.TempDir()
	cfg := c.config(dir)
	hold := holdWrite(func(topic string, value []byte) bool {
		return topic == c.topics.Table && bytes.Contains(value, []byte(`"step":{"command_id":"add"`))
	})
	processors.WrapProducer(&cfg, func(p goka.Producer) goka.Producer { hold.Producer = p; return hold })
	// The held write fails once the test ends, after the processor is gone.
	t.Cleanup(func() { closeOnce(hold.release) })
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	const id = "inv-unacked"
	// Two snapshots acknowledged first (changelog offsets 0 and 1), so the
	// store records offset 1 and a restore of a store kept clean replays
	// nothing after it: the held snapshot would stay.
	c.produce(t, []*codecs.Command{
		invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`),
		invoiceCmd("create-other", "inv-other", "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`),
	})
	results.waitResult(t, "create", 1)
	results.waitResult(t, "create-other", 1)
	c.produce(t, []*codecs.Command{invoiceCmd("add", id, "AddLineItem", `{"line_id":"l1","description":"d","quantity":1,"unit_price":5}`)})
	<-hold.held
	if r := results.waitResult(t, "add", 1); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("add: %+v", r)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Logf("the processor stopped after %s with the write held: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the processor did not stop within 2 minutes")
	}
	infos, err := state.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, c.topics.Table+".0")
	for _, in := range infos {
		t.Logf("store %s: clean %v", in.Path, in.Clean)
		if in.Path == store && in.Clean {
			held, _ := state.Get(store, id)
			t.Errorf("the store is marked clean holding %s, whose write Kafka never acknowledged", held)
		}
	}

	// The next start restores the store from the changelog, decides the
	// command again, and Kafka's table gets its snapshot.
	var (
		mu    sync.Mutex
		wipes []string
	)
	cfg = c.config(dir)
	cfg.Store.Hooks.OnWipe = func(topic string, partition int32, reason string) {
		mu.Lock()
		defer mu.Unlock()
		wipes = append(wipes, reason)
	}
	stop := runProcessor(t, cfg)
	r := results.waitResult(t, "add", 2)
	if r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Errorf("add after the restart: %+v, want accepted again at version 2", r)
	}
	stop()
	mu.Lock()
	t.Logf("wipes at the restart: %v", wipes)
	if len(wipes) != 1 || wipes[0] != state.WipeDirty {
		t.Errorf("wipes at the restart: %v, want one %q", wipes, state.WipeDirty)
	}
	mu.Unlock()

	// The store equals what Kafka has.
	var last []byte
	for _, rec := range c.readSnapshots(t) {
		if string(rec.Key) == id {
			last = rec.Value
		}
	}
	local, err := state.Get(store, id)
	if err != nil {
		t.Fatal(err)
	}
	var inKafka, inStore codecs.Snapshot
	if err := json.Unmarshal(last, &inKafka); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(local, &inStore); err != nil {
		t.Fatal(err)
	}
	if inKafka.Version != 2 || inKafka.Step.CommandID != "add" {
		t.Fatalf("Kafka's table ends at version %d (step %s), want add's snapshot at 2", inKafka.Version, inKafka.Step.CommandID)
	}
	if !bytes.Equal(last, local) {
		t.Fatalf("the store holds\n%s\nKafka's table\n%s", local, last)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
