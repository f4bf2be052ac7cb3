package invoice

import (
	"fmt"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// createInvoice opens a draft. Rejections: already_exists, invalid.
func createInvoice(_ State, c CreateInvoice, m processors.Meta) ([]any, error) {
	if m.Exists() {
		return nil, codecs.Reject(codecs.RejectAlreadyExists, "invoice %q exists already", m.AggregateID)
	}
	var p problems
	p.add(blank(c.Customer), "customer is empty")
	p.add(!validCurrency(c.Currency), fmt.Sprintf("currency %q is not an ISO 4217 code (three upper-case letters)", c.Currency))
	p.add(!validDate(c.DueDate), fmt.Sprintf("due_date %q is not a date (YYYY-MM-DD)", c.DueDate))
	if err := p.reject(codecs.RejectInvalid); err != nil {
		return nil, err
	}
	return []any{InvoiceCreated{
		Customer:  c.Customer,
		Currency:  c.Currency,
		DueDate:   c.DueDate,
		CreatedAt: m.Time,
	}}, nil
}
