package estest

import (
	"fmt"
	"net/http"
	"strings"
)

// aliasAction is one action of POST /_aliases.
type aliasAction struct {
	kind string // add, remove, remove_index
	spec map[string]any
	meta *aliasMeta // add only
}

// updateAliases serves POST /_aliases.
func (c *call) updateAliases() reply {
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	raw, ok := body["actions"].([]any)
	if !ok {
		return fail(validationFailed([]string{"no actions specified"}))
	}
	var acts []aliasAction
	for _, r := range raw {
		m, _ := r.(map[string]any)
		if len(m) != 1 {
			return fail(parseErr("[aliases] failed to parse field [actions]"))
		}
		for kind, v := range m {
			spec, _ := v.(map[string]any)
			a := aliasAction{kind: kind, spec: spec}
			switch kind {
			case "add":
				if a.meta, err = parseAliasMeta(spec, "index", "indices", "alias", "aliases", "must_exist"); err != nil {
					return fail(err)
				}
			case "remove", "remove_index":
				for k := range spec {
					switch k {
					case "index", "indices", "alias", "aliases", "must_exist":
					default:
						return fail(xcontentErr("[1:2] [%s] unknown field [%s]", kind, k))
					}
				}
			default:
				return fail(parseErr("Unknown action [%s]", kind))
			}
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		return fail(validationFailed([]string{"no actions specified"}))
	}
	return c.s.runAliasActions(acts)
}

// names reads a string-or-list field pair such as index/indices.
func names(spec map[string]any, one, many string) ([]string, bool) {
	var out []string
	present := false
	if v, ok := spec[one]; ok {
		present = true
		out = append(out, fmt.Sprint(v))
	}
	if v, ok := spec[many]; ok {
		present = true
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				out = append(out, fmt.Sprint(e))
			}
		case string:
			out = append(out, strings.Split(t, ",")...)
		}
	}
	return out, present
}

// runAliasActions applies the actions atomically: they run against a copy
// of the alias table, which replaces the real one only if all succeed.
func (s *Server) runAliasActions(acts []aliasAction) reply {
	work := map[string]map[string]*aliasMeta{}
	for name, ix := range s.indices {
		m := make(map[string]*aliasMeta, len(ix.aliases))
		for a, meta := range ix.aliases {
			m[a] = meta
		}
		work[name] = m
	}
	removed := map[string]bool{}
	var results []any
	hasErrors := false
	applied := 0
	var allMissing []string
	for _, a := range acts {
		idxNames, _ := names(a.spec, "index", "indices")
		aliases, aliasGiven := names(a.spec, "alias", "aliases")
		if a.kind != "remove_index" {
			if aliasGiven && len(aliases) == 0 {
				return fail(validationFailed([]string{"[aliases] can't be empty"}))
			}
			if !aliasGiven {
				return fail(validationFailed([]string{"One of [alias] or [aliases] is required"}))
			}
		}
		if len(idxNames) == 0 {
			return fail(validationFailed([]string{"One of [index] or [indices] is required"}))
		}
		o := resolveOpts{allowNoIndices: true, expandWildcards: true, noAliases: a.kind == "remove_index"}
		var targets []*index
		for _, n := range idxNames {
			ts, err := s.resolve(n, o)
			if err != nil {
				return fail(err)
			}
			for _, ix := range ts {
				if !removed[ix.name] {
					targets = append(targets, ix)
				}
			}
		}
		switch a.kind {
		case "add":
			for _, ix := range targets {
				for _, al := range aliases {
					if err := s.validateAliasName(al, ix.name); err != nil {
						return fail(err)
					}
					work[ix.name][al] = a.meta
				}
			}
		case "remove":
			p := newAliasPatterns(strings.Join(aliases, ","))
			found := map[string]bool{}
			for _, ix := range targets {
				for al := range work[ix.name] {
					if p.match(al) {
						delete(work[ix.name], al)
						found[al] = true
					}
				}
			}
			var missing []string
			for _, al := range aliases {
				if !found[al] && !anyMatch(al, found) {
					missing = append(missing, al)
				}
			}
			// As ES 8.19: with must_exist true any missing alias fails the
			// request; otherwise a remove that finds none is reported in
			// action_results (404) and the other actions apply, unless no
			// action is left to apply (then the request fails, below).
			mustExist, _ := a.spec["must_exist"].(bool)
			switch {
			case len(missing) > 0 && mustExist:
				return fail(aliasesMissing(missing))
			case len(found) == 0:
				hasErrors = true
				allMissing = append(allMissing, missing...)
				e := aliasesMissing(missing)
				results = append(results, map[string]any{
					"action": map[string]any{"type": "remove", "indices": idxNames, "aliases": aliases},
					"status": http.StatusNotFound, "error": e.object()})
				continue
			}
			applied++
			results = append(results, map[string]any{
				"action": map[string]any{"type": "remove", "indices": idxNames, "aliases": aliases}, "status": http.StatusOK})
		case "remove_index":
			if len(targets) == 0 {
				return fail(indexNotFound(strings.Join(idxNames, ",")))
			}
			for _, ix := range targets {
				removed[ix.name] = true
				delete(work, ix.name)
			}
		}
		if a.kind != "remove" {
			applied++
			results = append(results, map[string]any{
				"action": map[string]any{"type": a.kind, "indices": idxNames, "aliases": aliases}, "status": http.StatusOK})
		}
	}
	if applied == 0 {
		return fail(aliasesMissing(allMissing))
	}
	// Validate the end state: alias names must not clash with indices, and
	// an alias has at most one write index.
	writers := map[string][]string{}
	for ixName, m := range work {
		for al, meta := range m {
			if _, clash := work[al]; clash {
				return fail(badRequest("invalid_alias_name_exception", "Invalid alias name [%s]: an index or data stream exists with the same name as the alias", al))
			}
			if meta.isWriteIndex != nil && *meta.isWriteIndex {
				writers[al] = append(writers[al], ixName)
			}
		}
	}
	for al, ws := range writers {
		if len(ws) > 1 {
			return fail(illegalArg("alias [%s] has more than one write index [%s]", al, strings.Join(ws, ",")))
		}
	}
	for name := range removed {
		delete(s.indices, name)
	}
	for name, m := range work {
		s.indices[name].aliases = m
	}
	resp := map[string]any{"acknowledged": true, "errors": hasErrors}
	if hasErrors {
		resp["action_results"] = results
	}
	return ok(resp)
}

func anyMatch(pattern string, found map[string]bool) bool {
	for f := range found {
		if globMatch(pattern, f) {
			return true
		}
	}
	return false
}
