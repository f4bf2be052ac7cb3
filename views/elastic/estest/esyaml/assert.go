package esyaml

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// assert evaluates a non-do step against the last response and returns a
// description of the mismatch, or "".
func (st *section) assert(step Step) string {
	if step.Op == "is_true" || step.Op == "is_false" {
		got, ok, err := st.stash.evalPath(step.Path)
		if err != nil {
			return err.Error()
		}
		if truthy(got, ok) != (step.Op == "is_true") {
			return fmt.Sprintf("%s %q: got %s (present: %v)", step.Op, step.Path, valueText(got), ok)
		}
		return ""
	}
	for _, p := range sortedKeys(step.Checks) {
		if msg := st.check(step.Op, p, step.Checks[p]); msg != "" {
			return msg
		}
	}
	return ""
}

func (st *section) check(op, p string, raw any) string {
	got, ok, err := st.stash.evalPath(p)
	if err != nil {
		return err.Error()
	}
	if op == "set" {
		if !ok {
			return fmt.Sprintf("set: no value at %q", p)
		}
		st.stash.vals[fmt.Sprint(raw)] = got
		return ""
	}
	want, err := st.stash.resolve(raw)
	if err != nil {
		return err.Error()
	}
	mismatch := func(detail string) string {
		return fmt.Sprintf("%s %q: %s\n  expected: %s\n  actual:   %s", op, p, detail, valueText(want), valueText(got))
	}
	if !ok && op != "match" {
		return mismatch("no value at path")
	}
	switch op {
	case "match":
		if s, isStr := want.(string); isStr {
			if re, isRe := isRegex(s); isRe {
				rx, err := compileJava(re)
				if err != nil {
					return err.Error()
				}
				if !ok || !rx.MatchString(valueText(got)) {
					return mismatch("regex does not match")
				}
				return ""
			}
		}
		if !ok && want != nil {
			// A missing field reads as null, as in the upstream runners.
			return mismatch("no value at path")
		}
		if !equal(want, got) {
			return mismatch("not equal")
		}
	case "length":
		n, isNum := number(want)
		if !isNum {
			return mismatch("expected length is not a number")
		}
		l := -1
		switch x := got.(type) {
		case []any:
			l = len(x)
		case map[string]any:
			l = len(x)
		case string:
			l = len([]rune(x))
		}
		if l < 0 || big.NewFloat(float64(l)).Cmp(n) != 0 {
			return mismatch(fmt.Sprintf("length is %d", l))
		}
	case "gt", "gte", "lt", "lte":
		w, wok := number(want)
		g, gok := number(got)
		if !wok || !gok {
			return mismatch("not a number")
		}
		c := g.Cmp(w)
		pass := map[string]bool{"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[op]
		if !pass {
			return mismatch("comparison failed")
		}
	default:
		return fmt.Sprintf("unsupported step %q", op)
	}
	return ""
}

// truthy implements is_true: present and not null, false, "false", "", 0
// or "0".
func truthy(v any, ok bool) bool {
	if !ok || v == nil {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != "" && x != "false" && x != "0"
	}
	if f, isNum := number(v); isNum {
		return f.Sign() != 0
	}
	return true
}

// number converts YAML and JSON numbers to a big.Float for exact
// comparison of int64 values and approximate comparison of floats.
func number(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case int64:
		return new(big.Float).SetInt64(x), true
	case int:
		return new(big.Float).SetInt64(int64(x)), true
	case uint64:
		return new(big.Float).SetUint64(x), true
	case float64:
		return big.NewFloat(x), true
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return new(big.Float).SetInt64(i), true
		}
		f, err := x.Float64()
		if err != nil {
			return nil, false
		}
		return big.NewFloat(f), true
	}
	return nil, false
}

// isRegex reports whether s is written /.../ and returns the inner text.
func isRegex(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && t[0] == '/' && t[len(t)-1] == '/' {
		return t[1 : len(t)-1], true
	}
	return "", false
}

// compileJava compiles a regex written for Java's Pattern.COMMENTS mode:
// unescaped whitespace is dropped and '#' starts a comment outside
// character classes.
func compileJava(re string) (*regexp.Regexp, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re):
			b.WriteByte(c)
			b.WriteByte(re[i+1])
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(re) && re[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == '#':
			for i < len(re) && re[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	rx, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("compile regex %q: %w", re, err)
	}
	return rx, nil
}

// valueText renders an actual value for regex matching and messages.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "null"
	case map[string]any, []any:
		b, err := marshalJSON(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// equal compares an expected YAML value with an actual JSON value. Numbers
// compare by value whatever their type; objects need equal key sets.
func equal(want, got any) bool {
	if wn, ok := number(want); ok {
		gn, ok := number(got)
		return ok && wn.Cmp(gn) == 0
	}
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equal(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !equal(wv, gv) {
				return false
			}
		}
		return true
	}
	return false
}
