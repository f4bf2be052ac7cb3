package profile_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/profile"
)

// TestRandomSequence decides a seeded random stream of commands, feeding the
// recorded events back as the history of the next step, and checks after
// every step that the fold of the events equals the decided state (State
// does that) and that both sets equal those of a map-based model.
func TestRandomSequence(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		t.Run(fmt.Sprintf("seed %d keeps the state equal to the model", seed), func(t *testing.T) {
			runRandomSequence(t, seed, 300)
		})
	}
}

func runRandomSequence(t *testing.T, seed uint64, steps int) {
	agg := profile.New()
	rng := rand.New(rand.NewPCG(seed, 0))
	// A small pool makes repeats, removals of absent ids and self references
	// frequent; "bad id" and "" are invalid.
	ids := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", self, "bad id", ""}
	names := []string{"alice", "bob", ""}

	var (
		history   []any
		username  string
		following = map[string]bool{}
		followers = map[string]bool{}
	)
	for step := range steps {
		id := ids[rng.IntN(len(ids))]
		valid := codecs.ValidateID(id) == nil
		var (
			cmd     any
			want    []any
			invalid bool
		)
		switch rng.IntN(5) {
		case 0:
			name := names[rng.IntN(len(names))]
			cmd, invalid = profile.SetUsername{Username: name}, name == ""
			if !invalid && name != username {
				want, username = []any{profile.UsernameSet{Username: name}}, name
			}
		case 1:
			cmd, invalid = profile.Follow{UserID: id}, !valid || id == self
			if !invalid && !following[id] {
				want, following[id] = []any{profile.Followed{UserID: id}}, true
			}
		case 2:
			cmd, invalid = profile.Unfollow{UserID: id}, !valid
			if !invalid && following[id] {
				want = []any{profile.Unfollowed{UserID: id}}
				delete(following, id)
			}
		case 3:
			cmd, invalid = profile.AddFollower{UserID: id}, !valid || id == self
			if !invalid && !followers[id] {
				want, followers[id] = []any{profile.FollowerAdded{UserID: id}}, true
			}
		case 4:
			cmd, invalid = profile.RemoveFollower{UserID: id}, !valid
			if !invalid && followers[id] {
				want = []any{profile.FollowerRemoved{UserID: id}}
				delete(followers, id)
			}
		}

		o := aggregatetest.Given(t, agg, history...).When(cmd)
		if invalid {
			o.ThenRejected(codecs.RejectInvalid)
			continue
		}
		o.Then(want...)
		st := o.State()
		for i, e := range o.Decision().Events {
			v, err := agg.DecodeEvent(e)
			if err != nil {
				t.Fatalf("step %d: event %d: %v", step, i, err)
			}
			history = append(history, v)
		}
		if st.Username != username {
			t.Fatalf("step %d (%+v): username = %q, model %q", step, cmd, st.Username, username)
		}
		if got, want := st.Following, slices.Sorted(maps.Keys(following)); !slices.Equal(got, want) {
			t.Fatalf("step %d (%+v): following = %q, model %q", step, cmd, got, want)
		}
		if got, want := st.Followers, slices.Sorted(maps.Keys(followers)); !slices.Equal(got, want) {
			t.Fatalf("step %d (%+v): followers = %q, model %q", step, cmd, got, want)
		}
	}
	if len(history) == 0 {
		t.Fatal("the sequence recorded no event")
	}
}
