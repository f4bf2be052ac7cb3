package invoice

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// cancelInvoice cancels a draft or issued invoice (payments recorded on an
// issued one stay in the state). Rejections: not_found, already_paid,
// already_cancelled.
func cancelInvoice(s State, c CancelInvoice, m processors.Meta) ([]any, error) {
	if !m.Exists() {
		return nil, notFound(m)
	}
	switch s.Status {
	case StatusPaid:
		return nil, codecs.Reject(RejectAlreadyPaid, "invoice %q is paid and cannot be cancelled", m.AggregateID)
	case StatusCancelled:
		return nil, codecs.Reject(RejectAlreadyCancelled, "invoice %q is cancelled already", m.AggregateID)
	}
	return []any{InvoiceCancelled{Reason: c.Reason, CancelledAt: m.Time}}, nil
}
