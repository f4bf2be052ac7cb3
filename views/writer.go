package views

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// BatchConfig sizes the batches of a projector or rebuild and paces their
// retries. The defaults follow Kafka Connect's Elasticsearch sink.
type BatchConfig struct {
	// MaxDocs flushes a batch at this many records. Default: 2000.
	MaxDocs int
	// MaxBytes flushes a batch at this many document bytes. Default: 5 MiB.
	MaxBytes int
	// Linger flushes a batch this long after its first record. Default: 5ms.
	Linger time.Duration
	// RetryMin is the first backoff after a transient store failure.
	// Default: 100ms.
	RetryMin time.Duration
	// RetryMax caps the exponential backoff. Default: 10s.
	RetryMax time.Duration
}

func (c *BatchConfig) setDefaults() {
	if c.MaxDocs <= 0 {
		c.MaxDocs = 2000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 5 << 20
	}
	if c.Linger <= 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Second
	}
}

// DeadLetter is a record a view cannot store, with the reason.
type DeadLetter struct {
	Record
	// View names the view.
	View string
	// Code is a stable reason code: "malformed" (undecodable record),
	// "invalid" (the projection failed), "internal" (it panicked),
	// "refused" (the store refused the document).
	Code string
	// Reason explains the failure.
	Reason string
}

// DeadLetterFunc stores dead letters durably; an error is retried.
type DeadLetterFunc func(ctx context.Context, letters []DeadLetter) error

// Stats counts what a projector or rebuild did. Safe for concurrent reads.
type Stats struct {
	// Records is the number of source records whose batch is done.
	Records atomic.Int64
	// Batches is the number of batches written.
	Batches atomic.Int64
	// Writes is the number of operations sent to the store (each document
	// at most once per batch).
	Writes atomic.Int64
	// Coalesced counts operations dropped because a newer version of the
	// same document was in the batch.
	Coalesced atomic.Int64
	// Applied, Stale and Refused count the store's answers.
	Applied, Stale, Refused atomic.Int64
	// Retries counts store requests (or items) tried again.
	Retries atomic.Int64
	// DeadLetters counts records sent to the dead-letter sink.
	DeadLetters atomic.Int64
	// Deposed counts snapshots of deposed owners skipped (DESIGN.md
	// guarantee 7); fences are skipped without counting.
	Deposed atomic.Int64
}

// ErrViewStopped wraps a store answer that neither retrying nor
// dead-lettering can fix; the view stops rather than skip data.
var ErrViewStopped = errors.New("views: view stopped")

// writer writes batches to a store until every operation is applied, stale
// or dead-lettered, retrying transient failures with capped exponential
// backoff.
type writer struct {
	store       Store
	view        *View
	cfg         BatchConfig
	deadLetters DeadLetterFunc
	stats       *Stats
	logger      *slog.Logger

	// gen returns the generation event-view documents go to; nil for
	// state views writing through the alias.
	gen func(ctx context.Context) (int, error)
	// fixedIndex, when set, receives every state-view write (a rebuild).
	fixedIndex string
	// aliasNewIndices adds event-view indices it creates to the read alias
	// (live projector), or leaves them for the swap (rebuild).
	aliasNewIndices bool

	// onRetry, when set, is called before each wait to retry a failed
	// write (the live projector gives a batch up for a rebalance then).
	onRetry func()

	known map[string]bool // event-view indices known to exist
	ops   []Op
	dead  []DeadLetter
}

// write stores one batch. It returns only when the batch is done, ctx is
// cancelled, or the store gave a fatal answer.
//
// Records and Coalesced are counted when the batch is done, so a reader
// that sees Records reach n also sees the writes and batch of record n.
func (w *writer) write(ctx context.Context, b *batch) error {
	if err := w.sendDeadLetters(ctx, b.dead); err != nil {
		return err
	}
	if len(b.ops) == 0 {
		w.countRecords(b)
		return nil
	}
	if err := w.retry(ctx, func() error { return stopUnlessRetryable(w.view.Name, w.target(ctx, b)) }); err != nil {
		return err
	}
	pending := make([]int, len(b.ops))
	for i := range pending {
		pending[i] = i
	}
	backoff := w.cfg.RetryMin
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			w.stats.Retries.Add(int64(len(pending)))
			w.retrying()
			if err := sleep(ctx, jitter(backoff)); err != nil {
				return err
			}
			backoff = min(2*backoff, w.cfg.RetryMax)
		}
		w.ops = w.ops[:0]
		for _, i := range pending {
			w.ops = append(w.ops, b.ops[i].op)
		}
		w.stats.Writes.Add(int64(len(w.ops)))
		results, err := w.store.Bulk(ctx, w.ops)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if IsRetryable(err) {
				w.logger.Warn("view store unavailable, retrying", "view", w.view.Name, "error", err, "retry_in", backoff)
				continue
			}
			return fmt.Errorf("%w: %s: bulk write: %w", ErrViewStopped, w.view.Name, err)
		}
		if len(results) != len(w.ops) {
			return fmt.Errorf("%w: %s: bulk write returned %d results for %d operations", ErrViewStopped, w.view.Name, len(results), len(w.ops))
		}
		retry := pending[:0]
		w.dead = w.dead[:0]
		for k, r := range results {
			i := pending[k]
			switch r.Outcome {
			case Applied:
				w.stats.Applied.Add(1)
			case Stale:
				w.stats.Stale.Add(1)
			case Refused:
				w.stats.Refused.Add(1)
				w.dead = append(w.dead, DeadLetter{Record: recordOf(b.ops[i].src), View: w.view.Name, Code: "refused",
					Reason: fmt.Sprintf("%s: %s", r.Type, r.Reason)})
			case Failed:
				retry = append(retry, i)
			default:
				return fmt.Errorf("%w: %s: document %s in %s: %d %s: %s", ErrViewStopped, w.view.Name,
					b.ops[i].op.ID, b.ops[i].op.Index, r.Status, r.Type, r.Reason)
			}
		}
		if err := w.sendDeadLetters(ctx, w.dead); err != nil {
			return err
		}
		pending = retry
	}
	w.stats.Batches.Add(1)
	w.countRecords(b)
	return nil
}

// countRecords counts a finished batch's source records.
func (w *writer) countRecords(b *batch) {
	w.stats.Coalesced.Add(int64(b.coalesced))
	w.stats.Records.Add(int64(b.records))
}

// target sets each operation's index: the alias for state views, the
// monthly index of the current generation for event views.
func (w *writer) target(ctx context.Context, b *batch) error {
	if w.view.Source == FromState {
		idx := w.view.Name
		if w.fixedIndex != "" {
			idx = w.fixedIndex
		}
		for i := range b.ops {
			b.ops[i].op.Index = idx
		}
		return nil
	}
	gen, err := w.gen(ctx)
	if err != nil {
		return err
	}
	for i := range b.ops {
		idx := w.view.IndexName(gen, b.ops[i].month)
		if !w.known[idx] {
			if err := w.ensureIndex(ctx, idx); err != nil {
				return err
			}
			w.known[idx] = true
		}
		b.ops[i].op.Index = idx
	}
	return nil
}

// ensureIndex creates an event view's monthly index if needed and, for the
// live projector, adds it to the read alias.
func (w *writer) ensureIndex(ctx context.Context, idx string) error {
	err := w.store.CreateIndex(ctx, idx, w.view.Mapping)
	if err != nil && !errors.Is(err, ErrIndexExists) {
		return fmt.Errorf("create index %s: %w", idx, err)
	}
	if !w.aliasNewIndices {
		return nil
	}
	return w.store.UpdateAliases(ctx, []AliasAction{{Kind: AddAlias, Index: idx, Alias: w.view.Name}})
}

// sendDeadLetters stores dead letters, retrying until they are stored or
// ctx is cancelled: losing one would lose the record.
func (w *writer) sendDeadLetters(ctx context.Context, letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	for _, d := range letters {
		w.logger.Warn("view dead letter", "view", d.View, "code", d.Code, "reason", d.Reason,
			"topic", d.Topic, "partition", d.Partition, "offset", d.Offset, "key", d.Key)
	}
	if err := w.retry(ctx, func() error { return w.deadLetters(ctx, letters) }); err != nil {
		return err
	}
	w.stats.DeadLetters.Add(int64(len(letters)))
	return nil
}

// retry calls f until it succeeds or ctx is cancelled; ErrViewStopped
// errors are returned at once.
func (w *writer) retry(ctx context.Context, f func() error) error {
	backoff := w.cfg.RetryMin
	for {
		err := f()
		if err == nil || errors.Is(err, ErrViewStopped) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.stats.Retries.Add(1)
		w.retrying()
		w.logger.Warn("view write step failed, retrying", "view", w.view.Name, "error", err, "retry_in", backoff)
		if err := sleep(ctx, jitter(backoff)); err != nil {
			return err
		}
		backoff = min(2*backoff, w.cfg.RetryMax)
	}
}

// retrying calls onRetry, when set.
func (w *writer) retrying() {
	if w.onRetry != nil {
		w.onRetry()
	}
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stopUnlessRetryable marks a store error that retrying cannot fix as
// stopping the view.
func stopUnlessRetryable(view string, err error) error {
	if err == nil || IsRetryable(err) || errors.Is(err, ErrViewStopped) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrViewStopped, view, err)
}
