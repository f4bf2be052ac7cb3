package profile_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/profile"
)

// BenchmarkDecide measures one command on a hot profile through the path
// the processor takes: decode the snapshot state, decide, apply, encode the
// event and the new state. The profile has 1,000 followers and each command
// adds a follower it does not have yet.
func BenchmarkDecide(b *testing.B) {
	const followers = 1000
	agg := profile.New()

	st := profile.State{Username: "hot", Following: []string{}, Followers: make([]string, followers)}
	for i := range st.Followers {
		st.Followers[i] = fmt.Sprintf("user-%06d", 2*i) // even ids: sorted, and odd ones are new
	}
	state, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	snap := &codecs.Snapshot{AggregateID: "hot", Version: followers + 1, Schema: 1, State: state}

	// The snapshot stays the same, so every odd id is new to it; build the
	// commands up front so the loop measures only Decide.
	cmds := make([]*codecs.Command, 1024)
	for i := range cmds {
		cmds[i] = &codecs.Command{ID: fmt.Sprintf("cmd-%d", i), Aggregate: profile.Name, AggregateID: "hot",
			Type: "AddFollower", Data: json.RawMessage(fmt.Sprintf(`{"user_id":"user-%06d"}`, 2*i+1))}
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

	b.ReportAllocs()
	b.SetBytes(int64(len(state)))
	i := 0
	for b.Loop() {
		d := agg.Decide(snap, cmds[i%len(cmds)], at)
		if d.Rejection != nil || len(d.Events) != 1 {
			b.Fatalf("decision: %+v", d)
		}
		i++
	}
}
