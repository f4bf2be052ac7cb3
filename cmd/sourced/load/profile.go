package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/profile"
)

// zipfExponent is the skew of profile traffic: with 1,000 profiles the
// hottest gets about 15% of the commands and the top 10 about 40%.
const zipfExponent = 1.1

// profileActor is one profile: it sets its username first, then mostly
// follows others (targets drawn with the Zipf skew, so popular profiles
// gain followers), unfollows some, and records followers added and
// removed; now and then it renames itself. With probability Invalid it
// sends a command the aggregate must reject as invalid: following itself,
// or a username longer than profile.MaxUsernameLength.
type profileActor struct {
	s       *Scenario
	r       *rand.Rand
	slot    int
	id      string
	started bool
	// following and followers model the profile's sets, so Unfollow and
	// RemoveFollower name real members; they need not be exact (a no-op
	// is accepted too).
	following []int
	followers []int
}

func newProfileActor(s *Scenario, slot int, r *rand.Rand) Actor {
	return &profileActor{s: s, r: r, slot: slot, id: profileID(s.cfg.Prefix, slot)}
}

func profileID(prefix string, slot int) string { return fmt.Sprintf("%s-p%d", prefix, slot) }

func (a *profileActor) Outcome(bool) {}

func (a *profileActor) cmd(typ string, payload any, expect string) Command {
	return Command{AggregateID: a.id, Type: typ, Data: data(payload), Expect: expect}
}

func (a *profileActor) Next() Command {
	if !a.started {
		a.started = true
		return a.username()
	}
	if inv := a.s.cfg.Invalid; inv > 0 && a.r.Float64() < inv {
		if a.r.IntN(2) == 0 {
			return a.cmd("Follow", profile.Follow{UserID: a.id}, codecs.RejectInvalid)
		}
		return a.cmd("SetUsername", profile.SetUsername{Username: strings.Repeat("x", profile.MaxUsernameLength+1)}, codecs.RejectInvalid)
	}
	switch p := a.r.Float64(); {
	case p < 0.10:
		return a.username()
	case p < 0.50:
		return a.follow()
	case p < 0.65:
		if len(a.following) == 0 {
			return a.follow()
		}
		other := a.following[a.r.IntN(len(a.following))]
		a.following = drop(a.following, other)
		return a.cmd("Unfollow", profile.Unfollow{UserID: profileID(a.s.cfg.Prefix, other)}, "")
	case p < 0.90:
		return a.addFollower()
	default:
		if len(a.followers) == 0 {
			return a.addFollower()
		}
		other := a.followers[a.r.IntN(len(a.followers))]
		a.followers = drop(a.followers, other)
		return a.cmd("RemoveFollower", profile.RemoveFollower{UserID: profileID(a.s.cfg.Prefix, other)}, "")
	}
}

func (a *profileActor) username() Command {
	return a.cmd("SetUsername", profile.SetUsername{Username: fmt.Sprintf("user%d_%d", a.slot, a.r.IntN(1000))}, "")
}

// other returns a profile other than this one, Zipf-skewed. With a single
// profile there is none, and it returns -1.
func (a *profileActor) other() int {
	if a.s.cfg.Aggregates < 2 {
		return -1
	}
	for {
		if o := a.s.zipf.sample(a.r); o != a.slot {
			return o
		}
	}
}

func (a *profileActor) follow() Command {
	o := a.other()
	if o < 0 {
		return a.username()
	}
	a.following = add(a.following, o)
	return a.cmd("Follow", profile.Follow{UserID: profileID(a.s.cfg.Prefix, o)}, "")
}

func (a *profileActor) addFollower() Command {
	o := a.other()
	if o < 0 {
		return a.username()
	}
	a.followers = add(a.followers, o)
	return a.cmd("AddFollower", profile.AddFollower{UserID: profileID(a.s.cfg.Prefix, o)}, "")
}

// add and drop keep a sorted set of slots.
func add(s []int, v int) []int {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	return slices.Insert(s, i, v)
}

func drop(s []int, v int) []int {
	i, found := slices.BinarySearch(s, v)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// zipf samples 0..n-1 with P(k) proportional to 1/(k+1)^exponent, by a
// binary search of the cumulative distribution (n float64s).
type zipf struct{ cdf []float64 }

func newZipf(n int, exponent float64) *zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range n {
		sum += 1 / math.Pow(float64(k+1), exponent)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return &zipf{cdf: cdf}
}

func (z *zipf) sample(r *rand.Rand) int {
	u := r.Float64()
	i := sort.SearchFloat64s(z.cdf, u)
	if i >= len(z.cdf) {
		i = len(z.cdf) - 1
	}
	return i
}
