package processors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// StepInput is everything the step of one command depends on: the command,
// the aggregate's snapshot, and what the processor knows of the message and
// of its topics. Step reads it and modifies none of it.
type StepInput struct {
	// Command is the decoded command message; nil for an empty message (a
	// tombstone on the commands topic).
	Command *codecs.Command
	// Snapshot is the aggregate's current snapshot; nil when it has none.
	Snapshot *codecs.Snapshot
	// Key is the message key.
	Key string
	// Offset is the command message's offset on the commands topic.
	Offset int64
	// Timestamp is the command message's Kafka timestamp: the decision time
	// of a command without issued_at.
	Timestamp time.Time
	// Misrouted, when not empty, says why the message is on a partition its
	// key does not hash to: the partition's store does not hold the
	// aggregate's snapshot, so nothing may be decided or written.
	Misrouted string
	// InputID is the commands topic's Kafka topic ID; empty when unknown.
	InputID string
	// DedupeWindow is how many decided command ids a snapshot remembers.
	DedupeWindow int
	// MaxSnapshotBytes bounds the encoded snapshot. Default (0):
	// DefaultMaxSnapshotBytes.
	MaxSnapshotBytes int64
	// Now, when not nil, is read around Decide to time it
	// (StepOutput.Decided); nil leaves Decided 0.
	Now func() time.Time

	// states, when not nil, holds decoded states for Decide (the
	// processor's stateCache).
	states *stateCache
}

// StepOutput is what the processor does for one command, in this order:
// log Logs, fail on Err, write Write, emit DeadLetter, emit Result.
type StepOutput struct {
	// Write is the snapshot to write; nil for none.
	Write *SnapshotWrite
	// DeadLetter is the message to send to the dead-letter topic; nil for
	// none.
	DeadLetter *DeadLetter
	// Result is the result to emit; nil for none (a message without a
	// readable command id).
	Result *codecs.Result
	// Decided is the time Decide took; 0 when not decided or not timed.
	Decided time.Duration
	// Logs are what the step has to say, besides the dead letter.
	Logs []StepLog
	// Err is a broken invariant of ours (a snapshot that cannot be
	// encoded): the processor fails and nothing else is done.
	Err error
}

// SnapshotWrite is a snapshot to write to the group table, with its
// encoding (already made to check its size).
type SnapshotWrite struct {
	Snapshot *codecs.Snapshot
	Encoded  []byte
	// Accepted reports the snapshot of an accepted command (a new step);
	// otherwise it only remembers a refused command. The processor stamps
	// both with its partition's epoch.
	Accepted bool
}

// DeadLetter is a message for the dead-letter topic: the raw input, under
// its own key, with why it could not be handled.
type DeadLetter struct {
	// Raw is the input message as read; nil for an empty message.
	Raw []byte
	// Code is the error code (codecs.HeaderErrorCode).
	Code string
	// Reason is the error message (codecs.HeaderError).
	Reason string
}

// StepLog is a log record the step asks the processor to write.
type StepLog struct {
	Level slog.Level
	Msg   string
	Attrs []any
}

// Step decides one command of def's aggregate: it checks the message
// (empty, misrouted, malformed, for another aggregate or key), answers
// repeats (replays by offset, retries by command id, a reused idempotency
// key), checks the expected version, calls def.Decide, and assembles the
// snapshot to write, refusing one larger than in.MaxSnapshotBytes
// (too_large). Refused commands are remembered in the dedupe window by
// writing the snapshot again at the same version.
//
// Step is pure: it reads no clock but in.Now and writes nothing; the same
// input gives the same output (DESIGN.md guarantees 1, 4, 9 and 10).
func Step(def Definition, in StepInput) StepOutput {
	cmd := in.Command
	if cmd == nil {
		return StepOutput{DeadLetter: &DeadLetter{Code: codecs.RejectMalformed, Reason: "empty message"}}
	}
	if in.Misrouted != "" {
		return refuseInput(cmd, in.Key, RejectWrongPartition, in.Misrouted)
	}
	err := cmd.Err
	if err == nil {
		switch {
		case cmd.Aggregate != def.Name():
			err = fmt.Errorf("%w: aggregate %q on the commands topic of %q", codecs.ErrMalformed, cmd.Aggregate, def.Name())
		case cmd.AggregateID != in.Key:
			err = fmt.Errorf("%w: aggregate_id %q differs from the message key %q", codecs.ErrMalformed, cmd.AggregateID, in.Key)
		}
	}
	if err != nil {
		return refuseInput(cmd, in.Key, codecs.RejectMalformed, err.Error())
	}

	snap := in.Snapshot
	var version uint64
	fingerprint := cmd.Fingerprint()
	if snap != nil {
		version = snap.Version
		if out, ok := repeated(def, in, fingerprint); ok {
			return out
		}
	}
	if cmd.ExpectedVersion != nil && *cmd.ExpectedVersion != version {
		rej := codecs.Reject(codecs.RejectConflict, "expected version %d, aggregate is at %d", *cmd.ExpectedVersion, version)
		out := StepOutput{Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusConflict,
			Version: version, Error: rej}}
		remember(&out, def, in, codecs.Recent{Version: version, Status: codecs.StatusConflict, Error: rej, Fingerprint: fingerprint})
		return out
	}

	at := cmd.IssuedAt
	if at.IsZero() {
		at = in.Timestamp
	}
	var (
		d    Decision
		took time.Duration
	)
	if in.Now != nil {
		start := in.Now()
		d = decide(def, snap, cmd, at, in.states)
		took = in.Now().Sub(start)
	} else {
		d = decide(def, snap, cmd, at, in.states)
	}
	if d.Rejection != nil {
		out := StepOutput{Decided: took, Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID,
			Status: codecs.StatusRejected, Version: version, Error: d.Rejection}}
		if d.DeadLetter {
			if d.Stack != nil {
				out.Logs = append(out.Logs, StepLog{slog.LevelError, "command handler panicked", []any{"aggregate", def.Name(),
					"aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "type", cmd.Type, "error", d.Rejection.Message,
					"stack", string(d.Stack)}})
			}
			out.DeadLetter = &DeadLetter{Raw: cmd.Raw, Code: d.Rejection.Code, Reason: d.Rejection.Message}
		} else {
			// A business rule refused it: a retry must get the same answer
			// whatever the aggregate became since. (Input the handler could
			// not take, or a bug, is not remembered: a fixed handler may
			// decide a retry.)
			remember(&out, def, in, codecs.Recent{Version: version, Status: codecs.StatusRejected, Error: d.Rejection, Fingerprint: fingerprint})
		}
		return out
	}

	// next is a copy: snap stays as it was, for a refusal below.
	next := &codecs.Snapshot{AggregateID: cmd.AggregateID}
	if snap != nil {
		*next = *snap
	}
	newVersion := version + uint64(len(d.Events))
	compact := false
	if len(d.Events) > 0 || snap == nil {
		compact = d.StateCompact
		next.Version = newVersion
		next.Schema = d.StateSchema
		next.State = d.State
		next.UpdatedAt = at
	}
	// Else an accepted command that records nothing (a repeat on a set)
	// keeps the state as written and its update time: like a remembered
	// rejection, it writes a snapshot of the same version, and views index
	// with the version as the external version (DESIGN.md guarantee 5),
	// so a store refuses this second write of the version as stale. The
	// view converges to the table only if snapshots of one version never
	// differ in what a view sees (views.View.State): the state, its schema
	// and the update time are those of the version's first snapshot.
	next.Offset, next.Input = in.Offset, in.InputID
	next.Step = codecs.Step{CommandID: cmd.ID, Events: d.Events}
	next.Remember(codecs.Recent{CommandID: cmd.ID, Version: newVersion, Events: len(d.Events), Fingerprint: fingerprint}, in.DedupeWindow)
	var encoded []byte
	if compact {
		encoded, err = codecs.EncodeSnapshotCompactState(next)
	} else {
		encoded, err = codecs.JSON[codecs.Snapshot]{}.Encode(next)
	}
	if err != nil {
		return StepOutput{Err: fmt.Errorf("encode snapshot of %s: %w", cmd.AggregateID, err)}
	}
	if limit := maxSnapshotBytes(in); int64(len(encoded)) > limit {
		// Writing it would fail on the broker, stop the processor, and
		// fail again on every replay: refuse the command instead.
		rej := codecs.Reject(RejectTooLarge, "the snapshot after this command would be %d bytes; the table topic takes at most %d", len(encoded), limit)
		out := StepOutput{Decided: took,
			Logs: []StepLog{{slog.LevelWarn, "snapshot over the message limit refused", []any{"aggregate", def.Name(),
				"aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "bytes", len(encoded), "limit", limit}}},
			Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusRejected, Version: version,
				Error: rej}}
		remember(&out, def, in, codecs.Recent{Version: version, Status: codecs.StatusRejected, Error: rej, Fingerprint: fingerprint})
		return out
	}
	return StepOutput{
		Write:   &SnapshotWrite{Snapshot: next, Encoded: encoded, Accepted: true},
		Result:  &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusAccepted, Version: newVersion, Events: len(d.Events)},
		Decided: took,
	}
}

// decide is def.Decide, with the decoded states of states when def can use
// them.
func decide(def Definition, snap *codecs.Snapshot, cmd *codecs.Command, at time.Time, states *stateCache) Decision {
	if c, ok := def.(stateCachingDefinition); ok && states != nil {
		return c.decideCached(snap, cmd, at, states)
	}
	return def.Decide(snap, cmd, at)
}

// refuseInput dead-letters a command that cannot be decided here (code:
// malformed or wrong_partition), answering it when its id can be read.
func refuseInput(cmd *codecs.Command, key, code, reason string) StepOutput {
	out := StepOutput{DeadLetter: &DeadLetter{Raw: cmd.Raw, Code: code, Reason: reason}}
	if codecs.ValidateID(cmd.ID) == nil {
		out.Result = &codecs.Result{CommandID: cmd.ID, AggregateID: key, Status: codecs.StatusRejected,
			Error: &codecs.Rejection{Code: code, Message: reason}}
	}
	return out
}

func maxSnapshotBytes(in StepInput) int64 {
	if in.MaxSnapshotBytes > 0 {
		return in.MaxSnapshotBytes
	}
	return DefaultMaxSnapshotBytes
}
