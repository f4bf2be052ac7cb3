package processors

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A call is answered by a fetch that started after it, and the calls made
// while a fetch is in flight share the next one.
func TestBatchedAnswersWithAFetchStartedAfterTheCall(t *testing.T) {
	var started atomic.Int64
	release := make(chan struct{})
	b := &batched[int64]{fetch: func() (int64, error) {
		n := started.Add(1)
		<-release
		return n, nil
	}}
	ctx := context.Background()

	first := make(chan int64)
	go func() {
		v, _ := b.get(ctx)
		first <- v
	}()
	for started.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Fetch 1 is in flight: these calls must not be answered by it.
	var wg sync.WaitGroup
	got := make([]int64, 5)
	for i := range got {
		wg.Go(func() { got[i], _ = b.get(ctx) })
	}
	time.Sleep(20 * time.Millisecond) // let them queue behind fetch 1
	close(release)
	if v := <-first; v != 1 {
		t.Fatalf("first call answered by fetch %d, want 1", v)
	}
	wg.Wait()
	for i, v := range got {
		if v != 2 {
			t.Errorf("call %d made during fetch 1 answered by fetch %d, want 2 (the one after it)", i, v)
		}
	}
	if n := started.Load(); n != 2 {
		t.Errorf("%d fetches for six calls in two waves, want 2", n)
	}
}

// A caller whose context ends stops waiting; the fetch still answers the
// others.
func TestBatchedCallerGivesUp(t *testing.T) {
	release := make(chan struct{})
	b := &batched[int]{fetch: func() (int, error) {
		<-release
		return 7, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.get(ctx); err == nil {
		t.Fatal("a cancelled call returned no error")
	}
	close(release)
	if v, err := b.get(context.Background()); err != nil || v != 7 {
		t.Fatalf("get = %d, %v, want 7", v, err)
	}
}
