// Package estest is an in-memory Elasticsearch 8.19 test server that speaks
// real HTTP. It stands in for Elasticsearch in tests, where no cluster can
// run, and follows Elasticsearch's documented REST semantics closely enough
// for the go-elasticsearch v8 client (esapi, esutil.BulkIndexer and the
// typed API) and Elasticsearch's YAML REST tests to run against it.
//
// Use it as
//
//	srv := estest.New(estest.Options{})
//	ts := httptest.NewServer(srv)
//	defer ts.Close()
//
// What it models (see shared/es-semantics.md for the spec):
//
//   - one node: the X-Elastic-Product header, GET / info, cluster health
//     and settings (action.destructive_requires_name);
//   - indices with settings (shards and replicas only affect the _shards
//     counts), mappings (explicit and dynamic; dynamic true, false or
//     strict) and enough type checking to refuse a value that contradicts
//     the mapping;
//   - documents with internal, external and external_gte versioning,
//     if_seq_no/if_primary_term, tombstones kept for index.gc_deletes, and
//     a refresh model: GET is realtime, search and count see only what the
//     last refresh made visible. Periodic refreshes follow
//     index.refresh_interval on Options.Clock and happen lazily when a
//     request arrives;
//   - _bulk with whole-request validation and per-item results, the
//     single-document APIs, _update (doc merge, noop detection, upserts;
//     no scripts), aliases (atomic _aliases, write indices, filters),
//     _refresh, _count, _search and point in time;
//   - programmable faults (Faults): whole-request errors, item-level
//     rejections, latency, dropped connections and a missing product
//     header.
//
// Search and count are delegated to package query; this package resolves
// index expressions to targets and hands each its searchable documents.
//
// Deviations from Elasticsearch: refresh=wait_for refreshes the written
// shards at once instead of waiting for the next scheduled refresh, and
// search-idle shards are not modelled; routing only decides which shard a
// refresh=true write makes visible; scripts, ingest pipelines, data
// streams, closed indices, templates, scroll and filter_path are not
// supported; unknown URL parameters are ignored rather than refused; alias
// routing is stored and reported but not applied.
//
// A Server is safe for concurrent use. Server.mu guards all index, alias
// and point-in-time state; Faults.mu guards the fault rules. Lock order:
// Server.mu before Faults.mu (bulk item faults are checked while the
// server lock is held); never the other way round.
package estest
