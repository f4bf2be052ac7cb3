package estest

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

var bulkMetaKeys = map[string]bool{
	"_index": true, "_id": true, "routing": true, "op_type": true, "version": true, "version_type": true,
	"if_seq_no": true, "if_primary_term": true, "retry_on_conflict": true, "pipeline": true,
	"require_alias": true, "require_data_stream": true, "list_executed_pipelines": true,
	"dynamic_templates": true, "_source": true,
}

func malformed(line int, format string, args ...any) *esError {
	return illegalArg("Malformed action/metadata line [%d], %s", line, fmt.Sprintf(format, args...))
}

// parseBulk parses an NDJSON bulk body into writes. Structural errors fail
// the whole request.
func (c *call) parseBulk(defIndex string, defRequireAlias bool) ([]*writeReq, *esError) {
	body := c.body
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, validationFailed([]string{"no requests added"})
	}
	if body[len(body)-1] != '\n' {
		return nil, illegalArg("The bulk request must be terminated by a newline [\\n]")
	}
	lines := bytes.Split(body[:len(body)-1], []byte{'\n'})
	var out []*writeReq
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := bytes.TrimSpace(lines[i])
		if len(line) == 0 {
			continue
		}
		tree, err := parseTree(line)
		if err != nil {
			return nil, xcontentErr("[%d:1] Malformed action/metadata line [%d]: %v", lineNo, lineNo, err)
		}
		if tree.kind != 'o' {
			return nil, malformed(lineNo, "expected START_OBJECT or END_OBJECT but found [%s]", tree.tokenName())
		}
		if len(tree.keys) == 0 {
			return nil, malformed(lineNo, "expected FIELD_NAME but found [END_OBJECT]")
		}
		if len(tree.keys) > 1 {
			return nil, malformed(lineNo, "expected END_OBJECT but found [FIELD_NAME]")
		}
		action := tree.keys[0]
		switch action {
		case "index", "create", "update", "delete":
		default:
			return nil, malformed(lineNo, "expected field [create], [delete], [index] or [update] but found [%s]", action)
		}
		meta := tree.vals[0]
		if meta.kind != 'o' {
			return nil, malformed(lineNo, "expected START_OBJECT but found [%s]", meta.tokenName())
		}
		w := &writeReq{action: action, index: defIndex, requireAlias: defRequireAlias}
		if err := w.setMeta(meta, lineNo, c.param("routing")); err != nil {
			return nil, err
		}
		if action != "delete" {
			i++
			if i < len(lines) {
				src := bytes.TrimSpace(lines[i])
				if action == "update" {
					m, err := decodeObject(src)
					if err != nil {
						return nil, err
					}
					if w.upd, err = parseUpdate(m); err != nil {
						return nil, err
					}
				} else {
					w.source = append([]byte(nil), src...)
				}
			}
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, validationFailed([]string{"no requests added"})
	}
	return out, nil
}

// setMeta reads an action line's metadata.
func (w *writeReq) setMeta(meta *jnode, lineNo int, defRouting string) *esError {
	w.routing = defRouting
	for j, k := range meta.keys {
		v := meta.vals[j]
		if !bulkMetaKeys[k] {
			return illegalArg("Action/metadata line [%d] contains an unknown parameter [%s]", lineNo, k)
		}
		switch k {
		case "_index":
			w.index = v.scalar()
		case "_id":
			if v.kind != 'z' {
				w.id, w.hasID = v.scalar(), true
			}
		case "routing":
			w.routing = v.scalar()
		case "op_type":
			switch v.scalar() {
			case "create":
				w.action = "create"
			case "index":
			default:
				return illegalArg("opType must be 'create' or 'index', found: [%s]", v.scalar())
			}
		case "version", "if_seq_no", "if_primary_term":
			n, err := strconv.ParseInt(v.scalar(), 10, 64)
			if err != nil {
				return illegalArg("[%s] failed to parse field [%s]", "bulk", k)
			}
			switch k {
			case "version":
				w.version, w.hasVersion = n, true
			case "if_seq_no":
				w.ifSeqNo, w.hasIfSeqNo = n, true
			default:
				w.ifPrimaryTerm, w.hasIfTerm = n, true
			}
		case "version_type":
			w.versionType = v.scalar()
		case "require_alias":
			w.requireAlias = v.scalar() == "true"
		case "_source":
			w.upd.fetchSource = v.scalar() != "false"
		}
	}
	return nil
}

// scalar renders a scalar node as a string.
func (n *jnode) scalar() string {
	switch n.kind {
	case 's':
		return n.str
	case 'n':
		return n.num.String()
	case 'b':
		return strconv.FormatBool(n.b)
	}
	return ""
}

// refreshPolicy reads the refresh URL parameter: "true", "wait_for" or
// "false".
func (c *call) refreshPolicy() (string, *esError) {
	v, ok := c.params["refresh"]
	if !ok {
		return "false", nil
	}
	switch v[0] {
	case "", "true":
		return "true", nil
	case "false", "wait_for":
		return v[0], nil
	}
	return "", illegalArg("Unknown value for refresh: [%s].", v[0])
}

// bulk serves POST /_bulk and /{index}/_bulk.
func (c *call) bulk() reply {
	s := c.s
	start := time.Now()
	s.bulkRequests.Add(1)
	policy, err := c.refreshPolicy()
	if err != nil {
		return fail(err)
	}
	defIndex := ""
	if len(c.parts) == 2 {
		defIndex = c.parts[0]
	}
	writes, err := c.parseBulk(defIndex, c.boolParam("require_alias", false))
	if err != nil {
		return fail(err)
	}
	var msgs []string
	for _, w := range writes {
		if w.index == "" {
			msgs = append(msgs, "index is missing")
		}
		msgs = append(msgs, w.validate()...)
	}
	if len(msgs) > 0 {
		return fail(validationFailed(msgs))
	}
	items := make([]any, 0, len(writes))
	hasErrors := false
	touched := map[*index]map[int]bool{}
	fetchAll := c.boolParam("_source", false)
	for _, w := range writes {
		s.bulkItems.Add(1)
		var res *writeRes
		if ferr := s.faults.rejectItem(w.action, w.index, w.id); ferr != nil {
			res = &writeRes{action: w.action, index: w.index, id: w.id, status: ferr.status, err: ferr}
			if ix, ok := s.indices[w.index]; ok {
				ferr.onIndex(ix)
			}
		} else {
			if fetchAll && w.action == "update" {
				w.upd.fetchSource = true
			}
			res = s.apply(w)
		}
		m := res.fields()
		m["status"] = res.status
		if res.err != nil {
			hasErrors = true
		} else {
			if touched[res.ix] == nil {
				touched[res.ix] = map[int]bool{}
			}
			touched[res.ix][res.shard] = true
			if policy == "true" && !res.noop {
				m["forced_refresh"] = true
			}
			if res.getSrc != nil {
				m["get"] = map[string]any{"_seq_no": res.seqNo, "_primary_term": 1, "found": true, "_source": res.getSrc}
			}
		}
		items = append(items, map[string]any{res.action: m})
	}
	if policy != "false" {
		now := s.opts.Clock()
		for ix, shards := range touched {
			ix.refreshShards(now, shards)
		}
	}
	return ok(map[string]any{"took": time.Since(start).Milliseconds(), "errors": hasErrors, "items": items})
}
