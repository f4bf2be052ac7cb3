package invoice_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// BenchmarkDecide measures one decision as the processor makes it: decode
// the snapshot state and the command, decide, apply, encode events and
// state. The mix alternates AddLineItem on a draft with a few lines and a
// partial RecordPayment on an issued invoice.
func BenchmarkDecide(b *testing.B) {
	agg := invoice.New()
	lines := make([]invoice.Line, 4)
	var total int64
	for i := range lines {
		lines[i] = invoice.Line{LineID: fmt.Sprintf("line-%d", i), Description: "Consulting, senior, per day",
			Quantity: int64(i + 1), UnitPrice: 85000}
		total += lines[i].Amount()
	}
	snapshot := func(s invoice.State, version uint64) *codecs.Snapshot {
		data, err := json.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		return &codecs.Snapshot{AggregateID: "inv-1", Version: version, Schema: 1, State: data}
	}
	base := invoice.State{Customer: "ACME Corporation", Currency: "EUR", DueDate: "2026-12-31",
		Status: invoice.StatusDraft, Lines: lines, Total: total, Balance: total,
		Payments: []invoice.Payment{}, CreatedAt: at}
	draftSnap := snapshot(base, 5)
	iss := base
	iss.Status, iss.IssuedAt = invoice.StatusIssued, at
	iss.Paid, iss.Balance = 100000, total-100000
	iss.Payments = []invoice.Payment{{PaymentID: "tx-0", Amount: 100000, RecordedAt: at}}
	issuedSnap := snapshot(iss, 7)

	cmds := []struct {
		snap *codecs.Snapshot
		cmd  *codecs.Command
	}{
		{draftSnap, &codecs.Command{ID: "c1", Aggregate: invoice.Name, AggregateID: "inv-1", Type: "AddLineItem",
			Data: json.RawMessage(`{"line_id":"line-9","description":"Travel expenses","quantity":2,"unit_price":12550}`)}},
		{issuedSnap, &codecs.Command{ID: "c2", Aggregate: invoice.Name, AggregateID: "inv-1", Type: "RecordPayment",
			Data: json.RawMessage(`{"payment_id":"tx-1","amount":50000,"currency":"EUR"}`)}},
	}
	for _, c := range cmds {
		if d := agg.Decide(c.snap, c.cmd, at); d.Rejection != nil {
			b.Fatalf("%s: %v", c.cmd.Type, d.Rejection)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := cmds[i%len(cmds)]
		if d := agg.Decide(c.snap, c.cmd, at); len(d.Events) != 1 {
			b.Fatalf("%s: %d events", c.cmd.Type, len(d.Events))
		}
		i++
	}
}
