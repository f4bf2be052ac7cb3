package codecs

import "fmt"

// Rejection is a refused command: a stable machine-readable Code and a
// human-readable Message. It is data, not a failure of the processor.
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error implements error so handlers can return a rejection as an error.
func (r *Rejection) Error() string { return r.Code + ": " + r.Message }

// Reject builds a rejection with a formatted message.
func Reject(code, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Rejection codes shared by every aggregate. Aggregates add their own.
const (
	// RejectMalformed: the command could not be decoded or lacks a field.
	RejectMalformed = "malformed"
	// RejectUnknownCommand: no handler is registered for the command type.
	RejectUnknownCommand = "unknown_command"
	// RejectInternal: the handler panicked or produced an unregistered event.
	RejectInternal = "internal"
	// RejectConflict: expected_version did not match.
	RejectConflict = "conflict"
	// RejectInvalid: a field failed validation.
	RejectInvalid = "invalid"
	// RejectNotFound: the aggregate does not exist.
	RejectNotFound = "not_found"
	// RejectAlreadyExists: the aggregate exists already.
	RejectAlreadyExists = "already_exists"
)
