package gateway_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/b2dc4357/sourced/cmd/sourced/gateway"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// The gateway answers every error as JSON {code, message}. New does not
// contact Kafka, so the routes answer at once; commands wait for Run to
// position the results readers.
func Example() {
	tokens, err := gateway.ParseTokens(strings.NewReader("writer-token-0123456789 write\n"))
	if err != nil {
		panic(err)
	}
	gw, err := gateway.New(gateway.Config{
		Aggregates: []processors.Definition{invoice.New()},
		Kafka:      kafka.Connection{Brokers: []string{"127.0.0.1:9092"}},
		Tokens:     tokens,
	})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/v1/order/o-1/CreateOrder", "/v1/invoice/inv-1/IssueInvoice"} {
		req := httptest.NewRequest("POST", path, nil)
		req.Header.Set("Authorization", "Bearer writer-token-0123456789")
		rec := httptest.NewRecorder()
		gw.Handler().ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 404 {"code":"unknown_aggregate","message":"no aggregate \"order\""}
	// 503 {"code":"not_ready","message":"the gateway is not reading results yet"}
}
