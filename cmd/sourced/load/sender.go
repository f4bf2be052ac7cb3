package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// Sender delivers one command and waits for its result. Implementations
// must be safe for concurrent use: Run calls Send from many goroutines,
// never twice at once for one aggregate.
type Sender interface {
	// Send returns the command's result, or an error when no result came
	// back: a *NoResultError naming why (timeout, transport error, ...).
	// It returns when ctx is done at the latest.
	Send(ctx context.Context, cmd *codecs.Command) (codecs.Result, error)
}

// Viewer waits until a view shows a change.
type Viewer interface {
	// WaitVisible returns nil once view shows aggregate id at version
	// or later, or an error when ctx ends first or the view cannot be
	// read.
	WaitVisible(ctx context.Context, view, id string, version uint64) error
}

// NoResultError is why a command got no result. Reason is a short word the
// summary counts by: "timeout" (no result in time; the command may still
// take effect), "cancelled" (the run ended first), "produce", "transport",
// "http_<status>".
type NoResultError struct {
	Reason string
	Err    error
}

func (e *NoResultError) Error() string {
	if e.Err == nil {
		return "no result: " + e.Reason
	}
	return fmt.Sprintf("no result: %s: %v", e.Reason, e.Err)
}

func (e *NoResultError) Unwrap() error { return e.Err }

// reason returns the summary key of a Send error.
func reason(err error) string {
	var nr *NoResultError
	if errors.As(err, &nr) {
		return nr.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return "error"
}

// ShedError is a command the gateway refused before producing it, because
// it was overloaded (429 "overloaded") or its processors were behind (503
// "processors_behind"). The command had no effect; Run sends it again
// after RetryAfter.
type ShedError struct {
	// Status is the HTTP status, Code the error code of the answer.
	Status int
	Code   string
	// RetryAfter is the answer's Retry-After, 0 without one.
	RetryAfter time.Duration
}

func (e *ShedError) Error() string {
	return fmt.Sprintf("shed: %d %s (retry after %s)", e.Status, e.Code, e.RetryAfter)
}
