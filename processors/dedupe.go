package processors

import (
	"fmt"
	"log/slog"

	"github.com/b2dc4357/sourced/codecs"
)

// RejectKeyReused is the error code of a command whose id was decided
// before for a command with another fingerprint (type, data or expected
// version): an idempotency key names one command (DESIGN.md guarantee 9).
const RejectKeyReused = "idempotency_key_reused"

// repeated answers the command of in and reports true when it is a repeat:
// a retry of a remembered command (the first outcome again, or
// idempotency_key_reused when the fingerprint differs), or a replay of input
// the snapshot (not nil) already covers whose outcome is no longer
// remembered.
//
// in.InputID is the commands topic's ID: the snapshot's offset is of
// another incarnation of the topic when its stamp differs, and then nothing
// is a replay by offset.
func repeated(def Definition, in StepInput, fingerprint string) (StepOutput, bool) {
	snap, cmd := in.Snapshot, in.Command
	if r, ok := snap.Find(cmd.ID); ok {
		if r.Fingerprint != "" && r.Fingerprint != fingerprint {
			return StepOutput{Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusRejected, Version: snap.Version,
				Error: codecs.Reject(RejectKeyReused, "command id %q was used for another %s (%s) at version %d", cmd.ID, def.Name(), r.Outcome(), r.Version)}}, true
		}
		// A retry (or a replay still remembered): answer as the first time.
		return StepOutput{Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusDuplicate,
			Version: r.Version, Events: r.Events, Error: r.Error, FirstStatus: r.Outcome()}}, true
	}
	if in.Offset <= snap.Offset && sameIncarnation(snap.Input, in.InputID) {
		// A replay after a crash or failover of a command handled before
		// the snapshot was written but no longer remembered: deciding it
		// again on newer state could change history. Its outcome is
		// unknown, so the duplicate carries no first status.
		return StepOutput{
			Logs: []StepLog{{slog.LevelWarn, "replayed command no longer remembered", []any{"aggregate", def.Name(),
				"aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "offset", in.Offset, "snapshot_offset", snap.Offset}}},
			Result: &codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusDuplicate,
				Error: codecs.Reject(RejectReplayed, "command at offset %d was handled before the snapshot at offset %d; its outcome is no longer remembered", in.Offset, snap.Offset)},
		}, true
	}
	return StepOutput{}, false
}

// remember records a refused command (r: its outcome) in the dedupe window
// by setting out.Write to the snapshot again: same version, state and update
// time, the command's offset, and a step with the command and no events (the
// publisher has nothing to publish, and the version does not move, so it is
// no gap; views see the version they have). A command on an aggregate with
// no snapshot is not remembered: writing one would make an aggregate appear
// (in the table, its views and reads) that no command created.
func remember(out *StepOutput, def Definition, in StepInput, r codecs.Recent) {
	snap, cmd := in.Snapshot, in.Command
	if snap == nil {
		return
	}
	next := *snap
	next.Offset, next.Input = in.Offset, in.InputID
	next.Step = codecs.Step{CommandID: cmd.ID}
	r.CommandID = cmd.ID
	next.Remember(r, in.DedupeWindow)
	encoded, err := codecs.JSON[codecs.Snapshot]{}.Encode(&next)
	if err != nil {
		out.Err = fmt.Errorf("encode snapshot of %s: %w", cmd.AggregateID, err)
		return
	}
	if limit := maxSnapshotBytes(in); int64(len(encoded)) > limit {
		out.Logs = append(out.Logs, StepLog{slog.LevelWarn, "refused command not remembered: the snapshot would exceed the message limit", []any{
			"aggregate", def.Name(), "aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "bytes", len(encoded), "limit", limit}})
		return
	}
	out.Write = &SnapshotWrite{Snapshot: &next, Encoded: encoded}
}

// sameIncarnation reports whether offsets stamped with topic ID a and b are
// of the same topic: an unknown (empty) ID is taken to be the same.
func sameIncarnation(a, b string) bool { return a == "" || b == "" || a == b }
