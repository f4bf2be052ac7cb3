package invoice_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestLifecycle(t *testing.T) {
	t.Run("an invoice is created, filled, issued and paid in two payments", func(t *testing.T) {
		agg := invoice.New()
		var history []any
		step := func(when time.Time, cmd any, then ...any) invoice.State {
			t.Helper()
			s := aggregatetest.Given(t, agg, history...).At(when).When(cmd).Then(then...).State()
			history = append(history, then...)
			return s
		}
		step(at, invoice.CreateInvoice{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31"}, created)
		step(at, invoice.AddLineItem{LineID: "a", Description: "Consulting", Quantity: 3, UnitPrice: 10000}, lineA)
		step(at, invoice.AddLineItem{LineID: "b", Description: "Travel", Quantity: 1, UnitPrice: 2500}, lineB)
		step(at.Add(time.Hour), invoice.IssueInvoice{}, issued)

		s := step(at.Add(2*time.Hour), invoice.RecordPayment{PaymentID: "p1", Amount: 20000, Currency: "EUR"}, paid1)
		if s.Status != invoice.StatusIssued || s.Paid != 20000 || s.Balance != 12500 {
			t.Fatalf("after a partial payment: status %q, paid %d, balance %d; want issued, 20000, 12500",
				s.Status, s.Paid, s.Balance)
		}

		s = step(at.Add(3*time.Hour), invoice.RecordPayment{PaymentID: "p2", Amount: 12500, Currency: "EUR"}, paid2, paidAll)
		want := invoice.State{
			Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31", Status: invoice.StatusPaid,
			Lines: []invoice.Line{invoice.Line(lineA), invoice.Line(lineB)},
			Total: 32500, Paid: 32500, Balance: 0,
			Payments: []invoice.Payment{
				{PaymentID: "p1", Amount: 20000, RecordedAt: at.Add(2 * time.Hour)},
				{PaymentID: "p2", Amount: 12500, RecordedAt: at.Add(3 * time.Hour)},
			},
			CreatedAt: at, IssuedAt: at.Add(time.Hour), PaidAt: at.Add(3 * time.Hour),
		}
		if diff := cmp.Diff(want, s); diff != "" {
			t.Fatalf("final state (-want +got):\n%s", diff)
		}
	})
}

func TestRecordPayment(t *testing.T) {
	t.Run("a payment of the whole balance pays the invoice in one step", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), issuedInv...).
			When(invoice.RecordPayment{PaymentID: "all", Amount: 32500, Currency: "EUR"}).
			Then(invoice.PaymentRecorded{PaymentID: "all", Amount: 32500, Currency: "EUR", RecordedAt: at},
				invoice.InvoicePaid{PaidAt: at}).
			State()
		if s.Status != invoice.StatusPaid || s.Balance != 0 || s.Paid != 32500 {
			t.Errorf("status %q, balance %d, paid %d; want paid, 0, 32500", s.Status, s.Balance, s.Paid)
		}
	})

	t.Run("a payment recorded again is accepted and records nothing", func(t *testing.T) {
		aggregatetest.Given(t, invoice.New(), partly...).
			When(invoice.RecordPayment{PaymentID: "p1", Amount: 20000, Currency: "EUR"}).
			Then()
	})

	t.Run("the last payment recorded again after the invoice was paid records nothing", func(t *testing.T) {
		aggregatetest.Given(t, invoice.New(), paidInv...).
			When(invoice.RecordPayment{PaymentID: "p2", Amount: 12500, Currency: "EUR"}).
			Then()
	})

	t.Run("a payment recorded again after the invoice was cancelled records nothing", func(t *testing.T) {
		history := append(append([]any{}, partly...), invoice.InvoiceCancelled{CancelledAt: at})
		aggregatetest.Given(t, invoice.New(), history...).
			When(invoice.RecordPayment{PaymentID: "p1", Amount: 20000, Currency: "EUR"}).
			Then()
	})

	pay := func(id string, amount int64, currency string) invoice.RecordPayment {
		return invoice.RecordPayment{PaymentID: id, Amount: amount, Currency: currency}
	}
	for _, tc := range []rejection{
		{"a draft cannot be paid", draft, pay("p9", 100, "EUR"), invoice.RejectNotIssued},
		{"a cancelled invoice cannot be paid", cancelled, pay("p9", 100, "EUR"), invoice.RejectNotIssued},
		{"a paid invoice cannot be paid again", paidInv, pay("p9", 100, "EUR"), invoice.RejectAlreadyPaid},
		{"the payment id is required", partly, pay("", 100, "EUR"), codecs.RejectInvalid},
		{"a payment id cannot be reused for another amount", partly, pay("p1", 100, "EUR"), codecs.RejectInvalid},
		{"a payment id cannot be reused for another currency", partly, pay("p1", 20000, "USD"), codecs.RejectInvalid},
		{"a zero payment is refused", partly, pay("p9", 0, "EUR"), invoice.RejectInvalidAmount},
		{"a negative payment is refused", partly, pay("p9", -5, "EUR"), invoice.RejectInvalidAmount},
		{"a payment in another currency is refused", partly, pay("p9", 100, "USD"), invoice.RejectCurrencyMismatch},
		{"a payment without currency is refused", partly, pay("p9", 100, ""), invoice.RejectCurrencyMismatch},
		{"a payment above the balance is refused", partly, pay("p9", 12501, "EUR"), invoice.RejectOverpayment},
		{"a payment above the total of a new invoice is refused", issuedInv, pay("p9", 32501, "EUR"), invoice.RejectOverpayment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}
