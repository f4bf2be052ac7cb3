package bleve

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/b2dc4357/sourced/views"
)

// held is the version the index holds for a document id, and whether it is
// a tombstone.
type held struct {
	version uint64
	deleted bool
	// src is the document's source, kept by buffered writes for Get.
	src []byte
}

// Bulk applies the operations and returns one result per operation, in
// order. Operations are grouped by concrete index (aliases resolve to their
// write index) and each group is applied as one bleve batch, which is on
// disk when Bulk returns; with Config.RefreshInterval, each group is added
// to its index's buffer instead, seen by Get and later writes at once and
// applied by the next refresh. Operations on the same id apply in order.
//
// Results follow Elasticsearch's bulk API with version_type=external: an
// index operation is Applied with 201 (created, also over a tombstone) or
// 200 (updated); a delete is Applied with 200, or 404 when there was no
// document (it leaves a tombstone all the same); an operation whose version
// is not above the held one (document or tombstone) is Stale with 409; a
// document the mapping refuses is Refused with 400; a missing index, or an
// alias without a write index, is Fatal. An error means a batch failed: the
// groups before it were applied, the rest were not.
func (s *Store) Bulk(ctx context.Context, ops []views.Op) ([]views.ItemResult, error) {
	results := make([]views.ItemResult, len(ops))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	var order []*index
	groups := map[*index][]int{}
	for i, op := range ops {
		ix, fatal := s.writeTarget(op.Index)
		if ix == nil {
			results[i] = fatal
			continue
		}
		if groups[ix] == nil {
			order = append(order, ix)
		}
		groups[ix] = append(groups[ix], i)
	}
	for _, ix := range order {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bleve: bulk: %w", err)
		}
		full, err := ix.apply(ops, groups[ix], results)
		if err != nil {
			return nil, fmt.Errorf("bleve: bulk into index %q: %w", ix.name, err)
		}
		if full {
			if err := ix.refresh(); err != nil {
				return nil, fmt.Errorf("bleve: bulk into index %q: refresh of a full buffer: %w", ix.name, err)
			}
		}
	}
	if len(order) > 0 {
		s.written.broadcast()
	}
	return results, nil
}

// Written returns a channel closed at the end of the next Bulk that wrote
// to an index: a reader waiting for a document to reach a version (the
// gateway's min_version) wakes as soon as it may have, instead of at its
// next poll. Take the channel before reading, so a write in between is
// not missed.
func (s *Store) Written() <-chan struct{} { return s.written.wait() }

// signal is a broadcast: wait returns a channel that broadcast closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (sg *signal) wait() <-chan struct{} {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if sg.ch == nil {
		sg.ch = make(chan struct{})
	}
	return sg.ch
}

func (sg *signal) broadcast() {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if sg.ch != nil {
		close(sg.ch)
		sg.ch = nil
	}
}

// apply applies ops[i] for each i of which, in order, as one batch (or
// adds them to the buffer, returning whether it is full), and fills
// results[i].
func (ix *index) apply(ops []views.Op, which []int, results []views.ItemResult) (full bool, err error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.failed != nil {
		return false, ix.failed
	}
	// The index's own versions are read, for ids neither buffered nor
	// remembered, from one snapshot opened at the first such id.
	var reader *versionReader
	defer func() {
		if reader != nil {
			reader.close()
		}
	}()
	// pending holds what the batch leaves for each id it touches, so that
	// later operations on the same id see the earlier ones: this Bulk's
	// batch, or the buffer of the writes since the last refresh.
	var batch *bleve.Batch
	var pending map[string]held
	if ix.maxBuffered > 0 {
		buf := ix.buffer()
		batch, pending = buf.batch, buf.held
	} else {
		batch, pending = ix.bi.NewBatch(), make(map[string]held, len(which))
	}
	for _, i := range which {
		op := &ops[i]
		if r, ok := checkOp(op); !ok {
			results[i] = r
			continue
		}
		var doc *document.Document
		if !op.Delete {
			d, ref := ix.b.build(op.ID, op.Version, op.Doc)
			if ref != nil {
				results[i] = views.ItemResult{Outcome: views.Refused, Status: 400, Type: ref.typ, Reason: ref.reason}
				continue
			}
			doc = d
		}
		h, found := pending[op.ID]
		if !found {
			h, found = ix.applying.get(op.ID)
		}
		if !found {
			h, found = ix.versions.get(op.ID)
		}
		if !found {
			if reader == nil {
				if reader, err = ix.newVersionReader(); err != nil {
					return false, err
				}
			}
			if h, found, err = reader.get(op.ID); err != nil {
				return false, err
			}
			if found {
				ix.versions.put(op.ID, h)
			}
		}
		if found && h.version >= op.Version {
			results[i] = views.ItemResult{Outcome: views.Stale, Status: 409, Type: "version_conflict_engine_exception",
				Reason: fmt.Sprintf("[%s]: version conflict, current version [%d] is higher or equal to the one provided [%d]",
					op.ID, h.version, op.Version)}
			continue
		}
		live := found && !h.deleted
		if op.Delete {
			if err := batch.IndexAdvanced(ix.b.tombstone(op.ID, op.Version)); err != nil {
				return false, err
			}
			pending[op.ID] = held{version: op.Version, deleted: true}
			results[i] = views.ItemResult{Outcome: views.Applied, Status: 200}
			if !live {
				results[i].Status = 404
			}
			continue
		}
		if err := batch.IndexAdvanced(doc); err != nil {
			return false, err
		}
		pending[op.ID] = held{version: op.Version, src: op.Doc}
		results[i] = views.ItemResult{Outcome: views.Applied, Status: 201}
		if live {
			results[i].Status = 200
		}
	}
	if ix.maxBuffered > 0 {
		if len(pending) == 0 {
			ix.buf = nil // nothing written: no refresh to wait for
		}
		return len(pending) >= ix.maxBuffered, nil
	}
	if batch.Size() == 0 {
		return false, nil
	}
	if err := ix.bi.Batch(batch); err != nil {
		ix.versions.clear() // what the index holds is no longer known
		return false, err
	}
	ix.versions.remember(pending)
	return false, nil
}

// checkOp refuses operations Elasticsearch's bulk API rejects before they
// reach the index.
func checkOp(op *views.Op) (views.ItemResult, bool) {
	const typ = "action_request_validation_exception"
	switch {
	case op.ID == "":
		return views.ItemResult{Outcome: views.Refused, Status: 400, Type: typ,
			Reason: "Validation Failed: 1: an id must be provided if version type or value are set;"}, false
	case op.Version > math.MaxInt64:
		return views.ItemResult{Outcome: views.Refused, Status: 400, Type: typ,
			Reason: fmt.Sprintf("Validation Failed: 1: illegal version value [%d] for version type [EXTERNAL];", op.Version)}, false
	case !op.Delete && len(op.Doc) == 0:
		return views.ItemResult{Outcome: views.Refused, Status: 400, Type: typ,
			Reason: "Validation Failed: 1: source is missing;"}, false
	}
	return views.ItemResult{}, true
}

// versionReader reads the versions an index holds from the version doc
// values of one snapshot, without loading the stored source.
type versionReader struct {
	r   bindex.IndexReader
	dvr bindex.DocValueReader
}

func (ix *index) newVersionReader() (*versionReader, error) {
	adv, err := ix.bi.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	dvr, err := r.DocValueReader([]string{versionField, deletedField})
	if err != nil {
		r.Close()
		return nil, err
	}
	return &versionReader{r: r, dvr: dvr}, nil
}

// get returns the version held for id and whether there is one.
func (vr *versionReader) get(id string) (held, bool, error) {
	iid, err := vr.r.InternalID(id)
	if err != nil || iid == nil {
		return held{}, false, err
	}
	var h held
	var verr error
	err = vr.dvr.VisitDocValues(iid, func(field string, term []byte) {
		switch field {
		case versionField:
			h.version, verr = strconv.ParseUint(string(term), 10, 64)
		case deletedField:
			h.deleted = len(term) > 0 && term[0] == 'T'
		}
	})
	if err == nil && verr != nil {
		err = fmt.Errorf("read version of %q: %w", id, verr)
	}
	return h, err == nil, err
}

func (vr *versionReader) close() {
	vr.r.Close()
}
