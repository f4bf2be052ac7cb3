package processors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
)

type gap struct {
	id         string
	last, next uint64
}

func startPublisher(t *testing.T) (*tester.Tester, codecs.Topics, *tester.QueueTracker, func() []gap) {
	t.Helper()
	tt := tester.New(t)
	var (
		mu   sync.Mutex
		gaps []gap
	)
	cfg := processors.Config{Kafka: kafka.Connection{Brokers: []string{"tester"}}}
	cfg.Store.Dir = t.TempDir()
	cfg.Hooks.OnGap = func(_, id string, last, next uint64) {
		mu.Lock()
		defer mu.Unlock()
		gaps = append(gaps, gap{id, last, next})
	}
	p, err := processors.NewPublisher(newCounter(), cfg, goka.WithTester(tt))
	if err != nil {
		t.Fatalf("new publisher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("publisher run: %v", err)
		}
	})
	return tt, p.Topics(), tt.NewQueueTracker(p.Topics().Events), func() []gap {
		mu.Lock()
		defer mu.Unlock()
		return append([]gap(nil), gaps...)
	}
}

func step(id string, from, n int) *codecs.Snapshot {
	s := &codecs.Snapshot{AggregateID: id, Version: uint64(from + n - 1), Step: codecs.Step{CommandID: "c"}}
	for v := from; v < from+n; v++ {
		s.Step.Events = append(s.Step.Events, codecs.Event{Aggregate: "counter", AggregateID: id, Version: uint64(v), Type: "Added", Data: []byte(`{"by":1}`)})
	}
	return s
}

func TestPublisherCopiesStepEventsInOrder(t *testing.T) {
	tt, topics, events, gaps := startPublisher(t)
	tt.Consume(topics.Table, "a", step("a", 1, 1))
	tt.Consume(topics.Table, "a", step("a", 2, 2))
	tt.Consume(topics.Table, "a", &codecs.Snapshot{AggregateID: "a", Version: 3}) // an accepted no-op
	tt.Consume(topics.Table, "a", nil)                                            // a tombstone
	for want := uint64(1); want <= 3; want++ {
		k, v, ok := events.Next()
		if !ok {
			t.Fatalf("event %d not published", want)
		}
		if e := v.(*codecs.Event); k != "a" || e.Version != want {
			t.Fatalf("published %s v%d, want a v%d", k, e.Version, want)
		}
	}
	if _, v, ok := events.Next(); ok {
		t.Fatalf("unexpected event %+v", v)
	}
	if g := gaps(); len(g) != 0 {
		t.Fatalf("gaps reported: %v", g)
	}
	if v := tt.TableValue(goka.GroupTable(goka.Group(topics.PublisherGroup)), "a"); v != uint64(3) {
		t.Fatalf("last published version %v, want 3", v)
	}
}

func TestPublisherRepublishesReplaysIdentically(t *testing.T) {
	tt, topics, events, gaps := startPublisher(t)
	s := step("a", 1, 1)
	tt.Consume(topics.Table, "a", s)
	tt.Consume(topics.Table, "a", s)
	_, first, _ := events.Next()
	_, second, ok := events.Next()
	if !ok {
		t.Fatal("a replayed step was not published again")
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Fatalf("duplicate differs: %+v vs %+v", first, second)
	}
	if g := gaps(); len(g) != 0 {
		t.Fatalf("a replay is not a gap: %v", g)
	}
}

func TestPublisherReportsGaps(t *testing.T) {
	tt, topics, events, gaps := startPublisher(t)
	tt.Consume(topics.Table, "a", step("a", 1, 1))
	tt.Consume(topics.Table, "a", step("a", 4, 1))
	events.Next()
	if _, v, ok := events.Next(); !ok || v.(*codecs.Event).Version != 4 {
		t.Fatalf("the step after a gap is still published, got %v", v)
	}
	if g := gaps(); len(g) != 1 || g[0] != (gap{"a", 1, 4}) {
		t.Fatalf("gaps %v, want one from 1 to 4", g)
	}
}
