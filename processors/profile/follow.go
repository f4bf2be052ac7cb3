package profile

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// Follow makes the profile follow UserID. Following an id already followed
// records nothing; following the profile itself is invalid.
type Follow struct {
	// UserID is the profile to follow; codecs.ValidateID must accept it.
	UserID string `json:"user_id"`
}

// Unfollow makes the profile stop following UserID. Unfollowing an id not
// followed records nothing.
type Unfollow struct {
	// UserID is the profile to stop following; codecs.ValidateID must
	// accept it.
	UserID string `json:"user_id"`
}

// AddFollower records that UserID follows the profile, typically sent by the
// follower's side after its Followed event. Adding a follower already present
// records nothing; the profile itself cannot be its own follower.
type AddFollower struct {
	// UserID is the new follower; codecs.ValidateID must accept it.
	UserID string `json:"user_id"`
}

// RemoveFollower records that UserID no longer follows the profile. Removing
// an absent follower records nothing.
type RemoveFollower struct {
	// UserID is the follower to remove; codecs.ValidateID must accept it.
	UserID string `json:"user_id"`
}

// Followed records that the profile started following UserID.
type Followed struct {
	UserID string `json:"user_id"`
}

// Unfollowed records that the profile stopped following UserID.
type Unfollowed struct {
	UserID string `json:"user_id"`
}

// FollowerAdded records that UserID started following the profile.
type FollowerAdded struct {
	UserID string `json:"user_id"`
}

// FollowerRemoved records that UserID stopped following the profile.
type FollowerRemoved struct {
	UserID string `json:"user_id"`
}

// checkUserID rejects a user_id that is not a valid id or, when notSelf is
// set, that names the profile the command addresses.
func checkUserID(id string, m processors.Meta, notSelf bool) error {
	if err := codecs.ValidateID(id); err != nil {
		return codecs.Reject(codecs.RejectInvalid, "user_id: %v", err)
	}
	if notSelf && id == m.AggregateID {
		return codecs.Reject(codecs.RejectInvalid, "user_id: profile %q cannot follow itself", id)
	}
	return nil
}

// The handlers only search the state (O(log n)); the appliers copy.

func follow(s State, c Follow, m processors.Meta) ([]any, error) {
	if err := checkUserID(c.UserID, m, true); err != nil {
		return nil, err
	}
	if s.IsFollowing(c.UserID) {
		return nil, nil
	}
	return []any{Followed(c)}, nil
}

// unfollow accepts the profile's own id as a no-op: it can never be in the
// set, and a removal of an absent id is never an error.
func unfollow(s State, c Unfollow, m processors.Meta) ([]any, error) {
	if err := checkUserID(c.UserID, m, false); err != nil {
		return nil, err
	}
	if !s.IsFollowing(c.UserID) {
		return nil, nil
	}
	return []any{Unfollowed(c)}, nil
}

func addFollower(s State, c AddFollower, m processors.Meta) ([]any, error) {
	if err := checkUserID(c.UserID, m, true); err != nil {
		return nil, err
	}
	if s.HasFollower(c.UserID) {
		return nil, nil
	}
	return []any{FollowerAdded(c)}, nil
}

func removeFollower(s State, c RemoveFollower, m processors.Meta) ([]any, error) {
	if err := checkUserID(c.UserID, m, false); err != nil {
		return nil, err
	}
	if !s.HasFollower(c.UserID) {
		return nil, nil
	}
	return []any{FollowerRemoved(c)}, nil
}

// The appliers are idempotent (a repeated event changes nothing), so they
// accept any history, and never write into the slices they replace.

func applyFollowed(s *State, e Followed)     { s.Following = insert(s.Following, e.UserID) }
func applyUnfollowed(s *State, e Unfollowed) { s.Following = remove(s.Following, e.UserID) }

func applyFollowerAdded(s *State, e FollowerAdded) { s.Followers = insert(s.Followers, e.UserID) }

func applyFollowerRemoved(s *State, e FollowerRemoved) {
	s.Followers = remove(s.Followers, e.UserID)
}
