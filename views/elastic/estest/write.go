package estest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// writeReq is one document write, from _bulk or a single-document API.
type writeReq struct {
	action string // index, create, update, delete (op_type create turns index into create)
	index  string // index or alias as named
	id     string
	hasID  bool
	source []byte     // index/create
	upd    updateSpec // update

	version       int64
	hasVersion    bool
	versionType   string // "" means internal
	ifSeqNo       int64
	hasIfSeqNo    bool
	ifPrimaryTerm int64
	hasIfTerm     bool
	requireAlias  bool
	routing       string
}

// writeRes is the outcome of one write.
type writeRes struct {
	action  string // the response key: index, create, update, delete
	ix      *index
	index   string
	id      string
	status  int
	result  string
	version int64
	seqNo   int64
	noop    bool
	err     *esError
	getSrc  map[string]any // update with _source: the new source
	shard   int            // the shard written
}

func (r *writeRes) fields() map[string]any {
	if r.err != nil {
		return map[string]any{"_index": r.index, "_id": r.id, "status": r.status, "error": r.err.object()}
	}
	m := map[string]any{"_index": r.index, "_id": r.id, "_version": r.version, "result": r.result,
		"_seq_no": r.seqNo, "_primary_term": 1}
	if r.noop {
		m["_shards"] = map[string]any{"total": 0, "successful": 0, "failed": 0}
	} else {
		m["_shards"] = r.ix.writeShards()
	}
	return m
}

// validate returns the request-validation messages of ES's
// DocWriteRequest.validate for this write.
func (w *writeReq) validate() []string {
	var msgs []string
	vt := w.versionType
	if vt == "" {
		vt = "internal"
	}
	switch w.action {
	case "create":
		if vt != "internal" {
			msgs = append(msgs, "create operations only support internal versioning. use index instead")
		}
	case "update":
		if vt != "internal" {
			msgs = append(msgs, "version type ["+vt+"] is not supported by the update API")
		} else if w.hasVersion {
			msgs = append(msgs, "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead")
		}
		if w.upd.doc == nil && w.upd.upsert == nil && !w.upd.script {
			msgs = append(msgs, "script or doc is missing")
		}
	}
	if w.action == "index" || w.action == "delete" {
		if vt == "internal" && w.hasVersion {
			msgs = append(msgs, "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead")
		}
	}
	if w.action != "update" && w.action != "create" && vt != "internal" && vt != "force" {
		name := map[string]string{"external": "EXTERNAL", "external_gt": "EXTERNAL", "external_gte": "EXTERNAL_GTE"}[vt]
		switch {
		case name == "":
			msgs = append(msgs, "version type ["+vt+"] is not supported")
		case !w.hasVersion:
			msgs = append(msgs, "illegal version value [-3] for version type ["+name+"]")
		case w.version < 0:
			msgs = append(msgs, "illegal version value ["+itoa(w.version)+"] for version type ["+name+"]")
		}
	}
	if w.hasIfSeqNo || w.hasIfTerm {
		if w.hasVersion || vt != "internal" {
			msgs = append(msgs, "compare and write operations can not use versioning")
		}
		if w.hasIfSeqNo && w.ifSeqNo < 0 {
			msgs = append(msgs, "ifSeqNo ["+itoa(w.ifSeqNo)+"] must be non negative")
		}
		if w.hasIfSeqNo && (!w.hasIfTerm || w.ifPrimaryTerm == 0) {
			msgs = append(msgs, "ifSeqNo is set, but primary term is [0]")
		}
		if w.hasIfTerm && !w.hasIfSeqNo {
			msgs = append(msgs, "ifSeqNo is unassigned, but primary term is ["+itoa(w.ifPrimaryTerm)+"]")
		}
	}
	if (w.action == "index" || w.action == "create") && w.source == nil {
		msgs = append(msgs, "source is missing")
	}
	if w.action == "delete" && !w.hasID {
		msgs = append(msgs, "id is missing")
	}
	if len(w.id) > 512 {
		msgs = append(msgs, "id ["+w.id+"] is too long, must be no longer than 512 bytes but was: "+itoa(int64(len(w.id))))
	}
	return msgs
}

// writeIndex resolves the index a write goes to: a concrete index, an
// alias's write index, or a new index (auto-create).
func (s *Server) writeIndex(name string, requireAlias bool) (*index, *esError) {
	if al := s.aliasIndices(name); len(al) > 0 {
		var write *index
		for _, ix := range al {
			if w := ix.aliases[name].isWriteIndex; w != nil && *w {
				write = ix
			}
		}
		if write == nil && len(al) == 1 {
			if w := al[0].aliases[name].isWriteIndex; w == nil || *w {
				write = al[0]
			}
		}
		if write == nil {
			return nil, illegalArg("no write index is defined for alias [%s]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index", name)
		}
		return write, nil
	}
	if requireAlias {
		return nil, indexNotFound(name).withReason("no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias", name, name)
	}
	if ix, ok := s.indices[name]; ok {
		return ix, nil
	}
	return s.autoCreate(name)
}

func (e *esError) withReason(format string, args ...any) *esError {
	e.reason = sprintf(format, args...)
	return e
}

// newID returns a 20-character id like ES's auto-generated ones.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// current returns the version state of id: the live document, or a
// tombstone younger than gc_deletes.
func (ix *index) current(id string) (d *doc, t *tomb) {
	if d, ok := ix.docs[id]; ok {
		return d, nil
	}
	if tb, ok := ix.tombs[id]; ok {
		return nil, &tb
	}
	return nil, nil
}

func conflict(ix *index, id, format string, args ...any) *esError {
	return newErr(http.StatusConflict, "version_conflict_engine_exception", "[%s]: version conflict, "+format, append([]any{id}, args...)...).onShard(ix)
}

// checkVersion applies the version_type / if_seq_no rules and returns the
// version the write will get.
func (ix *index) checkVersion(w *writeReq, create bool) (int64, *esError) {
	d, t := ix.current(w.id)
	var cur int64 = -1 // -1: not found
	if d != nil {
		cur = d.version
	} else if t != nil {
		cur = t.version
	}
	if w.hasIfSeqNo {
		if d == nil {
			return 0, conflict(ix, w.id, "required seqNo [%d], primary term [%d]. but no document was found", w.ifSeqNo, w.ifPrimaryTerm)
		}
		if d.seqNo != w.ifSeqNo || w.ifPrimaryTerm != 1 {
			return 0, conflict(ix, w.id, "required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [1]", w.ifSeqNo, w.ifPrimaryTerm, d.seqNo)
		}
	}
	if create && d != nil {
		return 0, conflict(ix, w.id, "document already exists (current version [%d])", d.version)
	}
	switch w.versionType {
	case "external", "external_gt":
		if cur >= 0 && cur >= w.version {
			return 0, conflict(ix, w.id, "current version [%d] is higher or equal to the one provided [%d]", cur, w.version)
		}
		return w.version, nil
	case "external_gte":
		if cur >= 0 && cur > w.version {
			return 0, conflict(ix, w.id, "current version [%d] is higher than the one provided [%d]", cur, w.version)
		}
		return w.version, nil
	case "force":
		return w.version, nil
	}
	if cur < 0 {
		return 1, nil
	}
	return cur + 1, nil
}

// put stores a new revision of a document.
func (ix *index) put(id string, raw []byte, src map[string]any, version int64, routing string) *doc {
	ix.seqNo++
	d := &doc{id: id, raw: raw, source: src, version: version, seqNo: ix.seqNo, routing: routing, shard: ix.shardOf(id, routing)}
	ix.docs[id] = d
	delete(ix.tombs, id)
	ix.dirtyShards[d.shard] = true
	return d
}

// apply performs one validated write. It never returns a whole-request
// error: failures are in writeRes.err.
func (s *Server) apply(w *writeReq) *writeRes {
	res := &writeRes{action: w.action, index: w.index, id: w.id}
	failWith := func(e *esError) *writeRes {
		res.err, res.status = e, e.status
		return res
	}
	if w.hasID && w.id == "" {
		return failWith(illegalArg("if _id is specified it must not be empty"))
	}
	if w.action == "delete" && (w.versionType == "" || w.versionType == "internal") && s.indices[w.index] == nil &&
		len(s.aliasIndices(w.index)) == 0 && !w.requireAlias {
		// ES does not auto-create an index for an internally versioned delete.
		return failWith(indexNotFound(w.index))
	}
	ix, err := s.writeIndex(w.index, w.requireAlias)
	if err != nil {
		return failWith(err)
	}
	res.ix, res.index = ix, ix.name
	if !w.hasID && w.action != "delete" && w.action != "update" {
		w.id, w.hasID, res.id = newID(), true, ""
		res.id = w.id
	}
	switch w.action {
	case "index", "create":
		src, newMapping, perr := ix.parseDocument(w.id, w.source)
		if perr != nil {
			return failWith(perr.onIndex(ix))
		}
		existed := ix.docs[w.id] != nil
		v, verr := ix.checkVersion(w, w.action == "create")
		if verr != nil {
			return failWith(verr)
		}
		if newMapping != nil {
			ix.mapping = newMapping
		}
		d := ix.put(w.id, w.source, src, v, w.routing)
		res.version, res.seqNo, res.shard = d.version, d.seqNo, d.shard
		res.result, res.status = "created", http.StatusCreated
		if existed {
			res.result, res.status = "updated", http.StatusOK
		}
	case "delete":
		v, verr := ix.checkVersion(w, false)
		if verr != nil {
			return failWith(verr)
		}
		old, found := ix.docs[w.id]
		res.shard = ix.shardOf(w.id, w.routing)
		if found {
			res.shard = old.shard
		}
		delete(ix.docs, w.id)
		ix.seqNo++
		ix.tombs[w.id] = tomb{version: v, seqNo: ix.seqNo, at: s.opts.Clock()}
		ix.dirtyShards[res.shard] = true
		res.version, res.seqNo = v, ix.seqNo
		res.result, res.status = "deleted", http.StatusOK
		if !found {
			res.result, res.status = "not_found", http.StatusNotFound
		}
	case "update":
		return s.applyUpdate(w, ix, res)
	}
	return res
}

// gcTombstones forgets tombstones older than index.gc_deletes.
func (ix *index) gcTombstones(now time.Time) {
	gc := ix.gcDeletes()
	for id, t := range ix.tombs {
		if gc < 0 || now.Sub(t.at) >= gc {
			delete(ix.tombs, id)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
