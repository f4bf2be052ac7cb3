// Package state is the embedded store of sourced: a goleveldb storage for goka
// tables with a clean-close checkpoint (DESIGN guarantee 3), and read-only
// tools to inspect a data dir offline.
//
// # Checkpoint
//
// A Builder builds one store per table partition, in Config.Dir/<topic>.<partition>
// (the layout of goka's own LevelDB builders). Beside the LevelDB files the
// directory holds two small files:
//
//   - CLEAN, the clean marker: written and fsynced (with the directory) when
//     the store closes cleanly, after every LevelDB file of the store was
//     fsynced; removed (durably) when it opens, before LevelDB writes
//     anything. A store found without it was not closed cleanly and is wiped
//     at open, unread; goka then restores it from the changelog. LevelDB
//     itself runs without fsyncs: between clean closes nothing it writes
//     needs to survive a crash.
//   - CHANGELOG, the ID of the changelog topic the store was restored from,
//     when Config.Changelog is set. A store stamped with another ID, or whose
//     offset is at or beyond the changelog's end, is wiped at open.
//
// A store LevelDB reports corrupt is wiped too. A store LevelDB cannot open
// for another reason (for example, another process holds it) is an error,
// never a wipe. Every wipe is logged at Warn and reported to Hooks.OnWipe.
//
// Closing is clean unless the Builder is tainted (Builder.Taint, for example
// on a produce error) or a changelog write of the store's topic is not yet
// acknowledged: the producer reports every write with Builder.Begin, and a
// closing store waits (Config.AckWait) for the writes begun before it
// closed, so a store never holds a value Kafka lacks under a clean marker.
// After goka's Run returned an error, Builder.MarkDirty removes the markers
// of the stores already closed. A rebalance closes and reopens stores
// cleanly (goka waits for each partition's writes first) and never wipes
// them.
//
// # Pending writes
//
// A dirty store is wiped anyway, so a store owes no durability between clean
// closes. Set, Delete and SetOffset go to an in-memory map, and reach LevelDB
// as one batch (values and offset together) every Config.FlushInterval, once
// Config.FlushBytes are pending, at MarkRecovered, before an iterator is made,
// and at Close. Get and Has see pending writes.
//
// # Concurrency
//
// A store is safe for concurrent use by goka's partition goroutine (Set,
// Delete), its producer callbacks (SetOffset), view readers (Get, Has,
// Iterator) and its own flush goroutine. Lock order: store.flushMu before
// store.mu; Builder.mu and Builder.wmu are never taken while holding
// either, nor together.
//
// The offset is stored under goka's key "__offset" as a decimal string, so
// goka-compatible tooling reads these stores.
package state
