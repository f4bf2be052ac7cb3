package estest

import (
	"net/http"
	"strings"
)

// createIndex serves PUT /{index}.
func (c *call) createIndex() reply {
	s, name := c.s, c.parts[0]
	if err := validateIndexName(name); err != nil {
		return fail(err)
	}
	if ix, ok := s.indices[name]; ok {
		return fail(badRequest("resource_already_exists_exception", "index [%s/%s] already exists", name, ix.uuid).onIndex(ix))
	}
	if len(s.aliasIndices(name)) > 0 {
		return fail(badRequest("invalid_index_name_exception", "Invalid index name [%s], already exists as alias", name).with("index_uuid", "_na_").with("index", name))
	}
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	var settings map[string]string
	var m *mapping
	var aliases map[string]*aliasMeta
	for k, v := range body {
		switch k {
		case "settings":
			sm, _ := v.(map[string]any)
			if settings, err = flattenSettings(sm); err != nil {
				return fail(err)
			}
		case "mappings":
			mm, _ := v.(map[string]any)
			if m, err = parseMapping(mm); err != nil {
				return fail(err)
			}
		case "aliases":
			am, _ := v.(map[string]any)
			aliases = map[string]*aliasMeta{}
			for _, a := range sortedKeys(am) {
				if err := s.validateAliasName(a, name); err != nil {
					return fail(err)
				}
				spec, _ := am[a].(map[string]any)
				meta, err := parseAliasMeta(spec)
				if err != nil {
					return fail(err)
				}
				aliases[a] = meta
			}
		default:
			return fail(parseErr("unknown key [%s] for create index", k))
		}
	}
	ix := s.newIndex(name, settings, m)
	for a, meta := range aliases {
		ix.aliases[a] = meta
	}
	s.indices[name] = ix
	return ok(map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

// autoCreate creates an index for a write to a missing one, as
// action.auto_create_index does.
func (s *Server) autoCreate(name string) (*index, *esError) {
	if s.opts.DisableAutoCreateIndex {
		return nil, indexNotFound(name)
	}
	if err := validateIndexName(name); err != nil {
		return nil, err
	}
	ix := s.newIndex(name, nil, nil)
	s.indices[name] = ix
	return ix, nil
}

// deleteIndex serves DELETE /{index}.
func (c *call) deleteIndex() reply {
	s, expr := c.s, c.parts[0]
	if s.destructiveRequiresName {
		for _, it := range strings.Split(expr, ",") {
			if isAll(it) || isWildcard(it) {
				return fail(illegalArg("Wildcard expressions or all indices are not allowed"))
			}
		}
	}
	o := c.resolveOpts()
	o.noAliases = true
	targets, err := s.resolve(expr, o)
	if err != nil {
		return fail(err)
	}
	for _, ix := range targets {
		delete(s.indices, ix.name)
	}
	return ok(map[string]any{"acknowledged": true})
}

// existsIndex serves HEAD /{index}.
func (c *call) existsIndex() reply {
	targets, err := c.s.resolve(c.parts[0], c.resolveOpts())
	if err != nil || len(targets) == 0 {
		return reply{status: http.StatusNotFound, body: map[string]any{}}
	}
	return ok(map[string]any{})
}

// getIndex serves GET /{index}.
func (c *call) getIndex() reply {
	targets, err := c.s.resolve(c.parts[0], c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	out := map[string]any{}
	for _, ix := range targets {
		out[ix.name] = map[string]any{
			"aliases":  ix.aliasesView(nil),
			"mappings": ix.mapping.view(),
			"settings": ix.settingsView(),
		}
	}
	return ok(out)
}

// getSettings serves GET /_settings and /{index}/_settings.
func (c *call) getSettings() reply {
	expr := ""
	if len(c.parts) > 1 {
		expr = c.parts[0]
	}
	targets, err := c.s.resolve(expr, c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	out := map[string]any{}
	for _, ix := range targets {
		out[ix.name] = map[string]any{"settings": ix.settingsView()}
	}
	return ok(out)
}

// putSettings serves PUT /{index}/_settings for dynamic settings.
func (c *call) putSettings() reply {
	targets, err := c.s.resolve(c.parts[0], c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	if inner, ok := body["settings"].(map[string]any); ok && len(body) == 1 {
		body = inner
	}
	flat, err := flattenSettings(body)
	if err != nil {
		return fail(err)
	}
	for k := range flat {
		if k == "index.number_of_shards" {
			return fail(illegalArg("Can't update non dynamic settings [[index.number_of_shards]] for open indices %s", indexList(targets)))
		}
	}
	for _, ix := range targets {
		for k, v := range flat {
			ix.settings[k] = v
		}
	}
	return ok(map[string]any{"acknowledged": true})
}

func indexList(ixs []*index) string {
	parts := make([]string, len(ixs))
	for i, ix := range ixs {
		parts[i] = "[" + ix.name + "/" + ix.uuid + "]"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// getMapping serves GET /_mapping and /{index}/_mapping.
func (c *call) getMapping() reply {
	expr := ""
	if len(c.parts) > 1 {
		expr = c.parts[0]
	}
	targets, err := c.s.resolve(expr, c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	out := map[string]any{}
	for _, ix := range targets {
		out[ix.name] = map[string]any{"mappings": ix.mapping.view()}
	}
	return ok(out)
}

// putMapping serves PUT /{index}/_mapping: new fields are added, existing
// ones must keep their type.
func (c *call) putMapping() reply {
	targets, err := c.s.resolve(c.parts[0], c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	upd, err := parseMapping(body)
	if err != nil {
		return fail(err)
	}
	merged := make([]*mapping, len(targets))
	for i, ix := range targets {
		if merged[i], err = ix.mapping.merge(upd); err != nil {
			return fail(err)
		}
	}
	for i, ix := range targets {
		ix.mapping = merged[i]
	}
	return ok(map[string]any{"acknowledged": true})
}
