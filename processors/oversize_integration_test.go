package processors_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// incompressible returns n bytes of random base64: the limit applies to
// record batches after compression, which would shrink repeated text.
func incompressible(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

// Messages over a topic's max.message.bytes, on both brokers: an oversized
// command is refused to its producer at once (MESSAGE_TOO_LARGE, not
// retried), and a command whose snapshot would be oversized is rejected
// (too_large) by the processor, which goes on with the next commands
// instead of failing on the changelog write and replaying it for ever.
func TestIntegrationOversizedMessagesFailClearly(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs goka against the broker")
	}
	const limit = 64 << 10
	c := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Commands may be twice as large as snapshots, so that a command fits
	// whose snapshot does not even compressed.
	for topic, max := range map[string]int{c.topics.Commands: 2 * limit, c.topics.Table: limit} {
		v := fmt.Sprint(max)
		if _, err := c.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: &v}}, topic); err != nil {
			t.Fatal(err)
		}
		waitTopicConfig(t, c, topic, "max.message.bytes", v)
	}

	create := &codecs.Command{ID: "create", Aggregate: invoice.Name, AggregateID: "inv-big", Type: "CreateInvoice",
		Data: json.RawMessage(`{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)}
	line := func(id string, description int) *codecs.Command {
		return &codecs.Command{ID: id, Aggregate: invoice.Name, AggregateID: "inv-big", Type: "AddLineItem",
			Data: json.RawMessage(fmt.Sprintf(`{"line_id":%q,"description":%q,"quantity":1,"unit_price":1}`, id, incompressible(description)))}
	}

	// An oversized command: the broker refuses it to the producer.
	big, err := codecs.CommandCodec{}.Encode(line("too-big", 2*limit+1024))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.cl.ProduceSync(ctx, &kgo.Record{Topic: c.topics.Commands, Key: []byte("inv-big"), Value: big}).FirstErr()
	t.Logf("a %d-byte command to a topic of max.message.bytes %d: %v (after %s)", len(big), 2*limit, err, time.Since(start).Round(time.Millisecond))
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("oversized command: got %v, want MESSAGE_TOO_LARGE", err)
	}

	// A command that fits but whose snapshot would not.
	results := c.watchResults(t)
	cfg := c.config(t.TempDir())
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	pctx, stop := context.WithCancel(ctx)
	go func() { done <- proc.Run(pctx) }()
	c.produce(t, []*codecs.Command{create, line("fat", limit+limit/4), line("small", 10)})
	start = time.Now()
	deadline := time.Now().Add(replicaTimeout)
	for results.answered([]string{"create", "fat", "small"}) < 3 {
		select {
		case err := <-done:
			t.Fatalf("the processor stopped on an oversized snapshot (after %s): %v", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("answered %d of 3 commands after %s", results.answered([]string{"create", "fat", "small"}), replicaTimeout)
		}
	}
	results.mu.Lock()
	fat, small := results.results["fat"][0], results.results["small"][0]
	results.mu.Unlock()
	t.Logf("a command whose snapshot exceeds %d bytes: %+v %+v", limit, fat, fat.Error)
	if fat.Status != codecs.StatusRejected || fat.Error == nil || fat.Error.Code != processors.RejectTooLarge {
		t.Fatalf("oversized snapshot: result %+v, want rejected %s", fat, processors.RejectTooLarge)
	}
	if small.Status != codecs.StatusAccepted || small.Version != 2 {
		t.Fatalf("the command after it: %+v, want accepted at version 2", small)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("processor: %v", err)
	}
}
