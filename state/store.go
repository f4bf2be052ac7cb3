package state

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// entry is a pending write: a value, or a delete.
type entry struct {
	val []byte // points into an arena; never handed out
	del bool
}

// store is the storage.Storage of one partition. Writes go to an in-memory
// pending map and reach LevelDB as one batch per flush (values and offset
// together). During a flush the map being written moves to flushing, so
// readers still see it and writers fill a fresh pending map meanwhile.
//
// Lock order: flushMu, then mu. Builder.mu is never taken with either held.
type store struct {
	b         *Builder
	topic     string
	partition int32
	dir       string
	log       *slog.Logger
	db        *leveldb.DB      // set by load, then never reassigned
	stor      lstorage.Storage // db's files; closed with it

	flushMu sync.Mutex    // serializes flushes
	batch   leveldb.Batch // guarded by flushMu
	keyBuf  []byte        // guarded by flushMu
	offBuf  []byte        // guarded by flushMu
	// wrote is set once a batch was written to LevelDB: its memtable
	// holds writes (an open leaves it empty, having written any journal
	// it replayed to a table). Guarded by flushMu.
	wrote bool

	mu           sync.RWMutex
	pending      map[string]entry // newest writes
	arena        []byte           // backs the values in pending
	pendingBytes int              // keys and values written to pending since the last swap
	flushing     map[string]entry // writes being flushed, nil between flushes; read-only
	spare        map[string]entry // cleared map for the next swap
	spareArena   []byte
	offset       int64 // latest SetOffset, else the stored offset
	hasOffset    bool
	offsetDirty  bool // offset not yet flushed
	started      bool
	closed       bool

	kick chan struct{} // asks the flusher for an early flush; capacity 1
	stop chan struct{} // closed by Close to stop the flusher
	done chan struct{} // closed by the flusher when it returns
}

var _ storage.Storage = (*store)(nil)

func newStore(b *Builder, topic string, partition int32, dir string) *store {
	return &store{
		b:         b,
		topic:     topic,
		partition: partition,
		dir:       dir,
		log:       b.cfg.Logger.With("topic", topic, "partition", partition),
		pending:   make(map[string]entry),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// Open starts the background flush (every Config.FlushInterval, or earlier
// once Config.FlushBytes are pending). The store was opened by Build and is
// usable without Open; goka calls it right after building.
func (s *store) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.errClosed()
	}
	if !s.started {
		s.started = true
		go s.flusher()
	}
	return nil
}

func (s *store) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.b.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.flush(); err != nil {
			// The writes stay pending: the next flush retries them, and a
			// writer that finds twice FlushBytes pending flushes itself and
			// gets the error.
			s.log.Error("state: flush store", "path", s.dir, "error", err)
		}
	}
}

// Close flushes pending writes, closes LevelDB and, unless the Builder is
// tainted, writes the clean marker. A failed flush or close leaves the store
// dirty. Iterators must be released before Close (a LevelDB rule). After
// Close, Open, Set, Delete, SetOffset, Get, Has and the iterators return an
// error wrapping ErrClosed; calling Close again returns nil.
func (s *store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()

	if started {
		close(s.stop)
		<-s.done
	}
	err := s.flush()
	if err == nil {
		if err = s.flushMemtable(); err != nil {
			s.closeAfterFailedFlush()
			return err
		}
		if s.b.stopping() && s.b.Tainted() == nil { // a tainted store is wiped at its next open
			s.awaitCompactions()
		}
	}
	if cerr := s.closeDB(); err == nil && cerr != nil {
		err = fmt.Errorf("close store %q: %w", s.dir, cerr)
	}
	if err != nil {
		return err
	}
	return s.b.markClean(s)
}

// flushMemtable writes LevelDB's memtable to a table file and waits for
// it, and for a flush already running, to finish. goleveldb's Close
// abandons a memtable flush in progress, leaving the journals behind: a
// read-write open replays them, but its read-only open (List, Get: what
// `sourced state` uses) failed on them with EOF. That happened to a
// processor stopped just after it restored its partitions
// (BenchmarkRestartToReady). A memtable left in its journal also costs the
// next open: LevelDB replays it into a memtable of its own and writes that
// to a table before the store can serve, up to Config.WriteBuffer of it
// after a restore (the clean restart's largest cost, see
// TestCloseLeavesNoJournal). goleveldb has no call to flush the memtable
// alone; opening a transaction does (it writes the memtable to a table,
// with a new journal and manifest entry, and waits), and discarding it
// writes nothing more. It costs a memtable's allocation
// (Config.WriteBuffer), so a store nothing was written to skips it.
// (CompactRange over a range holding no key, used before, flushed
// nothing: goleveldb flushes the memtable only for a range it overlaps.)
func (s *store) flushMemtable() error {
	s.flushMu.Lock()
	wrote := s.wrote
	s.flushMu.Unlock()
	if !wrote {
		return nil
	}
	tr, err := s.db.OpenTransaction()
	if err != nil {
		return fmt.Errorf("close store %q: flush memtable: %w", s.dir, err)
	}
	tr.Discard()
	return nil
}

// compactionPoll is how often awaitCompactions looks at LevelDB's levels.
const compactionPoll = time.Millisecond

// awaitCompactions waits, at most Config.CompactionWait, until LevelDB owes
// no compaction: what its compaction goroutine, which runs on its own
// whenever one is owed, would otherwise abandon at close and do again at
// the next open (see Builder.StopsWith). A store that owes none, as one
// that ran for more than a few seconds, returns at once.
func (s *store) awaitCompactions() {
	wait := s.b.cfg.CompactionWait
	if wait < 0 {
		return
	}
	start := time.Now()
	var stats leveldb.DBStats
	for {
		if err := s.db.Stats(&stats); err != nil || !owesCompaction(&stats, s.b.opts) {
			return
		}
		if time.Since(start) >= wait {
			s.log.Warn("state: closing a store that still owes compactions", "path", s.dir,
				"waited", wait.String(), "level_tables", stats.LevelTablesCounts)
			return
		}
		time.Sleep(compactionPoll)
	}
}

// owesCompaction reports whether LevelDB's own rule (version.computeCompaction
// in goleveldb) calls for a table compaction: as many level-0 tables as
// opt.Options.CompactionL0Trigger, or a deeper level larger than its
// CompactionTotalSize. (Seek-triggered compactions are left out: they only
// speed up reads and are not owed.)
func owesCompaction(st *leveldb.DBStats, o *opt.Options) bool {
	for level, tables := range st.LevelTablesCounts {
		if level == 0 {
			if tables >= o.GetCompactionL0Trigger() {
				return true
			}
			continue
		}
		if level < len(st.LevelSizes) && st.LevelSizes[level] >= o.GetCompactionTotalSize(level) {
			return true
		}
	}
	return false
}

// abandonWait is how long closeAfterFailedFlush waits for LevelDB's Close.
const abandonWait = 5 * time.Second

// closeAfterFailedFlush closes LevelDB after flushMemtable failed.
// goleveldb's OpenTransaction keeps its write lock when it fails after
// taking it (the memtable flush failed: the disk is full or failing), and
// its Close then waits for that lock for ever. A Close that has not
// returned after abandonWait is left to its goroutine, and the storage
// (LevelDB's files and lock) is closed under it, so that the store can be
// opened again (and is wiped: it stays dirty).
func (s *store) closeAfterFailedFlush() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.closeDB()
	}()
	select {
	case <-done:
	case <-time.After(abandonWait):
		s.log.Error("state: LevelDB did not close after its memtable flush failed; its files are closed under it, the store stays dirty", "path", s.dir)
		_ = s.stor.Close()
	}
}

// crash closes LevelDB without flushing and without the clean marker, as a
// killed process would leave it. Tests only.
func (s *store) crash() error {
	s.mu.Lock()
	s.closed = true
	started := s.started
	s.mu.Unlock()
	if started {
		close(s.stop)
		<-s.done
	}
	return s.closeDB()
}

func (s *store) errClosed() error {
	return fmt.Errorf("store %q: %w", s.dir, ErrClosed)
}

// lookup returns the newest pending write of key. mu must be held.
func (s *store) lookup(key string) (entry, bool) {
	if e, ok := s.pending[key]; ok {
		return e, true
	}
	e, ok := s.flushing[key]
	return e, ok
}

// Has reports whether key exists, pending writes included.
func (s *store) Has(key string) (bool, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false, s.errClosed()
	}
	e, ok := s.lookup(key)
	s.mu.RUnlock()
	if ok {
		return !e.del, nil
	}
	// Not pending: LevelDB holds the newest value. A flush that began after
	// the lookup only moves newer writes, so this read cannot go back in time.
	has, err := s.db.Has([]byte(key), nil)
	if err != nil {
		return false, fmt.Errorf("has %q in store %q: %w", key, s.dir, err)
	}
	return has, nil
}

// Get returns a copy of the value of key, owned by the caller, or nil, nil if
// key does not exist (or its delete is pending).
func (s *store) Get(key string) ([]byte, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, s.errClosed()
	}
	if e, ok := s.lookup(key); ok {
		var v []byte
		if !e.del {
			v = make([]byte, len(e.val))
			copy(v, e.val)
		}
		s.mu.RUnlock()
		return v, nil
	}
	s.mu.RUnlock()
	v, err := s.db.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %q from store %q: %w", key, s.dir, err)
	}
	return v, nil
}

// Set stores a copy of value under key. It is pending (visible to Get, Has
// and the next Iterator) until the next flush. The caller may reuse value
// once Set returns. Set flushes synchronously only when the background
// flusher has fallen behind by a whole FlushBytes.
func (s *store) Set(key string, value []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	// Values are appended to one arena instead of being copied one by one:
	// no allocation per Set once the arena has grown to its working size.
	n := len(s.arena)
	s.arena = append(s.arena, value...)
	s.pending[key] = entry{val: s.arena[n:len(s.arena):len(s.arena)]}
	s.pendingBytes += len(key) + len(value)
	pb := s.pendingBytes
	s.mu.Unlock()
	return s.maybeFlush(pb)
}

// Delete removes key. The delete is pending until the next flush.
func (s *store) Delete(key string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	s.pending[key] = entry{del: true}
	s.pendingBytes += len(key)
	pb := s.pendingBytes
	s.mu.Unlock()
	return s.maybeFlush(pb)
}

func (s *store) maybeFlush(pendingBytes int) error {
	switch limit := s.b.cfg.FlushBytes; {
	case pendingBytes < limit:
		return nil
	case pendingBytes < 2*limit:
		select {
		case s.kick <- struct{}{}:
		default: // a flush is already requested
		}
		return nil
	default:
		return s.flush()
	}
}

// GetOffset returns the latest offset passed to SetOffset, else the offset
// stored in LevelDB when the store was opened, else def.
func (s *store) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.hasOffset {
		return s.offset, nil
	}
	return def, nil
}

// SetOffset records the changelog offset of the latest write. goka calls it
// from the producer's callback goroutine. The offset is flushed together
// with the values, under goka's key "__offset" as a decimal string.
func (s *store) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.errClosed()
	}
	s.offset, s.hasOffset, s.offsetDirty = offset, true, true
	return nil
}

// MarkRecovered flushes the writes of the recovery.
func (s *store) MarkRecovered() error {
	return s.flush()
}

// Iterator flushes pending writes, then iterates over a LevelDB snapshot of
// the whole store in key order, without the offset key. Writes made after
// Iterator returns are not seen. The caller must Release the iterator.
func (s *store) Iterator() (storage.Iterator, error) {
	if err := s.flushOpen(); err != nil {
		return nil, err
	}
	return &iterator{it: s.db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})}, nil
}

// IteratorWithRange is Iterator over [start, limit). As with goka's LevelDB
// storage, a nil or empty limit iterates over the keys prefixed by start.
func (s *store) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	if err := s.flushOpen(); err != nil {
		return nil, err
	}
	r := util.BytesPrefix(start)
	if len(limit) > 0 {
		r = &util.Range{Start: start, Limit: limit}
	}
	return &iterator{it: s.db.NewIterator(r, nil)}, nil
}

func (s *store) flushOpen() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return s.errClosed()
	}
	return s.flush()
}

// flush writes the pending writes and offset to LevelDB as one batch.
func (s *store) flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.mu.Lock()
	if len(s.pending) == 0 && !s.offsetDirty {
		s.mu.Unlock()
		return nil
	}
	if s.spare == nil {
		s.spare = make(map[string]entry, len(s.pending))
	}
	s.flushing, s.pending, s.spare = s.pending, s.spare, nil
	arena := s.arena
	s.arena, s.spareArena = s.spareArena, nil
	s.pendingBytes = 0
	offset, writeOffset := s.offset, s.offsetDirty
	s.offsetDirty = false
	s.mu.Unlock()

	// flushing is read-only until it is dropped below, so it is read here
	// without mu (readers hold mu.RLock, which does not conflict).
	s.batch.Reset()
	for k, e := range s.flushing {
		s.keyBuf = append(s.keyBuf[:0], k...)
		if e.del {
			s.batch.Delete(s.keyBuf)
		} else {
			s.batch.Put(s.keyBuf, e.val)
		}
	}
	if writeOffset {
		s.offBuf = strconv.AppendInt(s.offBuf[:0], offset, 10)
		s.batch.Put([]byte(offsetKey), s.offBuf)
	}
	keys := len(s.flushing)
	start := time.Now()
	err := s.db.Write(&s.batch, nil)
	d := time.Since(start)
	s.wrote = true

	s.mu.Lock()
	if err != nil {
		// Keep the writes pending, under any newer ones, for the next flush.
		for k, e := range s.flushing {
			if _, ok := s.pending[k]; !ok {
				s.pending[k] = e
				s.pendingBytes += len(k) + len(e.val)
			}
		}
		s.offsetDirty = s.offsetDirty || writeOffset
		s.flushing = nil
		s.mu.Unlock()
		return fmt.Errorf("flush store %q: %w", s.dir, err)
	}
	clear(s.flushing)
	s.spare, s.flushing = s.flushing, nil
	// Reuse the arena (no entry points into it any more) unless it is
	// oversized, by one huge value or by a burst long past: an idle store
	// should not pin megabytes.
	if cap(arena) <= 4*s.b.cfg.FlushBytes && len(arena) >= cap(arena)/4 {
		s.spareArena = arena[:0]
	}
	s.mu.Unlock()

	if h := s.b.cfg.Hooks.OnFlush; h != nil {
		h(s.topic, s.partition, keys, d)
	}
	return nil
}
