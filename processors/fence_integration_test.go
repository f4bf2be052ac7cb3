package processors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// delayedWrite stands for a network that delays one write of a replica
// until after the replica was deposed: the matching record is kept (as the
// broker would have received it) and reported written, so the replica goes
// on as if it had landed.
type delayedWrite struct {
	goka.Producer
	match func(topic string, value []byte) bool

	mu  sync.Mutex
	rec *kgo.Record
}

func (d *delayedWrite) Emit(topic, key string, value []byte) *goka.Promise {
	return d.EmitWithHeaders(topic, key, value, nil)
}

func (d *delayedWrite) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rec == nil && d.match(topic, value) {
		d.rec = &kgo.Record{Topic: topic, Key: []byte(key), Value: bytes.Clone(value)}
		for k, v := range headers {
			d.rec.Headers = append(d.rec.Headers, kgo.RecordHeader{Key: k, Value: bytes.Clone(v)})
		}
		promise, finish := goka.NewPromiseWithFinisher()
		finish(nil, nil)
		return promise
	}
	return d.Producer.EmitWithHeaders(topic, key, value, headers)
}

// A deposed owner cannot write history (DESIGN.md guarantee 7), on both
// brokers, with the fault staged: replica A decides a command, but its
// snapshot write is delayed on the network past the moment replica B took
// the partition over, decided another command at the same version and
// wrote it. Without fencing, A's late write is the table's last record of
// the aggregate: a restore regresses to A's history and the publisher
// publishes two different events as version 2. With it, every reader
// drops A's write, counts it and goes on with B's history.
func TestIntegrationDeposedOwnersLateWriteIsHarmless(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	t.Run("an accepted command's snapshot", func(t *testing.T) { deposedLateWrite(t, false) })
	// A refusal writes a snapshot too (it remembers the outcome), holding
	// the state it was decided on: a deposed owner's would take the
	// aggregate back to version 1.
	t.Run("a remembered rejection's snapshot", func(t *testing.T) { deposedLateWrite(t, true) })
}

// deposedLateWrite stages the late write: of add-a, or, when rejected, of a
// payment A refuses on the draft.
func deposedLateWrite(t *testing.T, rejected bool) {
	c := startCluster(t, 1)
	results := c.watchResults(t)
	const id = "inv-fenced"

	// Replica A owns the partition; its snapshot of "add-a" is delayed.
	cfgA := c.config(t.TempDir())
	delayed := &delayedWrite{match: func(topic string, value []byte) bool {
		return topic == c.topics.Table && bytes.Contains(value, []byte(`"step":{"command_id":"add-a"`))
	}}
	if rejected {
		delayed.match = func(topic string, value []byte) bool {
			return topic == c.topics.Table && bytes.Contains(value, []byte(`"command_id":"pay-a","version":1,"events":0,"status":"rejected"`))
		}
	}
	processors.WrapProducer(&cfgA, func(p goka.Producer) goka.Producer { delayed.Producer = p; return delayed })
	stopA := runProcessor(t, cfgA)
	c.produce(t, []*codecs.Command{invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)})
	results.waitResult(t, "create", 1)
	if rejected {
		c.produce(t, []*codecs.Command{invoiceCmd("pay-a", id, "RecordPayment", `{"payment_id":"p","amount":5,"currency":"EUR"}`)})
		if r := results.waitResult(t, "pay-a", 1); r.Status != codecs.StatusRejected || r.Version != 1 {
			t.Fatalf("pay-a: %+v, want rejected at version 1", r)
		}
	} else {
		c.produce(t, []*codecs.Command{invoiceCmd("add-a", id, "AddLineItem", `{"line_id":"from-a","description":"d","quantity":1,"unit_price":5}`)})
		if r := results.waitResult(t, "add-a", 1); r.Status != codecs.StatusAccepted || r.Version != 2 {
			t.Fatalf("add-a: %+v, want accepted at version 2", r)
		}
	}
	stopA() // A is deposed; its write of add-a is still on the way.
	if delayed.rec == nil {
		t.Fatal("A never wrote the snapshot to delay")
	}

	// Replica B takes the partition: it restores version 1 and decides its
	// own version 2.
	var stale atomic.Int64
	onStale := func(string, int32) { stale.Add(1) }
	cfgB := c.config(t.TempDir())
	stopB := runProcessor(t, cfgB)
	c.produce(t, []*codecs.Command{invoiceCmd("add-b", id, "AddLineItem", `{"line_id":"from-b","description":"d","quantity":1,"unit_price":7}`)})
	if r := results.waitResult(t, "add-b", 1); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("add-b: %+v, want accepted at version 2", r)
	}
	stopB()

	// A's write lands now, after B's.
	ctx, cancel := context.WithTimeout(context.Background(), replicaTimeout)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, delayed.rec).FirstErr(); err != nil {
		t.Fatalf("deliver A's late write: %v", err)
	}
	snaps := c.readSnapshots(t)
	if last := snaps[len(snaps)-1]; !bytes.Equal(last.Value, delayed.rec.Value) {
		t.Fatalf("the fault is not staged: the table's last record is %s", last.Value)
	}

	// A replica restoring the whole table (a fresh store) has B's history:
	// B's line can be removed, A's cannot.
	cfgC := c.config(t.TempDir())
	cfgC.Hooks.OnStale = onStale
	stopC := runProcessor(t, cfgC)
	c.produce(t, []*codecs.Command{
		invoiceCmd("remove-a", id, "RemoveLineItem", `{"line_id":"from-a"}`),
		invoiceCmd("remove-b", id, "RemoveLineItem", `{"line_id":"from-b"}`),
	})
	if r := results.waitResult(t, "remove-a", 1); r.Status != codecs.StatusRejected || r.Version != 2 {
		t.Fatalf("remove-a after the restore: %+v, want rejected at version 2 (A's line is not history)", r)
	}
	if r := results.waitResult(t, "remove-b", 1); r.Status != codecs.StatusAccepted || r.Version != 3 {
		t.Fatalf("remove-b after the restore: %+v, want accepted at version 3", r)
	}
	stopC()
	if stale.Load() == 0 {
		t.Error("the restore did not count A's stale write")
	}

	// The publisher publishes B's version 2 only, and counts A's write.
	cfgP := c.config(t.TempDir())
	var pubStale atomic.Int64
	cfgP.Hooks.OnStale = func(string, int32) { pubStale.Add(1) }
	runPublisher(t, cfgP)
	poll(t, "three events published", func() bool { return len(c.readAll(t, c.topics.Events)) >= 3 })
	events := checkEvents(t, c, true)[id]
	if len(events) != 3 || events[1].CommandID != "add-b" {
		t.Fatalf("events of %s: %+v, want versions 1-3 with add-b's as 2", id, events)
	}
	for _, r := range c.readAll(t, c.topics.Events) {
		var e codecs.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.CommandID == "add-a" || strings.Contains(string(e.Data), "from-a") {
			t.Fatalf("the deposed owner's event was published: %s", r.Value)
		}
	}
	if pubStale.Load() == 0 {
		t.Error("the publisher did not count A's stale write")
	}
}
