package kafka

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// sessions is a sarama.ConsumerGroup whose Consume returns the next of its
// results, one per session, and then blocks until ctx is done.
type sessions struct {
	sarama.ConsumerGroup
	results []error
	calls   atomic.Int32
}

func (s *sessions) callsSoFar() int { return int(s.calls.Load()) }

func (s *sessions) Consume(ctx context.Context, _ []string, _ sarama.ConsumerGroupHandler) error {
	n := int(s.calls.Add(1))
	if n <= len(s.results) {
		return s.results[n-1]
	}
	<-ctx.Done()
	return nil
}

func TestPromptRejoinRunsSessionsUntilCancelled(t *testing.T) {
	inner := &sessions{results: []error{nil, nil, nil}}
	build := PromptRejoin(func([]string, string, string) (sarama.ConsumerGroup, error) { return inner, nil })
	cg, err := build(nil, "g", "c")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- cg.Consume(ctx, []string{"t"}, nil) }()
	// Three sessions end (three rebalances): the fourth starts at once,
	// not 5 s after each as goka's own loop would.
	for inner.callsSoFar() < 4 {
		if time.Since(began) > 2*time.Second {
			t.Fatalf("%d sessions after %v: the wrapper does not rejoin promptly", inner.callsSoFar(), time.Since(began))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume after cancel: %v, want nil", err)
	}
}

func TestPromptRejoinReturnsASessionError(t *testing.T) {
	boom := errors.New("join failed")
	inner := &sessions{results: []error{nil, boom}}
	cg, _ := PromptRejoin(func([]string, string, string) (sarama.ConsumerGroup, error) { return inner, nil })(nil, "g", "c")
	if err := cg.Consume(context.Background(), []string{"t"}, nil); !errors.Is(err, boom) {
		t.Fatalf("Consume: %v, want %v", err, boom)
	}
	if inner.callsSoFar() != 2 {
		t.Fatalf("%d sessions, want 2", inner.callsSoFar())
	}
}
