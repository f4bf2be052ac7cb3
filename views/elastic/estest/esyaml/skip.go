package esyaml

import (
	"fmt"
	"strconv"
	"strings"
)

// Features lists the runner features of the YAML format this runner
// implements. A section whose skip.features names anything else is skipped.
var Features = []string{
	"allowed_warnings",
	"arbitrary_key",
	"catch_unauthorized",
	"default_shards",
	"embedded_stash_key",
	"headers",
	"stash_in_key",
	"stash_in_path",
	"warnings",
}

// supportedOps are the step kinds the runner evaluates. Sections using
// others (contains, transform_and_set, close_to, ...) are skipped.
var supportedOps = map[string]bool{
	"do": true, "set": true, "match": true, "is_true": true, "is_false": true,
	"length": true, "gt": true, "gte": true, "lt": true, "lte": true,
}

// Version is a dotted version such as 8.19.0, compared numerically.
type Version []int

// ParseVersion parses "8.19.0", "2.11.99" or "8.19.0-SNAPSHOT"; parts after
// the numeric prefix are ignored.
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	var v Version
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("parse version %q: %w", s, err)
		}
		v = append(v, n)
	}
	return v, nil
}

// Compare returns -1, 0 or +1; missing parts count as zero.
func (v Version) Compare(o Version) int {
	for i := 0; i < len(v) || i < len(o); i++ {
		a, b := 0, 0
		if i < len(v) {
			a = v[i]
		}
		if i < len(o) {
			b = o[i]
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (v Version) String() string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

// InRange reports whether v lies in a skip.version range list such as
// " - 2.11.99", "7.0.0 - ", "1.0.0 - 2.0.0, 3.0.0 - 3.1.0" or "all".
func (v Version) InRange(ranges string) (bool, error) {
	for _, r := range strings.Split(ranges, ",") {
		r = strings.TrimSpace(r)
		if r == "all" {
			return true, nil
		}
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			return false, fmt.Errorf("version range %q: no '-'", r)
		}
		// "8.19.0-SNAPSHOT - " style bounds never occur in the corpus; a
		// bound is a plain dotted version or empty.
		in := true
		if s := strings.TrimSpace(lo); s != "" {
			min, err := ParseVersion(s)
			if err != nil {
				return false, err
			}
			in = in && v.Compare(min) >= 0
		}
		if s := strings.TrimSpace(hi); s != "" {
			max, err := ParseVersion(s)
			if err != nil {
				return false, err
			}
			in = in && v.Compare(max) <= 0
		}
		if in {
			return true, nil
		}
	}
	return false, nil
}

// SkipReason returns why section s of file f must be skipped for a suite
// targeting version v, or "" to run it. It checks the file's requires
// (stack: false), the setup's and the section's skip, and steps the
// runner does not implement.
func SkipReason(f *File, s *Section, v Version) string {
	if st, ok := f.Requires["stack"]; ok && st != true {
		return "requires: stack is not true"
	}
	for _, sk := range []*Skip{f.SetupSkip, s.Skip} {
		if r := sk.reason(v); r != "" {
			return r
		}
	}
	for _, steps := range [][]Step{f.Setup, s.Steps, f.Teardown} {
		for _, st := range steps {
			if !supportedOps[st.Op] {
				return fmt.Sprintf("runner does not implement step %q (line %d)", st.Op, st.Line)
			}
			if st.Do != nil && len(st.Do.Unsupported) > 0 {
				return fmt.Sprintf("runner does not implement %s (line %d)", strings.Join(st.Do.Unsupported, ", "), st.Line)
			}
		}
	}
	return ""
}

func (sk *Skip) reason(v Version) string {
	if sk == nil {
		return ""
	}
	why := sk.Reason
	if why == "" {
		why = "no reason given"
	}
	for _, f := range sk.Features {
		if !supportedFeature(f) {
			return fmt.Sprintf("runner feature %q not supported", f)
		}
	}
	if len(sk.ClusterFeatures) > 0 {
		return fmt.Sprintf("cluster features %v cannot be evaluated (%s)", sk.ClusterFeatures, why)
	}
	if len(sk.Unsupported) > 0 {
		return fmt.Sprintf("skip conditions %v not supported (%s)", sk.Unsupported, why)
	}
	if sk.Version != "" {
		in, err := v.InRange(sk.Version)
		if err != nil {
			return fmt.Sprintf("bad skip.version: %v", err)
		}
		if in {
			return fmt.Sprintf("version %s in skip range %q: %s", v, strings.TrimSpace(sk.Version), why)
		}
	}
	return ""
}

func supportedFeature(f string) bool {
	for _, s := range Features {
		if s == f {
			return true
		}
	}
	return false
}
