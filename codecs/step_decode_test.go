package codecs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// DecodeStep reads only the step at the end of a table value; it must give
// what decoding the whole value gives, including for the snapshots of
// older versions (the golden files) and for values where the step is not
// where codecs.JSON puts it.
func TestDecodeStepMatchesFullDecode(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ev := func(data string) codecs.Event {
		return codecs.Event{Aggregate: "p", AggregateID: "a", Version: 2, Type: "T", CommandID: "c", OccurredAt: at, Schema: 1, Data: json.RawMessage(data)}
	}
	snaps := []codecs.Snapshot{
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{}`), Step: codecs.Step{CommandID: "c", Events: []codecs.Event{ev(`{"x":1}`)}}},
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{}`)},
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{"a":1,"step":{"command_id":"in-state","events":[]}}`),
			Step: codecs.Step{CommandID: "c", Events: []codecs.Event{ev(`{}`)}}},
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{}`),
			Step: codecs.Step{CommandID: "c", Events: []codecs.Event{ev(`{"a":1,"step":{"command_id":"nested","events":[]}}`)}}},
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{}`),
			Step: codecs.Step{CommandID: "c,\"step\":{}}", Events: []codecs.Event{ev(`{"s":",\"step\":{\"command_id\":\"str\"}}"}`)}}},
		{AggregateID: "a", Version: 2, State: json.RawMessage(`{}`), Recent: []codecs.Recent{{CommandID: "r"}},
			Step: codecs.Step{CommandID: "c", Events: []codecs.Event{ev(`{"step":1}`), ev(`[{"b":2,"step":3}]`)}}},
	}
	var values [][]byte
	for _, s := range snaps {
		b, err := codecs.JSON[codecs.Snapshot]{}.Encode(&s)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, b)
	}
	golden, err := filepath.Glob(filepath.Join("testdata", "snapshot*.golden.json"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("golden snapshots: %v %v", golden, err)
	}
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, b)
	}
	values = append(values,
		[]byte(`{"step":{"command_id":"first","events":[]},"aggregate_id":"a"}`),
		[]byte(`{"aggregate_id":"a", "step" : {"command_id":"spaced"}}`),
		[]byte(`{"aggregate_id":"a","step":{"command_id":"c"},"version":3}`),
		[]byte(`{"aggregate_id":"a","step":null}`),
	)
	for _, b := range values {
		full, err := codecs.DecodeSnapshotStep(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		got, err := codecs.DecodeStep(b)
		if err != nil {
			t.Fatalf("DecodeStep %s: %v", b, err)
		}
		if !reflect.DeepEqual(got, full.Step) {
			t.Errorf("DecodeStep(%s)\n= %#v\nwant %#v", b, got, full.Step)
		}
		// The raw step holds the same events, and the publisher writes
		// each as encoding it again would.
		raw, err := codecs.DecodeRawStep(b)
		if err != nil {
			t.Fatalf("DecodeRawStep %s: %v", b, err)
		}
		if raw.CommandID != full.Step.CommandID || len(raw.Events) != len(full.Step.Events) {
			t.Fatalf("DecodeRawStep(%s) = %+v, want %+v", b, raw, full.Step)
		}
		for i, e := range raw.Events {
			got, err := codecs.EventCodec{}.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			want, err := codecs.JSON[codecs.Event]{}.Encode(&full.Step.Events[i])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event as published\n= %s\nwant %s", got, want)
			}
			if v, err := codecs.EventVersion(e); err != nil || v != full.Step.Events[i].Version {
				t.Errorf("EventVersion(%s) = %d, %v", e, v, err)
			}
		}
	}
	for _, e := range []struct {
		raw  string
		want uint64
		ok   bool
	}{
		{`{"aggregate":"a","aggregate_id":"b","version":12,"type":"T"}`, 12, true},
		{`{"aggregate":"a\"","aggregate_id":"b","version":3,"x":{"version":9}}`, 3, true},
		{`{"aggregate_id":"b","version":7}`, 7, true},
		{`{"version":7,"aggregate":"a","aggregate_id":"b","version":8}`, 8, true},
		{`{"aggregate":"a","aggregate_id":"b","version":007,"type":"T"}`, 0, false},
		{`{"aggregate":"a","aggregate_id":"b","version":18446744073709551616,"type":"T"}`, 0, false},
		{`{"aggregate":"a","aggregate_id":"b","version":-1,"type":"T"}`, 0, false},
	} {
		v, err := codecs.EventVersion(json.RawMessage(e.raw))
		if (err == nil) != e.ok || v != e.want {
			t.Errorf("EventVersion(%s) = %d, %v; want %d (ok %v)", e.raw, v, err, e.want, e.ok)
		}
	}
	for _, bad := range []string{``, `{`, `{"step":`, `{"a":1,"step":{"events":[1]}}`, `nope,"step":{}}`} {
		if _, err := codecs.DecodeStep([]byte(bad)); err == nil {
			t.Errorf("DecodeStep(%q) did not fail", bad)
		}
		if raw, err := codecs.DecodeRawStep([]byte(bad)); err == nil {
			// Events are not decoded: a malformed one fails when the
			// publisher reads its version.
			if len(raw.Events) == 0 {
				t.Errorf("DecodeRawStep(%q) did not fail", bad)
			} else if _, err := codecs.EventVersion(raw.Events[0]); err == nil {
				t.Errorf("EventVersion(%s) did not fail", raw.Events[0])
			}
		}
	}
}
