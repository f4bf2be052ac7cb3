package codecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

// Run one target at a time, e.g.
//
//	go test -run x -fuzz FuzzCommandCodec -fuzztime 30s ./codecs/
//
// The f.Add seeds run in every plain go test.

func mustEncode(f *testing.F, c codec, v any) []byte {
	f.Helper()
	b, err := c.Encode(v)
	if err != nil {
		f.Fatalf("encode seed %T: %v", v, err)
	}
	return b
}

// commandSeeds are valid and broken command messages.
func commandSeeds(f *testing.F) [][]byte {
	f.Helper()
	seeds := [][]byte{
		mustEncode(f, codecs.CommandCodec{}, goldenCommand()),
		mustEncode(f, codecs.CommandCodec{}, goldenCreate()),
		mustEncode(f, codecs.CommandCodec{}, goldenMinimal()),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","data":null,"meta":{}}`),
		[]byte(` {"id":"c1", "aggregate":"invoice", "aggregate_id":"i1", "type":"T", "data": { "a" : "<&>" } } `),
		[]byte(`{"ID":"c1","Aggregate":"invoice","AGGREGATE_ID":"i1","type":"T"}`),
		[]byte(`{"id":"c1","id":"c2","aggregate":"invoice","aggregate_id":"i1","type":"T"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","issued_at":"2026-01-02T03:04:05.5+01:00"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","issued_at":"0001-01-01T00:00:00Z"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","data":{"n":1e400}}`),
		// Wrong field types.
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"AddLineItem","data":[1]}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","data":"x"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","expected_version":"3"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","expected_version":-1}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","issued_at":"yesterday"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","meta":{"a":1}}`),
		[]byte(`{"id":7,"aggregate":"invoice","aggregate_id":"i1","type":"T"}`),
		// Missing or invalid ids and fields.
		[]byte(`{"aggregate":"invoice","aggregate_id":"i1","type":"T"}`),
		[]byte(`{"id":"a b","aggregate":"invoice","aggregate_id":"i1","type":"T"}`),
		[]byte(`{"id":"` + strings.Repeat("a", 129) + `","aggregate":"invoice","aggregate_id":"i1","type":"T"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i/1","type":"T"}`),
		[]byte(`{"id":"c1","aggregate":"","aggregate_id":"i1","type":"T"}`),
		[]byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1"}`),
		nested(100),
	}
	return append(seeds, hostileJSON()...)
}

// FuzzCommandCodec checks that CommandCodec.Decode never fails or panics,
// that a command it accepts is valid and survives a round trip, and that a
// command it refuses says why and keeps the input.
func FuzzCommandCodec(f *testing.F) {
	for _, b := range commandSeeds(f) {
		f.Add(b, uint16(0)) // the default limit
	}
	f.Add(mustEncode(f, codecs.CommandCodec{}, goldenCommand()), uint16(64)) // over a small MaxBytes
	f.Add(mustEncode(f, codecs.CommandCodec{}, goldenMinimal()), uint16(len(mustEncode(f, codecs.CommandCodec{}, goldenMinimal()))))
	f.Add([]byte(`{"id":"c1"`), uint16(4))

	f.Fuzz(func(t *testing.T, b []byte, maxBytes uint16) {
		c := codecs.CommandCodec{MaxBytes: int(maxBytes)}
		in := bytes.Clone(b)
		v, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode returned an error: %v", err)
		}
		cmd, ok := v.(*codecs.Command)
		if !ok || cmd == nil {
			t.Fatalf("Decode returned %T, want a non-nil *codecs.Command", v)
		}
		if !bytes.Equal(b, in) {
			t.Fatalf("Decode modified its input")
		}
		if limit := int(maxBytes); limit > 0 && len(b) > limit && cmd.Err == nil {
			t.Fatalf("a message of %d bytes over MaxBytes %d was accepted", len(b), limit)
		}
		if cmd.Err != nil {
			if !errors.Is(cmd.Err, codecs.ErrMalformed) {
				t.Fatalf("Err = %v, does not wrap ErrMalformed", cmd.Err)
			}
			if !bytes.Equal(cmd.Raw, b) {
				t.Fatalf("Raw = %q, want the input %q", cmd.Raw, b)
			}
			return
		}
		if err := cmd.Validate(); err != nil {
			t.Fatalf("accepted command fails Validate: %v", err)
		}
		enc, err := c.Encode(cmd)
		if err != nil {
			t.Fatalf("re-encode accepted command: %v", err)
		}
		// Re-encoding may grow the message (HTML and UTF-8 escapes), so
		// read it back under the default limit.
		again := codecs.CommandCodec{}.DecodeCommand(enc)
		if again.Err != nil {
			t.Fatalf("re-encoded command %s is refused: %v", enc, again.Err)
		}
		if diff := cmp.Diff(cmd, again, roundTrip); diff != "" {
			t.Fatalf("round trip of %q via %s (-first +second):\n%s", b, enc, diff)
		}
	})
}

// fuzzJSON checks that codecs.JSON[T] either refuses b or decodes it into a
// value that survives a round trip.
func fuzzJSON[T any](t *testing.T, b []byte) {
	var c codecs.JSON[T]
	v, err := c.Decode(b)
	if err != nil {
		if v != nil {
			t.Fatalf("Decode returned %v with error %v", v, err)
		}
		return
	}
	p, ok := v.(*T)
	if !ok || p == nil {
		t.Fatalf("Decode returned %T, want a non-nil %T", v, new(T))
	}
	enc, err := c.Encode(p)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", p, err)
	}
	again, err := c.Decode(enc)
	if err != nil {
		t.Fatalf("decode re-encoded %s: %v", enc, err)
	}
	if diff := cmp.Diff(v, again, roundTrip); diff != "" {
		t.Fatalf("round trip of %q via %s (-first +second):\n%s", b, enc, diff)
	}
	// The value form of Encode writes the same bytes as the pointer form.
	if enc2, err := c.Encode(*p); err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("Encode(T) = %s, %v; Encode(*T) = %s", enc2, err, enc)
	}
}

func jsonSeeds(f *testing.F, valid ...[]byte) {
	f.Helper()
	for _, b := range valid {
		f.Add(b)
		// Truncated.
		f.Add(b[:len(b)/2])
	}
	for _, b := range hostileJSON() {
		f.Add(b)
	}
}

func FuzzSnapshotCodec(f *testing.F) {
	c := codecs.JSON[codecs.Snapshot]{}
	jsonSeeds(f,
		mustEncode(f, c, goldenSnapshot()),
		mustEncode(f, c, &codecs.Snapshot{}),
		[]byte(`{"aggregate_id":"inv-1","version":"5"}`),
		[]byte(`{"aggregate_id":"inv-1","version":-1}`),
		[]byte(`{"aggregate_id":"inv-1","state":"x","recent":{},"step":[]}`),
		[]byte(`{"aggregate_id":"inv-1","recent":[],"step":{"events":[]}}`),
		[]byte(`{"aggregate_id":"inv-1","recent":[null],"step":{"events":[{"data":[1,2]}]}}`),
		[]byte(`{"updated_at":"2026-01-02T03:04:05-07:00","state":{"a":"<\u00e9>"}}`),
		[]byte(`{"updated_at":"9999-12-31T23:59:59-01:00"}`),
		[]byte(`{"state":null,"step":null}`),
	)
	f.Fuzz(fuzzJSON[codecs.Snapshot])
}

func FuzzEventCodec(f *testing.F) {
	c := codecs.JSON[codecs.Event]{}
	jsonSeeds(f,
		mustEncode(f, c, goldenEvent()),
		mustEncode(f, c, &codecs.Event{}),
		[]byte(`{"version":1,"type":"T","data":[1]}`),
		[]byte(`{"version":1.5}`),
		[]byte(`{"schema":"1"}`),
		[]byte(`{"occurred_at":"not a time"}`),
		[]byte(`{"occurred_at":"0000-01-01T00:00:00+01:00"}`),
		[]byte(`{"data":"\ud800"}`),
	)
	f.Fuzz(fuzzJSON[codecs.Event])
}

func FuzzResultCodec(f *testing.F) {
	c := codecs.JSON[codecs.Result]{}
	jsonSeeds(f,
		mustEncode(f, c, goldenAccepted()),
		mustEncode(f, c, goldenRejected()),
		mustEncode(f, c, &codecs.Result{}),
		[]byte(`{"status":"unknown","events":-1}`),
		[]byte(`{"error":"overpayment"}`),
		[]byte(`{"error":{"code":1}}`),
		[]byte(`{"error":{}}`),
		[]byte(`{"error":null,"version":18446744073709551616}`),
	)
	f.Fuzz(fuzzJSON[codecs.Result])
}

// LineItemAdded is a payload type at schema 3. Schema 1 called quantity
// "qty"; schema 2 called unit_price "price".
type LineItemAdded struct {
	LineID      string `json:"line_id"`
	Description string `json:"description,omitempty"`
	Quantity    int    `json:"quantity"`
	UnitPrice   int64  `json:"unit_price"`
}

// InvoiceCancelled is a payload type at schema 1.
type InvoiceCancelled struct {
	Reason string         `json:"reason"`
	Extra  map[string]any `json:"extra,omitempty"`
	Tags   []string       `json:"tags,omitempty"`
}

// rename returns an upcaster that renames field from to to in a JSON object.
func rename(from, to string) codecs.Upcaster {
	return func(data json.RawMessage) (json.RawMessage, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
		if m == nil { // null
			return data, nil
		}
		if v, ok := m[from]; ok {
			m[to] = v
			delete(m, from)
		}
		return json.Marshal(m)
	}
}

func newFuzzRegistry(tb testing.TB) *codecs.Registry {
	tb.Helper()
	r := codecs.NewRegistry()
	for _, err := range []error{
		codecs.Register[LineItemAdded](r, "LineItemAdded", 3),
		r.AddUpcaster("LineItemAdded", 1, rename("qty", "quantity")),
		r.AddUpcaster("LineItemAdded", 2, rename("price", "unit_price")),
		codecs.Register[InvoiceCancelled](r, "InvoiceCancelled", 1),
		codecs.Register[map[string]any](r, "Anything", 1),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

// FuzzRegistryDecode checks that Registry.Decode and DecodeStrict never
// panic, return the registered type, accept no more in strict mode than in
// lenient mode, and that what they decode survives a round trip.
func FuzzRegistryDecode(f *testing.F) {
	for _, s := range []struct {
		name   string
		schema int
		data   string
	}{
		{"LineItemAdded", 1, `{"line_id":"l1","qty":2,"price":100}`},
		{"LineItemAdded", 2, `{"line_id":"l1","quantity":2,"price":100}`},
		{"LineItemAdded", 3, `{"line_id":"l1","quantity":2,"unit_price":100}`},
		{"LineItemAdded", 0, `{"line_id":"l1","qty":2}`},
		{"LineItemAdded", 4, `{"line_id":"l1"}`},
		{"LineItemAdded", -1, `{"line_id":"l1"}`},
		{"LineItemAdded", 1, `[1,2]`},
		{"LineItemAdded", 3, `{"line_id":"l1","quantity":"2"}`},
		{"LineItemAdded", 3, `{"line_id":"l1","typo":1}`},
		{"LineItemAdded", 3, `{"line_id":"l1"} ]`},
		{"LineItemAdded", 3, `{"line_id":"l1"}}`},
		{"LineItemAdded", 3, `{"line_id":"l1"} {}`},
		{"InvoiceCancelled", 1, `{"reason":"dup","extra":{"a":[1,{"b":null}]},"tags":["x"]}`},
		{"InvoiceCancelled", 1, `{"reason":5}`},
		{"InvoiceCancelled", 1, `{"reason":"dup"} ]`},
		{"InvoiceCancelled", 1, `{"reason":"dup"}}`},
		{"InvoiceCancelled", 1, `{"reason":"dup"} {}`},
		{"InvoiceCancelled", 1, `{"reason":"dup","typo":1}`},
		{"Anything", 1, `{"a":1e308,"b":"\u00e9"}`},
		{"Anything", 1, `[]`},
		{"Unknown", 1, `{}`},
		{"", 0, `{}`},
	} {
		f.Add(s.name, s.schema, []byte(s.data))
	}
	for _, b := range hostileJSON() {
		f.Add("LineItemAdded", 1, b)
		f.Add("InvoiceCancelled", 1, b)
	}
	r := newFuzzRegistry(f)

	f.Fuzz(func(t *testing.T, name string, schema int, data []byte) {
		in := bytes.Clone(data)
		lenient, errL := r.Decode(name, schema, data)
		strict, errS := r.DecodeStrict(name, data)
		if !bytes.Equal(data, in) {
			t.Fatalf("decode modified its input")
		}
		registered := r.Schema(name) > 0
		for _, err := range []error{errL, errS} {
			if !registered && !errors.Is(err, codecs.ErrUnknownType) {
				t.Fatalf("unregistered %q: err = %v, want ErrUnknownType", name, err)
			}
		}
		if errS == nil {
			lenient0, err := r.Decode(name, 0, data)
			if err != nil {
				t.Fatalf("DecodeStrict accepts %q but Decode refuses it: %v", data, err)
			}
			if !cmp.Equal(strict, lenient0) {
				t.Fatalf("DecodeStrict and Decode disagree on %q: %s", data, cmp.Diff(strict, lenient0))
			}
		}
		if errL != nil {
			return
		}
		// The value is the registered type, not a pointer to it.
		if name, ok := r.NameOf(lenient); !ok || r.Schema(name) == 0 {
			t.Fatalf("Decode returned %T, which is not registered", lenient)
		}
		// A decoded value written at the current schema reads back equal.
		b, err := json.Marshal(lenient)
		if err != nil {
			t.Fatalf("marshal %#v: %v", lenient, err)
		}
		again, err := r.Decode(name, r.Schema(name), b)
		if err != nil {
			t.Fatalf("decode re-marshalled %s: %v", b, err)
		}
		if reflect.TypeOf(again) != reflect.TypeOf(lenient) || !cmp.Equal(lenient, again) {
			t.Fatalf("round trip via %s: %s", b, cmp.Diff(lenient, again))
		}
		// DecodeStrict reads schema 1 (commands are not versioned), so the
		// strict round trip holds only for types at schema 1.
		if r.Schema(name) == 1 {
			again, err := r.DecodeStrict(name, b)
			if err != nil {
				t.Fatalf("DecodeStrict re-marshalled %s: %v", b, err)
			}
			if !cmp.Equal(lenient, again) {
				t.Fatalf("strict round trip via %s: %s", b, cmp.Diff(lenient, again))
			}
		}
	})
}
