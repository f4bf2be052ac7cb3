package processors

import (
	"fmt"

	"github.com/lovoo/goka"

	"github.com/b2dc4357/sourced/codecs"
)

// RejectKeyReused is the error code of a command whose id was decided
// before for a command with another fingerprint (type, data or expected
// version): an idempotency key names one command (DESIGN.md guarantee 9).
const RejectKeyReused = "idempotency_key_reused"

// repeated answers cmd and reports true when it is a repeat: a retry of a
// remembered command (the first outcome again, or idempotency_key_reused
// when the fingerprint differs), or a replay of input the snapshot already
// covers whose outcome is no longer remembered.
//
// input is the commands topic's ID: the snapshot's offset is of another
// incarnation of the topic when its stamp differs, and then nothing is a
// replay by offset.
func (p *Processor) repeated(ctx goka.Context, snap *codecs.Snapshot, cmd *codecs.Command, fingerprint, input string) bool {
	if r, ok := snap.Find(cmd.ID); ok {
		if r.Fingerprint != "" && r.Fingerprint != fingerprint {
			p.reply(ctx, cmd.Type, codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusRejected, Version: snap.Version,
				Error: codecs.Reject(RejectKeyReused, "command id %q was used for another %s (%s) at version %d", cmd.ID, p.def.Name(), r.Outcome(), r.Version)}, 0)
			return true
		}
		// A retry (or a replay still remembered): answer as the first time.
		p.reply(ctx, cmd.Type, codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusDuplicate,
			Version: r.Version, Events: r.Events, Error: r.Error, FirstStatus: r.Outcome()}, 0)
		return true
	}
	if ctx.Offset() <= snap.Offset && sameIncarnation(snap.Input, input) {
		// A replay after a crash or failover of a command handled before
		// the snapshot was written but no longer remembered: deciding it
		// again on newer state could change history. Its outcome is
		// unknown, so the duplicate carries no first status.
		p.cfg.Logger.Warn("replayed command no longer remembered",
			"aggregate", p.def.Name(), "aggregate_id", cmd.AggregateID, "command_id", cmd.ID,
			"offset", ctx.Offset(), "snapshot_offset", snap.Offset)
		p.reply(ctx, cmd.Type, codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID, Status: codecs.StatusDuplicate,
			Error: codecs.Reject(RejectReplayed, "command at offset %d was handled before the snapshot at offset %d; its outcome is no longer remembered", ctx.Offset(), snap.Offset)}, 0)
		return true
	}
	return false
}

// remember records a refused command (r: its outcome) in the dedupe window
// by writing the snapshot again: same version, state and update time, the
// command's offset, and a step with the command and no events (the
// publisher has nothing to publish, and the version does not move, so it is
// no gap; views see the version they have). A command on an aggregate with
// no snapshot is not remembered: writing one would make an aggregate appear
// (in the table, its views and reads) that no command created.
func (p *Processor) remember(ctx goka.Context, snap *codecs.Snapshot, cmd *codecs.Command, input string, r codecs.Recent) {
	if snap == nil {
		return
	}
	next := *snap
	next.Offset, next.Input = ctx.Offset(), input
	next.Step = codecs.Step{CommandID: cmd.ID}
	r.CommandID = cmd.ID
	next.Remember(r, p.cfg.DedupeWindow)
	encoded, err := codecs.JSON[codecs.Snapshot]{}.Encode(&next)
	if err != nil {
		ctx.Fail(fmt.Errorf("encode snapshot of %s: %w", cmd.AggregateID, err))
	}
	if limit := p.maxSnapshot.Load(); int64(len(encoded)) > limit {
		p.cfg.Logger.Warn("refused command not remembered: the snapshot would exceed the message limit", "aggregate", p.def.Name(),
			"aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "bytes", len(encoded), "limit", limit)
		return
	}
	ctx.SetValue(encodedSnapshot{snap: &next, encoded: encoded})
}

// sameIncarnation reports whether offsets stamped with topic ID a and b are
// of the same topic: an unknown (empty) ID is taken to be the same.
func sameIncarnation(a, b string) bool { return a == "" || b == "" || a == b }
