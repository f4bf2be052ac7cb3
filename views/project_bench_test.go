package views

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// realisticSnapshot is a table value as a long-lived aggregate has it: its
// state, the 64 command ids remembered for dedupe, and the step that
// produced it.
func realisticSnapshot(tb testing.TB, id string, version uint64) []byte {
	tb.Helper()
	state, err := json.Marshal(map[string]any{
		"username": "user " + id, "following": []string{"a", "b", "c"}, "followers": []string{"d", "e"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	snap := codecs.Snapshot{AggregateID: id, Version: version, Schema: 1, State: state, UpdatedAt: at,
		Offset: int64(version) * 10, Input: "AAAAAAAAAAAAAAAAAAAAAA"}
	for i := range 64 {
		snap.Recent = append(snap.Recent, codecs.Recent{CommandID: fmt.Sprintf("0193a8f0-7c4e-7d2a-9b1c-%012d", i), Version: uint64(i + 1), Events: 1})
	}
	snap.Step = codecs.Step{CommandID: "0193a8f0-7c4e-7d2a-9b1c-000000000064", Events: []codecs.Event{{
		Aggregate: "profile", AggregateID: id, Version: version, Type: "FollowerAdded", CommandID: "0193a8f0-7c4e-7d2a-9b1c-000000000064",
		OccurredAt: at, Schema: 1, Data: json.RawMessage(`{"user_id":"e"}`),
	}}}
	b, err := json.Marshal(snap)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkProjectSnapshot is the projector's per-record decode and
// projection (View.project) on realistic snapshots, for a view that reads
// only the state.
func BenchmarkProjectSnapshot(b *testing.B) {
	v := &View{Name: "bench", Aggregate: "profile", Source: FromState,
		State: func(s *codecs.Snapshot) (Projection, error) {
			return Projection{Action: Put, Doc: json.RawMessage(s.State)}, nil
		}}
	value := realisticSnapshot(b, "user-0000001", 100)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := v.project(value)
		if err != nil || p.ID != "user-0000001" || p.Version != 100 {
			b.Fatalf("project = %+v, %v", p, err)
		}
	}
}

// A state view sees every snapshot field the version determines: not the
// input offset, the dedupe list and the step, which differ between
// snapshots of one version.
func TestProjectGivesStateViewsTheSnapshotWithoutBookkeeping(t *testing.T) {
	var seen codecs.Snapshot
	v := &View{Name: "t", Aggregate: "profile", Source: FromState,
		State: func(s *codecs.Snapshot) (Projection, error) {
			seen = *s
			return Projection{Action: Put, Doc: s.State}, nil
		}}
	value := realisticSnapshot(t, "user-1", 7)
	p, err := v.project(value)
	if err != nil || p.ID != "user-1" || p.Version != 7 {
		t.Fatalf("project = %+v, %v; want id user-1 version 7", p, err)
	}
	var full codecs.Snapshot
	if err := json.Unmarshal(value, &full); err != nil {
		t.Fatal(err)
	}
	if seen.AggregateID != full.AggregateID || seen.Version != full.Version || seen.Schema != full.Schema ||
		string(seen.State) != string(full.State) || !seen.UpdatedAt.Equal(full.UpdatedAt) {
		t.Errorf("the view saw %+v, want the fields of %+v", seen, full)
	}
	if seen.Offset != 0 || seen.Input != "" || seen.Recent != nil || seen.Step.Events != nil {
		t.Errorf("the view saw offset %d of %q, recent %v and step %v: they should not be decoded", seen.Offset, seen.Input, seen.Recent, seen.Step)
	}
	if _, err := v.project([]byte(`{"aggregate_id":`)); err == nil {
		t.Error("a truncated snapshot projected without error")
	}
}
