package invoice

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/processors"
)

// TestHandlersDoNotMutate runs every handler on a state whose slices have
// spare capacity, and checks the state it was given is unchanged.
func TestHandlersDoNotMutate(t *testing.T) {
	s := initial()
	s.Lines = make([]Line, 0, 8)
	applyInvoiceCreated(&s, InvoiceCreated{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31"})
	applyLineItemAdded(&s, LineItemAdded{LineID: "a", Description: "x", Quantity: 2, UnitPrice: 100})
	applyLineItemAdded(&s, LineItemAdded{LineID: "b", Description: "y", Quantity: 1, UnitPrice: 50})
	m := processors.Meta{AggregateID: "inv-1", Version: 3}

	check := func(name string, f func(State)) {
		t.Helper()
		before := clone(s)
		f(s)
		if diff := cmp.Diff(before, s); diff != "" {
			t.Errorf("%s changed its state (-before +after):\n%s", name, diff)
		}
		if full := s.Lines[:cap(s.Lines)]; full[len(s.Lines)] != (Line{}) {
			t.Errorf("%s wrote past the end of the lines", name)
		}
	}
	check("addLineItem", func(s State) {
		_, _ = addLineItem(s, AddLineItem{LineID: "c", Description: "z", Quantity: 1, UnitPrice: 1}, m)
	})
	check("removeLineItem", func(s State) { _, _ = removeLineItem(s, RemoveLineItem{LineID: "a"}, m) })
	check("changeDueDate", func(s State) { _, _ = changeDueDate(s, ChangeDueDate{DueDate: "2027-01-01"}, m) })
	check("issueInvoice", func(s State) { _, _ = issueInvoice(s, IssueInvoice{}, m) })
	check("cancelInvoice", func(s State) { _, _ = cancelInvoice(s, CancelInvoice{}, m) })
	s.Status = StatusIssued
	check("recordPayment", func(s State) { _, _ = recordPayment(s, RecordPayment{PaymentID: "p", Amount: 1, Currency: "EUR"}, m) })
}

// TestRemoveLeavesCopiesIntact checks that removing a line from one copy of
// a state does not shift the lines another copy sees.
func TestRemoveLeavesCopiesIntact(t *testing.T) {
	s := initial()
	applyLineItemAdded(&s, LineItemAdded{LineID: "a", Quantity: 1, UnitPrice: 1})
	applyLineItemAdded(&s, LineItemAdded{LineID: "b", Quantity: 1, UnitPrice: 2})
	applyLineItemAdded(&s, LineItemAdded{LineID: "c", Quantity: 1, UnitPrice: 3})
	other := s
	applyLineItemRemoved(&s, LineItemRemoved{LineID: "a"})
	if got := []string{other.Lines[0].LineID, other.Lines[1].LineID, other.Lines[2].LineID}; !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("the other copy sees lines %v", got)
	}
	if len(s.Lines) != 2 || s.Total != 5 {
		t.Fatalf("after removal: %d lines, total %d; want 2, 5", len(s.Lines), s.Total)
	}
}

func clone(s State) State {
	s.Lines = slices.Clone(s.Lines)
	s.Payments = slices.Clone(s.Payments)
	return s
}
