package estest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// esError is an Elasticsearch exception: the "error" object of an error
// response, or the "error" of a bulk item.
type esError struct {
	status    int
	typ       string
	reason    string
	extra     map[string]any // e.g. index, index_uuid, shard, resource.id
	causedBy  *esError
	rootCause []*esError // nil: the error itself is the root cause
}

func (e *esError) Error() string { return e.typ + ": " + e.reason }

func newErr(status int, typ, format string, args ...any) *esError {
	return &esError{status: status, typ: typ, reason: fmt.Sprintf(format, args...)}
}

func badRequest(typ, format string, args ...any) *esError {
	return newErr(http.StatusBadRequest, typ, format, args...)
}

func illegalArg(format string, args ...any) *esError {
	return badRequest("illegal_argument_exception", format, args...)
}

// with adds an extra field and returns e.
func (e *esError) with(k string, v any) *esError {
	if e.extra == nil {
		e.extra = map[string]any{}
	}
	e.extra[k] = v
	return e
}

// onIndex adds the index and index_uuid fields of index-level errors.
func (e *esError) onIndex(ix *index) *esError {
	if ix == nil {
		return e
	}
	return e.with("index_uuid", ix.uuid).with("index", ix.name)
}

// onShard adds the shard field of shard-level errors.
func (e *esError) onShard(ix *index) *esError {
	return e.with("shard", "0").onIndex(ix)
}

// object renders the exception without root_cause, as a bulk item's
// "error" or a nested "caused_by".
func (e *esError) object() map[string]any {
	m := map[string]any{"type": e.typ, "reason": e.reason}
	for k, v := range e.extra {
		m[k] = v
	}
	if e.causedBy != nil {
		m["caused_by"] = e.causedBy.object()
	}
	return m
}

// body renders the full error response envelope.
func (e *esError) body() map[string]any {
	inner := e.object()
	roots := e.rootCause
	if roots == nil {
		roots = []*esError{e}
	}
	rc := make([]any, 0, len(roots))
	for _, r := range roots {
		o := r.object()
		delete(o, "caused_by")
		rc = append(rc, o)
	}
	inner["root_cause"] = rc
	return map[string]any{"error": inner, "status": e.status}
}

func indexNotFound(name string) *esError {
	return newErr(http.StatusNotFound, "index_not_found_exception", "no such index [%s]", name).
		with("resource.type", "index_or_alias").with("resource.id", name).with("index_uuid", "_na_").with("index", name)
}

func validationFailed(msgs []string) *esError {
	var b strings.Builder
	b.WriteString("Validation Failed: ")
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d: %s;", i+1, m)
	}
	return badRequest("action_request_validation_exception", "%s", b.String())
}

func parseErr(format string, args ...any) *esError {
	return badRequest("parsing_exception", format, args...)
}

func xcontentErr(format string, args ...any) *esError {
	return badRequest("x_content_parse_exception", format, args...)
}

// writeJSON writes v with the status and the negotiated content type.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"estest: encode response","status":500}`)
	}
	writeRaw(w, r, status, b)
}

// writeRaw writes already-encoded JSON.
func writeRaw(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	ct := "application/json"
	if strings.Contains(r.Header.Get("Accept"), "vnd.elasticsearch") {
		ct = "application/vnd.elasticsearch+json;compatible-with=8"
	}
	w.Header().Set("Content-Type", ct)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeErr writes an error envelope.
func writeErr(w http.ResponseWriter, r *http.Request, e *esError) {
	writeJSON(w, r, e.status, e.body())
}

// writePlainErr writes the string-valued error ES uses for routing errors
// and missing aliases: {"error":"...","status":N} merged with extra.
func writePlainErr(w http.ResponseWriter, r *http.Request, status int, msg string, extra map[string]any) {
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	m["error"] = msg
	m["status"] = status
	writeJSON(w, r, status, m)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
