package bleve

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/b2dc4357/sourced/views"
)

// buffer holds an index's writes between two refreshes
// (Config.RefreshInterval): the bleve batch that applies them, and what
// they leave per id, which later writes are checked against and Get reads.
type buffer struct {
	batch *bleve.Batch
	held  map[string]held
	// applied is finished when a refresh applied the batch.
	applied *done
}

// done is an outcome some goroutines wait for: finish closes ch with err
// set, once.
type done struct {
	once sync.Once
	ch   chan struct{}
	err  error
}

func newDone() *done { return &done{ch: make(chan struct{})} }

func (d *done) finish(err error) {
	d.once.Do(func() {
		d.err = err
		close(d.ch)
	})
}

// wait waits for the outcome or for ctx.
func (d *done) wait(ctx context.Context) error {
	select {
	case <-d.ch:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxBuffered is the indices' Config.MaxBufferedDocs, 0 when writes are
// not buffered.
func (s *Store) maxBuffered() int {
	if s.cfg.RefreshInterval <= 0 {
		return 0
	}
	return s.cfg.MaxBufferedDocs
}

// startRefresher starts the goroutine that refreshes every index about
// every Config.RefreshInterval.
func (s *Store) startRefresher() {
	if s.cfg.RefreshInterval <= 0 {
		return
	}
	s.stopRefresh, s.refreshDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.refreshDone)
		t := time.NewTicker(s.cfg.RefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-s.stopRefresh:
				return
			case <-t.C:
				s.refreshAll()
			}
		}
	}()
}

// stopRefresher stops the refresher and waits for it; it may be called
// more than once.
func (s *Store) stopRefresher() {
	if s.stopRefresh == nil {
		return
	}
	s.refreshOnce.Do(func() { close(s.stopRefresh) })
	<-s.refreshDone
}

// refreshAll refreshes every index with buffered writes.
func (s *Store) refreshAll() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	for _, ix := range s.indices {
		if err := ix.refresh(); err != nil && ix.firstReport() {
			s.cfg.Logger.Error("bleve: refresh failed; the index takes no more writes until the store is reopened",
				"index", ix.name, "err", err)
		}
	}
}

// refresh applies the buffered writes as one batch. Refreshes of an
// index run one at a time; while one applies its batch, writes and reads
// go on, seeing the batch's writes in ix.applying. A failure is kept: the
// index refuses later writes and Sync reports it, since what the batch
// held can no longer be told apart.
func (ix *index) refresh() error {
	ix.refreshMu.Lock()
	defer ix.refreshMu.Unlock()
	ix.mu.Lock()
	if ix.failed != nil {
		ix.mu.Unlock()
		return ix.failed
	}
	b := ix.buf
	if b == nil {
		ix.mu.Unlock()
		return nil
	}
	ix.buf, ix.applying = nil, b
	ix.mu.Unlock()

	err := ix.bi.Batch(b.batch)

	ix.mu.Lock()
	ix.applying = nil
	if err != nil {
		ix.failed = fmt.Errorf("refresh of %d buffered writes: %w", len(b.held), err)
		err = ix.failed
		ix.versions.clear()
	} else {
		ix.versions.remember(b.held)
	}
	ix.mu.Unlock()
	b.applied.finish(err)
	return err
}

// firstReport reports whether the index's refresh failure was not
// reported yet (the refresher logs it once, not every interval).
func (ix *index) firstReport() bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	first := !ix.reported
	ix.reported = true
	return first
}

// buffer returns the index's buffer, creating it; ix.mu must be held.
func (ix *index) buffer() *buffer {
	if ix.buf == nil {
		ix.buf = &buffer{batch: ix.bi.NewBatch(), held: map[string]held{}, applied: newDone()}
	}
	return ix.buf
}

// buffered returns what the buffer, or the batch being applied, holds
// for id.
func (ix *index) buffered(id string) (held, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if h, ok := ix.buf.get(id); ok {
		return h, true
	}
	return ix.applying.get(id)
}

// get returns what b holds for id; a nil buffer holds nothing.
func (b *buffer) get(id string) (held, bool) {
	if b == nil {
		return held{}, false
	}
	h, ok := b.held[id]
	return h, ok
}

// getBuffered reads id from the buffer: the document (nil Source for a
// tombstone) and whether the buffer holds the id.
func (ix *index) getBuffered(id string) (views.Document, bool) {
	h, ok := ix.buffered(id)
	if !ok {
		return views.Document{}, false
	}
	d := views.Document{Index: ix.name, ID: id, Version: h.version}
	if !h.deleted {
		d.Source = bytes.Clone(h.src)
	}
	return d, true
}

// pendingRefresh returns what to wait for until every write buffered so
// far is applied: nil when nothing is buffered.
func (ix *index) pendingRefresh() (*done, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.failed != nil {
		return nil, ix.failed
	}
	// Refreshes finish in order: the buffer's comes after the batch
	// being applied.
	switch {
	case ix.buf != nil:
		return ix.buf.applied, nil
	case ix.applying != nil:
		return ix.applying.applied, nil
	}
	return nil, nil
}

// discard drops the buffered writes of an index being deleted.
func (ix *index) discard() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.buf != nil {
		ix.buf.applied.finish(nil) // a deleted index's writes need no applying
		ix.buf = nil
	}
}

// Sync waits until every write acknowledged before the call is applied
// and on disk: with Config.RefreshInterval, until the refresh that
// applies it (at most about RefreshInterval); without, it returns at once,
// since Bulk's writes are on disk when it returns. It implements
// views.Syncer.
func (s *Store) Sync(ctx context.Context) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	type pending struct {
		name string
		d    *done
	}
	var waits []pending
	for name, ix := range s.indices {
		d, err := ix.pendingRefresh()
		if err != nil {
			s.mu.RUnlock()
			return fmt.Errorf("bleve: sync index %q: %w", name, err)
		}
		if d != nil {
			waits = append(waits, pending{name, d})
		}
	}
	s.mu.RUnlock()
	for _, w := range waits {
		if err := w.d.wait(ctx); err != nil {
			return fmt.Errorf("bleve: sync index %q: %w", w.name, err)
		}
	}
	return nil
}

var _ views.Syncer = (*Store)(nil)
