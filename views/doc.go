// Package views projects aggregate state and events into searchable view
// stores and rebuilds views by replay.
//
// A View names a source (an aggregate's table for state views, its events
// topic for history views), a Mapping and a projection. The projector reads
// the source as a consumer group, batches projected operations, keeps only the
// newest version per document in a batch, writes them with the aggregate
// version as external version through a Store, and commits offsets only
// after the batch is stored.
//
// Store is implemented by views/elastic (Elasticsearch, production) and
// views/bleve (an embedded bleve index, the default when no Elasticsearch
// URL is given). views/elastic/estest is an in-memory Elasticsearch test
// server.
package views
