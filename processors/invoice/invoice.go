package invoice

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// Name is the aggregate name; topic and group names derive from it.
const Name = "invoice"

// Rejection codes of the invoice aggregate, besides the generic ones of
// codecs (RejectNotFound, RejectAlreadyExists, RejectInvalid,
// RejectMalformed). They are stable: clients match on them.
const (
	// RejectNotDraft: the command edits or issues an invoice that is no
	// longer a draft.
	RejectNotDraft = "not_draft"
	// RejectEmptyInvoice: IssueInvoice on an invoice without lines.
	RejectEmptyInvoice = "empty_invoice"
	// RejectNotIssued: RecordPayment on an invoice that is not issued
	// (a draft or a cancelled invoice).
	RejectNotIssued = "not_issued"
	// RejectInvalidAmount: a negative unit price, a non-positive payment,
	// or an amount that overflows int64.
	RejectInvalidAmount = "invalid_amount"
	// RejectOverpayment: a payment above the balance.
	RejectOverpayment = "overpayment"
	// RejectCurrencyMismatch: a payment in another currency than the
	// invoice's.
	RejectCurrencyMismatch = "currency_mismatch"
	// RejectAlreadyPaid: RecordPayment or CancelInvoice on a paid invoice.
	RejectAlreadyPaid = "already_paid"
	// RejectAlreadyCancelled: CancelInvoice on a cancelled invoice.
	RejectAlreadyCancelled = "already_cancelled"
)

// New returns the definition of the invoice aggregate. Each call builds a
// new definition; the result is read-only and safe for concurrent use.
func New() *processors.Aggregate[State] {
	a := processors.New(Name, initial)

	processors.Handle(a, "CreateInvoice", createInvoice)
	processors.Handle(a, "AddLineItem", addLineItem)
	processors.Handle(a, "RemoveLineItem", removeLineItem)
	processors.Handle(a, "ChangeDueDate", changeDueDate)
	processors.Handle(a, "IssueInvoice", issueInvoice)
	processors.Handle(a, "RecordPayment", recordPayment)
	processors.Handle(a, "CancelInvoice", cancelInvoice)

	processors.On(a, "InvoiceCreated", 1, applyInvoiceCreated)
	processors.On(a, "LineItemAdded", 1, applyLineItemAdded)
	processors.On(a, "LineItemRemoved", 1, applyLineItemRemoved)
	processors.On(a, "DueDateChanged", 1, applyDueDateChanged)
	processors.On(a, "InvoiceIssued", 1, applyInvoiceIssued)
	processors.On(a, "PaymentRecorded", 1, applyPaymentRecorded)
	processors.On(a, "InvoicePaid", 1, applyInvoicePaid)
	processors.On(a, "InvoiceCancelled", 1, applyInvoiceCancelled)
	return a
}

// notFound is the rejection of every command but CreateInvoice on an
// invoice that has no events.
func notFound(m processors.Meta) error {
	return codecs.Reject(codecs.RejectNotFound, "invoice %q does not exist", m.AggregateID)
}
