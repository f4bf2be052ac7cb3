package profile_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/profile"
)

// self is the aggregate id aggregatetest gives every scenario.
const self = "agg-1"

func assertState(t *testing.T, got, want profile.State) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state differs (-want +got):\n%s", diff)
	}
}

func TestFollow(t *testing.T) {
	t.Run("following someone records Followed", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New()).
			When(profile.Follow{UserID: "bob"}).
			Then(profile.Followed{UserID: "bob"}).
			State()
		assertState(t, st, profile.State{Following: []string{"bob"}, Followers: []string{}})
	})
	t.Run("following someone already followed records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.Followed{UserID: "bob"}).
			When(profile.Follow{UserID: "bob"}).
			Then()
	})
	t.Run("following oneself is invalid", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			When(profile.Follow{UserID: self}).
			ThenRejected(codecs.RejectInvalid)
	})
	t.Run("the followed ids stay sorted", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.Followed{UserID: "m"},
			profile.Followed{UserID: "c"},
			profile.Followed{UserID: "x"},
		).
			When(profile.Follow{UserID: "a"}).
			Then(profile.Followed{UserID: "a"}).
			State()
		assertState(t, st, profile.State{Following: []string{"a", "c", "m", "x"}, Followers: []string{}})
	})
	t.Run("following is not being followed", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.FollowerAdded{UserID: "bob"}).
			When(profile.Follow{UserID: "bob"}).
			Then(profile.Followed{UserID: "bob"})
	})
}

func TestUnfollow(t *testing.T) {
	t.Run("unfollowing someone followed records Unfollowed", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.Followed{UserID: "bob"},
			profile.Followed{UserID: "carol"},
		).
			When(profile.Unfollow{UserID: "bob"}).
			Then(profile.Unfollowed{UserID: "bob"}).
			State()
		assertState(t, st, profile.State{Following: []string{"carol"}, Followers: []string{}})
	})
	t.Run("unfollowing someone not followed records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.Followed{UserID: "carol"}).
			When(profile.Unfollow{UserID: "bob"}).
			Then()
	})
	t.Run("unfollowing twice records nothing the second time", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(),
			profile.Followed{UserID: "bob"},
			profile.Unfollowed{UserID: "bob"},
		).
			When(profile.Unfollow{UserID: "bob"}).
			Then()
	})
	t.Run("unfollowing oneself records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			When(profile.Unfollow{UserID: self}).
			Then()
	})
	t.Run("unfollowing the last one leaves an empty list, not null", func(t *testing.T) {
		o := aggregatetest.Given(t, profile.New(), profile.Followed{UserID: "bob"}).
			When(profile.Unfollow{UserID: "bob"}).
			Then(profile.Unfollowed{UserID: "bob"})
		o.State()
		if got, want := string(o.Decision().State), `{"username":"","following":[],"followers":[]}`; got != want {
			t.Errorf("state = %s, want %s", got, want)
		}
	})
	t.Run("follow, unfollow and follow again records each change", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.Followed{UserID: "bob"},
			profile.Unfollowed{UserID: "bob"},
		).
			When(profile.Follow{UserID: "bob"}).
			Then(profile.Followed{UserID: "bob"}).
			State()
		assertState(t, st, profile.State{Following: []string{"bob"}, Followers: []string{}})
	})
}

func TestFollowers(t *testing.T) {
	t.Run("adding a follower records FollowerAdded", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(), profile.FollowerAdded{UserID: "dave"}).
			When(profile.AddFollower{UserID: "bob"}).
			Then(profile.FollowerAdded{UserID: "bob"}).
			State()
		assertState(t, st, profile.State{Following: []string{}, Followers: []string{"bob", "dave"}})
	})
	t.Run("adding a follower twice records nothing the second time", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.FollowerAdded{UserID: "bob"}).
			When(profile.AddFollower{UserID: "bob"}).
			Then()
	})
	t.Run("the profile cannot be its own follower", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			When(profile.AddFollower{UserID: self}).
			ThenRejected(codecs.RejectInvalid)
	})
	t.Run("removing a follower records FollowerRemoved", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.FollowerAdded{UserID: "bob"},
			profile.FollowerAdded{UserID: "carol"},
		).
			When(profile.RemoveFollower{UserID: "carol"}).
			Then(profile.FollowerRemoved{UserID: "carol"}).
			State()
		assertState(t, st, profile.State{Following: []string{}, Followers: []string{"bob"}})
	})
	t.Run("removing an absent follower records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.FollowerAdded{UserID: "bob"}).
			When(profile.RemoveFollower{UserID: "carol"}).
			Then()
	})
	t.Run("removing a followed id that is not a follower records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.Followed{UserID: "bob"}).
			When(profile.RemoveFollower{UserID: "bob"}).
			Then()
	})
	t.Run("removing oneself as a follower records nothing", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			When(profile.RemoveFollower{UserID: self}).
			Then()
	})
}

// TestUserIDValidation checks every relation command against the same ids.
func TestUserIDValidation(t *testing.T) {
	commands := []struct {
		typ   string
		build func(id string) any
	}{
		{"Follow", func(id string) any { return profile.Follow{UserID: id} }},
		{"Unfollow", func(id string) any { return profile.Unfollow{UserID: id} }},
		{"AddFollower", func(id string) any { return profile.AddFollower{UserID: id} }},
		{"RemoveFollower", func(id string) any { return profile.RemoveFollower{UserID: id} }},
	}
	invalid := []struct{ what, id string }{
		{"an empty user_id", ""},
		{"a user_id with a space", "bob smith"},
		{"a user_id with a slash", "bob/1"},
		{"a user_id with a non-ASCII letter", "bjørn"},
		{"a user_id longer than 128 bytes", strings.Repeat("b", codecs.MaxIDLength+1)},
	}
	for _, c := range commands {
		typ, build := c.typ, c.build
		for _, bad := range invalid {
			t.Run(typ+" with "+bad.what+" is invalid", func(t *testing.T) {
				aggregatetest.Given(t, profile.New()).When(build(bad.id)).ThenRejected(codecs.RejectInvalid)
			})
		}
		t.Run(typ+" accepts a user_id of 128 allowed characters", func(t *testing.T) {
			id := strings.Repeat("aZ0._:-x", codecs.MaxIDLength/8)
			aggregatetest.Given(t, profile.New()).When(build(id)).State()
		})
		t.Run(typ+" with a user_id given as a number is malformed", func(t *testing.T) {
			aggregatetest.Given(t, profile.New()).
				WhenRaw(typ, []byte(`{"user_id":42}`)).
				ThenRejected(codecs.RejectMalformed)
		})
		t.Run(typ+" with an unknown field is malformed", func(t *testing.T) {
			aggregatetest.Given(t, profile.New()).
				WhenRaw(typ, []byte(`{"user_id":"bob","userid":"bob"}`)).
				ThenRejected(codecs.RejectMalformed)
		})
		t.Run(typ+" with data that is not an object is malformed", func(t *testing.T) {
			aggregatetest.Given(t, profile.New()).
				WhenRaw(typ, []byte(`["bob"]`)).
				ThenRejected(codecs.RejectMalformed)
		})
		t.Run(typ+" with no data is invalid, the user_id being missing", func(t *testing.T) {
			aggregatetest.Given(t, profile.New()).
				WhenRaw(typ, nil).
				ThenRejected(codecs.RejectInvalid)
		})
	}
}
