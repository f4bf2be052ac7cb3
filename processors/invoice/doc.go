// Package invoice is the invoicing reference aggregate: an invoice is
// created as a draft, edited (line items, due date), issued, paid in one or
// more payments, or cancelled.
//
// New returns the definition the processor runs. Its command and event
// names, their JSON fields and the rejection codes are public API (see
// DESIGN.md, Reference aggregates); change them only with an upcaster.
//
// Lifecycle: a draft becomes issued (IssueInvoice), an issued invoice
// becomes paid when its balance reaches zero (RecordPayment records
// PaymentRecorded and InvoicePaid in the same step), and a draft or issued
// invoice can be cancelled. Amounts are int64 minor units (cents); every sum
// is checked for overflow.
//
// Choices beyond DESIGN.md:
//
//   - A RecordPayment whose payment_id is already recorded with the same
//     amount and currency is accepted as a no-op (no events), whatever the
//     status now, so a redelivered payment notification is harmless. The
//     same payment_id with another amount or currency is rejected (invalid).
//   - Cancelling a cancelled invoice is rejected with already_cancelled.
//   - IssueInvoice on an invoice whose lines total zero records InvoiceIssued
//     and InvoicePaid: nothing is owed.
//   - ChangeDueDate to the current due date is accepted as a no-op.
//   - The cancel reason is optional.
//
// Handlers are pure: the only clock is processors.Meta.Time, which becomes
// created_at, issued_at, paid_at and cancelled_at. The definition is safe for
// concurrent use once built.
package invoice
