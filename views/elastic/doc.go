// Package elastic is the production views.Store: views kept in an
// Elasticsearch 8 cluster through go-elasticsearch v8 (esapi).
//
// Writes. Bulk sends one _bulk request per call (the projector already
// batches), every operation with its aggregate version as an external
// version (version_type=external), so replays and reordered writes come
// back as Stale instead of overwriting newer data. The body is written by
// hand into pooled buffers. Each item is classified as Applied, Stale,
// Refused (the document contradicts the mapping: dead-letter it), Failed
// (transient, such as an item-level 429: retry it) or Fatal (a missing
// index or alias: stop the view); see Store.Bulk.
//
// Retries. The transport retries a request after a connection error, a
// 429, 502, 503 or 504, with capped exponential backoff and jitter
// (Config.MaxRetries, RetryBackoffMin, RetryBackoffMax). Re-sending a
// whole _bulk body is safe only because every write is versioned. When
// the retries run out, the error is views.Retryable.
//
// Elasticsearch creates a missing index on the first write to it
// (action.auto_create_index), with dynamic mapping; views never want that.
// So Bulk checks that a name exists before its first write to it (GET
// /{name}/_alias, remembered; see targets.go): operations on a missing
// index or alias are Fatal without being sent, and writes through an
// alias carry require_alias, so a removed alias fails them instead of
// becoming an index. A concrete index is re-checked every 30s, so one
// deleted by another process may still be auto-created within that window:
// production clusters should also disable auto-creation for view indices
// (for example "action.auto_create_index": "-invoice-*,+*").
//
// Search. SearchRequest.Query is a multi_match over the index's default
// fields: CreateIndex sets index.query.default_field to the mapping's
// text fields. Elasticsearch 8 cannot sort on _id, so the default order
// is relevance then index order, which is not stable across refreshes:
// page with a sort whose last key is a unique keyword field.
//
// Startup. New does no I/O; Ping checks that the server answers, is
// Elasticsearch 8 and sends the X-Elastic-Product header (go-elasticsearch
// refuses servers without it).
//
// Credentials (Config.Password, Config.APIKey) never appear in errors,
// logs or Config.String. A Store is safe for concurrent use; it holds no
// locks of its own.
package elastic
