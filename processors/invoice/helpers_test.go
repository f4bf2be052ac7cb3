package invoice_test

import (
	"time"

	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// at is the decision time of every scenario that does not call At.
var at = aggregatetest.DefaultTime

// A history used by most scenarios: a EUR draft with two lines totalling
// 32500, issued, then partly paid.
var (
	created = invoice.InvoiceCreated{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31", CreatedAt: at}
	lineA   = invoice.LineItemAdded{LineID: "a", Description: "Consulting", Quantity: 3, UnitPrice: 10000}
	lineB   = invoice.LineItemAdded{LineID: "b", Description: "Travel", Quantity: 1, UnitPrice: 2500}
	issued  = invoice.InvoiceIssued{IssuedAt: at.Add(time.Hour)}
	paid1   = invoice.PaymentRecorded{PaymentID: "p1", Amount: 20000, Currency: "EUR", RecordedAt: at.Add(2 * time.Hour)}
	paidAll = invoice.InvoicePaid{PaidAt: at.Add(3 * time.Hour)}
	paid2   = invoice.PaymentRecorded{PaymentID: "p2", Amount: 12500, Currency: "EUR", RecordedAt: at.Add(3 * time.Hour)}
)

// Histories in each status.
var (
	draft     = []any{created, lineA, lineB}
	issuedInv = []any{created, lineA, lineB, issued}
	partly    = []any{created, lineA, lineB, issued, paid1}
	paidInv   = []any{created, lineA, lineB, issued, paid1, paid2, paidAll}
	cancelled = []any{created, lineA, invoice.InvoiceCancelled{Reason: "duplicate", CancelledAt: at}}
)

// rejection is a command and the code it must be rejected with, after
// a history of events.
type rejection struct {
	name  string
	given []any
	when  any
	code  string
}
