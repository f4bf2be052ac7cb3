package invoice_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// The processor decides each command against the snapshot of its invoice
// and stores the new state with the recorded events. A rejection is data:
// the snapshot stays as it was.
func Example() {
	agg := invoice.New()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

	var (
		snap *codecs.Snapshot
		n    int
	)
	send := func(typ, data string) {
		n++
		cmd := &codecs.Command{ID: fmt.Sprintf("cmd-%d", n), Aggregate: invoice.Name, AggregateID: "inv-1", Type: typ, Data: json.RawMessage(data)}
		d := agg.Decide(snap, cmd, now)
		if d.Rejection != nil {
			fmt.Printf("%s: rejected %s\n", typ, d.Rejection.Code)
			return
		}
		for _, e := range d.Events {
			fmt.Printf("%s: v%d %s %s\n", typ, e.Version, e.Type, e.Data)
		}
		snap = &codecs.Snapshot{AggregateID: "inv-1", Version: d.Events[len(d.Events)-1].Version,
			Schema: d.StateSchema, State: d.State}
	}

	send("CreateInvoice", `{"customer":"ACME","currency":"EUR","due_date":"2026-12-31"}`)
	send("AddLineItem", `{"line_id":"1","description":"Consulting","quantity":3,"unit_price":10000}`)
	send("RecordPayment", `{"payment_id":"tx-1","amount":30000,"currency":"EUR"}`)
	send("IssueInvoice", `{}`)
	send("RecordPayment", `{"payment_id":"tx-1","amount":30000,"currency":"EUR"}`)

	var s invoice.State
	if err := json.Unmarshal(snap.State, &s); err != nil {
		panic(err)
	}
	fmt.Printf("status %s, total %d, paid %d, balance %d\n", s.Status, s.Total, s.Paid, s.Balance)
	// Output:
	// CreateInvoice: v1 InvoiceCreated {"customer":"ACME","currency":"EUR","due_date":"2026-12-31","created_at":"2026-11-23T10:00:00Z"}
	// AddLineItem: v2 LineItemAdded {"line_id":"1","description":"Consulting","quantity":3,"unit_price":10000}
	// RecordPayment: rejected not_issued
	// IssueInvoice: v3 InvoiceIssued {"issued_at":"2026-11-23T10:00:00Z"}
	// RecordPayment: v4 PaymentRecorded {"payment_id":"tx-1","amount":30000,"currency":"EUR","recorded_at":"2026-11-23T10:00:00Z"}
	// RecordPayment: v5 InvoicePaid {"paid_at":"2026-11-23T10:00:00Z"}
	// status paid, total 30000, paid 30000, balance 0
}
