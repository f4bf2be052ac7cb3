package invoice

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// recordPayment records a payment against an issued invoice, and marks it
// paid when the balance reaches zero. A payment_id recorded already with
// the same amount and currency is a no-op, so a redelivered payment changes
// nothing, even after the invoice was paid or cancelled.
//
// Rejections, in the order they are checked: not_found, invalid (payment_id
// empty, or recorded already with another amount or currency),
// already_paid, not_issued, invalid_amount (amount <= 0),
// currency_mismatch, overpayment (amount > balance).
func recordPayment(s State, c RecordPayment, m processors.Meta) ([]any, error) {
	if !m.Exists() {
		return nil, notFound(m)
	}
	if blank(c.PaymentID) {
		return nil, codecs.Reject(codecs.RejectInvalid, "payment_id is empty")
	}
	if i := s.payment(c.PaymentID); i >= 0 {
		if prev := s.Payments[i]; prev.Amount != c.Amount || s.Currency != c.Currency {
			return nil, codecs.Reject(codecs.RejectInvalid, "payment %q was recorded already as %d %s",
				c.PaymentID, prev.Amount, s.Currency)
		}
		return nil, nil
	}
	switch s.Status {
	case StatusIssued:
	case StatusPaid:
		return nil, codecs.Reject(RejectAlreadyPaid, "invoice %q is paid already", m.AggregateID)
	default:
		return nil, codecs.Reject(RejectNotIssued, "invoice %q is %s, not issued", m.AggregateID, s.Status)
	}
	if c.Amount <= 0 {
		return nil, codecs.Reject(RejectInvalidAmount, "amount %d is not > 0", c.Amount)
	}
	if c.Currency != s.Currency {
		return nil, codecs.Reject(RejectCurrencyMismatch, "payment in %q, invoice in %q", c.Currency, s.Currency)
	}
	if c.Amount > s.Balance {
		return nil, codecs.Reject(RejectOverpayment, "amount %d is above the balance %d", c.Amount, s.Balance)
	}
	events := []any{PaymentRecorded{PaymentID: c.PaymentID, Amount: c.Amount, Currency: c.Currency, RecordedAt: m.Time}}
	if c.Amount == s.Balance {
		events = append(events, InvoicePaid{PaidAt: m.Time})
	}
	return events, nil
}
