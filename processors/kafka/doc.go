// Package kafka is the Kafka plumbing every role of sourced shares: one
// Connection value (brokers, SASL, TLS) that configures both Kafka clients
// sourced uses, sarama under goka and franz-go; topic admin (EnsureTopics,
// CheckTopics, FreshMetadata); consumer group offset resets; the
// goka-compatible Partitioner; and the adapters goka runs on: a franz-go
// producer (ProducerBuilder) and consumer group wrappers that commit in
// offset order (OrderedCommits) and rejoin a rebalance at once
// (PromptRejoin); and goka's logger on slog (GokaLogger). The embedded broker lives in the subpackage broker.
//
// It imports nothing of sourced but codecs (topic names).
package kafka
