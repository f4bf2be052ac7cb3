package invoice

import "time"

// InvoiceCreated records a new draft invoice.
type InvoiceCreated struct {
	Customer  string    `json:"customer"`
	Currency  string    `json:"currency"`
	DueDate   string    `json:"due_date"`
	CreatedAt time.Time `json:"created_at"`
}

// LineItemAdded records a line added to a draft.
type LineItemAdded struct {
	LineID      string `json:"line_id"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unit_price"`
}

// LineItemRemoved records the removal of a line from a draft.
type LineItemRemoved struct {
	LineID string `json:"line_id"`
}

// DueDateChanged records a new due date of a draft.
type DueDateChanged struct {
	DueDate string `json:"due_date"`
}

// InvoiceIssued records that a draft was issued and became payable.
type InvoiceIssued struct {
	IssuedAt time.Time `json:"issued_at"`
}

// PaymentRecorded records a payment against an issued invoice.
type PaymentRecorded struct {
	PaymentID  string    `json:"payment_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	RecordedAt time.Time `json:"recorded_at"`
}

// InvoicePaid records that the balance of an issued invoice reached zero.
// It follows the PaymentRecorded (or InvoiceIssued, for a zero total) of the
// same command.
type InvoicePaid struct {
	PaidAt time.Time `json:"paid_at"`
}

// InvoiceCancelled records the cancellation of a draft or issued invoice.
type InvoiceCancelled struct {
	Reason      string    `json:"reason,omitempty"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// The appliers fold one event into the state. They trust the event (the
// handler validated it when it was decided) and must accept every event
// ever recorded, so they never reject. They append to the state's slices,
// which is safe because a fold owns its state; a removal builds a new slice
// so a copy of the state sharing the old backing array is left intact.

func applyInvoiceCreated(s *State, e InvoiceCreated) {
	s.Customer = e.Customer
	s.Currency = e.Currency
	s.DueDate = e.DueDate
	s.Status = StatusDraft
	s.CreatedAt = e.CreatedAt
}

func applyLineItemAdded(s *State, e LineItemAdded) {
	l := Line(e)
	s.Lines = append(s.Lines, l)
	s.Total += l.Amount()
	s.Balance = s.Total - s.Paid
}

func applyLineItemRemoved(s *State, e LineItemRemoved) {
	i := s.line(e.LineID)
	if i < 0 {
		return
	}
	s.Total -= s.Lines[i].Amount()
	s.Balance = s.Total - s.Paid
	lines := make([]Line, 0, len(s.Lines)-1)
	lines = append(lines, s.Lines[:i]...)
	s.Lines = append(lines, s.Lines[i+1:]...)
}

func applyDueDateChanged(s *State, e DueDateChanged) {
	s.DueDate = e.DueDate
}

func applyInvoiceIssued(s *State, e InvoiceIssued) {
	s.Status = StatusIssued
	s.IssuedAt = e.IssuedAt
}

func applyPaymentRecorded(s *State, e PaymentRecorded) {
	s.Payments = append(s.Payments, Payment{PaymentID: e.PaymentID, Amount: e.Amount, RecordedAt: e.RecordedAt})
	s.Paid += e.Amount
	s.Balance = s.Total - s.Paid
}

func applyInvoicePaid(s *State, e InvoicePaid) {
	s.Status = StatusPaid
	s.PaidAt = e.PaidAt
}

func applyInvoiceCancelled(s *State, e InvoiceCancelled) {
	s.Status = StatusCancelled
	s.CancelledAt = e.CancelledAt
	s.CancelReason = e.Reason
}
