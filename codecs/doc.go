// Package codecs defines the wire format of sourced: the Command, Event,
// Result and Snapshot envelopes, their goka codecs, the names of every topic
// and group derived from an aggregate name, and a registry that decodes
// payloads into registered Go types, upgrading old schemas on read.
//
// The package imports nothing of sourced and not even goka: the codecs
// satisfy goka.Codec structurally.
//
// Command decoding never fails: a malformed command decodes into a *Command
// whose Err field says why, so a processor can reject and dead-letter it
// instead of stopping its partition. Snapshot, event and result codecs stay
// strict, because only sourced writes them.
package codecs
