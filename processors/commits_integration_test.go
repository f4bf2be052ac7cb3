package processors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

var errInjected = errors.New("injected produce failure")

// heldWrite holds the first record match selects until release is
// closed, then fails it; every other record goes through.
type heldWrite struct {
	goka.Producer
	match         func(topic string, value []byte) bool
	held, release chan struct{}
	once          sync.Once
}

func holdWrite(match func(topic string, value []byte) bool) *heldWrite {
	return &heldWrite{match: match, held: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldWrite) Emit(topic, key string, value []byte) *goka.Promise {
	return h.EmitWithHeaders(topic, key, value, nil)
}

func (h *heldWrite) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	if h.match(topic, value) {
		hit := false
		h.once.Do(func() { hit = true })
		if hit {
			promise, finish := goka.NewPromiseWithFinisher()
			close(h.held)
			go func() {
				<-h.release
				finish(nil, errInjected)
			}()
			return promise
		}
	}
	return h.Producer.EmitWithHeaders(topic, key, value, headers)
}

// committed returns group's committed offset of partition 0 of topic, -1
// when none.
func (c *cluster) committed(t *testing.T, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	o, ok := resp.Lookup(topic, 0)
	if !ok {
		return -1
	}
	return o.At
}

// Commits follow offsets (guarantee 8), on both brokers, with a staged
// fault: the snapshot write of an accepted command (offset 1) is held while
// a later duplicate (offset 2, a result only) completes, so goka marks
// offset 3 before 1 completed; then the held write fails. The committed
// offset must never pass 1, and the restarted processor decides the
// accepted command again, so its step is not lost.
func TestIntegrationCommitsWaitForEarlierWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	c := startCluster(t, 1)
	results := c.watchResults(t)
	dir := t.TempDir()
	cfg := c.config(dir)
	hold := holdWrite(func(topic string, value []byte) bool {
		return topic == c.topics.Table && bytes.Contains(value, []byte(`"step":{"command_id":"add"`))
	})
	processors.WrapProducer(&cfg, func(p goka.Producer) goka.Producer { hold.Producer = p; return hold })
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	const id = "inv-ordered"
	create := invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)
	add := invoiceCmd("add", id, "AddLineItem", `{"line_id":"l1","description":"d","quantity":1,"unit_price":5}`)
	c.produce(t, []*codecs.Command{create})
	results.waitResult(t, "create", 1)
	c.produce(t, []*codecs.Command{add, create})
	<-hold.held
	// The accepted command's result went out; its snapshot did not.
	if r := results.waitResult(t, "add", 1); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("add: %+v", r)
	}
	if r := results.waitResult(t, "create", 2); r.Status != codecs.StatusDuplicate {
		t.Fatalf("retry: %+v", r)
	}
	// Offset 0 completed: 1 is committed within the auto-commit interval
	// (1 s); offset 3, marked by goka for the duplicate, must not be.
	c.holdsCommitAt(t, c.topics.Group, c.topics.Commands, 1)
	close(hold.release)
	select {
	case err := <-done:
		t.Logf("the processor stopped on the failed write: %v", err)
		if !errors.Is(err, errInjected) {
			t.Errorf("run: %v, want the injected failure", err)
		}
	case <-time.After(replicaTimeout):
		t.Fatal("the processor did not stop on a failed snapshot write")
	}
	if o := c.committed(t, c.topics.Group, c.topics.Commands); o != 1 {
		t.Fatalf("committed offset %d after the failure, want 1", o)
	}

	// The next start (dirty stores, restored from the changelog) decides
	// the accepted command again.
	runProcessor(t, c.config(dir))
	if r := results.waitResult(t, "add", 2); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("add after restart: %+v", r)
	}
	if r := results.waitResult(t, "create", 3); r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusAccepted {
		t.Fatalf("retry after restart: %+v", r)
	}
	var last codecs.Snapshot
	for _, rec := range c.readSnapshots(t) {
		if err := json.Unmarshal(rec.Value, &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Version != 2 || last.Step.CommandID != "add" || len(last.Step.Events) != 1 {
		t.Fatalf("last snapshot: version %d, step %+v; want 2, add's", last.Version, last.Step)
	}
}

// holdsCommitAt waits until group committed offset at of topic, then checks
// for 2.5 s (more than two auto-commit intervals) that it does not pass it.
func (c *cluster) holdsCommitAt(t *testing.T, group, topic string, at int64) {
	t.Helper()
	poll(t, "offset committed", func() bool { return c.committed(t, group, topic) >= at })
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
		if o := c.committed(t, group, topic); o > at {
			t.Fatalf("%s committed offset %d of %s, past offset %d, whose write is in flight", group, o, topic, at)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The same in the publisher: the events of a step (table offset 1) are
// held while the next table message (a remembered rejection, no events)
// completes at once; then they fail. The publisher's committed offset
// stays at 1, and after a restart the step's events are published.
func TestIntegrationPublisherCommitsWaitForEarlierEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	c := startCluster(t, 1)
	results := c.watchResults(t)
	runProcessor(t, c.config(t.TempDir()))
	dir := t.TempDir()
	cfg := c.config(dir)
	hold := holdWrite(func(topic string, value []byte) bool {
		return topic == c.topics.Events && bytes.Contains(value, []byte(`"command_id":"add"`))
	})
	processors.WrapProducer(&cfg, func(p goka.Producer) goka.Producer { hold.Producer = p; return hold })
	pub, err := processors.NewPublisher(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()

	const id = "inv-published"
	c.produce(t, []*codecs.Command{
		invoiceCmd("create", id, "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`),
		invoiceCmd("add", id, "AddLineItem", `{"line_id":"l1","description":"d","quantity":1,"unit_price":5}`),
		invoiceCmd("pay", id, "RecordPayment", `{"payment_id":"p1","amount":5,"currency":"EUR"}`),
	})
	if r := results.waitResult(t, "pay", 1); r.Status != codecs.StatusRejected || r.Version != 2 {
		t.Fatalf("payment of a draft: %+v, want rejected at version 2", r)
	}
	<-hold.held
	added := int64(-1)
	for _, r := range c.readSnapshots(t) {
		if added < 0 && bytes.Contains(r.Value, []byte(`"command_id":"add"`)) {
			added = r.Offset // the add's own snapshot; later ones remember it
		}
	}
	if added < 0 {
		t.Fatal("no snapshot of add in the table")
	}

	c.holdsCommitAt(t, c.topics.PublisherGroup, c.topics.Table, added)
	close(hold.release)
	select {
	case err := <-done:
		// goka's Emit wraps the failure with %v: it is only text here.
		t.Logf("the publisher stopped on the failed write: %v", err)
		if err == nil {
			t.Error("publisher run: no error, want the injected failure")
		}
	case <-time.After(replicaTimeout):
		t.Fatal("the publisher did not stop on a failed event write")
	}
	if o := c.committed(t, c.topics.PublisherGroup, c.topics.Table); o != added {
		t.Fatalf("committed offset %d after the failure, want %d", o, added)
	}
	runPublisher(t, c.config(dir))
	poll(t, "the step's events published", func() bool {
		for _, rec := range c.readAll(t, c.topics.Events) {
			if bytes.Contains(rec.Value, []byte(`"command_id":"add"`)) {
				return true
			}
		}
		return false
	})
	if events := checkEvents(t, c, true); len(events[id]) != 2 {
		t.Fatalf("events of %s: %+v, want versions 1 and 2", id, events[id])
	}
}
