package invoice

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// issueInvoice makes a draft payable. An invoice whose lines total zero is
// paid as soon as it is issued. Rejections: not_found, not_draft,
// empty_invoice.
func issueInvoice(s State, _ IssueInvoice, m processors.Meta) ([]any, error) {
	if err := draft(s, m); err != nil {
		return nil, err
	}
	if len(s.Lines) == 0 {
		return nil, codecs.Reject(RejectEmptyInvoice, "invoice %q has no lines", m.AggregateID)
	}
	events := []any{InvoiceIssued{IssuedAt: m.Time}}
	if s.Balance == 0 {
		events = append(events, InvoicePaid{PaidAt: m.Time})
	}
	return events, nil
}
