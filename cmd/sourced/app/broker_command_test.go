package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedBrokerForgetsStaleProducerStateAfterCrash: an idempotent
// producer keeps producing through a clean restart and then a SIGKILL of
// `sourced broker` (kfake alone would load the sequence windows saved at
// the clean stop and refuse the producer with OUT_OF_ORDER_SEQUENCE_NUMBER).
func TestEmbeddedBrokerForgetsStaleProducerStateAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dataDir, listen := t.TempDir(), freeAddr(t)
	broker := newChild(t, nil, "broker", "--data-dir", dataDir, "--listen", listen)
	waitListening(t, listen)
	const topic = "seq"
	// franz-go answers OUT_OF_ORDER_SEQUENCE_NUMBER by resetting its
	// sequence numbers under a new epoch, which may duplicate or reorder
	// a retried batch, and reports it as data loss.
	var lost atomic.Int32
	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.DefaultProduceTopic(topic),
		kgo.RecordRetries(1000), kgo.RequestRetries(1000), kgo.ProducerLinger(0),
		kgo.ProducerOnDataLossDetected(func(string, int32) { lost.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	produce := func(step string) {
		t.Helper()
		pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
		defer pcancel()
		for i := 0; i < 5; i++ {
			if err := cl.ProduceSync(pctx, kgo.StringRecord(fmt.Sprint(step, i))).FirstErr(); err != nil {
				t.Fatalf("%s: record %d: %v", step, i, err)
			}
		}
		if n := lost.Load(); n > 0 {
			t.Fatalf("%s: the broker refused the producer's sequence (%d data-loss resets)", step, n)
		}
	}
	produce("first run")
	if err := broker.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "broker", "seq_windows.json")); err != nil {
		t.Fatalf("the clean stop saved no producer state: %v", err)
	}
	broker.start()
	waitListening(t, listen)
	produce("after a clean restart")
	broker.kill()
	broker.start()
	waitListening(t, listen)
	produce("after a crash")
	recs := readTopic(t, listen, topic)
	if len(recs) != 15 {
		t.Fatalf("%d records, want 15", len(recs))
	}
}
