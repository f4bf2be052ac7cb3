package invoice

// CreateInvoice opens a draft invoice. Customer must not be blank, Currency
// is an ISO 4217 code (three upper-case letters, e.g. "EUR") and DueDate a
// calendar date (YYYY-MM-DD).
type CreateInvoice struct {
	Customer string `json:"customer"`
	Currency string `json:"currency"`
	DueDate  string `json:"due_date"`
}

// AddLineItem adds a line to a draft. LineID is chosen by the client and
// unique within the invoice; Quantity is > 0 and UnitPrice >= 0, in minor
// units of the invoice currency.
type AddLineItem struct {
	LineID      string `json:"line_id"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unit_price"`
}

// RemoveLineItem removes line LineID from a draft.
type RemoveLineItem struct {
	LineID string `json:"line_id"`
}

// ChangeDueDate sets the due date (YYYY-MM-DD) of a draft.
type ChangeDueDate struct {
	DueDate string `json:"due_date"`
}

// IssueInvoice freezes a draft with at least one line and makes it payable.
type IssueInvoice struct{}

// RecordPayment records a payment of Amount minor units in Currency against
// an issued invoice. PaymentID identifies the payment (e.g. the payment
// provider's id) and makes a redelivered payment a no-op.
type RecordPayment struct {
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
}

// CancelInvoice cancels a draft or issued invoice. Reason is optional.
type CancelInvoice struct {
	Reason string `json:"reason"`
}
