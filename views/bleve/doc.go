// Package bleve is the embedded views.Store: indices are bleve (scorch)
// indices on local disk, used when no Elasticsearch URL is given
// (sourced dev). It follows Elasticsearch's semantics for everything the
// views.Store contract promises, so views behave the same on both stores.
//
// # Layout
//
// Config.Dir holds meta.json, the list of concrete indices with their
// views.Mapping and the aliases, replaced atomically (temporary file, fsync,
// rename, fsync of the directory) on every CreateIndex, DeleteIndex and
// UpdateAliases; indices/<name>/, one bleve index per concrete index; and
// LOCK, held (flock) while a Store has the directory open. meta.json is the
// commit point: an index directory it does not list is removed at Open. An
// empty Dir gives an in-memory store.
//
// # Documents and versions
//
// Documents are checked against the mapping as Elasticsearch's strict
// dynamic mapping does (unknown fields and values that do not fit the type
// are Refused) and indexed from fields the store builds itself. Every bleve
// document also holds _source (the JSON exactly as written, returned by Get
// and Search) and _version, the external version, kept as doc values so
// that Bulk reads the held versions without loading sources. A delete
// replaces the document with a tombstone holding its version, so a replayed
// older write stays Stale; searches exclude tombstones. Tombstones are kept
// forever (Elasticsearch forgets them after index.gc_deletes, 60s by
// default). Versions are not kept with bleve's SetInternal because scorch
// copies its whole internal map on every batch, which would make each Bulk
// cost grow with the number of documents.
//
// Bulk groups operations by concrete index and applies each group as one
// bleve batch: bleve has made it searchable and durable when Batch returns,
// so every Bulk is visible to Get and Search at once and Refresh only checks
// that the index exists.
//
// # Search
//
// Query matches every text field of the mapping (Elasticsearch's standard
// analysis: Unicode word segmentation, lower case, no stop words), terms
// joined with OR. A filter is Elasticsearch's term query on the field's
// mapped type: exact term on keyword fields (and on the analysed terms of a
// text field), numeric equality on long and double, true/false on
// boolean, and on date fields the whole span the value denotes ("2026-11-23"
// is that day; a timestamp is its millisecond). A filter on an unmapped
// field matches nothing. Filters narrow the hits without scoring, as in
// Elasticsearch's filter context, so they never reorder a text search.
// Sort values are typed as Elasticsearch returns them
// and accepted back as After after a JSON round trip. Long values go through
// bleve's float64 numbers, so longs beyond 2^53 lose precision in filters and
// sorting (not in _source). Numbers and dates are bleve's prefix-coded
// terms, fewer of them than bleve's own numeric fields index (see
// dateShifts): a long or double is its exact term, a date its exact term
// and five coarser ones that bound the terms a span filter reads. Indices
// written by earlier versions, with bleve's 16 precisions, are searched
// the same way. Through an alias, Get and Search read every
// index of the alias; a field's type is taken from the first index, in name
// order, that maps it.
//
// # Locking
//
// Store.mu (RWMutex) guards the index and alias tables. Bulk, Get, Search
// and Refresh hold it for reading for their whole run; CreateIndex,
// DeleteIndex, UpdateAliases and Close hold it for writing, so an index is
// never closed while in use and an alias swap is atomic to readers. Each
// index has a mutex that serializes its batches (read held versions, build,
// apply). Lock order: Store.mu, then index.mu.
package bleve
