package estest

import (
	"encoding/json"
	"net/http"
	"reflect"
)

// updateSpec is the body of an update: partial doc, upserts, noop
// detection. Scripts are recognised only to be refused.
type updateSpec struct {
	doc         map[string]any
	upsert      map[string]any
	docAsUpsert bool
	detectNoop  bool
	script      bool
	fetchSource bool
}

// parseUpdate reads an update body.
func parseUpdate(body map[string]any) (updateSpec, *esError) {
	u := updateSpec{detectNoop: true}
	for k, v := range body {
		switch k {
		case "doc":
			m, ok := v.(map[string]any)
			if !ok {
				return u, xcontentErr("[1:8] [UpdateRequest] failed to parse field [doc]")
			}
			u.doc = m
		case "upsert":
			m, ok := v.(map[string]any)
			if !ok {
				return u, xcontentErr("[1:11] [UpdateRequest] failed to parse field [upsert]")
			}
			u.upsert = m
		case "doc_as_upsert":
			u.docAsUpsert, _ = v.(bool)
		case "detect_noop":
			if b, ok := v.(bool); ok {
				u.detectNoop = b
			}
		case "script", "scripted_upsert":
			u.script = true
		case "_source":
			switch t := v.(type) {
			case bool:
				u.fetchSource = t
			default:
				u.fetchSource = true
			}
		default:
			return u, xcontentErr("[1:2] [UpdateRequest] unknown field [%s]", k)
		}
	}
	return u, nil
}

// deepMerge merges src into dst as ES's partial update does: objects merge
// recursively, everything else (arrays included) is replaced. It reports
// whether dst changed.
func deepMerge(dst, src map[string]any) bool {
	changed := false
	for k, sv := range src {
		dv, ok := dst[k]
		sm, sIsMap := sv.(map[string]any)
		dm, dIsMap := dv.(map[string]any)
		if ok && sIsMap && dIsMap {
			if deepMerge(dm, sm) {
				changed = true
			}
			continue
		}
		if !ok || !reflect.DeepEqual(dv, sv) {
			dst[k] = copyValue(sv)
			changed = true
		}
	}
	return changed
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = copyValue(e)
		}
		return a
	}
	return v
}

// applyUpdate performs an update on ix.
func (s *Server) applyUpdate(w *writeReq, ix *index, res *writeRes) *writeRes {
	failWith := func(e *esError) *writeRes {
		res.err, res.status = e, e.status
		return res
	}
	u := w.upd
	if u.script {
		return failWith(illegalArg("estest does not support scripts in update requests"))
	}
	d := ix.docs[w.id]
	var src map[string]any
	if d == nil {
		switch {
		case u.docAsUpsert && u.doc != nil:
			src = u.doc
		case u.upsert != nil:
			src = u.upsert
		default:
			return failWith(newErr(http.StatusNotFound, "document_missing_exception", "[%s]: document missing", w.id).onShard(ix))
		}
	} else {
		merged := copyValue(d.source).(map[string]any)
		changed := deepMerge(merged, u.doc)
		if !changed && u.detectNoop {
			if w.hasIfSeqNo {
				if _, err := ix.checkVersion(w, false); err != nil {
					return failWith(err)
				}
			}
			res.version, res.seqNo, res.result, res.status, res.noop = d.version, d.seqNo, "noop", http.StatusOK, true
			res.shard = d.shard
			if u.fetchSource {
				res.getSrc = d.source
			}
			return res
		}
		src = merged
	}
	raw, err := json.Marshal(src)
	if err != nil {
		return failWith(illegalArg("estest: encode updated source: %v", err))
	}
	decoded, newMapping, perr := ix.parseDocument(w.id, raw)
	if perr != nil {
		return failWith(perr.onIndex(ix))
	}
	uw := *w
	uw.versionType = ""
	v, verr := ix.checkVersion(&uw, false)
	if verr != nil {
		return failWith(verr)
	}
	if newMapping != nil {
		ix.mapping = newMapping
	}
	nd := ix.put(w.id, raw, decoded, v, w.routing)
	res.version, res.seqNo, res.shard = nd.version, nd.seqNo, nd.shard
	res.result, res.status = "updated", http.StatusOK
	if d == nil {
		res.result, res.status = "created", http.StatusCreated
	}
	if u.fetchSource {
		res.getSrc = decoded
	}
	return res
}
