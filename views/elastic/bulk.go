package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// bulkFilterPath trims the _bulk response to what classification reads.
var bulkFilterPath = []string{
	"errors",
	"items.*.status",
	"items.*.result",
	"items.*.error.type",
	"items.*.error.reason",
	"items.*.error.caused_by.type",
	"items.*.error.caused_by.reason",
}

// bulkState is the reusable memory of one Bulk call.
type bulkState struct {
	body  []byte
	sent  []int // index in ops of each item sent, in body order
	items []bulkItem
}

var bulkPool = sync.Pool{New: func() any { return new(bulkState) }}

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 32 << 20

func (st *bulkState) release() {
	if cap(st.body) > maxPooledBody {
		return
	}
	st.body, st.sent = st.body[:0], st.sent[:0]
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
	Result string      `json:"result"`
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
// Operations that cannot be sent (an empty id or document, an id over 512
// bytes, a version over 2^63-1) are Refused without a request, and an
// invalid index name is Fatal. A failed request returns an error,
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
	for i := range ops {
		var ok bool
		st.body, ok = appendOp(st.body, &ops[i], &results[i])
		if ok {
			st.sent = append(st.sent, i)
		}
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
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
		err = fmt.Errorf("elastic: %s: decode response: %w", op, err)
		if errors.Is(err, io.ErrUnexpectedEOF) || ctx.Err() == nil && !isSyntaxError(err) {
			return nil, views.Retryable(err)
		}
		return nil, err
	}
	st.items = resp.Items
	if len(resp.Items) != len(st.sent) {
		return nil, fmt.Errorf("elastic: %s: response has %d items for %d operations", op, len(resp.Items), len(st.sent))
	}
	for k, i := range st.sent {
		results[i] = classify(ops[i].Delete, resp.Items[k].result())
	}
	st.release()
	return results, nil
}

func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te)
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

// maxIDBytes is Elasticsearch's limit on document ids.
const maxIDBytes = 512

// appendOp appends the operation's action line, and its document line
// for an index, to b. When the operation cannot be sent it reports false
// and fills r instead.
func appendOp(b []byte, op *views.Op, r *views.ItemResult) ([]byte, bool) {
	if err := checkName(op.Index); err != nil {
		*r = views.ItemResult{Outcome: views.Fatal, Status: http.StatusBadRequest, Type: "invalid_index_name_exception", Reason: err.Error()}
		return b, false
	}
	switch {
	case op.ID == "":
		*r = refuse("action_request_validation_exception", "empty document id")
		return b, false
	case len(op.ID) > maxIDBytes:
		*r = refuse("action_request_validation_exception", fmt.Sprintf("id is too long, must be no longer than %d bytes but was: %d", maxIDBytes, len(op.ID)))
		return b, false
	case op.Version > math.MaxInt64:
		*r = refuse("action_request_validation_exception", fmt.Sprintf("illegal version value [%d] for version type [EXTERNAL]", op.Version))
		return b, false
	case !op.Delete && len(bytes.TrimSpace(op.Doc)) == 0:
		*r = refuse("document_parsing_exception", "index operation without a document")
		return b, false
	}
	start := len(b)
	if op.Delete {
		b = append(b, `{"delete":{"_index":`...)
	} else {
		b = append(b, `{"index":{"_index":`...)
	}
	b = appendString(b, op.Index)
	b = append(b, `,"_id":`...)
	b = appendString(b, op.ID)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, op.Version, 10)
	b = append(b, `,"version_type":"external"}}`+"\n"...)
	if op.Delete {
		return b, true
	}
	if bytes.IndexByte(op.Doc, '\n') < 0 {
		b = append(b, op.Doc...)
	} else {
		// NDJSON: the document must be on one line.
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, op.Doc); err != nil {
			*r = refuse("document_parsing_exception", "invalid JSON: "+err.Error())
			return b[:start], false
		}
		b = buf.Bytes()
	}
	return append(b, '\n'), true
}

func refuse(typ, reason string) views.ItemResult {
	return views.ItemResult{Outcome: views.Refused, Status: http.StatusBadRequest, Type: typ, Reason: reason}
}

const hexDigits = "0123456789abcdef"

// appendString appends s to b as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
