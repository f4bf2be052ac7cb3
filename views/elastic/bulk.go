package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// bulkFilterPath trims the _bulk response to what classification reads.
var bulkFilterPath = []string{
	"errors",
	"items.*.status",
	"items.*.error.type",
	"items.*.error.reason",
	"items.*.error.caused_by.type",
	"items.*.error.caused_by.reason",
}

// bulkState is the reusable memory of one Bulk call.
type bulkState struct {
	body   []byte
	resp   []byte // the response body
	sent   []int  // index in ops of each item sent, in body order
	items  []bulkItem
	single []int    // index in ops of each multi-line document, sent alone
	names  []string // distinct target names of the call
	kinds  []kind   // what each of names resolved to
}

// kind is what a target name resolved to.
type kind uint8

const (
	kindMissing kind = iota
	kindIndex
	kindAlias
)

// kindOf returns the kind of a name resolved by resolveAll.
func (st *bulkState) kindOf(name string) kind {
	for i, n := range st.names {
		if n == name {
			return st.kinds[i]
		}
	}
	return kindMissing
}

// resolveAll resolves the distinct valid target names of ops. Batches
// name one or two indices, so a slice beats a map.
func (s *Store) resolveAll(ctx context.Context, st *bulkState, ops []views.Op) error {
	for i := range ops {
		name := ops[i].Index
		if slices.Contains(st.names, name) || checkName(name) != nil {
			continue
		}
		t, exists, err := s.resolve(ctx, name)
		if err != nil {
			return err
		}
		k := kindMissing
		switch {
		case exists && t.alias:
			k = kindAlias
		case exists:
			k = kindIndex
		}
		st.names, st.kinds = append(st.names, name), append(st.kinds, k)
	}
	return nil
}

var bulkPool = sync.Pool{New: func() any { return new(bulkState) }}

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 32 << 20

func (st *bulkState) release() {
	if cap(st.body) > maxPooledBody || cap(st.resp) > maxPooledBody {
		return
	}
	st.body, st.resp, st.sent, st.single = st.body[:0], st.resp[:0], st.sent[:0], st.single[:0]
	clear(st.names)
	st.names, st.kinds = st.names[:0], st.kinds[:0]
	clear(st.items[:cap(st.items)])
	st.items = st.items[:0]
	bulkPool.Put(st)
}

// bulkItem is one entry of a _bulk response: an object with one key, the
// action.
type bulkItem struct {
	Index  itemResult `json:"index"`
	Create itemResult `json:"create"`
	Update itemResult `json:"update"`
	Delete itemResult `json:"delete"`
}

type itemResult struct {
	Status int         `json:"status"`
	Error  *errorCause `json:"error"`
}

func (it *bulkItem) result() *itemResult {
	switch {
	case it.Index.Status != 0:
		return &it.Index
	case it.Delete.Status != 0:
		return &it.Delete
	case it.Create.Status != 0:
		return &it.Create
	default:
		return &it.Update
	}
}

// Bulk writes the operations in one _bulk request, each with its version
// as an external version, and returns one result per operation in order
// (see views.Store). Item outcomes:
//
//   - 200, 201, and 404 not_found for a delete: Applied;
//   - 409 version_conflict_engine_exception: Stale;
//   - 400 document_parsing_exception, mapper_parsing_exception,
//     strict_dynamic_mapping_exception, x_content_parse_exception or
//     illegal_argument_exception: Refused;
//   - 429, 5xx, unavailable_shards_exception: Failed;
//   - index_not_found_exception, "no write index is defined for alias"
//     and anything else: Fatal.
//
// Before its first write to a name (and again every 30s for a concrete
// index), Bulk checks that the name exists, since Elasticsearch would
// otherwise create a missing index with dynamic mapping: operations on a
// missing index or alias are Fatal (404 index_not_found_exception)
// without being sent. Writes through an alias carry require_alias (see
// targets.go). Operations that cannot be sent (an empty id or document,
// an id over 512 bytes, a version over 2^63-1) are Refused without a
// request, and an invalid index name is Fatal. A failed request returns an error,
// retryable (views.IsRetryable) for a connection error, a 429 or a 5xx
// that outlasted the transport's retries; an *Error for a 400, 401 or 403.
func (s *Store) Bulk(ctx context.Context, ops []views.Op) ([]views.ItemResult, error) {
	const op = "bulk"
	results := make([]views.ItemResult, len(ops))
	if len(ops) == 0 {
		return results, nil
	}
	// st goes back to the pool only after a 2xx: net/http may still read
	// a request body after RoundTrip returns, which it can only do when
	// the server answered before reading all of it.
	st := bulkPool.Get().(*bulkState)
	if err := s.resolveAll(ctx, st, ops); err != nil {
		return nil, err
	}
	for i := range ops {
		k := st.kindOf(ops[i].Index)
		if k == kindMissing && checkName(ops[i].Index) == nil {
			results[i] = views.ItemResult{Outcome: views.Fatal, Status: http.StatusNotFound,
				Type: "index_not_found_exception", Reason: "no such index [" + ops[i].Index + "]"}
			continue
		}
		if !ops[i].Delete && bytes.IndexByte(ops[i].Doc, '\n') >= 0 {
			st.single = append(st.single, i)
			continue
		}
		var ok bool
		st.body, ok = appendOp(st.body, &ops[i], k == kindAlias, &results[i])
		if ok {
			st.sent = append(st.sent, i)
		}
	}
	if err := s.indexAlone(ctx, st, ops, results); err != nil {
		return nil, err
	}
	if len(st.sent) == 0 {
		st.release()
		return results, nil
	}
	res, err := esapi.BulkRequest{Body: bytes.NewReader(st.body), FilterPath: bulkFilterPath}.Do(ctx, s.es)
	if err != nil {
		return nil, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, statusError(op, res, false)
	}
	resp := struct {
		Errors bool       `json:"errors"`
		Items  []bulkItem `json:"items"`
	}{Items: st.items[:0]}
	// Read into a reused buffer: a json.Decoder would grow a new one
	// for every response.
	buf := bytes.NewBuffer(st.resp)
	_, err = buf.ReadFrom(res.Body)
	st.resp = buf.Bytes()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("elastic: %s: read response: %w", op, err)
		}
		return nil, views.Retryable(fmt.Errorf("elastic: %s: read response: %w", op, err))
	}
	if err := json.Unmarshal(st.resp, &resp); err != nil {
		return nil, fmt.Errorf("elastic: %s: decode response: %w", op, err)
	}
	st.items = resp.Items
	if len(resp.Items) != len(st.sent) {
		return nil, fmt.Errorf("elastic: %s: response has %d items for %d operations", op, len(resp.Items), len(st.sent))
	}
	for k, i := range st.sent {
		results[i] = classify(ops[i].Delete, resp.Items[k].result())
		if results[i].Type == "index_not_found_exception" {
			s.targets.forget(ops[i].Index)
		}
	}
	st.release()
	return results, nil
}

// refusedTypes are the item errors of a document the index cannot take.
var refusedTypes = map[string]bool{
	"document_parsing_exception":       true,
	"mapper_parsing_exception":         true,
	"strict_dynamic_mapping_exception": true,
	"x_content_parse_exception":        true,
	"illegal_argument_exception":       true,
}

// classify maps a bulk item to its outcome (es-semantics.md section 1.4).
func classify(del bool, it *itemResult) views.ItemResult {
	r := views.ItemResult{Status: it.Status}
	if it.Error != nil {
		r.Type, r.Reason = it.Error.Type, it.Error.text()
	}
	switch {
	case it.Error == nil && (it.Status == http.StatusOK || it.Status == http.StatusCreated):
		r.Outcome = views.Applied
	case it.Error == nil && it.Status == http.StatusNotFound && del:
		// A delete of a missing document leaves a tombstone with our version.
		r.Outcome = views.Applied
	case it.Status == http.StatusConflict && r.Type == "version_conflict_engine_exception":
		r.Outcome = views.Stale
	case it.Status == http.StatusTooManyRequests || it.Status >= 500 || r.Type == "unavailable_shards_exception":
		r.Outcome = views.Failed
	case r.Type == "illegal_argument_exception" && strings.Contains(r.Reason, "no write index is defined"):
		r.Outcome = views.Fatal
	case it.Status == http.StatusBadRequest && refusedTypes[r.Type]:
		r.Outcome = views.Refused
	default:
		// index_not_found_exception, invalid_index_name_exception,
		// index_closed_exception, security_exception, cluster_block_exception
		// (read-only index) and whatever else: neither retrying nor
		// dead-lettering helps.
		r.Outcome = views.Fatal
	}
	return r
}

// indexAlone writes the index operations whose document spans several
// lines with single-document requests (PUT /{index}/_doc/{id}), which,
// unlike a _bulk line, keep the source byte for byte. The projector never
// produces such documents (json.Marshal writes one line), so this costs
// nothing in practice. A failed request fails its operation only, unless
// ctx ended.
func (s *Store) indexAlone(ctx context.Context, st *bulkState, ops []views.Op, results []views.ItemResult) error {
	for _, i := range st.single {
		op := &ops[i]
		if !json.Valid(op.Doc) {
			results[i] = refuse("document_parsing_exception", "the document is not valid JSON")
			continue
		}
		if r, ok := checkOp(op); !ok {
			results[i] = r
			continue
		}
		v := int(op.Version)
		req := esapi.IndexRequest{
			Index:       url.PathEscape(op.Index),
			DocumentID:  url.PathEscape(op.ID),
			Body:        bytes.NewReader(op.Doc),
			Version:     &v,
			VersionType: "external",
		}
		if st.kindOf(op.Index) == kindAlias {
			req.RequireAlias = &[]bool{true}[0]
		}
		res, err := req.Do(ctx, s.es)
		if err != nil {
			if ctx.Err() != nil {
				return transportError(ctx, "bulk", err)
			}
			results[i] = views.ItemResult{Outcome: views.Failed, Status: http.StatusServiceUnavailable, Type: "connection_error", Reason: err.Error()}
			continue
		}
		it := itemResult{Status: res.StatusCode}
		if res.IsError() {
			e := responseError(res)
			it.Error = &errorCause{Type: e.Type, Reason: e.Reason}
		}
		res.Body.Close()
		results[i] = classify(false, &it)
	}
	return nil
}
