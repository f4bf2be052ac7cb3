// Package query is the search engine of estest, the in-memory Elasticsearch
// 8.19 test server: it parses _search and _count requests (the query DSL
// subset, paging, sort, search_after, track_total_hits, _source filtering),
// matches and scores documents, and renders the search response body.
//
// The server owns indices, mappings and visibility; it hands this package the
// refreshed documents of every target index (Target) and the index mapping
// (Mapping). Search and Count are pure functions of their arguments (apart
// from the clock used for "now" in date math when Options.Now is zero), hold
// no state between calls and are safe for concurrent use as long as the
// targets are not mutated during the call.
//
// Supported queries: match_all, match_none, term, terms, range, exists, ids,
// prefix, bool, constant_score, match, match_phrase, multi_match and
// query_string (also the "q" URL parameter). Anything else is a 400
// parsing_exception, as Elasticsearch answers for unknown queries.
//
// Text fields use a simplified standard analyzer: the text is split on every
// rune that is not a Unicode letter, mark or digit (apostrophes and periods
// inside words are kept as Elasticsearch's Unicode word segmentation does
// for ASCII text) and lowercased. There are no stop words, as in the ES
// standard analyzer.
//
// Scoring is BM25 (k1=1.2, b=0.75) computed per target index, so scores are
// deterministic and relevance order is sensible, but values differ from a
// real cluster: never assert on _score values. Constant-score queries
// (term on non-text fields, terms, range, exists, ids, prefix, match_all)
// score their boost (1.0); filter and must_not clauses score 0.
//
// Documented divergences from Elasticsearch: no fuzziness, no wildcard field
// names, no per-field analyzers or custom date formats in the mapping (dates
// are parsed leniently from the common ISO-8601 forms and epoch millis),
// match_phrase slop only allows in-order gaps, and errors raised in the
// query phase are wrapped in a search_phase_execution_exception without the
// failed_shards list.
package query
