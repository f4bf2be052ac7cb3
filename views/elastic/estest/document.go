package estest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// writeParams reads the versioning and routing URL parameters of a
// single-document write.
func (c *call) writeParams(w *writeReq) *esError {
	for _, k := range []string{"version", "if_seq_no", "if_primary_term"} {
		v := c.param(k)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return illegalArg("Failed to parse long parameter [%s] with value [%s]", k, v)
		}
		switch k {
		case "version":
			w.version, w.hasVersion = n, true
		case "if_seq_no":
			w.ifSeqNo, w.hasIfSeqNo = n, true
		default:
			w.ifPrimaryTerm, w.hasIfTerm = n, true
		}
	}
	w.versionType = c.param("version_type")
	w.routing = c.param("routing")
	w.requireAlias = c.boolParam("require_alias", false)
	return nil
}

// writeOne validates and applies a single-document write and renders the
// response, refreshing when asked.
func (c *call) writeOne(w *writeReq) reply {
	policy, err := c.refreshPolicy()
	if err != nil {
		return fail(err)
	}
	if msgs := w.validate(); len(msgs) > 0 {
		return fail(validationFailed(msgs))
	}
	res := c.s.apply(w)
	if res.err != nil {
		return fail(res.err)
	}
	m := res.fields()
	if policy != "false" && !res.noop {
		res.ix.refreshShards(c.s.opts.Clock(), map[int]bool{res.shard: true})
		if policy == "true" {
			m["forced_refresh"] = true
		}
	}
	if res.getSrc != nil {
		m["get"] = map[string]any{"_seq_no": res.seqNo, "_primary_term": 1, "found": true, "_source": res.getSrc}
	}
	return reply{status: res.status, body: m}
}

// indexDoc serves PUT|POST /{index}/_doc/{id}, POST /{index}/_doc and
// PUT|POST /{index}/_create/{id}.
func (c *call) indexDoc() reply {
	w := &writeReq{action: "index", index: c.parts[0]}
	if len(c.parts) == 3 {
		w.id, w.hasID = c.parts[2], true
		if c.parts[1] == "_create" {
			w.action = "create"
		}
	}
	switch c.param("op_type") {
	case "create":
		w.action = "create"
	case "", "index":
		if w.action == "create" && c.param("op_type") == "index" {
			return fail(illegalArg("opType must be 'create', found: [index]"))
		}
	default:
		return fail(illegalArg("opType must be 'create' or 'index', found: [%s]", c.param("op_type")))
	}
	if !w.hasID {
		w.action = "create"
	}
	if err := c.writeParams(w); err != nil {
		return fail(err)
	}
	if b := bytes.TrimSpace(c.body); len(b) > 0 {
		w.source = append([]byte(nil), b...)
	}
	return c.writeOne(w)
}

// deleteDoc serves DELETE /{index}/_doc/{id}.
func (c *call) deleteDoc() reply {
	w := &writeReq{action: "delete", index: c.parts[0], id: c.parts[2], hasID: true}
	if err := c.writeParams(w); err != nil {
		return fail(err)
	}
	return c.writeOne(w)
}

// update serves POST /{index}/_update/{id}.
func (c *call) update() reply {
	w := &writeReq{action: "update", index: c.parts[0], id: c.parts[2], hasID: true}
	if err := c.writeParams(w); err != nil {
		return fail(err)
	}
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	if w.upd, err = parseUpdate(body); err != nil {
		return fail(err)
	}
	if c.boolParam("_source", false) {
		w.upd.fetchSource = true
	}
	return c.writeOne(w)
}

// readIndex resolves the index of a single-document read.
func (s *Server) readIndex(name string) (*index, *esError) {
	if ix, ok := s.indices[name]; ok {
		return ix, nil
	}
	al := s.aliasIndices(name)
	switch len(al) {
	case 0:
		return nil, indexNotFound(name)
	case 1:
		return al[0], nil
	}
	names := make([]string, len(al))
	for i, ix := range al {
		names[i] = ix.name
	}
	return nil, illegalArg("alias [%s] has more than one index associated with it [%s], can't execute a single index op", name, strings.Join(names, ", "))
}

// lookup returns the document as GET sees it: live when realtime, else as
// of the last refresh.
func (c *call) lookup() (*index, *doc, *esError) {
	ix, err := c.s.readIndex(c.parts[0])
	if err != nil {
		return nil, nil, err
	}
	if c.boolParam("refresh", false) {
		ix.refresh(c.s.opts.Clock())
	}
	id := c.parts[2]
	var d *doc
	if c.boolParam("realtime", true) {
		d = ix.docs[id]
	} else {
		d = ix.searchByID[id]
	}
	if d != nil && c.param("version") != "" {
		v, _ := strconv.ParseInt(c.param("version"), 10, 64)
		if d.version != v {
			return ix, nil, conflict(ix, id, "current version [%d] is different than the one provided [%d]", d.version, v)
		}
	}
	return ix, d, nil
}

// getDoc serves GET /{index}/_doc/{id}.
func (c *call) getDoc() reply {
	ix, d, err := c.lookup()
	if err != nil {
		return fail(err)
	}
	id := c.parts[2]
	if d == nil {
		return reply{status: http.StatusNotFound, body: map[string]any{"_index": ix.name, "_id": id, "found": false}}
	}
	m := map[string]any{"_index": ix.name, "_id": id, "_version": d.version, "_seq_no": d.seqNo,
		"_primary_term": 1, "found": true}
	if d.routing != "" {
		m["_routing"] = d.routing
	}
	if src, ok := c.filterSource(d); ok {
		m["_source"] = src
	}
	return ok(m)
}

// filterSource applies _source, _source_includes and _source_excludes.
func (c *call) filterSource(d *doc) (any, bool) {
	sp := c.param("_source")
	if sp == "false" {
		return nil, false
	}
	var incl, excl []string
	if sp != "" && sp != "true" {
		incl = strings.Split(sp, ",")
	}
	if v := c.param("_source_includes"); v != "" {
		incl = strings.Split(v, ",")
	}
	if v := c.param("_source_excludes"); v != "" {
		excl = strings.Split(v, ",")
	}
	if incl == nil && excl == nil {
		return rawJSON(d.raw), true
	}
	return filterMap(d.source, "", incl, excl), true
}

// filterMap keeps the paths matching incl (all when empty) minus excl.
func filterMap(m map[string]any, prefix string, incl, excl []string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		p := prefix + k
		if matchesAny(excl, p) {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			if len(incl) == 0 || matchesAny(incl, p) {
				out[k] = filterMap(sub, p+".", nil, excl)
				continue
			}
			if f := filterMap(sub, p+".", incl, excl); len(f) > 0 {
				out[k] = f
			}
			continue
		}
		if len(incl) == 0 || matchesAny(incl, p) {
			out[k] = v
		}
	}
	return out
}

func matchesAny(pats []string, p string) bool {
	for _, pat := range pats {
		if globMatch(pat, p) || strings.HasPrefix(p, pat+".") {
			return true
		}
	}
	return false
}

// existsDoc serves HEAD /{index}/_doc/{id}.
func (c *call) existsDoc() reply {
	_, d, err := c.lookup()
	if err != nil || d == nil {
		return reply{status: http.StatusNotFound, body: map[string]any{}}
	}
	return ok(map[string]any{})
}

// getSource serves GET /{index}/_source/{id}.
func (c *call) getSource() reply {
	ix, d, err := c.lookup()
	if err != nil {
		return fail(err)
	}
	if d == nil {
		return fail(newErr(http.StatusNotFound, "resource_not_found_exception", "Document not found [%s]/[%s]", ix.name, c.parts[2]))
	}
	src, _ := c.filterSource(d)
	return ok(src)
}
