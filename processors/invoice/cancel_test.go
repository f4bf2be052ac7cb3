package invoice_test

import (
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestCancelInvoice(t *testing.T) {
	t.Run("a draft can be cancelled", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), draft...).
			When(invoice.CancelInvoice{Reason: "duplicate"}).
			Then(invoice.InvoiceCancelled{Reason: "duplicate", CancelledAt: at}).
			State()
		if s.Status != invoice.StatusCancelled || s.CancelReason != "duplicate" || !s.CancelledAt.Equal(at) {
			t.Errorf("status %q, reason %q, at %v; want cancelled, duplicate, %v", s.Status, s.CancelReason, s.CancelledAt, at)
		}
	})

	t.Run("an issued invoice can be cancelled without a reason", func(t *testing.T) {
		aggregatetest.Given(t, invoice.New(), issuedInv...).
			When(invoice.CancelInvoice{}).
			Then(invoice.InvoiceCancelled{CancelledAt: at})
	})

	t.Run("a partly paid invoice can be cancelled and keeps its payments", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), partly...).
			When(invoice.CancelInvoice{Reason: "customer left"}).
			Then(invoice.InvoiceCancelled{Reason: "customer left", CancelledAt: at}).
			State()
		if s.Paid != 20000 || len(s.Payments) != 1 {
			t.Errorf("paid %d in %d payments, want 20000 in 1", s.Paid, len(s.Payments))
		}
	})

	for _, tc := range []rejection{
		{"a paid invoice cannot be cancelled", paidInv, invoice.CancelInvoice{Reason: "oops"}, invoice.RejectAlreadyPaid},
		{"a cancelled invoice cannot be cancelled again", cancelled, invoice.CancelInvoice{Reason: "again"}, invoice.RejectAlreadyCancelled},
		{"an invoice that does not exist cannot be cancelled", nil, invoice.CancelInvoice{}, codecs.RejectNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}
