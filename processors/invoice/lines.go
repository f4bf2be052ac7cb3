package invoice

import (
	"fmt"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// draft rejects every edit of an invoice that does not exist or is no
// longer a draft.
func draft(s State, m processors.Meta) error {
	if !m.Exists() {
		return notFound(m)
	}
	if s.Status != StatusDraft {
		return codecs.Reject(RejectNotDraft, "invoice %q is %s, not a draft", m.AggregateID, s.Status)
	}
	return nil
}

// addLineItem adds a line to a draft. Rejections: not_found, not_draft,
// invalid (line_id empty or taken, description empty, quantity <= 0),
// invalid_amount (unit_price < 0, line amount or total beyond int64).
func addLineItem(s State, c AddLineItem, m processors.Meta) ([]any, error) {
	if err := draft(s, m); err != nil {
		return nil, err
	}
	var p problems
	p.add(blank(c.LineID), "line_id is empty")
	p.add(!blank(c.LineID) && s.line(c.LineID) >= 0, fmt.Sprintf("line %q exists already", c.LineID))
	p.add(blank(c.Description), "description is empty")
	p.add(c.Quantity <= 0, fmt.Sprintf("quantity %d is not > 0", c.Quantity))
	if err := p.reject(codecs.RejectInvalid); err != nil {
		return nil, err
	}
	if c.UnitPrice < 0 {
		return nil, codecs.Reject(RejectInvalidAmount, "unit_price %d is negative", c.UnitPrice)
	}
	amount, ok := mul(c.Quantity, c.UnitPrice)
	if !ok {
		return nil, codecs.Reject(RejectInvalidAmount, "quantity %d * unit_price %d overflows", c.Quantity, c.UnitPrice)
	}
	if _, ok := add(s.Total, amount); !ok {
		return nil, codecs.Reject(RejectInvalidAmount, "total %d + line amount %d overflows", s.Total, amount)
	}
	return []any{LineItemAdded(c)}, nil
}

// removeLineItem removes a line from a draft. Rejections: not_found,
// not_draft, invalid (no such line).
func removeLineItem(s State, c RemoveLineItem, m processors.Meta) ([]any, error) {
	if err := draft(s, m); err != nil {
		return nil, err
	}
	if s.line(c.LineID) < 0 {
		return nil, codecs.Reject(codecs.RejectInvalid, "invoice %q has no line %q", m.AggregateID, c.LineID)
	}
	return []any{LineItemRemoved(c)}, nil
}

// changeDueDate sets the due date of a draft; the current date is a no-op.
// Rejections: not_found, not_draft, invalid.
func changeDueDate(s State, c ChangeDueDate, m processors.Meta) ([]any, error) {
	if err := draft(s, m); err != nil {
		return nil, err
	}
	if !validDate(c.DueDate) {
		return nil, codecs.Reject(codecs.RejectInvalid, "due_date %q is not a date (YYYY-MM-DD)", c.DueDate)
	}
	if c.DueDate == s.DueDate {
		return nil, nil
	}
	return []any{DueDateChanged(c)}, nil
}
