package processors_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/state"
)

// A processor that fails (here: a snapshot in its table it cannot decode,
// a broken invariant that must stop the partition rather than be decided
// against) returns the error from Run and leaves every store dirty, so the
// next start restores them from the changelog instead of trusting them.
func TestIntegrationFailedProcessorLeavesStoresDirty(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the embedded broker")
	}
	c := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, &kgo.Record{Topic: c.topics.Table, Key: []byte("inv-broken"), Value: []byte("{not a snapshot")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	wipes := make(chan string, 16)
	newProcessor := func() *processors.Processor {
		cfg, _, err := childConfig(c.brokers, c.prefix, dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store.Hooks.OnWipe = func(topic string, partition int32, reason string) { wipes <- reason }
		p, err := processors.NewProcessor(invoice.New(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := newProcessor()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	results := c.watchResults(t)
	c.produce(t, []*codecs.Command{{ID: "ok-1", Aggregate: invoice.Name, AggregateID: "inv-ok", Type: "CreateInvoice",
		Data: []byte(`{"customer":"a","currency":"EUR","due_date":"2026-12-31"}`)}})
	results.waitAnswered(t, []string{"ok-1"}, 1, replicaTimeout)
	c.produce(t, []*codecs.Command{{ID: "bad-1", Aggregate: invoice.Name, AggregateID: "inv-broken", Type: "IssueInvoice"}})
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after a broken snapshot")
		}
		t.Logf("run failed as expected: %v", err)
	case <-ctx.Done():
		t.Fatal("the processor did not stop on a broken snapshot")
	}
	assertStores(t, dir, false)
	infos, err := state.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Clean {
			t.Errorf("store %s/%d is clean after a failed run", in.Topic, in.Partition)
		}
	}

	// The next start wipes them and restores from the changelog: the
	// accepted invoice is still there.
	p = newProcessor()
	ctx2, cancel2 := context.WithCancel(ctx)
	done = make(chan error, 1)
	go func() { done <- p.Run(ctx2) }()
	c.produce(t, []*codecs.Command{{ID: "ok-1", Aggregate: invoice.Name, AggregateID: "inv-ok", Type: "CreateInvoice",
		Data: []byte(`{"customer":"a","currency":"EUR","due_date":"2026-12-31"}`)}})
	deadline := time.Now().Add(replicaTimeout)
	for {
		results.mu.Lock()
		rs := results.results["ok-1"]
		results.mu.Unlock()
		if len(rs) >= 2 {
			if rs[len(rs)-1].Status != codecs.StatusDuplicate {
				t.Fatalf("retry after restore: %+v, want duplicate", rs[len(rs)-1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no answer after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel2()
	<-done // the broken snapshot may fail this run again: it is still in the changelog
	close(wipes)
	n := 0
	for reason := range wipes {
		if reason != state.WipeDirty {
			t.Errorf("wipe reason %q, want %q", reason, state.WipeDirty)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no store was wiped on the start after a failure")
	}
}
