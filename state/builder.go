package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// Sentinel errors.
var (
	// ErrClosed is returned by the methods of a store after Close.
	ErrClosed = errors.New("state: store closed")
	// ErrTainted is the taint recorded by Taint(nil) and by MarkDirty.
	ErrTainted = errors.New("state: process tainted")
	// ErrNotFound is returned by Get for a key the store does not hold.
	ErrNotFound = errors.New("state: key not found")
)

// Wipe reasons passed to Hooks.OnWipe and logged.
const (
	WipeDirty              = "dirty"
	WipeChangelogRecreated = "changelog recreated"
	WipeAheadOfChangelog   = "local store ahead of changelog"
	WipeCorrupt            = "corrupt"
)

// Builder builds the partition stores of one goka processor or view and
// keeps the clean-close checkpoint for them (DESIGN guarantee 3). Pass
// b.Build to goka as the storage.Builder. A Builder is safe for concurrent
// use.
type Builder struct {
	cfg  Config
	opts *opt.Options

	// mu orders Taint and MarkDirty against the clean marker a closing
	// store writes: a store either finished writing its marker before the
	// taint, or sees the taint and writes none. Closing stores share the
	// read lock, so closes do not wait for each other's fsyncs.
	mu    sync.RWMutex
	taint error               // guarded by mu
	dirs  map[string]struct{} // every store dir built; guarded by mu

	// wmu guards writes: the unacknowledged changelog writes per topic
	// (see Begin). It is never held with mu.
	wmu    sync.Mutex
	writes map[string]*writes

	// stop is done once the Builder's owner stops (StopsWith).
	stop atomic.Pointer[context.Context]
}

// NewBuilder applies the defaults to cfg and validates it. The error joins
// every problem found.
func NewBuilder(cfg Config) (*Builder, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Builder{cfg: cfg, opts: cfg.options(), dirs: make(map[string]struct{}), writes: make(map[string]*writes)}, nil
}

// Build opens the store of one partition in Config.Dir/<topic>.<partition>,
// wiping it first if it was not closed cleanly or no longer matches its
// changelog (see Config.Changelog). It has goka's storage.Builder signature.
// The store is usable at once; Open starts its background flush.
//
// Build fails, leaving the directory as it was, if Config.Changelog fails.
// A LevelDB that cannot be opened is an error (it may be open in another
// process), except a corrupt one, which is wiped. Build is safe for
// concurrent use, but one partition must not be open twice (LevelDB's lock
// refuses it).
func (b *Builder) Build(topic string, partition int32) (storage.Storage, error) {
	if topic == "" || topic == "." || topic == ".." || strings.ContainsAny(topic, `/\`) || partition < 0 {
		return nil, fmt.Errorf("state: build store for topic %q partition %d: invalid name", topic, partition)
	}
	dir := filepath.Join(b.cfg.Dir, storeName(topic, partition))

	// Ask for the changelog before touching the disk, so a failure leaves
	// the store (and its clean marker) as it was.
	var cl *Changelog
	if b.cfg.Changelog != nil {
		c, err := b.cfg.Changelog(topic, partition)
		if err != nil {
			return nil, fmt.Errorf("open store %q: get changelog: %w", dir, err)
		}
		cl = &c
	}
	if err := os.MkdirAll(b.cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}

	// Register before the first write, so MarkDirty covers this store even
	// if it is still opening.
	b.mu.Lock()
	b.dirs[dir] = struct{}{}
	b.mu.Unlock()
	b.track(topic)

	s := newStore(b, topic, partition, dir)
	if err := s.load(cl); err != nil {
		_ = s.closeDB()
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	return s, nil
}

// Taint records that the process failed (e.g. a changelog write failed):
// every store closed from now on stays dirty, and is wiped at its next open.
// Only the first error is kept; Taint(nil) records ErrTainted. Taint does not
// touch stores already closed: call MarkDirty for those. Safe for concurrent
// use.
func (b *Builder) Taint(err error) {
	if err == nil {
		err = ErrTainted
	}
	b.mu.Lock()
	if b.taint == nil {
		b.taint = err
	}
	b.mu.Unlock()
}

// StopsWith tells the Builder that its owner stops when ctx is done (the
// process or its role shutting down). Stores closed cleanly after that are
// closed for a stop, not for a rebalance, and each first waits, at most
// Config.CompactionWait, for the compactions LevelDB owes. goleveldb
// abandons a compaction at close and starts it over at the next open, where
// it competes with the start; a store that never lives long enough (a
// restart soon after a restore, quick restarts) never finishes it. Every
// start writes a fence to each store, so every fourth restart owed one.
// Stores closed before, as goka closes every store on every rebalance while
// the whole group waits for it to rejoin, do not wait. Safe for concurrent
// use; the last call wins.
func (b *Builder) StopsWith(ctx context.Context) { b.stop.Store(&ctx) }

// stopping reports whether the Builder's owner is stopping (StopsWith).
func (b *Builder) stopping() bool {
	ctx := b.stop.Load()
	return ctx != nil && (*ctx).Err() != nil
}

// Tainted returns the error recorded by the first Taint, or nil.
func (b *Builder) Tainted() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.taint
}

// MarkDirty taints the Builder and removes the clean marker of every store
// it built, so each is wiped at its next open. Call it after goka's Run
// returned an error, before the process exits. The error joins every marker
// that could not be removed. Safe for concurrent use.
func (b *Builder) MarkDirty() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taint == nil {
		b.taint = ErrTainted
	}
	var errs []error
	for _, dir := range slices.Sorted(maps.Keys(b.dirs)) {
		if err := removeSync(dir, markerFile); err != nil {
			errs = append(errs, fmt.Errorf("mark store %q dirty: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// markClean writes the clean marker of a closed store unless a changelog
// write of its topic begun before is still unacknowledged (see Begin) or the
// Builder is tainted.
func (b *Builder) markClean(s *store) error {
	// goka closes a partition's store once the partition's callbacks are
	// done, their writes acknowledged, or after waiting 60 s for them: then
	// a write may still be in flight, its value already in the store.
	if err := b.acknowledged(s.topic); err != nil {
		s.log.Warn("state: store left dirty", "path", s.dir, "reason", err.Error())
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.taint != nil {
		s.log.Warn("state: store left dirty", "path", s.dir, "taint", b.taint.Error())
		return nil
	}
	// LevelDB wrote without fsyncs (Config.options): its files must be
	// durable before the marker says they are whole.
	if err := syncFiles(s.dir); err != nil {
		return fmt.Errorf("close store %q: %w", s.dir, err)
	}
	if err := writeMarker(s.dir); err != nil {
		return fmt.Errorf("close store %q: %w", s.dir, err)
	}
	return nil
}

// load opens LevelDB and applies the checkpoint rules. On return s.db is
// open (or nil after an error).
//
// LevelDB runs without fsyncs (see Config.options), so what it writes is
// durable only once a clean Close synced it. The clean marker is therefore
// removed, durably, before LevelDB writes anything, and a store found
// without it is wiped without being read.
func (s *store) load(cl *Changelog) error {
	existed, err := exists(s.dir)
	if err != nil {
		return err
	}
	clean := false
	if existed {
		if clean, err = exists(filepath.Join(s.dir, markerFile)); err != nil {
			return err
		}
	}

	if existed && !clean {
		if err := s.wipeDirty(); err != nil {
			return err
		}
	} else {
		if clean {
			// From here on the store is dirty until a clean Close. The
			// removal must be durable before LevelDB's open rewrites its
			// manifest. A store with its marker is open nowhere (an open
			// removed it), so this removes no other process's.
			if err := removeSync(s.dir, markerFile); err != nil {
				return err
			}
		}
		switch err := s.open(); {
		case err != nil && existed && lerrors.IsCorrupted(err):
			// Nothing to keep: the changelog restores it.
			if err := s.wipe(WipeCorrupt, "error", err.Error()); err != nil {
				return err
			}
		case err != nil:
			// Not a wipe: the store may be open in another process (LevelDB's
			// lock), or the disk may be failing.
			return fmt.Errorf("open leveldb: %w", err)
		}
	}

	if cl != nil {
		stamp, err := readStamp(s.dir)
		if err != nil {
			return err
		}
		if stamp != "" && stamp != cl.ID {
			if err := s.wipe(WipeChangelogRecreated, "stamp", stamp, "changelog_id", cl.ID); err != nil {
				return err
			}
			stamp = ""
		}
		off, ok, err := s.storedOffset()
		if err != nil {
			return err
		}
		if ok && off >= cl.End {
			// goka would log "local offset is higher than partition offset"
			// and serve this store as recovered.
			if err := s.wipe(WipeAheadOfChangelog, "offset", off, "end", cl.End); err != nil {
				return err
			}
			stamp = ""
		}
		if stamp != cl.ID {
			if err := writeFileSync(s.dir, stampFile, []byte(cl.ID+"\n")); err != nil {
				return err
			}
		}
	}

	off, ok, err := s.storedOffset()
	if err != nil {
		return err
	}
	s.offset, s.hasOffset = off, ok
	return nil
}

// open opens LevelDB in s.dir, creating it if need be.
func (s *store) open() error {
	stor, err := lstorage.OpenFile(s.dir, false)
	if err != nil {
		return err
	}
	// Under LevelDB's lock: no other process writes to these journals.
	if err := dropEmptyJournals(stor); err != nil {
		_ = stor.Close()
		return fmt.Errorf("%q: %w", s.dir, err)
	}
	db, err := leveldb.Open(unsyncedMeta{Storage: stor, dir: s.dir}, s.b.opts)
	if err != nil {
		_ = stor.Close()
		return err
	}
	s.db, s.stor = db, stor
	return nil
}

// dropEmptyJournals removes the empty LevelDB journals of stor. A clean
// Close flushes the memtable, so the journal it leaves holds nothing; but
// LevelDB allocates a whole memtable (Config.WriteBuffer) to replay every
// journal it finds at open, before the memtable it writes into: half of
// what opening a store allocated (64 MiB for eight 4 MiB stores, zeroed
// and then collected, on every restart). An empty journal holds no write,
// so removing it loses nothing; LevelDB starts a new one at open, as it
// does for a new store.
func dropEmptyJournals(stor lstorage.Storage) error {
	journals, err := stor.List(lstorage.TypeJournal)
	if err != nil {
		return fmt.Errorf("list journals: %w", err)
	}
	for _, fd := range journals {
		r, err := stor.Open(fd)
		if err != nil {
			return fmt.Errorf("open journal %s: %w", fd, err)
		}
		size, err := r.Seek(0, io.SeekEnd)
		_ = r.Close()
		if err != nil {
			return fmt.Errorf("size of journal %s: %w", fd, err)
		}
		if size != 0 {
			continue
		}
		if err := stor.Remove(fd); err != nil {
			return fmt.Errorf("remove empty journal %s: %w", fd, err)
		}
	}
	return nil
}

// closeDB closes LevelDB and its storage (which leveldb.Open leaves open).
// s.db stays set: readers racing a Close get LevelDB's ErrClosed.
func (s *store) closeDB() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	if cerr := s.stor.Close(); err == nil {
		err = cerr
	}
	return err
}

// wipeDirty wipes a store that was not closed cleanly. It takes LevelDB's
// lock first, without reading the store (which may be torn), so a store
// that another process (or another Builder) has open, whose marker is
// absent because it is open, is an error and not a wipe.
func (s *store) wipeDirty() error {
	stor, err := lstorage.OpenFile(s.dir, false)
	if err != nil {
		return fmt.Errorf("open leveldb: %w", err)
	}
	_ = stor.Close() // nothing of it is kept
	return s.wipe(WipeDirty)
}

// wipe closes LevelDB, removes the store directory and opens an empty store.
func (s *store) wipe(reason string, attrs ...any) error {
	// The data is being thrown away: a close error changes nothing.
	_ = s.closeDB()
	s.db, s.stor = nil, nil
	if err := wipeDir(s.dir); err != nil {
		return err
	}
	s.log.Warn("state: wiped store", append([]any{"path", s.dir, "reason", reason}, attrs...)...)
	if h := s.b.cfg.Hooks.OnWipe; h != nil {
		h(s.topic, s.partition, reason)
	}
	if err := s.open(); err != nil {
		return fmt.Errorf("open leveldb: %w", err)
	}
	return nil
}

// storedOffset reads goka's offset key from LevelDB.
func (s *store) storedOffset() (int64, bool, error) {
	b, err := s.db.Get([]byte(offsetKey), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read offset: %w", err)
	}
	off, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("decode offset %q: %w", b, err)
	}
	return off, true, nil
}
