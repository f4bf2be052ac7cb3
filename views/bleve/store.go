package bleve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/b2dc4357/sourced/views"
)

// Config configures a Store. The zero value is a working in-memory store.
type Config struct {
	// Dir is the directory the store keeps its indices and metadata in,
	// created if missing. Only one Store (in any process) may use a
	// directory at a time. Default: "", an in-memory store that keeps
	// nothing after Close.
	Dir string

	// Logger receives index creations and deletions and cleanups at Open.
	// Default: slog.New(slog.DiscardHandler).
	Logger *slog.Logger

	// RefreshInterval, when positive, buffers writes in memory: Bulk's
	// writes are seen by Get and by the version checks of later writes as
	// soon as Bulk returns, and a refresh applies everything written to an
	// index since the last one as one bleve batch (one segment on disk,
	// with its fsyncs) about every RefreshInterval, at Refresh, when an
	// index holds MaxBufferedDocs writes, and before a Search of the index
	// (so searches see every Bulk that returned, as without buffering).
	// A write is durable once a refresh applied it: Sync waits for that,
	// and whoever records progress past a write (a projector committing
	// its offsets) calls Sync first. Close applies what is buffered.
	// Default: 0, every Bulk is one batch, on disk when Bulk returns.
	RefreshInterval time.Duration

	// MaxBufferedDocs is how many buffered writes (distinct ids) an index
	// holds before Bulk applies them at once (RefreshInterval only).
	// Default: DefaultMaxBufferedDocs.
	MaxBufferedDocs int
}

// DefaultMaxBufferedDocs is the default Config.MaxBufferedDocs.
const DefaultMaxBufferedDocs = 4096

// DefaultRefreshInterval is the refresh interval `sourced` gives the
// embedded store (Config.RefreshInterval), Elasticsearch's default. In
// `sourced dev` at 1,000 invoice commands/s, bleve took 317 CPU-µs per
// command with it, 485 with 250 ms, and 650-700 with every projector
// batch its own segment (BenchmarkDevCPUPerCommand).
const DefaultRefreshInterval = time.Second

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBufferedDocs <= 0 {
		c.MaxBufferedDocs = DefaultMaxBufferedDocs
	}
}

// indicesDir is the sub-directory of Config.Dir holding one bleve index
// directory per concrete index.
const indicesDir = "indices"

// scorchConfig is the configuration of every index: bolt_timeout bounds how
// long bleve waits for the lock of an index's root file (forever by
// default); the directory lock normally makes waiting impossible.
//
// The merge plan's floor is 20 documents instead of 2,000. A projector
// writes a batch every few milliseconds, and each batch becomes a segment
// on disk. scorch counts every segment smaller than the floor as the floor,
// so with 2,000 all of a view's segments sat in one tier and each merge
// rewrote the largest one with ten tiny ones: at 1,000 updates/s of 2,000
// documents in batches of 5, merging took 1.6 ms of CPU per document, most
// of `sourced dev`'s CPU. With the floor at 20, small segments merge with
// small ones first (BenchmarkBulkPaced: 1,630 → 565 CPU-µs per document in
// batches of 5, 870 → 254 in batches of 25).
func scorchConfig() map[string]any {
	// scorch applies these over mergeplan.DefaultMergePlanOptions.
	plan := map[string]any{"FloorSegmentSize": mergeFloorDocs}
	return map[string]any{"bolt_timeout": "5s", "scorchMergePlanOptions": plan}
}

// BatchLinger is how long a projector into a store without a refresh
// interval should wait for more records after the first of a batch:
// longer than the 5 ms suited to Elasticsearch, because every batch then
// becomes a segment written with its own fsyncs, a cost per batch rather
// than per document. At 1,000 updates/s, batches of 25 (25 ms) cost 246
// CPU-µs per document against 565 for batches of 5 (BenchmarkBulkPaced),
// and stay well within a view's freshness budget of 100 ms. See
// Store.BatchLinger.
const BatchLinger = 25 * time.Millisecond

// BatchLinger is the linger suited to a projector into s: BatchLinger
// when every Bulk is its own segment, 0 (the projector's default) with a
// refresh interval, where a Bulk only adds to the buffer.
func (s *Store) BatchLinger() time.Duration {
	if s.cfg.RefreshInterval > 0 {
		return 0
	}
	return BatchLinger
}

// mergeFloorDocs is the merge plan's floor segment size, in documents.
const mergeFloorDocs = 20

// Store is a views.Store on embedded bleve indices. It is safe for
// concurrent use; see the package documentation for its locking.
type Store struct {
	cfg  Config
	lock *os.File

	// mu guards the fields below. Bulk, Get and Search hold it for reading
	// for their whole run, so the administrative operations, which hold it
	// for writing, never close an index in use.
	mu      sync.RWMutex
	closed  bool
	indices map[string]*index
	aliases map[string]map[string]bool

	// written is broadcast after every Bulk that wrote (Written).
	written signal

	// stopRefresh stops the refresher (Config.RefreshInterval), which
	// closes refreshDone when it returns; both nil without one.
	stopRefresh, refreshDone chan struct{}
	refreshOnce              sync.Once
}

// index is one concrete index.
type index struct {
	name    string
	mapping views.Mapping
	b       builder
	bi      bleve.Index

	// mu serializes writes to the index, so that reading the current
	// versions and applying the batch are one step.
	mu sync.Mutex
	// maxBuffered is Config.MaxBufferedDocs when writes are buffered
	// (Config.RefreshInterval), 0 when every Bulk is applied at once.
	maxBuffered int
	// buf holds the writes since the last refresh (nil when none);
	// applying is the buffer a refresh is applying (nil when none); failed
	// is the error of a refresh that failed, after which the index takes
	// no more writes (the store must be reopened). Guarded by mu.
	buf, applying *buffer
	failed        error
	reported      bool // the refresher logged failed
	// refreshMu makes refreshes of the index run one at a time.
	refreshMu sync.Mutex
	// versions remembers the versions the index holds for recent ids.
	// Guarded by mu.
	versions *versionCache
}

var _ views.Store = (*Store)(nil)

// Open opens the store in cfg.Dir, creating the directory if needed, and
// opens every index listed in its metadata. Index directories the metadata
// does not list (left by a create or delete a crash interrupted) are
// removed. It fails if another Store holds the directory.
func Open(cfg Config) (*Store, error) {
	cfg.setDefaults()
	s := &Store{cfg: cfg, indices: map[string]*index{}, aliases: map[string]map[string]bool{}}
	if cfg.Dir == "" {
		s.startRefresher()
		return s, nil
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, indicesDir), 0o755); err != nil {
		return nil, fmt.Errorf("bleve: open %q: %w", cfg.Dir, err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("bleve: open %q: %w", cfg.Dir, err)
	}
	s.lock = lock
	m, err := readMeta(cfg.Dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("bleve: open %q: %w", cfg.Dir, err)
	}
	for name, mapping := range m.Indices {
		ix, err := openIndex(s.indexPath(name), name, mapping)
		if err != nil {
			s.closeIndices()
			lock.Close()
			return nil, fmt.Errorf("bleve: open index %q: %w", name, err)
		}
		ix.maxBuffered = s.maxBuffered()
		s.indices[name] = ix
	}
	for alias, members := range m.Aliases {
		for name := range members {
			if s.indices[name] == nil {
				delete(members, name)
			}
		}
		if len(members) > 0 {
			s.aliases[alias] = members
		}
	}
	s.removeStrays()
	s.startRefresher()
	return s, nil
}

// removeStrays removes index directories the metadata does not list.
func (s *Store) removeStrays() {
	entries, err := os.ReadDir(filepath.Join(s.cfg.Dir, indicesDir))
	if err != nil {
		s.cfg.Logger.Warn("bleve: list index directories", "dir", s.cfg.Dir, "err", err)
		return
	}
	for _, e := range entries {
		if s.indices[e.Name()] != nil {
			continue
		}
		s.cfg.Logger.Warn("bleve: removing index directory not in the metadata", "index", e.Name())
		if err := os.RemoveAll(filepath.Join(s.cfg.Dir, indicesDir, e.Name())); err != nil {
			s.cfg.Logger.Warn("bleve: remove stray index directory", "index", e.Name(), "err", err)
		}
	}
}

func (s *Store) indexPath(name string) string {
	if s.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Dir, indicesDir, name)
}

// newIndex wraps an open bleve index.
func newIndex(name string, mapping views.Mapping, bi bleve.Index) (*index, error) {
	sc, err := compileSchema(mapping)
	if err != nil {
		return nil, err
	}
	bi.SetName(name)
	ix := &index{name: name, mapping: mapping, bi: bi, versions: newVersionCache(recentVersions)}
	ix.b = builder{
		schema: sc,
		text:   bi.Mapping().AnalyzerNamed(textAnalyzer),
		kw:     bi.Mapping().AnalyzerNamed(keyword.Name),
	}
	if ix.b.text == nil || ix.b.kw == nil {
		return nil, errors.New("analyzers missing from the index mapping")
	}
	return ix, nil
}

// openIndex opens the bleve index at path.
func openIndex(path, name string, mapping views.Mapping) (*index, error) {
	bi, err := bleve.OpenUsing(path, scorchConfig())
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(name, mapping, bi)
	if err != nil {
		bi.Close()
		return nil, err
	}
	return ix, nil
}

// createIndex creates a bleve index at path (in memory when path is empty)
// with the mapping translated.
func createIndex(path, name string, mapping views.Mapping) (*index, error) {
	if _, err := compileSchema(mapping); err != nil {
		return nil, err
	}
	im, err := indexMapping(mapping)
	if err != nil {
		return nil, err
	}
	// An empty path gives an in-memory scorch index (bleve.NewMemOnly
	// would give the older upsidedown index type).
	bi, err := bleve.NewUsing(path, im, scorch.Name, scorch.Name, scorchConfig())
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(name, mapping, bi)
	if err != nil {
		bi.Close()
		return nil, err
	}
	return ix, nil
}

// CreateIndex creates a concrete index with the mapping. The name follows
// Elasticsearch's rules (lower case, no '/', '\\', '*', '?', '"', '<', '>',
// '|', ' ', ',', '#', ':', not starting with '-', '_' or '+'). It returns
// an error wrapping views.ErrIndexExists when the name is taken by an index
// or an alias, and an error for an invalid name or mapping.
func (s *Store) CreateIndex(ctx context.Context, name string, m views.Mapping) error {
	if err := validName(name); err != nil {
		return fmt.Errorf("bleve: create index %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if s.indices[name] != nil || s.aliases[name] != nil {
		return fmt.Errorf("bleve: create index %q: %w", name, views.ErrIndexExists)
	}
	path := s.indexPath(name)
	if path != "" {
		// A directory of an index whose creation or deletion was cut short.
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("bleve: create index %q: %w", name, err)
		}
	}
	ix, err := createIndex(path, name, m)
	if err != nil {
		return fmt.Errorf("bleve: create index %q: %w", name, err)
	}
	ix.maxBuffered = s.maxBuffered()
	s.indices[name] = ix
	if err := s.saveMeta(); err != nil {
		delete(s.indices, name)
		s.dropIndex(ix)
		return fmt.Errorf("bleve: create index %q: %w", name, err)
	}
	s.cfg.Logger.Debug("bleve: index created", "index", name)
	return nil
}

// DeleteIndex deletes a concrete index, its files, and its membership of
// every alias. A missing index gives an error wrapping views.ErrNotFound;
// an alias name is refused, as Elasticsearch does.
func (s *Store) DeleteIndex(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	ix := s.indices[name]
	if ix == nil {
		if s.aliases[name] != nil {
			return fmt.Errorf("bleve: delete index %q: the name is an alias; delete its concrete indices", name)
		}
		return fmt.Errorf("bleve: delete index %q: %w", name, views.ErrNotFound)
	}
	aliases := cloneAliases(s.aliases)
	removeFromAliases(aliases, name)
	return s.commit(aliases, []string{name})
}

// commit makes aliases the store's aliases and deletes the indices named in
// drop, persisting the metadata first: the metadata is the commit point,
// and a directory left behind by a crash is removed at the next Open.
func (s *Store) commit(aliases map[string]map[string]bool, drop []string) error {
	old := s.aliases
	dropped := make([]*index, 0, len(drop))
	s.aliases = aliases
	for _, name := range drop {
		dropped = append(dropped, s.indices[name])
		delete(s.indices, name)
	}
	if err := s.saveMeta(); err != nil {
		s.aliases = old
		for _, ix := range dropped {
			s.indices[ix.name] = ix
		}
		return fmt.Errorf("bleve: save metadata: %w", err)
	}
	for _, ix := range dropped {
		s.dropIndex(ix)
		s.cfg.Logger.Debug("bleve: index deleted", "index", ix.name)
	}
	return nil
}

// dropIndex closes an index the metadata no longer lists and removes its
// files. A failure only leaves a directory the next Open removes.
func (s *Store) dropIndex(ix *index) {
	ix.discard()
	if err := ix.bi.Close(); err != nil {
		s.cfg.Logger.Warn("bleve: close deleted index", "index", ix.name, "err", err)
	}
	if path := s.indexPath(ix.name); path != "" {
		if err := os.RemoveAll(path); err != nil {
			s.cfg.Logger.Warn("bleve: remove deleted index", "index", ix.name, "err", err)
		}
	}
}

// saveMeta writes the metadata of the current indices and aliases; s.mu
// must be held for writing.
func (s *Store) saveMeta() error {
	if s.cfg.Dir == "" {
		return nil
	}
	m := meta{Format: metaFormat, Indices: make(map[string]views.Mapping, len(s.indices)), Aliases: s.aliases}
	for name, ix := range s.indices {
		m.Indices[name] = ix.mapping
	}
	return writeMeta(s.cfg.Dir, m)
}

// Indices lists the concrete indices whose names start with prefix, sorted.
func (s *Store) Indices(ctx context.Context, prefix string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	var names []string
	for name := range s.indices {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Close applies the writes still buffered (Config.RefreshInterval),
// closes every index and releases the directory. Every later call returns
// an error. Close waits for running operations to finish.
func (s *Store) Close() error {
	s.stopRefresher()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	for _, ix := range s.indices {
		err = errors.Join(err, ix.refresh())
	}
	err = errors.Join(err, s.closeIndices())
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	if err != nil {
		return fmt.Errorf("bleve: close: %w", err)
	}
	return nil
}

func (s *Store) closeIndices() error {
	var errs []error
	for name, ix := range s.indices {
		if err := ix.bi.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close index %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("bleve: store closed")

// validName checks an index or alias name against Elasticsearch's rules;
// the names are also directory names here.
func validName(name string) error {
	switch {
	case name == "":
		return errors.New("invalid name: must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("invalid name %q", name)
	case len(name) > 255:
		return errors.New("invalid name: longer than 255 bytes")
	case strings.ContainsAny(name[:1], "-_+"):
		return errors.New("invalid name: must not start with '_', '-', or '+'")
	case strings.ContainsAny(name, "\\/*?\"<>| ,#:"):
		return errors.New(`invalid name: must not contain '\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'`)
	case strings.ToLower(name) != name:
		return errors.New("invalid name: must be lowercase")
	}
	return nil
}
