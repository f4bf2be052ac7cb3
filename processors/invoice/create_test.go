package invoice_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestCreateInvoice(t *testing.T) {
	t.Run("a new invoice is created as an empty draft", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New()).
			When(invoice.CreateInvoice{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31"}).
			Then(created).
			State()
		want := invoice.State{
			Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31", Status: invoice.StatusDraft,
			Lines: []invoice.Line{}, Payments: []invoice.Payment{}, CreatedAt: at,
		}
		if diff := cmp.Diff(want, s); diff != "" {
			t.Fatalf("state (-want +got):\n%s", diff)
		}
	})

	valid := invoice.CreateInvoice{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31"}
	with := func(f func(*invoice.CreateInvoice)) invoice.CreateInvoice { c := valid; f(&c); return c }
	for _, tc := range []rejection{
		{"an invoice cannot be created twice", []any{created}, valid, codecs.RejectAlreadyExists},
		{"an issued invoice cannot be created again", issuedInv, valid, codecs.RejectAlreadyExists},
		{"the customer is required", nil, with(func(c *invoice.CreateInvoice) { c.Customer = "" }), codecs.RejectInvalid},
		{"a blank customer is refused", nil, with(func(c *invoice.CreateInvoice) { c.Customer = " \t" }), codecs.RejectInvalid},
		{"the currency is required", nil, with(func(c *invoice.CreateInvoice) { c.Currency = "" }), codecs.RejectInvalid},
		{"a lower-case currency is refused", nil, with(func(c *invoice.CreateInvoice) { c.Currency = "eur" }), codecs.RejectInvalid},
		{"a two-letter currency is refused", nil, with(func(c *invoice.CreateInvoice) { c.Currency = "EU" }), codecs.RejectInvalid},
		{"a four-letter currency is refused", nil, with(func(c *invoice.CreateInvoice) { c.Currency = "EURO" }), codecs.RejectInvalid},
		{"a currency with digits is refused", nil, with(func(c *invoice.CreateInvoice) { c.Currency = "E1R" }), codecs.RejectInvalid},
		{"the due date is required", nil, with(func(c *invoice.CreateInvoice) { c.DueDate = "" }), codecs.RejectInvalid},
		{"a due date in another layout is refused", nil, with(func(c *invoice.CreateInvoice) { c.DueDate = "31/12/2026" }), codecs.RejectInvalid},
		{"a due date with a time is refused", nil, with(func(c *invoice.CreateInvoice) { c.DueDate = "2026-12-31T00:00:00Z" }), codecs.RejectInvalid},
		{"a due date that is not on the calendar is refused", nil, with(func(c *invoice.CreateInvoice) { c.DueDate = "2026-02-30" }), codecs.RejectInvalid},
		{"a due date without leading zeros is refused", nil, with(func(c *invoice.CreateInvoice) { c.DueDate = "2026-1-5" }), codecs.RejectInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}

	t.Run("every invalid field is named in one rejection", func(t *testing.T) {
		d := aggregatetest.Given(t, invoice.New()).
			When(invoice.CreateInvoice{}).
			ThenRejected(codecs.RejectInvalid).
			Decision()
		for _, field := range []string{"customer", "currency", "due_date"} {
			if !strings.Contains(d.Rejection.Message, field) {
				t.Errorf("message %q does not name %s", d.Rejection.Message, field)
			}
		}
	})

	t.Run("commands on an invoice that does not exist are refused", func(t *testing.T) {
		for _, cmd := range []any{
			invoice.AddLineItem{LineID: "a", Description: "x", Quantity: 1, UnitPrice: 1},
			invoice.RemoveLineItem{LineID: "a"},
			invoice.ChangeDueDate{DueDate: "2027-01-01"},
			invoice.IssueInvoice{},
			invoice.RecordPayment{PaymentID: "p1", Amount: 1, Currency: "EUR"},
			invoice.CancelInvoice{Reason: "typo"},
		} {
			aggregatetest.Given(t, invoice.New()).When(cmd).ThenRejected(codecs.RejectNotFound)
		}
	})
}
