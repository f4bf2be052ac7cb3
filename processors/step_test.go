package processors_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// stepAt is the Kafka timestamp of the commands of the step tests.
var stepAt = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)

// stepSnapshot is counter "a" at version 1 (total 1, created at t0 by
// command c1 at offset 10 of topic "topic-a"), remembering c1 and a
// rejection r1.
func stepSnapshot() *codecs.Snapshot {
	c1 := cmd("c1", "a", "Add", `{"by":1}`)
	r1 := cmd("r1", "a", "Add", `{"by":0}`)
	return &codecs.Snapshot{
		AggregateID: "a", Version: 1, Schema: 1, State: json.RawMessage(`{"total":1}`), UpdatedAt: t0,
		Offset: 10, Input: "topic-a",
		Recent: []codecs.Recent{
			{CommandID: "c1", Version: 1, Events: 1, Fingerprint: c1.Fingerprint()},
			{CommandID: "r1", Version: 1, Status: codecs.StatusRejected, Fingerprint: r1.Fingerprint(),
				Error: &codecs.Rejection{Code: codecs.RejectInvalid, Message: "by must be positive, got 0"}},
		},
		Step: codecs.Step{CommandID: "r1"},
	}
}

func withExpected(c *codecs.Command, v uint64) *codecs.Command {
	c.ExpectedVersion = &v
	return c
}

func withErr(c *codecs.Command, err error) *codecs.Command {
	c.Err = err
	c.Raw = []byte("raw")
	return c
}

// summary is a result in one line: status, version, events, error code and
// first status.
func summary(r *codecs.Result) string {
	if r == nil {
		return "none"
	}
	s := fmt.Sprintf("%s v%d e%d", r.Status, r.Version, r.Events)
	if r.Error != nil {
		s += " " + r.Error.Code
	}
	if r.FirstStatus != "" {
		s += " first=" + string(r.FirstStatus)
	}
	return s
}

func TestStep(t *testing.T) {
	counter := newCounter()
	tests := []struct {
		name string
		cmd  *codecs.Command
		snap *codecs.Snapshot // nil: none
		in   func(*processors.StepInput)

		// write is "" (none), "step" (an accepted command's snapshot) or
		// "remember" (the snapshot again, remembering a refused command).
		write      string
		version    uint64 // of the written snapshot
		deadLetter string // its code; "" for none
		result     string // summary of the result
		log        string // a log message; "" for none
		check      func(t *testing.T, out processors.StepOutput)
	}{{
		name: "an empty message is dead-lettered with no result", cmd: nil,
		deadLetter: codecs.RejectMalformed, result: "none",
	}, {
		name: "a malformed command with an id is dead-lettered and rejected",
		cmd:  withErr(cmd("m1", "a", "Add", ``), fmt.Errorf("%w: bad JSON", codecs.ErrMalformed)), snap: stepSnapshot(),
		deadLetter: codecs.RejectMalformed, result: "rejected v0 e0 malformed",
		check: func(t *testing.T, out processors.StepOutput) {
			if string(out.DeadLetter.Raw) != "raw" {
				t.Errorf("dead letter raw %q, want the message as read", out.DeadLetter.Raw)
			}
		},
	}, {
		name:       "a malformed command without a readable id gets no result",
		cmd:        withErr(cmd("", "a", "Add", ``), codecs.ErrMalformed),
		deadLetter: codecs.RejectMalformed, result: "none",
	}, {
		name: "a command for another aggregate is malformed",
		cmd: func() *codecs.Command {
			c := cmd("o1", "a", "Add", `{"by":1}`)
			c.Aggregate = "invoice"
			return c
		}(),
		deadLetter: codecs.RejectMalformed, result: "rejected v0 e0 malformed",
		check: func(t *testing.T, out processors.StepOutput) {
			if !strings.Contains(out.DeadLetter.Reason, `aggregate "invoice" on the commands topic of "counter"`) {
				t.Errorf("reason %q", out.DeadLetter.Reason)
			}
		},
	}, {
		name: "a command whose aggregate id is not the key is malformed",
		cmd:  cmd("k1", "b", "Add", `{"by":1}`), snap: stepSnapshot(),
		deadLetter: codecs.RejectMalformed, result: "rejected v0 e0 malformed",
		check: func(t *testing.T, out processors.StepOutput) {
			if out.Result.AggregateID != "a" {
				t.Errorf("result aggregate id %q, want the key", out.Result.AggregateID)
			}
		},
	}, {
		name: "a misrouted command is dead-lettered before anything is read",
		cmd:  withErr(cmd("w1", "a", "Add", `{"by":1}`), codecs.ErrMalformed), snap: stepSnapshot(),
		in:         func(in *processors.StepInput) { in.Misrouted = "key belongs elsewhere" },
		deadLetter: processors.RejectWrongPartition, result: "rejected v0 e0 wrong_partition",
	}, {
		name: "a replay at or below the snapshot's offset is not decided again",
		cmd:  cmd("gone", "a", "Add", `{"by":5}`), snap: stepSnapshot(),
		in:     func(in *processors.StepInput) { in.Offset = 10 },
		result: "duplicate v0 e0 replayed", log: "replayed command no longer remembered",
	}, {
		name: "an offset of another incarnation of the commands topic is no replay",
		cmd:  cmd("new", "a", "Add", `{"by":5}`), snap: stepSnapshot(),
		in:    func(in *processors.StepInput) { in.Offset, in.InputID = 3, "topic-b" },
		write: "step", version: 2, result: "accepted v2 e1",
	}, {
		name: "a retry gets the first outcome",
		cmd:  cmd("c1", "a", "Add", `{"by":1}`), snap: stepSnapshot(),
		result: "duplicate v1 e1 first=accepted",
	}, {
		name: "a retry with other whitespace is the same command",
		cmd:  cmd("c1", "a", "Add", `{ "by": 1 }`), snap: stepSnapshot(),
		result: "duplicate v1 e1 first=accepted",
	}, {
		name: "a retry of a rejection gets the rejection",
		cmd:  cmd("r1", "a", "Add", `{"by":0}`), snap: stepSnapshot(),
		result: "duplicate v1 e0 invalid first=rejected",
	}, {
		name: "a reused idempotency key is refused",
		cmd:  cmd("c1", "a", "Add", `{"by":2}`), snap: stepSnapshot(),
		result: "rejected v1 e0 idempotency_key_reused",
	}, {
		name: "a remembered id with no fingerprint (an older snapshot) matches any retry",
		cmd:  cmd("c1", "a", "Add", `{"by":2}`),
		snap: func() *codecs.Snapshot {
			s := stepSnapshot()
			s.Recent[0].Fingerprint = ""
			return s
		}(),
		result: "duplicate v1 e1 first=accepted",
	}, {
		name: "a conflict is remembered",
		cmd:  withExpected(cmd("x1", "a", "Add", `{"by":1}`), 0), snap: stepSnapshot(),
		write: "remember", version: 1, result: "conflict v1 e0 conflict",
		check: func(t *testing.T, out processors.StepOutput) {
			r := out.Write.Snapshot.Recent
			if last := r[len(r)-1]; last.CommandID != "x1" || last.Status != codecs.StatusConflict {
				t.Errorf("last remembered %+v, want x1's conflict", last)
			}
		},
	}, {
		name:   "a conflict on an aggregate with no snapshot is not remembered",
		cmd:    withExpected(cmd("x1", "a", "Add", `{"by":1}`), 3),
		result: "conflict v0 e0 conflict",
	}, {
		name: "a matching expected version is decided",
		cmd:  withExpected(cmd("x2", "a", "Add", `{"by":1}`), 1), snap: stepSnapshot(),
		write: "step", version: 2, result: "accepted v2 e1",
	}, {
		name: "a rejection is remembered with the state unchanged",
		cmd:  cmd("low", "a", "AtLeast", `{"min":5}`), snap: stepSnapshot(),
		write: "remember", version: 1, result: "rejected v1 e0 too_low",
		check: func(t *testing.T, out processors.StepOutput) {
			s := out.Write.Snapshot
			if string(s.State) != `{"total":1}` || !s.UpdatedAt.Equal(t0) || s.Offset != 11 || s.Input != "topic-a" ||
				s.Step.CommandID != "low" || len(s.Step.Events) != 0 {
				t.Errorf("remembering snapshot %+v", s)
			}
		},
	}, {
		name:   "a rejection of an aggregate with no snapshot is not remembered",
		cmd:    cmd("low", "a", "AtLeast", `{"min":5}`),
		result: "rejected v0 e0 too_low",
	}, {
		name: "an unknown command type is dead-lettered and not remembered",
		cmd:  cmd("u1", "a", "Multiply", `{}`), snap: stepSnapshot(),
		deadLetter: codecs.RejectUnknownCommand, result: "rejected v1 e0 unknown_command",
	}, {
		name: "a panicking handler is dead-lettered and logged with its stack",
		cmd:  cmd("p1", "a", "Explode", ``), snap: stepSnapshot(),
		deadLetter: codecs.RejectInternal, result: "rejected v1 e0 internal", log: "command handler panicked",
	}, {
		name:  "the first command creates the aggregate",
		cmd:   cmd("c1", "a", "Add", `{"by":3}`),
		write: "step", version: 1, result: "accepted v1 e1",
		check: func(t *testing.T, out processors.StepOutput) {
			s := out.Write.Snapshot
			if string(s.State) != `{"total":3}` || !s.UpdatedAt.Equal(t0) || s.Offset != 11 || len(s.Recent) != 1 {
				t.Errorf("snapshot %+v", s)
			}
		},
	}, {
		name:  "an accepted command records its events in the step",
		cmd:   cmd("t1", "a", "AddTwice", `{"by":2}`),
		snap:  stepSnapshot(),
		write: "step", version: 3, result: "accepted v3 e2",
		check: func(t *testing.T, out processors.StepOutput) {
			s := out.Write.Snapshot
			if string(s.State) != `{"total":5}` || len(s.Step.Events) != 2 || s.Step.Events[1].Version != 3 || s.Step.CommandID != "t1" {
				t.Errorf("snapshot %+v", s)
			}
		},
	}, {
		name: "without issued_at the message timestamp is the decision time",
		cmd: func() *codecs.Command {
			c := cmd("c2", "a", "Add", `{"by":1}`)
			c.IssuedAt = time.Time{}
			return c
		}(),
		snap:  stepSnapshot(),
		write: "step", version: 2, result: "accepted v2 e1",
		check: func(t *testing.T, out processors.StepOutput) {
			if s := out.Write.Snapshot; !s.UpdatedAt.Equal(stepAt) || !s.Step.Events[0].OccurredAt.Equal(stepAt) {
				t.Errorf("updated at %v, occurred at %v; want %v", s.UpdatedAt, s.Step.Events[0].OccurredAt, stepAt)
			}
		},
	}, {
		name: "an accepted no-op keeps the state and its update time",
		cmd: func() *codecs.Command {
			c := cmd("n1", "a", "Touch", ``)
			c.IssuedAt = t0.Add(time.Hour)
			return c
		}(),
		snap:  stepSnapshot(),
		write: "step", version: 1, result: "accepted v1 e0",
		check: func(t *testing.T, out processors.StepOutput) {
			s := out.Write.Snapshot
			if string(s.State) != `{"total":1}` || !s.UpdatedAt.Equal(t0) || s.Step.CommandID != "n1" || len(s.Step.Events) != 0 {
				t.Errorf("snapshot %+v", s)
			}
		},
	}, {
		name: "a snapshot over the limit is refused and the refusal remembered when it fits",
		cmd:  cmd("big", "a", "AddTwice", `{"by":1}`), snap: stepSnapshot(),
		in: func(in *processors.StepInput) {
			// The snapshot remembering the refusal has no events: it is smaller.
			in.MaxSnapshotBytes = int64(len(encode(t, rememberFor(stepSnapshot(), "big"))) + 10)
		},
		write: "remember", version: 1, result: "rejected v1 e0 too_large", log: "snapshot over the message limit refused",
	}, {
		name: "a refusal that does not fit either is not remembered",
		cmd:  cmd("big", "a", "AddTwice", `{"by":1}`), snap: stepSnapshot(),
		in:     func(in *processors.StepInput) { in.MaxSnapshotBytes = 10 },
		result: "rejected v1 e0 too_large", log: "refused command not remembered",
	}, {
		name: "the dedupe window keeps the newest ids",
		cmd:  cmd("c3", "a", "Add", `{"by":1}`), snap: stepSnapshot(),
		in:    func(in *processors.StepInput) { in.DedupeWindow = 2 },
		write: "step", version: 2, result: "accepted v2 e1",
		check: func(t *testing.T, out processors.StepOutput) {
			var ids []string
			for _, r := range out.Write.Snapshot.Recent {
				ids = append(ids, r.CommandID)
			}
			if diff := cmp.Diff([]string{"r1", "c3"}, ids); diff != "" {
				t.Errorf("recent (-want +got):\n%s", diff)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := processors.StepInput{Command: tc.cmd, Snapshot: tc.snap, Key: "a", Offset: 11, Timestamp: stepAt,
				InputID: "topic-a", DedupeWindow: 4, MaxSnapshotBytes: 1 << 20}
			if tc.in != nil {
				tc.in(&in)
			}
			var before []byte
			if tc.snap != nil {
				before = encode(t, tc.snap)
			}
			out := processors.Step(counter, in)

			if out.Err != nil {
				t.Fatalf("err: %v", out.Err)
			}
			if got := summary(out.Result); got != tc.result {
				t.Errorf("result %q, want %q", got, tc.result)
			}
			if out.Result != nil && tc.cmd != nil && out.Result.CommandID != tc.cmd.ID {
				t.Errorf("result for %q, want %q", out.Result.CommandID, tc.cmd.ID)
			}
			switch {
			case tc.deadLetter == "" && out.DeadLetter != nil:
				t.Errorf("dead letter %+v, want none", out.DeadLetter)
			case tc.deadLetter != "" && (out.DeadLetter == nil || out.DeadLetter.Code != tc.deadLetter):
				t.Errorf("dead letter %+v, want code %s", out.DeadLetter, tc.deadLetter)
			}
			switch w := out.Write; {
			case tc.write == "" && w != nil:
				t.Errorf("wrote %+v, want nothing", w.Snapshot)
			case tc.write != "" && w == nil:
				t.Errorf("wrote nothing, want a %s snapshot", tc.write)
			case w != nil:
				if w.Accepted != (tc.write == "step") {
					t.Errorf("accepted %v, want a %s snapshot", w.Accepted, tc.write)
				}
				if w.Snapshot.Version != tc.version {
					t.Errorf("wrote version %d, want %d", w.Snapshot.Version, tc.version)
				}
				if string(w.Encoded) != string(encode(t, w.Snapshot)) {
					t.Errorf("encoded %s, the snapshot encodes as %s", w.Encoded, encode(t, w.Snapshot))
				}
				if int64(len(w.Encoded)) > in.MaxSnapshotBytes {
					t.Errorf("wrote %d bytes over the limit of %d", len(w.Encoded), in.MaxSnapshotBytes)
				}
				if tc.cmd != nil {
					if last := w.Snapshot.Recent[len(w.Snapshot.Recent)-1]; last.CommandID != tc.cmd.ID || last.Fingerprint != tc.cmd.Fingerprint() {
						t.Errorf("last remembered %+v, want %s with its fingerprint", last, tc.cmd.ID)
					}
				}
			}
			var logs []string
			for _, l := range out.Logs {
				logs = append(logs, l.Msg)
			}
			if got := strings.Join(logs, "; "); !strings.Contains(got, tc.log) || (tc.log == "") != (got == "") {
				t.Errorf("logs %q, want %q", got, tc.log)
			}
			if tc.snap != nil {
				if after := encode(t, tc.snap); string(after) != string(before) {
					t.Errorf("the input snapshot changed:\n%s\n%s", before, after)
				}
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

func TestStepTimesDecideOnlyWhenAsked(t *testing.T) {
	in := processors.StepInput{Command: cmd("c1", "a", "Add", `{"by":1}`), Key: "a", Offset: 1, DedupeWindow: 4}
	if out := processors.Step(newCounter(), in); out.Decided != 0 {
		t.Errorf("decided in %v without a clock", out.Decided)
	}
	clock := t0
	in.Now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	if out := processors.Step(newCounter(), in); out.Decided != time.Millisecond {
		t.Errorf("decided in %v, want the clock's 1ms", out.Decided)
	}
	in.Command = cmd("c1", "b", "Add", `{"by":1}`)
	if out := processors.Step(newCounter(), in); out.Decided != 0 {
		t.Errorf("a malformed command was timed: %v", out.Decided)
	}
}

func TestStepIsDeterministic(t *testing.T) {
	for _, c := range []*codecs.Command{
		cmd("d1", "a", "AddTwice", `{"by":2}`),
		cmd("d2", "a", "AtLeast", `{"min":9}`),
		withExpected(cmd("d3", "a", "Add", `{"by":1}`), 7),
	} {
		in := processors.StepInput{Command: c, Snapshot: stepSnapshot(), Key: "a", Offset: 12, Timestamp: stepAt, DedupeWindow: 4}
		a, b := processors.Step(newCounter(), in), processors.Step(newCounter(), in)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s decided twice differs (-first +second):\n%s", c.ID, diff)
		}
	}
}

func encode(t testing.TB, s *codecs.Snapshot) []byte {
	t.Helper()
	b, err := codecs.JSON[codecs.Snapshot]{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rememberFor is s as it is written to remember a refusal of command id.
func rememberFor(s *codecs.Snapshot, id string) *codecs.Snapshot {
	s.Offset = 11
	s.Step = codecs.Step{CommandID: id}
	s.Recent = append(s.Recent, codecs.Recent{CommandID: id, Version: s.Version, Status: codecs.StatusRejected,
		Error:       codecs.Reject(processors.RejectTooLarge, "the snapshot after this command would be 1000 bytes; the table topic takes at most 1000"),
		Fingerprint: "0123456789abcdef"})
	return s
}

// BenchmarkStep decides an AddTwice on a counter whose snapshot holds a full
// dedupe window: the processor's work per command without goka and Kafka.
func BenchmarkStep(b *testing.B) {
	counter := newCounter()
	snap := stepSnapshot()
	for i := range processors.DefaultDedupeWindow {
		c := cmd(fmt.Sprintf("old-%d", i), "a", "Add", `{"by":1}`)
		snap.Remember(codecs.Recent{CommandID: c.ID, Version: 1, Events: 1, Fingerprint: c.Fingerprint()}, processors.DefaultDedupeWindow)
	}
	in := processors.StepInput{Command: cmd("b1", "a", "AddTwice", `{"by":2}`), Snapshot: snap, Key: "a", Offset: 11,
		Timestamp: stepAt, InputID: "topic-a", DedupeWindow: processors.DefaultDedupeWindow}
	b.ReportAllocs()
	for b.Loop() {
		if out := processors.Step(counter, in); out.Write == nil || !out.Write.Accepted {
			b.Fatalf("not accepted: %+v", out.Result)
		}
	}
}
