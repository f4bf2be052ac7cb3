package invoice_test

import (
	"encoding/json"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/aggregatetest"
	"github.com/b2dc4357/sourced/processors/invoice"
)

func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []any
		typ   string
		data  string
		code  string
	}{
		{"a quantity given as a string is malformed", draft, "AddLineItem",
			`{"line_id":"c","description":"x","quantity":"2","unit_price":100}`, codecs.RejectMalformed},
		{"a fractional unit price is malformed", draft, "AddLineItem",
			`{"line_id":"c","description":"x","quantity":2,"unit_price":1.5}`, codecs.RejectMalformed},
		{"an amount beyond int64 is malformed", partly, "RecordPayment",
			`{"payment_id":"p9","amount":99999999999999999999,"currency":"EUR"}`, codecs.RejectMalformed},
		{"an unknown field is malformed", nil, "CreateInvoice",
			`{"customer":"ACME","currency":"EUR","due_date":"2026-12-31","discount":5}`, codecs.RejectMalformed},
		{"a misspelled field is malformed", partly, "RecordPayment",
			`{"paymentId":"p9","amount":100,"currency":"EUR"}`, codecs.RejectMalformed},
		{"data that is not JSON is malformed", nil, "CreateInvoice", `{customer: ACME}`, codecs.RejectMalformed},
		{"data that is an array is malformed", draft, "RemoveLineItem", `["a"]`, codecs.RejectMalformed},
		{"trailing data is malformed", draft, "IssueInvoice", `{} {}`, codecs.RejectMalformed},
		{"a field to an empty command is malformed", draft, "IssueInvoice", `{"now":true}`, codecs.RejectMalformed},
		{"a command type that does not exist is unknown", draft, "ShipInvoice", `{}`, codecs.RejectUnknownCommand},
		{"missing data means every field is empty", nil, "CreateInvoice", ``, codecs.RejectInvalid},
		{"null data means every field is empty", draft, "AddLineItem", `null`, codecs.RejectInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aggregatetest.Given(t, invoice.New(), tc.given...).
				WhenRaw(tc.typ, json.RawMessage(tc.data)).
				ThenRejected(tc.code)
		})
	}

	t.Run("an empty command accepts empty or absent data", func(t *testing.T) {
		for _, data := range []string{``, `null`, `{}`} {
			aggregatetest.Given(t, invoice.New(), draft...).
				WhenRaw("IssueInvoice", json.RawMessage(data)).
				Then(invoice.InvoiceIssued{IssuedAt: at})
		}
	})
}
