package codecs_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/b2dc4357/sourced/codecs"
)

func ExampleNewTopics() {
	t := codecs.NewTopics("", "invoice")
	fmt.Println(t.Commands, t.Table, t.Events, t.PublisherTable)

	prod := codecs.NewTopics("prod", "invoice")
	fmt.Println(prod.Commands, prod.Events, prod.Group)
	// Output:
	// invoice-commands invoice-table invoice-events invoice-publisher-table
	// prod-invoice-commands prod-invoice-events prod-invoice
}

func ExampleRegistry() {
	// ItemAdded is at schema 2; schema 1 called quantity "qty".
	type ItemAdded struct {
		LineID   string `json:"line_id"`
		Quantity int    `json:"quantity"`
	}
	r := codecs.NewRegistry()
	if err := codecs.Register[ItemAdded](r, "ItemAdded", 2); err != nil {
		panic(err)
	}
	err := r.AddUpcaster("ItemAdded", 1, func(data json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			LineID string `json:"line_id"`
			Qty    int    `json:"qty"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(ItemAdded{LineID: v1.LineID, Quantity: v1.Qty})
	})
	if err != nil {
		panic(err)
	}

	// An event written at schema 1 decodes into the current type.
	old, err := r.Decode("ItemAdded", 1, json.RawMessage(`{"line_id":"l1","qty":2}`))
	fmt.Printf("%+v %v\n", old, err)

	current, err := r.Decode("ItemAdded", 2, json.RawMessage(`{"line_id":"l2","quantity":3}`))
	fmt.Printf("%+v %v\n", current, err)

	_, err = r.Decode("ItemRemoved", 1, json.RawMessage(`{}`))
	fmt.Println(errors.Is(err, codecs.ErrUnknownType))
	// Output:
	// {LineID:l1 Quantity:2} <nil>
	// {LineID:l2 Quantity:3} <nil>
	// true
}

func ExampleCommandCodec() {
	var c codecs.CommandCodec
	// A payload of the wrong kind: decoding does not fail, the command
	// carries the reason, and the id can still be answered.
	cmd := c.DecodeCommand([]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"AddLineItem","data":[1]}`))
	fmt.Println(cmd.ID, errors.Is(cmd.Err, codecs.ErrMalformed))
	// Output:
	// c1 true
}
