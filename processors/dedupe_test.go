package processors_test

import (
	"testing"

	"github.com/lovoo/goka"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// One command id, one outcome (DESIGN.md guarantee 9): a retry gets the
// first outcome whatever it was and whatever the aggregate became since.
func TestProcessorAnswersRetriesOfRefusedCommandsWithTheFirstOutcome(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":1}`))
	h.nextResult()
	h.lastWritten()

	h.send(cmd("low", "a", "AtLeast", `{"min":5}`))
	if r := h.nextResult(); r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != "too_low" || r.Version != 1 {
		t.Fatalf("first handling: %+v", r)
	}
	// The rejection is remembered in a snapshot of the same version and
	// state with a step without events.
	s := h.lastWritten()
	if s.Version != 1 || string(s.State) != `{"total":1}` || s.Step.CommandID != "low" || len(s.Step.Events) != 0 ||
		s.Offset == 0 || len(s.Recent) != 2 || s.Recent[1].Outcome() != codecs.StatusRejected {
		t.Fatalf("snapshot after the rejection: %+v", s)
	}
	two := uint64(2)
	stale := cmd("stale", "a", "Add", `{"by":1}`)
	stale.ExpectedVersion = &two
	h.send(stale)
	if r := h.nextResult(); r.Status != codecs.StatusConflict || r.Version != 1 {
		t.Fatalf("first handling of the conflict: %+v", r)
	}
	h.send(cmd("c2", "a", "Add", `{"by":10}`))
	if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("add: %+v", r)
	}

	// Decided again, both would now be accepted.
	h.send(cmd("low", "a", "AtLeast", `{"min":5}`))
	r := h.nextResult()
	if r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusRejected || r.Error == nil || r.Error.Code != "too_low" || r.Version != 1 {
		t.Fatalf("retry of the rejection: %+v", r)
	}
	h.send(stale)
	r = h.nextResult()
	if r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusConflict || r.Error == nil || r.Error.Code != codecs.RejectConflict || r.Version != 1 {
		t.Fatalf("retry of the conflict: %+v", r)
	}
	h.send(cmd("c2", "a", "Add", `{"by":10}`))
	if r := h.nextResult(); r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusAccepted || r.Error != nil || r.Version != 2 || r.Events != 1 {
		t.Fatalf("retry of the acceptance: %+v", r)
	}
	if s := h.snapshot("a"); s.Version != 2 || string(s.State) != `{"total":11}` {
		t.Fatalf("snapshot %+v", s)
	}
}

func TestProcessorRefusesAReusedIdempotencyKey(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":1}`))
	h.nextResult()
	h.lastWritten()
	h.send(cmd("low", "a", "AtLeast", `{"min":5}`))
	h.nextResult()
	h.lastWritten()
	one := uint64(1)
	for name, c := range map[string]*codecs.Command{
		"other data":              cmd("c1", "a", "Add", `{"by":2}`),
		"another type":            cmd("c1", "a", "AddTwice", `{"by":1}`),
		"an expected version":     func() *codecs.Command { c := cmd("c1", "a", "Add", `{"by":1}`); c.ExpectedVersion = &one; return c }(),
		"a rejected command's id": cmd("low", "a", "Add", `{"by":5}`),
	} {
		t.Run("a command id reused with "+name+" is refused", func(t *testing.T) {
			h.send(c)
			r := h.nextResult()
			if r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != processors.RejectKeyReused || r.Version != 1 {
				t.Fatalf("result %+v", r)
			}
			if _, _, ok := h.table.NextRaw(); ok {
				t.Fatal("a refused reuse wrote a snapshot")
			}
		})
	}
	h.send(cmd("c1", "a", "Add", ` { "by" : 1 } `))
	if r := h.nextResult(); r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusAccepted {
		t.Fatalf("a retry with the same data spaced differently: %+v", r)
	}
	h.noDeadLetter()
}

// Snapshots written before fingerprints remember accepted commands only,
// without a fingerprint: their retries are duplicates of an acceptance.
func TestProcessorReadsDedupeEntriesOfOlderSnapshots(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.tt.SetTableValue(goka.GroupTable(goka.Group(h.topics.Group)), "a", &codecs.Snapshot{AggregateID: "a", Version: 1,
		Schema: 0, State: []byte(`{"total":1}`), Offset: -1, Recent: []codecs.Recent{{CommandID: "old", Version: 1, Events: 1}}})
	h.send(cmd("old", "a", "Add", `{"by":7}`))
	if r := h.nextResult(); r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusAccepted || r.Version != 1 || r.Events != 1 {
		t.Fatalf("retry %+v", r)
	}
}

// A rejection on an aggregate that has no snapshot is not remembered: a
// snapshot would make the aggregate appear.
func TestProcessorDoesNotCreateAggregatesToRememberRejections(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("low", "a", "AtLeast", `{"min":5}`))
	if r := h.nextResult(); r.Status != codecs.StatusRejected {
		t.Fatalf("result %+v", r)
	}
	if s := h.snapshot("a"); s != nil {
		t.Fatalf("a rejection created a snapshot: %+v", s)
	}
}
