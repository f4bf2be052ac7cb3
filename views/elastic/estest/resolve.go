package estest

import (
	"bytes"
	"encoding/json"
	"strings"
)

// resolveOpts are the index-expression options of a request.
type resolveOpts struct {
	ignoreUnavailable bool
	allowNoIndices    bool
	expandWildcards   bool // expand wildcards to open indices
	noAliases         bool // concrete names only (delete index)
}

// resolveOptsFrom reads ignore_unavailable, allow_no_indices and
// expand_wildcards from the URL.
func (c *call) resolveOpts() resolveOpts {
	o := resolveOpts{
		ignoreUnavailable: c.boolParam("ignore_unavailable", false),
		allowNoIndices:    c.boolParam("allow_no_indices", true),
		expandWildcards:   true,
	}
	if ew := c.param("expand_wildcards"); ew != "" {
		o.expandWildcards = false
		for _, w := range strings.Split(ew, ",") {
			switch strings.TrimSpace(w) {
			case "open", "all":
				o.expandWildcards = true
			}
		}
	}
	return o
}

func isWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func isAll(expr string) bool {
	return expr == "" || expr == "_all" || expr == "*"
}

// globMatch matches ES simple wildcards, where only * is special.
func globMatch(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(name, p)
		}
		j := strings.Index(name, p)
		if j < 0 {
			return false
		}
		name = name[j+len(p):]
	}
	return true
}

// aliasIndices returns the indices an alias points to.
func (s *Server) aliasIndices(alias string) []*index {
	var out []*index
	for _, ix := range s.indices {
		if _, ok := ix.aliases[alias]; ok {
			out = append(out, ix)
		}
	}
	return sortedIndices(out)
}

// aliasNames returns every alias name, sorted.
func (s *Server) aliasNames() []string {
	set := map[string]bool{}
	for _, ix := range s.indices {
		for a := range ix.aliases {
			set[a] = true
		}
	}
	return sortedKeys(set)
}

// resolve turns an index expression (names, aliases, wildcards, _all,
// comma lists, -exclusions) into concrete indices, sorted by name.
func (s *Server) resolve(expr string, o resolveOpts) ([]*index, *esError) {
	set := map[string]*index{}
	items := strings.Split(expr, ",")
	if isAll(expr) {
		items = []string{"*"}
	}
	sawWildcard := false
	for i, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if i > 0 && strings.HasPrefix(it, "-") && sawWildcard {
			pat := it[1:]
			for name, ix := range set {
				if globMatch(pat, name) {
					delete(set, name)
				}
				for a := range ix.aliases {
					if globMatch(pat, a) {
						delete(set, name)
					}
				}
			}
			continue
		}
		if it == "_all" {
			it = "*"
		}
		if isWildcard(it) {
			sawWildcard = true
			if !o.expandWildcards {
				continue
			}
			hit := false
			for name, ix := range s.indices {
				if globMatch(it, name) {
					set[name] = ix
					hit = true
				}
			}
			if !o.noAliases {
				for _, a := range s.aliasNames() {
					if globMatch(it, a) {
						for _, ix := range s.aliasIndices(a) {
							set[ix.name] = ix
							hit = true
						}
					}
				}
			}
			if !hit && !o.allowNoIndices {
				return nil, indexNotFound(it)
			}
			continue
		}
		if ix, ok := s.indices[it]; ok {
			set[it] = ix
			continue
		}
		if al := s.aliasIndices(it); len(al) > 0 {
			if o.noAliases && o.ignoreUnavailable {
				continue
			}
			if o.noAliases {
				return nil, illegalArg("The provided expression [%s] matches an alias, specify the corresponding concrete indices instead.", it)
			}
			for _, ix := range al {
				set[ix.name] = ix
			}
			continue
		}
		if !o.ignoreUnavailable {
			return nil, indexNotFound(it)
		}
	}
	out := make([]*index, 0, len(set))
	for _, ix := range set {
		out = append(out, ix)
	}
	if len(out) == 0 && !o.allowNoIndices {
		name := expr
		if name == "" {
			name = "_all"
		}
		return nil, indexNotFound(name)
	}
	return sortedIndices(out), nil
}

// jsonBody decodes the request body as a JSON object (numbers as
// json.Number). An empty body gives a nil map.
func (c *call) jsonBody() (map[string]any, *esError) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil, nil
	}
	return decodeObject(c.body)
}

func decodeObject(b []byte) (map[string]any, *esError) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, xcontentErr("[1:1] failed to parse JSON: %v", err)
	}
	if m == nil {
		return nil, xcontentErr("[1:1] request body must be a JSON object")
	}
	return m, nil
}
