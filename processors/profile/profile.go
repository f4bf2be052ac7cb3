package profile

import (
	"slices"

	"github.com/b2dc4357/sourced/codecs/jsonlite"
	"github.com/b2dc4357/sourced/processors"
)

// Name is the aggregate name; topic and group names derive from it.
const Name = "profile"

// MaxUsernameLength is the longest accepted username, in characters
// (Unicode code points, not bytes).
const MaxUsernameLength = 64

// State is the state of one profile, the "state" of its snapshot.
//
// Following and Followers are sets kept as slices sorted in ascending byte
// order, without duplicates and never nil, so the encoded state is the same
// bytes for the same set, always a JSON array (never null), and a lookup is a
// binary search. A map would also encode deterministically (encoding/json
// sorts keys), but as an object rather than the [ids] the API promises, and
// copying it on every event (handlers must not modify their input) costs
// more than copying a slice.
//
// The appliers never write into a slice they were given: they replace it
// with a modified copy. So copies of a State may share backing arrays
// safely, as long as callers also treat the slices as read-only.
type State struct {
	// Username is the last username set; empty until SetUsername.
	Username string `json:"username"`
	// Following holds the ids this profile follows, sorted.
	Following []string `json:"following"`
	// Followers holds the ids that follow this profile, sorted.
	Followers []string `json:"followers"`
}

// IsFollowing reports whether the profile follows id. It is O(log n).
func (s State) IsFollowing(id string) bool {
	_, ok := slices.BinarySearch(s.Following, id)
	return ok
}

// HasFollower reports whether id follows the profile. It is O(log n).
func (s State) HasFollower(id string) bool {
	_, ok := slices.BinarySearch(s.Followers, id)
	return ok
}

// AppendJSON appends the state's JSON to b: exactly what json.Marshal
// writes, without its reflection and the second pass it makes to compact
// the result (processors.StateAppender). Ids need no escaping and are
// copied as they are; any other string is encoded by encoding/json.
func (s State) AppendJSON(b []byte) ([]byte, error) {
	size := 48 + len(s.Username)
	for _, id := range s.Following {
		size += len(id) + 3
	}
	for _, id := range s.Followers {
		size += len(id) + 3
	}
	b = slices.Grow(b, size)
	b = append(b, `{"username":`...)
	b = jsonlite.AppendString(b, s.Username)
	b = append(b, `,"following":`...)
	b = appendStrings(b, s.Following)
	b = append(b, `,"followers":`...)
	b = appendStrings(b, s.Followers)
	return append(b, '}'), nil
}

// appendStrings appends ss as encoding/json encodes a []string.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonlite.AppendString(b, s)
	}
	return append(b, ']')
}

// initial is the state of a profile without events: empty, non-nil sets so
// that they encode as [] and decode back to the same value.
func initial() State {
	return State{Following: []string{}, Followers: []string{}}
}

// New returns the definition of the profile aggregate with every command
// and event registered. Each call builds a fresh definition; the result is
// read-only and safe for concurrent use.
func New() *processors.Aggregate[State] {
	a := processors.New(Name, initial)
	// State holds strings and string slices only: it survives a JSON round
	// trip, so the processor may keep it decoded between commands.
	a.CacheDecodedStates()

	processors.Handle(a, "SetUsername", setUsername)
	processors.Handle(a, "Follow", follow)
	processors.Handle(a, "Unfollow", unfollow)
	processors.Handle(a, "AddFollower", addFollower)
	processors.Handle(a, "RemoveFollower", removeFollower)

	processors.On(a, "UsernameSet", 1, applyUsernameSet)
	processors.On(a, "Followed", 1, applyFollowed)
	processors.On(a, "Unfollowed", 1, applyUnfollowed)
	processors.On(a, "FollowerAdded", 1, applyFollowerAdded)
	processors.On(a, "FollowerRemoved", 1, applyFollowerRemoved)
	return a
}

// insert returns the sorted set s with id in it. It never writes into s:
// when id is absent it returns a new slice built with one binary search and
// one copy; when id is present it returns s itself.
func insert(s []string, id string) []string {
	i, found := slices.BinarySearch(s, id)
	if found {
		return s
	}
	out := make([]string, len(s)+1)
	copy(out, s[:i])
	out[i] = id
	copy(out[i+1:], s[i:])
	return out
}

// remove returns the sorted set s without id. Like insert, it never writes
// into s, and the result is never nil when s is not.
func remove(s []string, id string) []string {
	i, found := slices.BinarySearch(s, id)
	if !found {
		return s
	}
	out := make([]string, len(s)-1)
	copy(out, s[:i])
	copy(out[i:], s[i+1:])
	return out
}
