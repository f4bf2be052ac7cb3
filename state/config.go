package state

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syndtr/goleveldb/leveldb/opt"
)

// Compression values for Config.Compression.
const (
	CompressionSnappy = "snappy"
	CompressionNone   = "none"
)

// Config configures the LevelDB stores of one goka processor or view.
// The zero value is not valid: Dir is required. Every other field has a default.
type Config struct {
	// Dir is the parent directory of the partition stores; the store of a
	// partition lives in Dir/<topic>.<partition>, as with goka's own LevelDB
	// builders. Required.
	Dir string

	// BlockCacheCapacity is the LevelDB block cache size of each partition
	// store, in bytes. Default: 8 MiB. Ignored when BlockCache is set.
	BlockCacheCapacity int

	// BlockCache, when set, is the one LevelDB block cache of every store
	// built with this Config and of any other store given the same
	// BlockCache: a process with many partition stores (dev runs dozens)
	// then bounds their cached blocks together instead of holding up to
	// BlockCacheCapacity per store. Default: nil, a cache per store.
	BlockCache *BlockCache

	// WriteBuffer is the LevelDB memtable size of each partition store, in
	// bytes. Default: 4 MiB.
	WriteBuffer int

	// CompactionTableSize is the size of the LevelDB tables compactions
	// write. Each compaction preallocates a buffer of this size, which the
	// store then pools: a process with many stores holds a few of them per
	// store. Default: half of WriteBuffer (2 MiB, goleveldb's own default,
	// with the default WriteBuffer).
	CompactionTableSize int

	// Compression is the LevelDB block compression: "snappy" or "none".
	// Default: "snappy".
	Compression string

	// FlushInterval is the longest time a write stays pending in memory
	// before it is flushed to LevelDB. Default: 1s.
	FlushInterval time.Duration

	// FlushBytes triggers a flush once this many bytes (keys plus values)
	// are pending. Default: 4 MiB.
	FlushBytes int

	// AckWait is how long a closing store waits for the changelog writes
	// of its topic begun before its close (Builder.Begin) to be
	// acknowledged; a store closed with one still unacknowledged is left
	// dirty. Default: 10s.
	AckWait time.Duration

	// Changelog, when set, returns the identity and the high watermark of
	// the changelog topic of a table partition (for goka, the table topic
	// itself). It is called once per store open; a store recorded for
	// another changelog ID, or holding an offset at or beyond End, is wiped.
	// An error fails the open. Optional: without it neither check is made.
	Changelog func(topic string, partition int32) (Changelog, error)

	// CompactionWait bounds how long a clean Close, once the Builder's
	// owner stops (Builder.StopsWith), waits for the compactions LevelDB
	// owes (as many level-0 tables as its trigger, or a level over its
	// size) before it closes the store; a compaction that takes longer is
	// abandoned, to be done again at the next open. Waiting does the work
	// the next open would do, but before the store is needed rather than
	// while it is: a stop takes longer by it, the next start does not pay
	// it. Default: 2s; negative: Close does not wait.
	CompactionWait time.Duration

	// Logger receives wipes and flush failures.
	// Default: slog.New(slog.DiscardHandler).
	Logger *slog.Logger

	// Hooks are optional callbacks for metrics.
	Hooks Hooks
}

// Changelog identifies the changelog topic partition a store is restored from.
type Changelog struct {
	// ID identifies this incarnation of the topic (e.g. the Kafka topic ID),
	// so a deleted and recreated topic of the same name is told apart.
	ID string
	// End is the high watermark: the offset the next record will get.
	End int64
}

// Hooks are optional callbacks, typically bound to metrics. They are called
// synchronously from the store's goroutines and must be fast and safe for
// concurrent use.
type Hooks struct {
	// OnWipe is called when a store is wiped at open, with the reason
	// (WipeDirty, WipeChangelogRecreated, WipeAheadOfChangelog, WipeCorrupt).
	OnWipe func(topic string, partition int32, reason string)
	// OnFlush is called after pending writes were flushed to LevelDB, with
	// the number of keys written (the offset not counted) and the time the
	// LevelDB write took.
	OnFlush func(topic string, partition int32, keys int, d time.Duration)
}

func (c *Config) setDefaults() {
	if c.BlockCacheCapacity == 0 {
		c.BlockCacheCapacity = 8 << 20
	}
	if c.WriteBuffer == 0 {
		c.WriteBuffer = 4 << 20
	}
	if c.CompactionTableSize == 0 {
		c.CompactionTableSize = max(c.WriteBuffer/2, 64<<10)
	}
	if c.Compression == "" {
		c.Compression = CompressionSnappy
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = 4 << 20
	}
	if c.AckWait == 0 {
		c.AckWait = 10 * time.Second
	}
	if c.CompactionWait == 0 {
		c.CompactionWait = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, joined with
// errors.Join. It does not apply defaults: a zero field that has a default
// is reported only if NewBuilder would not replace it.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("state: Dir is required"))
	}
	if c.BlockCacheCapacity < 0 {
		errs = append(errs, fmt.Errorf("state: BlockCacheCapacity %d is negative", c.BlockCacheCapacity))
	}
	if c.WriteBuffer < 0 {
		errs = append(errs, fmt.Errorf("state: WriteBuffer %d is negative", c.WriteBuffer))
	}
	if c.CompactionTableSize < 0 {
		errs = append(errs, fmt.Errorf("state: CompactionTableSize %d is negative", c.CompactionTableSize))
	}
	switch c.Compression {
	case "", CompressionSnappy, CompressionNone:
	default:
		errs = append(errs, fmt.Errorf("state: Compression %q is not %q or %q", c.Compression, CompressionSnappy, CompressionNone))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("state: FlushInterval %v is negative", c.FlushInterval))
	}
	if c.FlushBytes < 0 {
		errs = append(errs, fmt.Errorf("state: FlushBytes %d is negative", c.FlushBytes))
	}
	if c.AckWait < 0 {
		errs = append(errs, fmt.Errorf("state: AckWait %v is negative", c.AckWait))
	}
	return errors.Join(errs...)
}

// options returns the LevelDB options of a writable store.
func (c *Config) options() *opt.Options {
	o := &opt.Options{
		BlockCacheCapacity:  c.BlockCacheCapacity,
		WriteBuffer:         c.WriteBuffer,
		CompactionTableSize: c.CompactionTableSize,
		Compression:         opt.SnappyCompression,
		// No fsyncs: a store that was not closed cleanly is wiped, so
		// what LevelDB writes between clean closes needs no durability,
		// and Close syncs every file before it writes the clean marker.
		// Opening a store cost five fsyncs, which eight stores opening
		// at once wait on each other for.
		NoSync: true,
	}
	if c.Compression == CompressionNone {
		o.Compression = opt.NoCompression
	}
	if c.BlockCache != nil {
		o.BlockCacher = c.BlockCache.cacher
	}
	return o
}

// BlockCache is a LevelDB block cache that stores share (Config.BlockCache):
// the least recently used blocks of all of them are evicted first once
// their total size passes the capacity. Safe for concurrent use.
type BlockCache struct {
	cacher opt.Cacher
}

// NewBlockCache returns a block cache of capacity bytes to share between
// stores. A capacity of zero or less caches nothing.
func NewBlockCache(capacity int) *BlockCache {
	if capacity <= 0 {
		return &BlockCache{cacher: opt.NoCacher}
	}
	return &BlockCache{cacher: opt.NewLRU(capacity)}
}
