package invoice

import (
	"math"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// problems collects the validation failures of one command, so a client
// learns every bad field in one round trip.
type problems []string

// add records msg when bad is true.
func (p *problems) add(bad bool, msg string) {
	if bad {
		*p = append(*p, msg)
	}
}

// reject returns nil without problems, else a rejection with code listing
// them all.
func (p problems) reject(code string) error {
	if len(p) == 0 {
		return nil
	}
	return codecs.Reject(code, "%s", strings.Join(p, "; "))
}

// blank reports whether s is empty or only white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// validCurrency reports whether c has the shape of an ISO 4217 alphabetic
// code: three upper-case ASCII letters. Whether the code is assigned is not
// checked; the list changes over time and decisions must not.
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range len(c) {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// validDate reports whether d is a calendar date written YYYY-MM-DD.
func validDate(d string) bool {
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}

// mul returns a*b and whether it fits in an int64, for a, b >= 0.
func mul(a, b int64) (int64, bool) {
	if a != 0 && b > math.MaxInt64/a {
		return 0, false
	}
	return a * b, true
}

// add returns a+b and whether it fits in an int64, for a, b >= 0.
func add(a, b int64) (int64, bool) {
	if a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}
