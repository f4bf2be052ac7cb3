package profile_test

import (
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/profile"
)

func TestSetUsername(t *testing.T) {
	t.Run("the first command creates the profile", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New()).
			When(profile.SetUsername{Username: "alice"}).
			Then(profile.UsernameSet{Username: "alice"}).
			State()
		if st.Username != "alice" {
			t.Errorf("username = %q, want alice", st.Username)
		}
	})
	t.Run("the last write wins", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.UsernameSet{Username: "alice"},
			profile.UsernameSet{Username: "bob"},
		).
			When(profile.SetUsername{Username: "carol"}).
			Then(profile.UsernameSet{Username: "carol"}).
			State()
		if st.Username != "carol" {
			t.Errorf("username = %q, want carol", st.Username)
		}
	})
	t.Run("setting an earlier username again records it again", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(),
			profile.UsernameSet{Username: "alice"},
			profile.UsernameSet{Username: "bob"},
		).
			When(profile.SetUsername{Username: "alice"}).
			Then(profile.UsernameSet{Username: "alice"})
	})
	t.Run("setting the current username records nothing", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(), profile.UsernameSet{Username: "alice"}).
			When(profile.SetUsername{Username: "alice"}).
			Then().
			State()
		if st.Username != "alice" {
			t.Errorf("username = %q, want alice", st.Username)
		}
	})
	t.Run("a username differing only in case is a change", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.UsernameSet{Username: "alice"}).
			When(profile.SetUsername{Username: "Alice"}).
			Then(profile.UsernameSet{Username: "Alice"})
	})
	t.Run("an empty username is invalid", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			When(profile.SetUsername{}).
			ThenRejected(codecs.RejectInvalid)
	})
	t.Run("a missing username is invalid", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			WhenRaw("SetUsername", []byte(`{}`)).
			ThenRejected(codecs.RejectInvalid)
	})
	t.Run("a username of 64 characters is accepted", func(t *testing.T) {
		name := strings.Repeat("a", profile.MaxUsernameLength)
		aggregatetest.Given(t, profile.New()).
			When(profile.SetUsername{Username: name}).
			Then(profile.UsernameSet{Username: name})
	})
	t.Run("the limit counts characters, not bytes", func(t *testing.T) {
		name := strings.Repeat("é", profile.MaxUsernameLength) // 128 bytes
		aggregatetest.Given(t, profile.New()).
			When(profile.SetUsername{Username: name}).
			Then(profile.UsernameSet{Username: name})
	})
	t.Run("a username of 65 characters is invalid", func(t *testing.T) {
		aggregatetest.Given(t, profile.New(), profile.UsernameSet{Username: "alice"}).
			When(profile.SetUsername{Username: strings.Repeat("a", profile.MaxUsernameLength+1)}).
			ThenRejected(codecs.RejectInvalid)
	})
	t.Run("a username given as a number is malformed", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			WhenRaw("SetUsername", []byte(`{"username":42}`)).
			ThenRejected(codecs.RejectMalformed)
	})
	t.Run("an unknown field is malformed", func(t *testing.T) {
		aggregatetest.Given(t, profile.New()).
			WhenRaw("SetUsername", []byte(`{"username":"alice","nickname":"al"}`)).
			ThenRejected(codecs.RejectMalformed)
	})
	t.Run("the username does not touch the sets", func(t *testing.T) {
		st := aggregatetest.Given(t, profile.New(),
			profile.Followed{UserID: "bob"},
			profile.FollowerAdded{UserID: "carol"},
		).
			When(profile.SetUsername{Username: "alice"}).
			Then(profile.UsernameSet{Username: "alice"}).
			State()
		want := profile.State{Username: "alice", Following: []string{"bob"}, Followers: []string{"carol"}}
		assertState(t, st, want)
	})
}
