package processors_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/profile"
)

// A processor that keeps decoded states decides exactly as one that
// decodes every snapshot: random profile commands (repeats, removals,
// rejections, no-ops) go through Step twice, with and without the cache,
// and every output must be the same; the cache checks every state it
// answers against the decoding of the snapshot's bytes.
func TestStateCacheDecidesAsDecoding(t *testing.T) {
	agg := profile.New()
	rnd := rand.New(rand.NewPCG(1, 2))
	var cached processors.StepInput
	processors.WithStateCache(&cached, true)
	snaps := map[string]*codecs.Snapshot{}
	types := []string{"AddFollower", "RemoveFollower", "Follow", "Unfollow", "SetUsername"}
	hits := 0
	for i := range 3000 {
		key := fmt.Sprintf("p-%d", rnd.IntN(5))
		typ := types[rnd.IntN(len(types))]
		data := fmt.Sprintf(`{"user_id":"u-%d"}`, rnd.IntN(40))
		switch {
		case typ == "SetUsername":
			data = fmt.Sprintf(`{"username":"n\u00e9 <%d> \ud83d\ude00"}`, rnd.IntN(3))
		case rnd.IntN(50) == 0:
			data = fmt.Sprintf(`{"user_id":"%s"}`, key) // rejected: the profile itself
		}
		cmd := &codecs.Command{ID: fmt.Sprintf("c-%d", i), Aggregate: profile.Name, AggregateID: key, Type: typ,
			IssuedAt: time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC), Data: json.RawMessage(data)}
		plain := processors.StepInput{Command: cmd, Snapshot: snaps[key], Key: key, Offset: int64(i), DedupeWindow: 8}
		withCache := plain
		processors.SameStateCache(&withCache, cached)
		want := processors.Step(agg, plain)
		got := processors.Step(agg, withCache)
		if (want.Write == nil) != (got.Write == nil) || fmt.Sprint(want.Result) != fmt.Sprint(got.Result) {
			t.Fatalf("command %d: with the cache %+v, without %+v", i, got.Result, want.Result)
		}
		if got.Result != nil && got.Result.Error != nil && got.Result.Error.Code == codecs.RejectInternal {
			t.Fatalf("command %d: %v", i, got.Result.Error)
		}
		if w := want.Write; w != nil {
			if !bytes.Equal(w.Encoded, got.Write.Encoded) {
				t.Fatalf("command %d: snapshots differ:\n%s\n%s", i, got.Write.Encoded, w.Encoded)
			}
			// The next command sees the snapshot as the store returns it.
			s, err := codecs.DecodeSnapshotSansStep(w.Encoded)
			if err != nil {
				t.Fatal(err)
			}
			if snaps[key] != nil && snaps[key].Version < s.Version {
				hits++
			}
			snaps[key] = s
		}
	}
	if hits < 1000 {
		t.Fatalf("only %d commands changed a profile", hits)
	}
}

// A state that does not survive the JSON round trip is caught by the
// check: a time in a location other than UTC comes back in another.
func TestStateCacheCheckCatchesLossyState(t *testing.T) {
	type state struct {
		At time.Time `json:"at"`
	}
	type touch struct{}
	type touched struct {
		At time.Time `json:"at"`
	}
	agg := processors.New[state]("lossy", nil)
	processors.Handle(agg, "Touch", func(s state, c touch, m processors.Meta) ([]any, error) {
		return []any{touched{At: m.Time}}, nil
	})
	processors.On(agg, "Touched", 1, func(s *state, e touched) { s.At = e.At.In(time.FixedZone("CET", 3600)) })
	agg.CacheDecodedStates()
	var in processors.StepInput
	processors.WithStateCache(&in, true)
	var snap *codecs.Snapshot
	for i := range 2 {
		cmd := &codecs.Command{ID: fmt.Sprintf("c-%d", i), Aggregate: "lossy", AggregateID: "a", Type: "Touch",
			IssuedAt: time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC), Data: json.RawMessage(`{}`)}
		step := in
		step.Command, step.Snapshot, step.Key, step.Offset, step.DedupeWindow = cmd, snap, "a", int64(i), 4
		out := processors.Step(agg, step)
		if i == 0 {
			s, err := codecs.DecodeSnapshotSansStep(out.Write.Encoded)
			if err != nil {
				t.Fatal(err)
			}
			snap = s
			continue
		}
		if out.Result == nil || out.Result.Error == nil || out.Result.Error.Code != codecs.RejectInternal {
			t.Fatalf("the check did not refuse a cached state that differs from its decoding: %+v", out.Result)
		}
	}
}
