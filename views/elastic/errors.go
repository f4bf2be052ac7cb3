package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// Error is an error response of Elasticsearch: the HTTP status and the
// type and reason of its error envelope
// ({"error":{"type":T,"reason":R,...},"status":N}). Operations wrap it, so
// find it with errors.As.
type Error struct {
	// Status is the HTTP status of the response.
	Status int
	// Type is the error type, such as "index_not_found_exception"; empty
	// when the body had no error envelope.
	Type string
	// Reason is the error message.
	Reason string
}

// Error returns "elasticsearch: <status> <type>: <reason>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("elasticsearch: ")
	b.WriteString(fmt.Sprint(e.Status))
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Temporary reports whether the failure is transient: a 429 or a 5xx.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// errorCause is the "error" object of an envelope or a bulk item.
type errorCause struct {
	Type     string      `json:"type"`
	Reason   string      `json:"reason"`
	CausedBy *errorCause `json:"caused_by"`
}

// text is the reason, followed by the cause's type and reason when there
// is one (document_parsing_exception says what failed, its cause says why).
func (c *errorCause) text() string {
	if c.CausedBy == nil || c.CausedBy.Reason == "" {
		return c.Reason
	}
	return c.Reason + " (caused by " + c.CausedBy.Type + ": " + c.CausedBy.Reason + ")"
}

// envelope is an error response body. "error" is an object, except for
// a missing alias, where it is a bare string.
type envelope struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// responseError reads an error response into an *Error. The body is read
// but not closed.
func responseError(res *esapi.Response) *Error {
	e := &Error{Status: res.StatusCode}
	if res.Body == nil {
		e.Reason = http.StatusText(res.StatusCode)
		return e
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	if err != nil {
		e.Reason = http.StatusText(res.StatusCode) + " (reading the body: " + err.Error() + ")"
		return e
	}
	parseEnvelope(e, body)
	return e
}

// parseEnvelope fills the type and reason of e from an error body.
func parseEnvelope(e *Error, body []byte) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || len(env.Error) == 0 {
		e.Reason = http.StatusText(e.Status)
		if s := strings.TrimSpace(string(body)); s != "" {
			e.Reason = truncate(s, 512)
		}
		return
	}
	var msg string
	if json.Unmarshal(env.Error, &msg) == nil {
		e.Reason = msg
		return
	}
	var c errorCause
	if json.Unmarshal(env.Error, &c) == nil {
		e.Type, e.Reason = c.Type, c.text()
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// statusError turns an error response into the error an operation
// returns: retryable for a 429 or a 5xx, wrapping views.ErrNotFound for a
// 404 when notFound is set.
func statusError(op string, res *esapi.Response, notFound bool) error {
	e := responseError(res)
	switch {
	case e.Temporary():
		return views.Retryable(fmt.Errorf("elastic: %s: %w", op, e))
	case notFound && e.Status == http.StatusNotFound:
		return fmt.Errorf("elastic: %s: %w: %w", op, views.ErrNotFound, e)
	default:
		return fmt.Errorf("elastic: %s: %w", op, e)
	}
}

// errNotElasticsearch is what the client returns when a 2xx response
// lacks the X-Elastic-Product header (elasticsearch.go, genuineCheckHeader).
const errNotElasticsearch = "the client noticed that the server is not Elasticsearch"

// transportError wraps an error of the transport (after its retries):
// retryable unless the caller's context ended or the server is not
// Elasticsearch. A timeout of one attempt (Config.RequestTimeout) is
// retryable: the caller's context is still alive.
func transportError(ctx context.Context, op string, err error) error {
	err = fmt.Errorf("elastic: %s: %w", op, err)
	if ctx.Err() != nil || strings.Contains(err.Error(), errNotElasticsearch) {
		return err
	}
	if errors.Is(err, elastictransport.ErrClosed) {
		return err
	}
	return views.Retryable(err)
}
