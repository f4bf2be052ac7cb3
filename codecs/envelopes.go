package codecs

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// Command is a request to change one aggregate. It is the value of a message
// on the commands topic, keyed by AggregateID.
type Command struct {
	// ID is the client-chosen idempotency key (a UUIDv7 when the client
	// gives none). Required.
	ID string `json:"id"`
	// Aggregate names the aggregate kind, e.g. "invoice". Required.
	Aggregate string `json:"aggregate"`
	// AggregateID identifies the aggregate instance; it equals the message
	// key. Required.
	AggregateID string `json:"aggregate_id"`
	// Type is the command type, e.g. "AddLineItem". Required.
	Type string `json:"type"`
	// ExpectedVersion, when set, makes the command conflict unless the
	// aggregate is at exactly this version (0: it must not exist yet).
	ExpectedVersion *uint64 `json:"expected_version,omitempty"`
	// IssuedAt is the decision time; when zero, the message timestamp is used.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// Data is the command payload, decoded by type.
	Data json.RawMessage `json:"data,omitempty"`
	// Meta carries free-form client metadata (tracing ids, user, ...).
	Meta map[string]string `json:"meta,omitempty"`

	// Err is set by CommandCodec when the message could not be decoded or
	// lacks a required field; the other fields hold what could be read.
	Err error `json:"-"`
	// Raw is the message as received (set by CommandCodec), for the
	// dead-letter topic. It aliases the decoder's input buffer.
	Raw []byte `json:"-"`
}

// Event is one fact recorded for an aggregate. Versions are 1, 2, 3, ... per
// aggregate with no gap.
type Event struct {
	Aggregate   string          `json:"aggregate"`
	AggregateID string          `json:"aggregate_id"`
	Version     uint64          `json:"version"`
	Type        string          `json:"type"`
	CommandID   string          `json:"command_id"`
	OccurredAt  time.Time       `json:"occurred_at"`
	Schema      int             `json:"schema"`
	Data        json.RawMessage `json:"data"`
}

// Status is the outcome of a command.
type Status string

// The statuses of a Result.
const (
	// StatusAccepted: the command was decided and its events recorded.
	StatusAccepted Status = "accepted"
	// StatusRejected: a business rule or the input refused the command.
	StatusRejected Status = "rejected"
	// StatusConflict: expected_version did not match the aggregate version.
	StatusConflict Status = "conflict"
	// StatusDuplicate: the command was handled before; the result repeats
	// the first handling: its status (Result.FirstStatus), version, event
	// count and error.
	StatusDuplicate Status = "duplicate"
)

// Result is the answer to one command, keyed by aggregate id on the results
// topic.
type Result struct {
	CommandID   string `json:"command_id"`
	AggregateID string `json:"aggregate_id"`
	Status      Status `json:"status"`
	// Version is the aggregate version after the command (for a duplicate:
	// after its first handling; for a rejection or conflict: the current one).
	Version uint64 `json:"version"`
	// Events is the number of events the command produced.
	Events int `json:"events"`
	// Error explains a rejected or conflicting command (for a duplicate:
	// the first handling's, or why its outcome is unknown).
	Error *Rejection `json:"error,omitempty"`
	// FirstStatus is, for a duplicate, the status of the first handling
	// (accepted, rejected or conflict). Empty on other statuses, and on a
	// duplicate whose first outcome is no longer known (Error says why) or
	// that an older processor answered (which remembered only accepted
	// commands).
	FirstStatus Status `json:"first_status,omitempty"`
}

// Outcome is what the command's handling came to, for a client deciding
// whether it succeeded: Status, except that a duplicate answers with its
// first handling's status; a duplicate whose first outcome is no longer
// known (no FirstStatus, an Error saying why) is rejected, never accepted;
// and a duplicate from an older processor (neither) was accepted, since
// those remembered only accepted commands.
func (r Result) Outcome() Status {
	if r.Status != StatusDuplicate {
		return r.Status
	}
	switch {
	case r.FirstStatus != "":
		return r.FirstStatus
	case r.Error != nil:
		return StatusRejected
	default:
		return StatusAccepted
	}
}

// Snapshot is the value of the group table: the state of one aggregate and
// the step that produced it. One table message per accepted command carries
// both the new state and its events, so the two never diverge.
type Snapshot struct {
	AggregateID string `json:"aggregate_id"`
	// Version is the version of the last event applied.
	Version uint64 `json:"version"`
	// Schema is the schema of State, for upcasting on read.
	Schema int `json:"schema"`
	// State is the aggregate state, JSON-encoded.
	State json.RawMessage `json:"state"`
	// UpdatedAt is the decision time of the command that produced
	// Version: the last one that recorded events (or, at version 0, the
	// first accepted). Snapshots of one version written later (a command
	// accepted with no event, a rejection, a conflict) keep it, with the
	// state and schema, so that they all project the same view document.
	UpdatedAt time.Time `json:"updated_at"`
	// Offset is the input offset of the last command applied; commands at
	// or below it are replays and are not decided again.
	Offset int64 `json:"offset"`
	// Input identifies the incarnation of the commands topic Offset is an
	// offset of (its Kafka topic ID): offsets of a deleted and recreated
	// topic start again at 0 and are not replays. Empty when unknown (in
	// older snapshots, or when the broker was not asked): the offsets are
	// then taken to be of the current topic.
	Input string `json:"input,omitempty"`
	// Recent lists the last K decided command ids (accepted, rejected or
	// conflicting), oldest first.
	Recent []Recent `json:"recent"`
	// Step is the command and events that produced this snapshot.
	Step Step `json:"step"`
}

// Recent remembers a decided command for deduplication of retries: a retry
// with the same fingerprint gets this outcome again.
type Recent struct {
	CommandID string `json:"command_id"`
	// Version is the aggregate version after the command.
	Version uint64 `json:"version"`
	// Events is the number of events the command produced.
	Events int `json:"events"`
	// Status is the outcome; empty means accepted (snapshots written before
	// rejections were remembered hold only accepted commands).
	Status Status `json:"status,omitempty"`
	// Error is the rejection of a rejected or conflicting command.
	Error *Rejection `json:"error,omitempty"`
	// Fingerprint is the command's Fingerprint; empty in older snapshots,
	// whose entries match any retry.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Outcome returns the status of the remembered command (accepted when
// Status is empty).
func (r Recent) Outcome() Status {
	if r.Status == "" {
		return StatusAccepted
	}
	return r.Status
}

// Step is what the last accepted command did: the publisher copies Events
// to the events topic.
type Step struct {
	CommandID string  `json:"command_id"`
	Events    []Event `json:"events"`
}

// Find returns the remembered result of command id, if it is still among
// the recent commands.
func (s *Snapshot) Find(id string) (Recent, bool) {
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if s.Recent[i].CommandID == id {
			return s.Recent[i], true
		}
	}
	return Recent{}, false
}

// Remember appends r to Recent, keeping at most k entries (the newest). It
// never changes the entries the previous Recent slice shows, so a shallow
// copy of s taken before keeps its list.
func (s *Snapshot) Remember(r Recent, k int) {
	if k <= 0 {
		s.Recent = s.Recent[:0]
		return
	}
	if n := len(s.Recent); n >= k {
		s.Recent = s.Recent[n-k+1:]
	}
	// append writes past the end of the previous slice, or copies.
	s.Recent = append(s.Recent, r)
}

// Fingerprint identifies what a command asks for: its type, its data
// (compacted, so whitespace does not count) and its expected version. Two
// messages with one command id and different fingerprints are different
// commands reusing an idempotency key. Metadata and issued_at are not part
// of it: a client retry may carry new ones.
func (c *Command) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte(c.Type))
	h.Write([]byte{0})
	var buf bytes.Buffer
	if err := json.Compact(&buf, c.Data); err == nil {
		h.Write(buf.Bytes())
	} else {
		h.Write(c.Data)
	}
	h.Write([]byte{0})
	if c.ExpectedVersion != nil {
		h.Write(strconv.AppendUint(nil, *c.ExpectedVersion, 10))
	} else {
		h.Write([]byte("-"))
	}
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
