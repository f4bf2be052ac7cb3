package profile

import (
	"unicode/utf8"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// SetUsername sets the profile's username; the last write wins. Setting the
// current username again records nothing.
type SetUsername struct {
	// Username is 1 to MaxUsernameLength characters.
	Username string `json:"username"`
}

// UsernameSet records that the profile's username became Username.
type UsernameSet struct {
	Username string `json:"username"`
}

func setUsername(s State, c SetUsername, _ processors.Meta) ([]any, error) {
	if c.Username == "" {
		return nil, codecs.Reject(codecs.RejectInvalid, "username: missing")
	}
	// The JSON decoder already replaced invalid UTF-8 with U+FFFD, so the
	// count is of real characters.
	if n := utf8.RuneCountInString(c.Username); n > MaxUsernameLength {
		return nil, codecs.Reject(codecs.RejectInvalid, "username: %d characters, longer than %d", n, MaxUsernameLength)
	}
	if c.Username == s.Username {
		return nil, nil
	}
	return []any{UsernameSet(c)}, nil
}

func applyUsernameSet(s *State, e UsernameSet) { s.Username = e.Username }
