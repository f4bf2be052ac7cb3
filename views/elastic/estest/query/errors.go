package query

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an Elasticsearch error: the HTTP status and the exception type and
// reason of the response's "error" object. CausedBy, when set, is the
// wrapped exception (search_phase_execution_exception wraps the shard-level
// failure, which becomes the envelope's root_cause; see RootCause).
//
// Render it with Envelope, which produces the exact ES body, rather than
// from Type and Reason alone: several YAML tests match the root cause text.
type Error struct {
	Status   int
	Type     string
	Reason   string
	CausedBy *Error
}

// Error returns "type: reason", followed by the causes.
func (e *Error) Error() string {
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += "; caused by " + e.CausedBy.Error()
	}
	return s
}

// RootCause returns the error ES reports as root_cause: the shard failure
// inside a search_phase_execution_exception, otherwise e itself (as in ES,
// a query_shard_exception is its own root cause even when it has a cause).
func (e *Error) RootCause() *Error {
	r := e
	for r.Type == "search_phase_execution_exception" && r.CausedBy != nil {
		r = r.CausedBy
	}
	return r
}

// Envelope renders the ES error response body:
// {"error":{"root_cause":[{"type","reason"}],"type","reason","caused_by"?},"status"}.
func (e *Error) Envelope() []byte {
	rc := e.RootCause()
	body := map[string]any{
		"error": map[string]any{
			"root_cause": []any{map[string]any{"type": rc.Type, "reason": rc.Reason}},
			"type":       e.Type,
			"reason":     e.Reason,
		},
		"status": e.Status,
	}
	if e.CausedBy != nil {
		body["error"].(map[string]any)["caused_by"] = e.CausedBy.object()
	}
	b, err := json.Marshal(body)
	if err != nil { // only strings and ints: cannot happen
		return []byte(`{"error":{"type":"exception","reason":"render error"},"status":500}`)
	}
	return b
}

func (e *Error) object() map[string]any {
	m := map[string]any{"type": e.Type, "reason": e.Reason}
	if e.CausedBy != nil {
		m["caused_by"] = e.CausedBy.object()
	}
	return m
}

// badRequest returns a 400 error of the given type.
func badRequest(typ, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typ, Reason: fmt.Sprintf(format, args...)}
}

// parsingErr is ES's parsing_exception (a malformed query).
func parsingErr(format string, args ...any) *Error {
	return badRequest("parsing_exception", format, args...)
}

// illegalArg is ES's illegal_argument_exception.
func illegalArg(format string, args ...any) *Error {
	return badRequest("illegal_argument_exception", format, args...)
}

// shardFailure wraps an error raised on the shards (query phase) the way ES
// reports it when every shard failed.
func shardFailure(cause *Error) *Error {
	status := cause.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	return &Error{Status: status, Type: "search_phase_execution_exception", Reason: "all shards failed", CausedBy: cause}
}

// queryShardErr is a query_shard_exception raised while building a query
// against a field (for example a value that does not parse as the field's
// type), wrapped per shardFailure.
func queryShardErr(cause *Error, format string, args ...any) *Error {
	e := badRequest("query_shard_exception", format, args...)
	e.CausedBy = cause
	return shardFailure(e)
}
