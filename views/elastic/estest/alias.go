package estest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// aliasMeta is one index's membership in an alias.
type aliasMeta struct {
	filter        any
	indexRouting  string
	searchRouting string
	isWriteIndex  *bool
	isHidden      *bool
}

func (a *aliasMeta) view() map[string]any {
	m := map[string]any{}
	if a.filter != nil {
		m["filter"] = a.filter
	}
	if a.indexRouting != "" {
		m["index_routing"] = a.indexRouting
	}
	if a.searchRouting != "" {
		m["search_routing"] = a.searchRouting
	}
	if a.isWriteIndex != nil {
		m["is_write_index"] = *a.isWriteIndex
	}
	if a.isHidden != nil {
		m["is_hidden"] = *a.isHidden
	}
	return m
}

// aliasesView renders ix's aliases, only those keep accepts (all when nil).
func (ix *index) aliasesView(keep func(string) bool) map[string]any {
	out := map[string]any{}
	for name, a := range ix.aliases {
		if keep == nil || keep(name) {
			out[name] = a.view()
		}
	}
	return out
}

// parseAliasMeta reads alias properties; actionKeys are extra keys the
// caller handles (index, alias, must_exist, ...).
func parseAliasMeta(spec map[string]any, actionKeys ...string) (*aliasMeta, *esError) {
	a := &aliasMeta{}
	skip := map[string]bool{}
	for _, k := range actionKeys {
		skip[k] = true
	}
	for _, k := range sortedKeys(spec) {
		v := spec[k]
		switch k {
		case "filter":
			if m, ok := v.(map[string]any); ok && len(m) > 0 {
				a.filter = m
			}
		case "routing":
			if _, ok := spec["index_routing"]; !ok {
				a.indexRouting = fmt.Sprint(v)
			}
			if _, ok := spec["search_routing"]; !ok {
				a.searchRouting = fmt.Sprint(v)
			}
		case "index_routing":
			a.indexRouting = fmt.Sprint(v)
		case "search_routing":
			a.searchRouting = fmt.Sprint(v)
		case "is_write_index", "is_hidden":
			b, ok := v.(bool)
			if !ok {
				b = fmt.Sprint(v) == "true"
			}
			if k == "is_write_index" {
				a.isWriteIndex = &b
			} else {
				a.isHidden = &b
			}
		default:
			if !skip[k] {
				return nil, xcontentErr("[1:2] [alias] unknown field [%s]", k)
			}
		}
	}
	return a, nil
}

// validateAliasName applies ES's alias name rules; index is the index the
// alias is being added to.
func (s *Server) validateAliasName(name, index string) *esError {
	bad := func(why string) *esError {
		return badRequest("invalid_alias_name_exception", "Invalid alias name [%s]: %s", name, why)
	}
	switch {
	case name == "":
		return illegalArg("alias name is required")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return bad(`must not contain the following characters [' ','"','*',',','/','<','>','?','\','|']`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return bad("must not start with '_', '-', or '+'")
	case name != strings.ToLower(name):
		return bad("must be lowercase")
	case name == index:
		return bad("an index or data stream exists with the same name as the alias")
	}
	return nil
}

func aliasesMissing(names []string) *esError {
	sort.Strings(names)
	return newErr(http.StatusNotFound, "aliases_not_found_exception", "aliases [%s] missing", strings.Join(names, ",")).
		with("resource.type", "aliases").with("resource.id", strings.Join(names, ","))
}

// aliasPatterns is a list of alias names, wildcards and -exclusions, as
// GET _alias/{name} interprets it.
type aliasPatterns struct {
	pats []string
	fw   int // index of the first wildcard pattern, len(pats) when none
}

func newAliasPatterns(expr string) aliasPatterns {
	p := aliasPatterns{pats: strings.Split(expr, ",")}
	p.fw = len(p.pats)
	for i, s := range p.pats {
		if isWildcard(s) || s == "_all" {
			p.fw = i
			break
		}
	}
	return p
}

func (p aliasPatterns) exclusion(i int) bool {
	return i > 0 && i >= p.fw && strings.HasPrefix(p.pats[i], "-")
}

func (p aliasPatterns) match(alias string) bool {
	matched := false
	for i, s := range p.pats {
		if p.exclusion(i) {
			if globMatch(s[1:], alias) {
				matched = false
			}
		} else if s == "_all" || globMatch(s, alias) {
			matched = true
		}
	}
	return matched
}

// missing returns the explicitly named aliases not in found.
func (p aliasPatterns) missing(found map[string]bool) []string {
	var out []string
	for i, s := range p.pats {
		if s == "_all" || isWildcard(s) || p.exclusion(i) {
			continue
		}
		excluded := false
		for j := max(i+1, p.fw); j < len(p.pats); j++ {
			if p.exclusion(j) && globMatch(p.pats[j][1:], s) {
				excluded = true
				break
			}
		}
		if !excluded && !found[s] {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// aliasQuery runs GET _alias: the per-index view and the missing names.
func (c *call) aliasQuery() (map[string]any, []string, *esError) {
	expr, names := "", ""
	switch {
	case len(c.parts) == 2 && (c.parts[0] == "_alias" || c.parts[0] == "_aliases"):
		names = c.parts[1]
	case len(c.parts) == 2:
		expr = c.parts[0]
	case len(c.parts) == 3:
		expr, names = c.parts[0], c.parts[2]
	}
	targets, err := c.s.resolve(expr, c.resolveOpts())
	if err != nil {
		return nil, nil, err
	}
	out := map[string]any{}
	if names == "" {
		for _, ix := range targets {
			out[ix.name] = map[string]any{"aliases": ix.aliasesView(nil)}
		}
		return out, nil, nil
	}
	p := newAliasPatterns(names)
	found := map[string]bool{}
	for _, ix := range targets {
		view := ix.aliasesView(p.match)
		if len(view) == 0 {
			continue
		}
		for a := range view {
			found[a] = true
		}
		out[ix.name] = map[string]any{"aliases": view}
	}
	return out, p.missing(found), nil
}

// localWarning is ES 8.19's deprecation warning for ?local on get-aliases
// requests (GET and HEAD), sent whatever the answer.
const localWarning = "the [?local=true] query parameter to get-aliases requests has no effect and will be removed in a future version"

// warnLocal adds localWarning to rep when the request has ?local.
func (c *call) warnLocal(rep reply) reply {
	if c.params.Has("local") {
		rep.warnings = append(rep.warnings, localWarning)
	}
	return rep
}

// getAlias serves GET /_alias[/{name}] and /{index}/_alias[/{name}].
func (c *call) getAlias() reply { return c.warnLocal(c.getAliasReply()) }

func (c *call) getAliasReply() reply {
	out, missing, err := c.aliasQuery()
	if err != nil {
		return fail(err)
	}
	if len(missing) > 0 {
		msg := "alias [" + missing[0] + "] missing"
		if len(missing) > 1 {
			msg = "aliases [" + strings.Join(missing, ",") + "] missing"
		}
		out["error"], out["status"] = msg, http.StatusNotFound
		return reply{status: http.StatusNotFound, body: out}
	}
	return ok(out)
}

// existsAlias serves HEAD /_alias/{name} and /{index}/_alias/{name}.
func (c *call) existsAlias() reply { return c.warnLocal(c.existsAliasReply()) }

func (c *call) existsAliasReply() reply {
	out, missing, err := c.aliasQuery()
	if err != nil || len(missing) > 0 || len(out) == 0 {
		return reply{status: http.StatusNotFound, body: map[string]any{}}
	}
	return ok(map[string]any{})
}

// putAlias serves PUT|POST /{index}/_alias/{name}.
func (c *call) putAlias() reply {
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	// ES 8.19's put-alias handler reads only these fields and ignores the
	// rest (is_hidden and unknown fields included), unlike _aliases actions
	// and index creation, which refuse unknown fields.
	known := map[string]any{}
	for _, k := range []string{"filter", "routing", "index_routing", "search_routing", "is_write_index"} {
		if v, ok := body[k]; ok {
			known[k] = v
		}
	}
	meta, err := parseAliasMeta(known)
	if err != nil {
		return fail(err)
	}
	act := map[string]any{"index": c.parts[0], "alias": c.parts[2]}
	return c.s.runAliasActions([]aliasAction{{kind: "add", spec: act, meta: meta}})
}

// deleteAlias serves DELETE /{index}/_alias/{name}.
func (c *call) deleteAlias() reply {
	targets, err := c.s.resolve(c.parts[0], c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	p := newAliasPatterns(c.parts[2])
	var removed bool
	for _, ix := range targets {
		for a := range ix.aliases {
			if p.match(a) {
				delete(ix.aliases, a)
				removed = true
			}
		}
	}
	if !removed {
		return fail(aliasesMissing(strings.Split(c.parts[2], ",")))
	}
	return ok(map[string]any{"acknowledged": true})
}
