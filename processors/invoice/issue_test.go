package invoice_test

import (
	"testing"
	"time"

	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestIssueInvoice(t *testing.T) {
	t.Run("issuing takes its time from the command, not the clock", func(t *testing.T) {
		when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		s := aggregatetest.Given(t, invoice.New(), draft...).
			At(when).
			When(invoice.IssueInvoice{}).
			Then(invoice.InvoiceIssued{IssuedAt: when}).
			State()
		if s.Status != invoice.StatusIssued || !s.IssuedAt.Equal(when) {
			t.Errorf("status %q issued at %v; want issued at %v", s.Status, s.IssuedAt, when)
		}
		if s.Balance != 32500 {
			t.Errorf("balance %d, want 32500", s.Balance)
		}
	})

	t.Run("an invoice whose lines total zero is paid when issued", func(t *testing.T) {
		free := invoice.LineItemAdded{LineID: "gift", Description: "Sticker", Quantity: 1, UnitPrice: 0}
		s := aggregatetest.Given(t, invoice.New(), created, free).
			When(invoice.IssueInvoice{}).
			Then(invoice.InvoiceIssued{IssuedAt: at}, invoice.InvoicePaid{PaidAt: at}).
			State()
		if s.Status != invoice.StatusPaid {
			t.Errorf("status %q, want paid", s.Status)
		}
	})

	for _, tc := range []rejection{
		{"an invoice without lines cannot be issued", []any{created}, invoice.IssueInvoice{}, invoice.RejectEmptyInvoice},
		{"an invoice whose lines were all removed cannot be issued",
			[]any{created, lineA, invoice.LineItemRemoved{LineID: "a"}}, invoice.IssueInvoice{}, invoice.RejectEmptyInvoice},
		{"an invoice cannot be issued twice", issuedInv, invoice.IssueInvoice{}, invoice.RejectNotDraft},
		{"a paid invoice cannot be issued", paidInv, invoice.IssueInvoice{}, invoice.RejectNotDraft},
		{"a cancelled invoice cannot be issued", cancelled, invoice.IssueInvoice{}, invoice.RejectNotDraft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}
