package esyaml

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// stash holds values saved by "set" steps. "$body" always names the last
// response body.
type stash struct {
	vals map[string]any
	body any
}

var embeddedRE = regexp.MustCompile(`\$\{([^}]+)\}`)

// lookup returns the value of "$name" or "${name}".
func (s *stash) lookup(ref string) (any, error) {
	name := strings.TrimPrefix(ref, "$")
	if strings.HasPrefix(name, "{") && strings.HasSuffix(name, "}") {
		name = name[1 : len(name)-1]
	}
	if name == "body" {
		return s.body, nil
	}
	v, ok := s.vals[name]
	if !ok {
		return nil, fmt.Errorf("stash: no value named %q", name)
	}
	return v, nil
}

// resolve replaces stash references in v, recursively. A string that is
// exactly "$name" becomes the stashed value with its type; "${name}" inside
// a longer string is replaced by the value's text. Map keys are resolved
// too.
func (s *stash) resolve(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "$") && !strings.ContainsAny(x[1:], "${}. ") {
			return s.lookup(x)
		}
		if strings.HasPrefix(x, "${") && strings.HasSuffix(x, "}") && strings.Count(x, "${") == 1 {
			return s.lookup(x)
		}
		var firstErr error
		out := embeddedRE.ReplaceAllStringFunc(x, func(m string) string {
			val, err := s.lookup(m)
			if err != nil {
				firstErr = err
				return m
			}
			return scalarString(toPlain(val))
		})
		return out, firstErr
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := s.resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			rk, err := s.resolve(k)
			if err != nil {
				return nil, err
			}
			r, err := s.resolve(e)
			if err != nil {
				return nil, err
			}
			out[scalarString(toPlain(rk))] = r
		}
		return out, nil
	}
	return v, nil
}

// toPlain turns json.Number into int64 or float64 so that stashed response
// values can be re-sent and printed like YAML values.
func toPlain(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

// splitPath splits a dotted path; "\." is a literal dot.
func splitPath(p string) []string {
	if p == "" || p == "$body" {
		return nil
	}
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) && p[i+1] == '.' {
			cur.WriteByte('.')
			i++
			continue
		}
		if p[i] == '.' {
			segs = append(segs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(p[i])
	}
	return append(segs, cur.String())
}

// evalPath returns the value at path p of the last body and whether it
// exists. Segments may be stash references ("$id", "a${x}b"), array
// indexes, or "_arbitrary_key_" (the first key of an object).
func (s *stash) evalPath(p string) (any, bool, error) {
	cur := s.body
	for _, seg := range splitPath(p) {
		r, err := s.resolve(seg)
		if err != nil {
			return nil, false, err
		}
		seg = scalarString(toPlain(r))
		switch x := cur.(type) {
		case map[string]any:
			if seg == "_arbitrary_key_" {
				keys := sortedKeys(x)
				if len(keys) == 0 {
					return nil, false, nil
				}
				cur = keys[0]
				continue
			}
			v, ok := x[seg]
			if !ok {
				return nil, false, nil
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false, nil
			}
			cur = x[i]
		default:
			return nil, false, nil
		}
	}
	return cur, true, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
