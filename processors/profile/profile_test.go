package profile_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/profile"
)

func TestDefinition(t *testing.T) {
	agg := profile.New()
	t.Run("the aggregate is named profile", func(t *testing.T) {
		if agg.Name() != "profile" || profile.Name != "profile" {
			t.Errorf("name = %q (const %q), want profile", agg.Name(), profile.Name)
		}
	})
	t.Run("the command names are the public ones", func(t *testing.T) {
		want := []string{"AddFollower", "Follow", "RemoveFollower", "SetUsername", "Unfollow"}
		if diff := cmp.Diff(want, agg.CommandTypes()); diff != "" {
			t.Errorf("commands (-want +got):\n%s", diff)
		}
	})
	t.Run("the event names are the public ones", func(t *testing.T) {
		want := []string{"Followed", "FollowerAdded", "FollowerRemoved", "Unfollowed", "UsernameSet"}
		if diff := cmp.Diff(want, agg.EventTypes()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("a new profile encodes with empty lists", func(t *testing.T) {
		got, err := agg.Fold(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"username":"","following":[],"followers":[]}`; string(got) != want {
			t.Errorf("state = %s, want %s", got, want)
		}
	})
}

func TestUnknownCommand(t *testing.T) {
	t.Run("a command type the profile does not know is rejected", func(t *testing.T) {
		o := aggregatetest.Given(t, profile.New()).
			WhenRaw("DeleteProfile", []byte(`{}`)).
			ThenRejected(codecs.RejectUnknownCommand)
		if !o.Decision().DeadLetter {
			t.Error("an unknown command is not sent to the dead-letter topic")
		}
	})
	t.Run("malformed data goes to the dead-letter topic", func(t *testing.T) {
		o := aggregatetest.Given(t, profile.New()).
			WhenRaw("Follow", []byte(`{"user_id":42}`)).
			ThenRejected(codecs.RejectMalformed)
		if !o.Decision().DeadLetter {
			t.Error("a malformed command is not sent to the dead-letter topic")
		}
	})
	t.Run("an invalid field is a plain rejection, not a dead letter", func(t *testing.T) {
		o := aggregatetest.Given(t, profile.New()).
			When(profile.Follow{UserID: "no spaces"}).
			ThenRejected(codecs.RejectInvalid)
		if o.Decision().DeadLetter {
			t.Error("an invalid command is sent to the dead-letter topic")
		}
	})
}

func TestStateAfterSequence(t *testing.T) {
	t.Run("a mixed history folds into one state", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.UsernameSet{Username: "alice"},
			profile.Followed{UserID: "carol"},
			profile.Followed{UserID: "bob"},
			profile.FollowerAdded{UserID: "zed"},
			profile.FollowerAdded{UserID: "bob"},
			profile.UsernameSet{Username: "alice2"},
			profile.Unfollowed{UserID: "carol"},
			profile.FollowerAdded{UserID: "eve"},
			profile.FollowerRemoved{UserID: "zed"},
		).
			When(profile.Follow{UserID: "dave"}).
			Then(profile.Followed{UserID: "dave"}).
			State()
		assertState(t, st, profile.State{
			Username:  "alice2",
			Following: []string{"bob", "dave"},
			Followers: []string{"bob", "eve"},
		})
	})
	t.Run("a repeated event in an old history changes nothing", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.FollowerAdded{UserID: "bob"},
			profile.FollowerAdded{UserID: "bob"},
			profile.Unfollowed{UserID: "nobody"},
		).
			When(profile.AddFollower{UserID: "carol"}).
			Then(profile.FollowerAdded{UserID: "carol"}).
			State()
		assertState(t, st, profile.State{Following: []string{}, Followers: []string{"bob", "carol"}})
	})
	t.Run("a command that changes nothing keeps the version", func(t *testing.T) {
		o := aggregatetest.Given(t, profile.New(), profile.Followed{UserID: "bob"}).
			When(profile.Follow{UserID: "bob"}).
			Then()
		if got, want := string(o.Decision().State), `{"username":"","following":["bob"],"followers":[]}`; got != want {
			t.Errorf("state = %s, want %s", got, want)
		}
	})
	t.Run("deciding the same command twice gives the same decision", func(t *testing.T) {
		agg := profile.New()
		snap := &codecs.Snapshot{AggregateID: "alice", Version: 3, Schema: 1,
			State: []byte(`{"username":"alice","following":["bob"],"followers":["carol","eve"]}`)}
		cmd := &codecs.Command{ID: "c1", Aggregate: profile.Name, AggregateID: "alice",
			Type: "AddFollower", Data: []byte(`{"user_id":"dave"}`)}
		at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		first, second := agg.Decide(snap, cmd, at), agg.Decide(snap, cmd, at)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("decisions differ (-first +second):\n%s", diff)
		}
		if want := `{"username":"alice","following":["bob"],"followers":["carol","dave","eve"]}`; string(first.State) != want {
			t.Errorf("state = %s, want %s", first.State, want)
		}
	})
}

// TestApplyCopies checks that applying an event leaves every other copy of
// the state as it was: the appliers replace slices, never write into them.
func TestApplyCopies(t *testing.T) {
	agg := profile.New()
	base := profile.State{
		Following: make([]string, 2, 16), // spare capacity would invite an in-place insert
		Followers: make([]string, 3, 16),
	}
	copy(base.Following, []string{"b", "d"})
	copy(base.Followers, []string{"b", "d", "f"})
	want := profile.State{Following: []string{"b", "d"}, Followers: []string{"b", "d", "f"}}

	events := []struct {
		name    string
		payload any
	}{
		{"Followed", profile.Followed{UserID: "a"}},
		{"Followed", profile.Followed{UserID: "c"}},
		{"Unfollowed", profile.Unfollowed{UserID: "b"}},
		{"FollowerAdded", profile.FollowerAdded{UserID: "c"}},
		{"FollowerAdded", profile.FollowerAdded{UserID: "e"}},
		{"FollowerRemoved", profile.FollowerRemoved{UserID: "b"}},
		{"FollowerRemoved", profile.FollowerRemoved{UserID: "f"}},
	}
	for _, e := range events {
		t.Run(e.name+" leaves the state it started from unchanged", func(t *testing.T) {
			s := base
			if err := agg.Apply(&s, e.name, e.payload); err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(s, base) {
				t.Fatalf("applying %+v changed nothing", e.payload)
			}
			// Compare the full backing arrays, spare capacity included.
			if diff := cmp.Diff(want.Following, base.Following); diff != "" {
				t.Errorf("following changed under the caller (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.Followers, base.Followers); diff != "" {
				t.Errorf("followers changed under the caller (-want +got):\n%s", diff)
			}
			if got := base.Following[:cap(base.Following)][2]; got != "" {
				t.Errorf("following's spare capacity was written: %q", got)
			}
			if got := base.Followers[:cap(base.Followers)][3]; got != "" {
				t.Errorf("followers' spare capacity was written: %q", got)
			}
		})
	}
}
