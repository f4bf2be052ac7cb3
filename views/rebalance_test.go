package views_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
)

// downStore fails every bulk write with a retryable error while down is
// set.
type downStore struct {
	views.Store
	down atomic.Bool
}

func (s *downStore) Bulk(ctx context.Context, ops []views.Op) ([]views.ItemResult, error) {
	if s.down.Load() {
		return nil, &views.RetryableError{Err: errors.New("store down")}
	}
	return s.Store.Bulk(ctx, ops)
}

// A rebalance that comes while the store fails makes the projector give
// its batch up uncommitted and rewind to its first record: once the store
// is back, every record is stored (each document has a single version, so
// a record skipped would be a document missing) and the committed offsets
// reach the end.
func TestProjectorRebalanceDuringAnOutageLosesNothing(t *testing.T) {
	c := newCluster(t, "profile", 4)
	ids := distinctIDs(2000)
	c.produceSnapshots(t, ids, 1, 1, profileState)
	store := &downStore{Store: openBleve(t)}
	store.down.Store(true)
	view := profileView("")
	logs := &lockedBuffer{}
	newProjector := func() *views.Projector {
		p, err := views.NewProjector(view, views.ProjectorConfig{
			Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store,
			DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
			Batch:       views.BatchConfig{MaxDocs: 500, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond},
			Sarama:      shortSessions(),
			Logger:      slog.New(slog.NewTextHandler(logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := newProjector()
	runProjector(t, a)
	waitFor(t, "the first projector retrying", func() bool { return a.Stats().Retries.Load() > 0 })
	b := newProjector()
	runProjector(t, b)
	waitFor(t, "the batch given up for the rebalance", func() bool { return strings.Contains(logs.String(), "given up uncommitted") })
	store.down.Store(false)
	waitVersions(t, store, view.Name, ids, 1)

	adm := kadm.NewClient(c.client)
	ends, err := adm.ListEndOffsets(context.Background(), c.topics.Table)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offsets committed to the end", func() bool {
		committed, err := adm.FetchOffsets(context.Background(), codecs.ViewGroup(c.prefix, view.Name))
		if err != nil {
			return false
		}
		behind := 0
		ends.Each(func(e kadm.ListedOffset) {
			if o, ok := committed.Lookup(e.Topic, e.Partition); !ok || o.At != e.Offset {
				behind++
			}
		})
		return behind == 0
	})
	if n := a.Stats().DeadLetters.Load() + b.Stats().DeadLetters.Load(); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
	t.Logf("records done: %d + %d; retries %d + %d", a.Stats().Records.Load(), b.Stats().Records.Load(),
		a.Stats().Retries.Load(), b.Stats().Retries.Load())
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
