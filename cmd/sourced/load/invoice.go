package load

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/b2dc4357/sourced/processors/invoice"
)

// The phases of an invoice actor's current invoice.
const (
	invNew      = iota // no invoice yet: create one
	invDraft           // created: add lines, maybe edit, then issue or cancel
	invIssued          // issued: pay or cancel
	invPaid            // paid in full
	invFinished        // cancelled or paid and done: start a new invoice
)

var (
	currencies   = []string{"EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF", "SEK"}
	descriptions = []string{"consulting", "widgets", "support plan", "licence", "hosting",
		"training day", "hardware", "travel", "design work", "maintenance"}
	cancelReasons = []string{"duplicate", "customer request", "wrong customer", "replaced"}
	baseDate      = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

// invoiceActor walks invoices through their life, one after another:
// CreateInvoice, 1-5 AddLineItem, sometimes RemoveLineItem or ChangeDueDate,
// IssueInvoice, then one or two RecordPayment summing to the total; about
// 5% are cancelled as drafts and 3% after issue. With probability Invalid
// at each fitting point it sends a command the aggregate must reject:
// IssueInvoice without lines (empty_invoice), AddLineItem on an issued
// invoice (not_draft), an overpayment (overpayment), a payment in another
// currency (currency_mismatch), a payment on a paid invoice (already_paid).
type invoiceActor struct {
	r       *rand.Rand
	prefix  string
	slot    int
	invalid float64

	count    int // invoices started
	id       string
	phase    int
	currency string
	dueDate  string
	lines    []invoiceLine
	lineSeq  int
	payments int // payment ids used (valid or not)
	balance  int64

	// The plan of the current invoice.
	wantLines    int
	removeLine   bool
	changeDue    bool
	cancelDraft  bool
	cancelIssued bool
	split        bool // pay in two payments
	paidOnce     bool
	triedInvalid bool // one invalid command per phase at most
}

type invoiceLine struct {
	id     string
	amount int64
}

func newInvoiceActor(s *Scenario, slot int, r *rand.Rand) Actor {
	return &invoiceActor{r: r, prefix: s.cfg.Prefix, slot: slot, invalid: s.cfg.Invalid}
}

func (a *invoiceActor) Outcome(expected bool) {
	if !expected {
		a.phase = invNew
	}
}

// bad reports whether to send an invalid command now (at most once per
// phase, so an actor always makes progress).
func (a *invoiceActor) bad() bool {
	if a.triedInvalid || a.invalid <= 0 || a.r.Float64() >= a.invalid {
		return false
	}
	a.triedInvalid = true
	return true
}

func (a *invoiceActor) cmd(typ string, payload any, expect string) Command {
	return Command{AggregateID: a.id, Type: typ, Data: data(payload), Expect: expect}
}

func (a *invoiceActor) Next() Command {
	switch a.phase {
	case invDraft:
		return a.draft()
	case invIssued:
		return a.issued()
	case invPaid:
		a.phase = invFinished
		if a.bad() {
			return a.cmd("RecordPayment", invoice.RecordPayment{PaymentID: a.paymentID(), Amount: 1, Currency: a.currency}, invoice.RejectAlreadyPaid)
		}
	}
	return a.create()
}

// create starts the next invoice and plans its life.
func (a *invoiceActor) create() Command {
	a.count++
	a.id = fmt.Sprintf("%s-inv-%d-%d", a.prefix, a.slot, a.count)
	a.phase = invDraft
	a.currency = currencies[a.r.IntN(len(currencies))]
	a.dueDate = baseDate.AddDate(0, 0, 14+a.r.IntN(60)).Format(time.DateOnly)
	a.lines, a.lineSeq, a.payments, a.balance = a.lines[:0], 0, 0, 0
	a.wantLines = 1 + a.r.IntN(5)
	a.removeLine = a.r.Float64() < 0.2
	a.changeDue = a.r.Float64() < 0.15
	a.cancelDraft = a.r.Float64() < 0.05
	a.cancelIssued = !a.cancelDraft && a.r.Float64() < 0.03
	a.split = a.r.Float64() < 0.3
	a.paidOnce, a.triedInvalid = false, false
	return a.cmd("CreateInvoice", invoice.CreateInvoice{
		Customer: fmt.Sprintf("customer-%d", a.r.IntN(5000)),
		Currency: a.currency,
		DueDate:  a.dueDate,
	}, "")
}

func (a *invoiceActor) draft() Command {
	if len(a.lines) == 0 && a.bad() {
		return a.cmd("IssueInvoice", invoice.IssueInvoice{}, invoice.RejectEmptyInvoice)
	}
	if len(a.lines) < a.wantLines {
		a.lineSeq++
		l := invoice.AddLineItem{
			LineID:      fmt.Sprintf("l%d", a.lineSeq),
			Description: descriptions[a.r.IntN(len(descriptions))],
			Quantity:    1 + a.r.Int64N(10),
			UnitPrice:   100 + a.r.Int64N(100_000),
		}
		a.lines = append(a.lines, invoiceLine{id: l.LineID, amount: l.Quantity * l.UnitPrice})
		a.balance += l.Quantity * l.UnitPrice
		return a.cmd("AddLineItem", l, "")
	}
	if a.removeLine && len(a.lines) > 1 {
		a.removeLine = false
		i := a.r.IntN(len(a.lines))
		l := a.lines[i]
		a.lines = append(a.lines[:i], a.lines[i+1:]...)
		a.balance -= l.amount
		return a.cmd("RemoveLineItem", invoice.RemoveLineItem{LineID: l.id}, "")
	}
	if a.changeDue {
		a.changeDue = false
		due, _ := time.Parse(time.DateOnly, a.dueDate)
		a.dueDate = due.AddDate(0, 0, 1+a.r.IntN(30)).Format(time.DateOnly)
		return a.cmd("ChangeDueDate", invoice.ChangeDueDate{DueDate: a.dueDate}, "")
	}
	if a.cancelDraft {
		a.phase = invFinished
		return a.cmd("CancelInvoice", invoice.CancelInvoice{Reason: cancelReasons[a.r.IntN(len(cancelReasons))]}, "")
	}
	a.phase, a.triedInvalid = invIssued, false
	return a.cmd("IssueInvoice", invoice.IssueInvoice{}, "")
}

func (a *invoiceActor) issued() Command {
	if a.bad() {
		switch a.r.IntN(3) {
		case 0:
			return a.cmd("AddLineItem", invoice.AddLineItem{LineID: "late", Description: "late line", Quantity: 1, UnitPrice: 100}, invoice.RejectNotDraft)
		case 1:
			return a.cmd("RecordPayment", invoice.RecordPayment{PaymentID: a.paymentID(), Amount: a.balance + 1, Currency: a.currency}, invoice.RejectOverpayment)
		default:
			other := "JPY" // never one of currencies
			return a.cmd("RecordPayment", invoice.RecordPayment{PaymentID: a.paymentID(), Amount: 1, Currency: other}, invoice.RejectCurrencyMismatch)
		}
	}
	if a.cancelIssued {
		a.phase = invFinished
		return a.cmd("CancelInvoice", invoice.CancelInvoice{Reason: cancelReasons[a.r.IntN(len(cancelReasons))]}, "")
	}
	amount := a.balance
	if a.split && !a.paidOnce && a.balance >= 2 {
		amount = a.balance * int64(30+a.r.IntN(41)) / 100
		a.paidOnce = true
	}
	a.balance -= amount
	if a.balance == 0 {
		a.phase, a.triedInvalid = invPaid, false
	}
	return a.cmd("RecordPayment", invoice.RecordPayment{PaymentID: a.paymentID(), Amount: amount, Currency: a.currency}, "")
}

func (a *invoiceActor) paymentID() string {
	a.payments++
	return fmt.Sprintf("pay-%d", a.payments)
}
