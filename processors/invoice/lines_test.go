package invoice_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestAddLineItem(t *testing.T) {
	t.Run("a line adds its amount to the total and the balance", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), created, lineA).
			When(invoice.AddLineItem{LineID: "b", Description: "Travel", Quantity: 1, UnitPrice: 2500}).
			Then(lineB).
			State()
		want := []invoice.Line{invoice.Line(lineA), invoice.Line(lineB)}
		if diff := cmp.Diff(want, s.Lines); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if s.Total != 32500 || s.Balance != 32500 || s.Paid != 0 {
			t.Errorf("total %d, balance %d, paid %d; want 32500, 32500, 0", s.Total, s.Balance, s.Paid)
		}
	})

	t.Run("a free line is allowed", func(t *testing.T) {
		free := invoice.AddLineItem{LineID: "gift", Description: "Sticker", Quantity: 10, UnitPrice: 0}
		s := aggregatetest.Given(t, invoice.New(), created).When(free).Then(invoice.LineItemAdded(free)).State()
		if s.Total != 0 || len(s.Lines) != 1 {
			t.Errorf("total %d with %d lines; want 0 with 1", s.Total, len(s.Lines))
		}
	})

	t.Run("a line whose amount is exactly the largest int64 is allowed", func(t *testing.T) {
		big := invoice.AddLineItem{LineID: "big", Description: "Everything", Quantity: 1, UnitPrice: math.MaxInt64}
		s := aggregatetest.Given(t, invoice.New(), created).When(big).Then(invoice.LineItemAdded(big)).State()
		if s.Total != math.MaxInt64 {
			t.Errorf("total %d, want %d", s.Total, int64(math.MaxInt64))
		}
	})

	valid := invoice.AddLineItem{LineID: "c", Description: "Hosting", Quantity: 2, UnitPrice: 999}
	with := func(f func(*invoice.AddLineItem)) invoice.AddLineItem { c := valid; f(&c); return c }
	huge := invoice.LineItemAdded{LineID: "huge", Description: "Huge", Quantity: 1, UnitPrice: math.MaxInt64 - 100}
	for _, tc := range []rejection{
		{"an issued invoice cannot be edited", issuedInv, valid, invoice.RejectNotDraft},
		{"a paid invoice cannot be edited", paidInv, valid, invoice.RejectNotDraft},
		{"a cancelled invoice cannot be edited", cancelled, valid, invoice.RejectNotDraft},
		{"the line id is required", draft, with(func(c *invoice.AddLineItem) { c.LineID = "" }), codecs.RejectInvalid},
		{"a line id is unique within the invoice", draft, with(func(c *invoice.AddLineItem) { c.LineID = "a" }), codecs.RejectInvalid},
		{"the description is required", draft, with(func(c *invoice.AddLineItem) { c.Description = " " }), codecs.RejectInvalid},
		{"a zero quantity is refused", draft, with(func(c *invoice.AddLineItem) { c.Quantity = 0 }), codecs.RejectInvalid},
		{"a negative quantity is refused", draft, with(func(c *invoice.AddLineItem) { c.Quantity = -1 }), codecs.RejectInvalid},
		{"a negative unit price is refused", draft, with(func(c *invoice.AddLineItem) { c.UnitPrice = -1 }), invoice.RejectInvalidAmount},
		{"a line amount beyond int64 is refused", draft, with(func(c *invoice.AddLineItem) {
			c.Quantity, c.UnitPrice = 3, math.MaxInt64/2
		}), invoice.RejectInvalidAmount},
		{"a line amount of the largest quantity and price is refused", draft, with(func(c *invoice.AddLineItem) {
			c.Quantity, c.UnitPrice = math.MaxInt64, math.MaxInt64
		}), invoice.RejectInvalidAmount},
		{"a total beyond int64 is refused", []any{created, huge}, valid, invoice.RejectInvalidAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}

func TestRemoveLineItem(t *testing.T) {
	t.Run("a removed line no longer counts in the total", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), draft...).
			When(invoice.RemoveLineItem{LineID: "a"}).
			Then(invoice.LineItemRemoved{LineID: "a"}).
			State()
		if diff := cmp.Diff([]invoice.Line{invoice.Line(lineB)}, s.Lines); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if s.Total != 2500 || s.Balance != 2500 {
			t.Errorf("total %d, balance %d; want 2500, 2500", s.Total, s.Balance)
		}
	})

	t.Run("removing every line leaves an empty draft", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), created, lineA).
			When(invoice.RemoveLineItem{LineID: "a"}).
			Then(invoice.LineItemRemoved{LineID: "a"}).
			State()
		if len(s.Lines) != 0 || s.Total != 0 || s.Balance != 0 {
			t.Errorf("lines %v, total %d, balance %d; want none, 0, 0", s.Lines, s.Total, s.Balance)
		}
	})

	t.Run("a removed line id can be added again", func(t *testing.T) {
		again := invoice.AddLineItem{LineID: "a", Description: "Consulting (fixed)", Quantity: 2, UnitPrice: 10000}
		aggregatetest.Given(t, invoice.New(), created, lineA, invoice.LineItemRemoved{LineID: "a"}).
			When(again).
			Then(invoice.LineItemAdded(again))
	})

	for _, tc := range []rejection{
		{"an unknown line cannot be removed", draft, invoice.RemoveLineItem{LineID: "zzz"}, codecs.RejectInvalid},
		{"a line cannot be removed twice", []any{created, lineA, invoice.LineItemRemoved{LineID: "a"}}, invoice.RemoveLineItem{LineID: "a"}, codecs.RejectInvalid},
		{"an empty line id is refused", draft, invoice.RemoveLineItem{}, codecs.RejectInvalid},
		{"a line of an issued invoice cannot be removed", issuedInv, invoice.RemoveLineItem{LineID: "a"}, invoice.RejectNotDraft},
		{"a line of a cancelled invoice cannot be removed", cancelled, invoice.RemoveLineItem{LineID: "a"}, invoice.RejectNotDraft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}

func TestChangeDueDate(t *testing.T) {
	t.Run("the due date of a draft can change", func(t *testing.T) {
		s := aggregatetest.Given(t, invoice.New(), draft...).
			When(invoice.ChangeDueDate{DueDate: "2027-01-31"}).
			Then(invoice.DueDateChanged{DueDate: "2027-01-31"}).
			State()
		if s.DueDate != "2027-01-31" {
			t.Errorf("due date %q, want 2027-01-31", s.DueDate)
		}
	})

	t.Run("setting the current due date records nothing", func(t *testing.T) {
		aggregatetest.Given(t, invoice.New(), draft...).
			When(invoice.ChangeDueDate{DueDate: created.DueDate}).
			Then()
	})

	for _, tc := range []rejection{
		{"a malformed due date is refused", draft, invoice.ChangeDueDate{DueDate: "tomorrow"}, codecs.RejectInvalid},
		{"an empty due date is refused", draft, invoice.ChangeDueDate{}, codecs.RejectInvalid},
		{"the due date of an issued invoice is fixed", issuedInv, invoice.ChangeDueDate{DueDate: "2027-01-31"}, invoice.RejectNotDraft},
		{"the due date of a paid invoice is fixed", paidInv, invoice.ChangeDueDate{DueDate: "2027-01-31"}, invoice.RejectNotDraft},
		{"the due date of a cancelled invoice is fixed", cancelled, invoice.ChangeDueDate{DueDate: "2027-01-31"}, invoice.RejectNotDraft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).When(tc.when).ThenRejected(tc.code)
		})
	}
}
