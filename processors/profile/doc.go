// Package profile is the reference aggregate for a user profile with
// followers: a hot key that receives many small updates, each of which the
// view must coalesce.
//
// New builds the aggregate "profile". Its commands and events are public API
// (their JSON names must not change):
//
//	command          data         event            rejected with invalid when
//	SetUsername      {username}   UsernameSet      username empty or > 64 characters
//	Follow           {user_id}    Followed         user_id bad, or the profile itself
//	Unfollow         {user_id}    Unfollowed       user_id bad
//	AddFollower      {user_id}    FollowerAdded    user_id bad, or the profile itself
//	RemoveFollower   {user_id}    FollowerRemoved  user_id bad
//
// A profile is created by its first accepted command; no command is refused
// because the profile does not exist yet. SetUsername is last write wins.
// Following and followers are sets: a command that would not change the
// state (setting the current username, following someone already followed,
// removing an id that is absent) is accepted with no event. A "bad" user_id
// is one codecs.ValidateID refuses.
//
// The state keeps both sets as sorted slices of ids (see State). Deciding a
// relation command costs one binary search; applying its event costs one
// binary search and one copy of the slice, which leaves the slice the
// handler saw untouched. Handlers are pure: they read no clock and never
// modify the state they are given.
package profile
