package processors

import (
	"context"
	"sync"
)

// batched shares one broker request between the callers that want the same
// answer at the same time: eight partitions opening at a restart ask for
// their table's offsets within a millisecond, and each asking alone cost
// the embedded broker (which answers one request at a time) eight times
// the requests. A call waits for the next run of fetch that starts after
// the call, so its answer is never older than the call, as if it had asked
// alone; every call made while a run is in flight shares the run after it.
type batched[T any] struct {
	fetch func() (T, error)

	mu      sync.Mutex
	next    *batch[T] // the run the next callers wait for; nil for none
	running bool      // a goroutine is running batches
}

type batch[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// get returns the result of a run of fetch started after the call, or
// ctx's error if ctx is done first.
func (b *batched[T]) get(ctx context.Context) (T, error) {
	b.mu.Lock()
	if b.next == nil {
		b.next = &batch[T]{done: make(chan struct{})}
	}
	bt := b.next
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-bt.done:
		return bt.v, bt.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// run runs the waiting batches, one at a time, until none waits.
func (b *batched[T]) run() {
	for {
		b.mu.Lock()
		bt := b.next
		b.next = nil
		if bt == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		bt.v, bt.err = b.fetch()
		close(bt.done)
	}
}

// batchedByKey is a batched per key (a topic).
type batchedByKey[T any] struct {
	fetch func(key string) (T, error)

	mu   sync.Mutex
	keys map[string]*batched[T]
}

func (b *batchedByKey[T]) get(ctx context.Context, key string) (T, error) {
	b.mu.Lock()
	bk, ok := b.keys[key]
	if !ok {
		if b.keys == nil {
			b.keys = make(map[string]*batched[T])
		}
		bk = &batched[T]{fetch: func() (T, error) { return b.fetch(key) }}
		b.keys[key] = bk
	}
	b.mu.Unlock()
	return bk.get(ctx)
}
