package app

// processBlockCache is the size of the LevelDB block cache that every
// state store of a process shares (state.Config.BlockCache). Each store
// had a cache of its own (8 MiB): dev runs a store per partition of every
// processor and publisher table, 32 of them with 8 partitions, whose
// caches filled towards 256 MiB as the tables grew.
const processBlockCache = 32 << 20

// devWriteBuffer is the LevelDB memtable size of dev's stores. goleveldb
// allocates a whole memtable per store up front and keeps a second for the
// next rotation: 4 MiB (state's default) made about 200 MiB of dev's live
// heap with 32 stores. The stores batch their writes before LevelDB sees
// them (state.Config.FlushInterval), so smaller memtables cost only more
// frequent, smaller level-0 tables.
const devWriteBuffer = 1 << 20

// devSnapshotCache bounds each of dev's processors' caches of decoded
// snapshots and states (processors.Config.SnapshotCacheBytes, 64 MiB by
// default, per cache): dev runs a processor per aggregate in one process
// on a laptop, and a few thousand hot aggregates fit in 16 MiB.
const devSnapshotCache = 16 << 20
