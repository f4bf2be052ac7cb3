package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// runPublisher runs the invoice publisher of cfg until the test ends.
func runPublisher(t *testing.T, cfg processors.Config) {
	t.Helper()
	pub, err := processors.NewPublisher(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("publisher: %v", err)
		}
	})
}

// One command id, one outcome (guarantee 9), on both brokers and across a
// processor restart (the remembered outcomes come back from the
// changelog): retries of a rejection and of a conflict get the first
// outcome after the aggregate changed so that deciding them again would
// accept them; an id reused for another command is refused; the rejections'
// snapshots publish no event and leave no gap.
func TestIntegrationRetriesGetTheFirstOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	c := startCluster(t, 2)
	results := c.watchResults(t)
	dir := t.TempDir()
	cfg := c.config(dir)
	stop := runProcessor(t, cfg)
	pubCfg := c.config(t.TempDir())
	runPublisher(t, pubCfg)

	const id = "inv-once"
	zero := uint64(0)
	create := invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)
	issue := invoiceCmd("issue", id, "IssueInvoice", `{}`)
	stale := invoiceCmd("stale", id, "ChangeDueDate", `{"due_date":"2027-01-31"}`)
	stale.ExpectedVersion = &zero
	line := invoiceCmd("line", id, "AddLineItem", `{"line_id":"l1","description":"d","quantity":1,"unit_price":5}`)
	c.produce(t, []*codecs.Command{create, issue, stale, line})
	want := map[string]codecs.Status{"create": codecs.StatusAccepted, "issue": codecs.StatusRejected,
		"stale": codecs.StatusConflict, "line": codecs.StatusAccepted}
	for cid, st := range want {
		if r := results.waitResult(t, cid, 1); r.Status != st {
			t.Fatalf("%s: %+v, want %s", cid, r, st)
		}
	}

	// A restart: the outcomes are read back from the changelog.
	stop()
	runProcessor(t, c.config(t.TempDir()))

	// Decided again now, the issue would be accepted, and the stale
	// command (expected version 0) still conflicts but at version 2.
	reused := invoiceCmd("line", id, "AddLineItem", `{"line_id":"l2","description":"other","quantity":3,"unit_price":5}`)
	c.produce(t, []*codecs.Command{create, issue, stale, line, reused})
	for cid, st := range want {
		r := results.waitResult(t, cid, 2)
		first := results.waitResult(t, cid, 1)
		t.Logf("retry of %s: %+v (first %+v)", cid, r, first)
		if r.Status != codecs.StatusDuplicate || r.FirstStatus != st || r.Version != first.Version || r.Events != first.Events ||
			(first.Error == nil) != (r.Error == nil) || (first.Error != nil && *first.Error != *r.Error) {
			t.Fatalf("retry of %s: %+v, want a duplicate of %+v", cid, r, first)
		}
	}
	if r := results.waitResult(t, "line", 3); r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != processors.RejectKeyReused {
		t.Fatalf("an id reused for another command: %+v, want rejected %s", r, processors.RejectKeyReused)
	}

	// The table: versions 1, 1 (the rejection), 1 (the conflict), 2; events: 1, 2.
	var versions []uint64
	for _, rec := range c.readSnapshots(t) {
		var s codecs.Snapshot
		if err := json.Unmarshal(rec.Value, &s); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, s.Version)
		if s.Step.CommandID == "issue" || s.Step.CommandID == "stale" {
			if len(s.Step.Events) != 0 {
				t.Fatalf("the snapshot remembering %s has events: %+v", s.Step.CommandID, s.Step)
			}
		}
	}
	if len(versions) != 4 || versions[0] != 1 || versions[1] != 1 || versions[2] != 1 || versions[3] != 2 {
		t.Fatalf("table versions %v, want [1 1 1 2]", versions)
	}
	poll(t, "two events published", func() bool { return len(c.readAll(t, c.topics.Events)) >= 2 })
	events := checkEvents(t, c, true)
	if len(events[id]) != 2 {
		t.Fatalf("events of %s: %+v, want versions 1 and 2", id, events[id])
	}
}
