// Package processors defines aggregates and runs them on Kafka with goka.
//
// An Aggregate (New, Handle, On) names its commands and events, decides
// commands against the current state and folds events into the state. From
// one definition, NewProcessor builds the command processor group (input
// commands, persist snapshots, output results and dead letters) and
// NewPublisher the group that copies the events inside each snapshot to the
// events topic.
//
// The guarantees of DESIGN.md hold here: decisions are pure (time comes from
// the command), events travel inside the snapshot, replays are detected by
// input offset and retries by command id, and expected_version gives
// optimistic concurrency.
package processors
