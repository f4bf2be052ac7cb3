package invoice

import "time"

// Status is the lifecycle stage of an invoice.
type Status string

// The statuses: draft -> issued -> paid, or draft|issued -> cancelled. An
// invoice without events has the empty status.
const (
	StatusDraft     Status = "draft"
	StatusIssued    Status = "issued"
	StatusPaid      Status = "paid"
	StatusCancelled Status = "cancelled"
)

// State is the state of one invoice, derived from its events alone. It is
// the snapshot's state and the document the views project. Amounts are in
// minor units of Currency; Balance is always Total - Paid.
type State struct {
	Customer string `json:"customer"`
	Currency string `json:"currency"`
	DueDate  string `json:"due_date"`
	Status   Status `json:"status"`
	// Lines are in the order they were added; never nil.
	Lines   []Line `json:"lines"`
	Total   int64  `json:"total"`
	Paid    int64  `json:"paid"`
	Balance int64  `json:"balance"`
	// Payments are in the order they were recorded; never nil.
	Payments []Payment `json:"payments"`

	CreatedAt    time.Time `json:"created_at,omitzero"`
	IssuedAt     time.Time `json:"issued_at,omitzero"`
	PaidAt       time.Time `json:"paid_at,omitzero"`
	CancelledAt  time.Time `json:"cancelled_at,omitzero"`
	CancelReason string    `json:"cancel_reason,omitempty"`
}

// Line is a line item: Quantity units at UnitPrice each.
type Line struct {
	LineID      string `json:"line_id"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unit_price"`
}

// Amount returns Quantity * UnitPrice. Handlers check that it does not
// overflow before a line is recorded.
func (l Line) Amount() int64 { return l.Quantity * l.UnitPrice }

// Payment is a recorded payment.
type Payment struct {
	PaymentID  string    `json:"payment_id"`
	Amount     int64     `json:"amount"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

// initial is the state of an invoice without events. The slices are empty
// rather than nil so the encoded state shows [] and a decoded state equals
// a folded one.
func initial() State {
	return State{Lines: []Line{}, Payments: []Payment{}}
}

// line returns the index of line id in s.Lines, or -1.
func (s *State) line(id string) int {
	for i := range s.Lines {
		if s.Lines[i].LineID == id {
			return i
		}
	}
	return -1
}

// payment returns the index of payment id in s.Payments, or -1.
func (s *State) payment(id string) int {
	for i := range s.Payments {
		if s.Payments[i].PaymentID == id {
			return i
		}
	}
	return -1
}
