package profile_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/profile"
)

// Example decides three commands for profile "alice" the way the processor
// does, carrying the snapshot from one decision to the next. Following bob a
// second time is accepted and records nothing.
func Example() {
	agg := profile.New()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // from the command, never the clock

	var snap *codecs.Snapshot // nil: the profile does not exist yet
	send := func(typ, data string) {
		cmd := &codecs.Command{ID: "cmd-" + typ, Aggregate: profile.Name, AggregateID: "alice",
			Type: typ, Data: json.RawMessage(data)}
		d := agg.Decide(snap, cmd, at)
		if d.Rejection != nil {
			fmt.Printf("%s rejected: %s\n", typ, d.Rejection.Code)
			return
		}
		fmt.Printf("%s accepted with %d event(s)\n", typ, len(d.Events))
		for _, e := range d.Events {
			fmt.Printf("  v%d %s %s\n", e.Version, e.Type, e.Data)
		}
		version := uint64(0)
		if snap != nil {
			version = snap.Version
		}
		snap = &codecs.Snapshot{AggregateID: "alice", Version: version + uint64(len(d.Events)),
			Schema: d.StateSchema, State: d.State}
	}

	send("SetUsername", `{"username":"Alice"}`)
	send("Follow", `{"user_id":"bob"}`)
	send("Follow", `{"user_id":"bob"}`)
	send("AddFollower", `{"user_id":"carol"}`)
	send("Follow", `{"user_id":"alice"}`)
	fmt.Printf("state v%d: %s\n", snap.Version, snap.State)
	// Output:
	// SetUsername accepted with 1 event(s)
	//   v1 UsernameSet {"username":"Alice"}
	// Follow accepted with 1 event(s)
	//   v2 Followed {"user_id":"bob"}
	// Follow accepted with 0 event(s)
	// AddFollower accepted with 1 event(s)
	//   v3 FollowerAdded {"user_id":"carol"}
	// Follow rejected: invalid
	// state v3: {"username":"Alice","following":["bob"],"followers":["carol"]}
}
