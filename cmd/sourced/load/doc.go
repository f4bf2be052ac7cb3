// Package load generates realistic command traffic for the reference
// aggregates and measures what comes back: how many commands were sent,
// accepted and rejected, the throughput, the command->result latency
// percentiles, and, for a sample of accepted commands, how long after the
// result the change became visible in the aggregate's view.
//
// A Scenario is a state machine per aggregate (an Actor): an invoice is
// created, gets lines, sometimes an edit, is issued and paid in one or two
// payments, and a few are cancelled; profiles set usernames and follow each
// other with a hot-key (Zipf) skew. A small share of deliberately invalid
// commands (an overpayment, a payment in the wrong currency, a profile
// following itself, ...) exercises rejections; each carries the rejection
// code it must get, so a summary can tell expected rejections from
// surprises. The commands of one actor depend only on the seed and the
// actor's index, never on timing.
//
// Run paces commands open-loop at a rate (a token bucket: the rate does not
// slow down when results are slow, but one aggregate never has more than
// one command in flight, so commands of one aggregate stay in order), sends
// them through a Sender (the HTTP gateway, or Kafka directly), and returns a
// Summary.
package load
