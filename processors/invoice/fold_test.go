package invoice_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// TestFoldMatchesDecide drives invoices through long seeded random command
// sequences, valid and invalid mixed. At every accepted step the
// aggregatetest State check folds all events from scratch and compares the
// result with the state Decide produced; the invariants of State are checked
// too, and a rejected command must carry a known code.
func TestFoldMatchesDecide(t *testing.T) {
	known := []string{
		codecs.RejectNotFound, codecs.RejectAlreadyExists, codecs.RejectInvalid,
		invoice.RejectNotDraft, invoice.RejectEmptyInvoice, invoice.RejectNotIssued,
		invoice.RejectInvalidAmount, invoice.RejectOverpayment, invoice.RejectCurrencyMismatch,
		invoice.RejectAlreadyPaid, invoice.RejectAlreadyCancelled,
	}
	agg := invoice.New()
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("random sequence %d folds to the decided state", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 42))
			var (
				history  []any
				s        = agg.Initial()
				when     = at
				accepted int
				invoices = 1
				longest  int
			)
			for i := range 400 {
				if (s.Status == invoice.StatusPaid || s.Status == invoice.StatusCancelled) && r.IntN(4) == 0 {
					// Done with this one: a few commands were rejected, go on with
					// a fresh invoice.
					history, s = nil, agg.Initial()
					invoices++
				}
				cmd := randomCommand(r, s, i)
				when = when.Add(time.Duration(r.IntN(3600)) * time.Second)
				o := aggregatetest.Given(t, agg, history...).At(when).When(cmd)
				d := o.Decision()
				if d.Rejection != nil {
					if d.DeadLetter || !slices.Contains(known, d.Rejection.Code) {
						t.Fatalf("step %d %#v: unexpected rejection %v", i, cmd, d.Rejection)
					}
					continue
				}
				accepted++
				s = o.State()
				for _, e := range d.Events {
					v, err := agg.DecodeEvent(e)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					history = append(history, v)
				}
				longest = max(longest, len(history))
				checkInvariants(t, i, s)
			}
			t.Logf("%d invoices, %d of 400 commands accepted, longest history %d events", invoices, accepted, longest)
			if accepted < 100 || longest < 20 {
				t.Errorf("%d commands accepted, longest history %d: the generator is too hostile", accepted, longest)
			}
		})
	}
}

// checkInvariants fails the test when s is inconsistent.
func checkInvariants(t *testing.T, step int, s invoice.State) {
	t.Helper()
	var total, paid int64
	ids := map[string]bool{}
	for _, l := range s.Lines {
		if ids[l.LineID] {
			t.Fatalf("step %d: line %q twice", step, l.LineID)
		}
		ids[l.LineID] = true
		total += l.Amount()
	}
	for _, p := range s.Payments {
		paid += p.Amount
	}
	switch {
	case s.Total != total:
		t.Fatalf("step %d: total %d, lines sum to %d", step, s.Total, total)
	case s.Paid != paid:
		t.Fatalf("step %d: paid %d, payments sum to %d", step, s.Paid, paid)
	case s.Balance != s.Total-s.Paid || s.Balance < 0:
		t.Fatalf("step %d: balance %d, total %d, paid %d", step, s.Balance, s.Total, s.Paid)
	case s.Status == invoice.StatusPaid && s.Balance != 0:
		t.Fatalf("step %d: paid with balance %d", step, s.Balance)
	case s.Status == invoice.StatusDraft && s.Paid != 0:
		t.Fatalf("step %d: draft with payments", step)
	}
}

// randomCommand returns a command for the invoice in state s: mostly
// plausible, sometimes wrong (duplicate ids, bad amounts, bad dates, wrong
// currency), so both accepted and rejected paths are exercised.
func randomCommand(r *rand.Rand, s invoice.State, i int) any {
	if s.Status == "" && r.IntN(10) > 0 {
		return invoice.CreateInvoice{Customer: "ACME", Currency: "EUR", DueDate: "2026-12-31"}
	}
	pick := func(valid string, invalid ...string) string {
		if r.IntN(8) == 0 {
			return invalid[r.IntN(len(invalid))]
		}
		return valid
	}
	switch k := r.IntN(100); {
	case k < 2:
		return invoice.CreateInvoice{Customer: "Other", Currency: pick("USD", "usd"), DueDate: "2027-01-01"}
	case k < 40:
		return invoice.AddLineItem{
			LineID:      fmt.Sprintf("l%d", r.IntN(i+3)),
			Description: pick("Item", "", " "),
			Quantity:    r.Int64N(6) - 1,
			UnitPrice:   r.Int64N(20000) - 500,
		}
	case k < 55:
		id := fmt.Sprintf("l%d", r.IntN(i+3))
		if len(s.Lines) > 0 && r.IntN(3) > 0 {
			id = s.Lines[r.IntN(len(s.Lines))].LineID
		}
		return invoice.RemoveLineItem{LineID: id}
	case k < 62:
		return invoice.ChangeDueDate{DueDate: pick(fmt.Sprintf("2027-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)), "2027-02-30", "soon", "")}
	case k < 66:
		return invoice.IssueInvoice{}
	case k < 75 && len(s.Payments) > 0:
		p := s.Payments[r.IntN(len(s.Payments))]
		return invoice.RecordPayment{PaymentID: p.PaymentID, Amount: p.Amount, Currency: s.Currency}
	case k < 99:
		amount := 1 + r.Int64N(max(s.Balance, 1))
		switch r.IntN(10) {
		case 0:
			amount = s.Balance
		case 1:
			amount = s.Balance + 1 + r.Int64N(100)
		case 2:
			amount = -r.Int64N(2)
		}
		return invoice.RecordPayment{
			PaymentID: pick(fmt.Sprintf("p%d", i), "", "p0"),
			Amount:    amount,
			Currency:  pick("EUR", "USD", "eur", ""),
		}
	default:
		return invoice.CancelInvoice{Reason: "random"}
	}
}

// TestLongValidSequence decides a long seeded sequence of valid commands on
// one invoice (hundreds of line edits, then many partial payments) through
// Decide, as the processor does, and checks that folding all its events
// gives the decided state; the last command goes through aggregatetest,
// whose State check folds the whole history again.
func TestLongValidSequence(t *testing.T) {
	agg := invoice.New()
	r := rand.New(rand.NewPCG(7, 7))
	var (
		snap   *codecs.Snapshot
		events []codecs.Event
		s      = agg.Initial()
		when   = at
	)
	decide := func(cmd any) {
		t.Helper()
		name, _ := agg.CommandName(cmd)
		data, err := json.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		when = when.Add(time.Minute)
		d := agg.Decide(snap, &codecs.Command{ID: fmt.Sprintf("c%d", len(events)), Aggregate: invoice.Name,
			AggregateID: "inv-1", Type: name, Data: data}, when)
		if d.Rejection != nil {
			t.Fatalf("after %d events, %#v: %v", len(events), cmd, d.Rejection)
		}
		events = append(events, d.Events...)
		snap = &codecs.Snapshot{AggregateID: "inv-1", Version: uint64(len(events)), Schema: d.StateSchema, State: d.State}
		if s, err = agg.DecodeState(d.StateSchema, d.State); err != nil {
			t.Fatal(err)
		}
	}

	decide(invoice.CreateInvoice{Customer: "ACME", Currency: "JPY", DueDate: "2026-12-31"})
	for i := range 400 {
		switch k := r.IntN(10); {
		case k < 6 || len(s.Lines) == 0:
			decide(invoice.AddLineItem{LineID: fmt.Sprintf("l%d", i), Description: "Item",
				Quantity: 1 + r.Int64N(10), UnitPrice: r.Int64N(100000)})
		case k < 9:
			decide(invoice.RemoveLineItem{LineID: s.Lines[r.IntN(len(s.Lines))].LineID})
		default:
			decide(invoice.ChangeDueDate{DueDate: fmt.Sprintf("2027-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))})
		}
	}
	if s.Total == 0 {
		decide(invoice.AddLineItem{LineID: "last", Description: "Item", Quantity: 1, UnitPrice: 1})
	}
	decide(invoice.IssueInvoice{})
	var history []any
	for i := 0; s.Balance > 1; i++ {
		decide(invoice.RecordPayment{PaymentID: fmt.Sprintf("p%d", i), Amount: 1 + r.Int64N(s.Balance/2), Currency: "JPY"})
	}

	for _, e := range events {
		v, err := agg.DecodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, v)
	}
	folded, err := agg.Fold(events)
	if err != nil {
		t.Fatal(err)
	}
	if string(folded) != string(snap.State) {
		t.Fatalf("fold of %d events differs from the decided state:\nfold    %s\ndecided %s", len(events), folded, snap.State)
	}
	last := aggregatetest.Given(t, agg, history...).
		When(invoice.RecordPayment{PaymentID: "last", Amount: s.Balance, Currency: "JPY"}).
		State()
	checkInvariants(t, len(events), last)
	if last.Status != invoice.StatusPaid || len(events) < 400 {
		t.Fatalf("after %d events: status %q, want paid after at least 400 events", len(events), last.Status)
	}
}
