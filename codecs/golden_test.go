package codecs_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the fixed values")

// The fixed values below pin the wire format. Change them only together with
// the golden files, and only in ways old readers accept: the golden bytes of
// a released format must keep decoding (TestGoldenDecode).

var (
	issuedAt   = time.Date(2026, 11, 23, 10, 15, 0, 123456789, time.UTC)
	occurredAt = issuedAt
)

func ptr[T any](v T) *T { return &v }

func goldenCommand() *codecs.Command {
	return &codecs.Command{
		ID:              "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
		Aggregate:       "invoice",
		AggregateID:     "inv-1",
		Type:            "AddLineItem",
		ExpectedVersion: ptr[uint64](3),
		IssuedAt:        issuedAt,
		Data:            json.RawMessage(`{"line_id":"l1","description":"Widget","quantity":2,"unit_price":1250}`),
		Meta:            map[string]string{"user": "alice", "trace_id": "4bf92f3577b34da6"},
	}
}

// goldenCreate pins that an expected_version of 0 ("must not exist yet") is
// written, not dropped as empty.
func goldenCreate() *codecs.Command {
	return &codecs.Command{
		ID:              "c-create",
		Aggregate:       "invoice",
		AggregateID:     "inv-1",
		Type:            "CreateInvoice",
		ExpectedVersion: ptr[uint64](0),
		Data:            json.RawMessage(`{"customer":"ACME","currency":"EUR","due_date":"2026-12-31"}`),
	}
}

// goldenMinimal pins which optional fields are left out when empty.
func goldenMinimal() *codecs.Command {
	return &codecs.Command{ID: "c-issue", Aggregate: "invoice", AggregateID: "inv-1", Type: "IssueInvoice"}
}

func goldenEvent() *codecs.Event {
	return &codecs.Event{
		Aggregate:   "invoice",
		AggregateID: "inv-1",
		Version:     2,
		Type:        "LineItemAdded",
		CommandID:   "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
		OccurredAt:  occurredAt,
		Schema:      1,
		Data:        json.RawMessage(`{"line_id":"l1","description":"Widget","quantity":2,"unit_price":1250}`),
	}
}

func goldenAccepted() *codecs.Result {
	return &codecs.Result{
		CommandID:   "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
		AggregateID: "inv-1",
		Status:      codecs.StatusAccepted,
		Version:     2,
		Events:      1,
	}
}

func goldenRejected() *codecs.Result {
	return &codecs.Result{
		CommandID:   "c-pay-2",
		AggregateID: "inv-1",
		Status:      codecs.StatusRejected,
		Version:     5,
		Error:       &codecs.Rejection{Code: "overpayment", Message: "amount 100 exceeds the balance 0"},
	}
}

func goldenSnapshot() *codecs.Snapshot {
	paid := occurredAt.Add(time.Hour)
	return &codecs.Snapshot{
		AggregateID: "inv-1",
		Version:     5,
		Schema:      1,
		State: json.RawMessage(`{"customer":"ACME","currency":"EUR","due_date":"2026-12-31","status":"paid",` +
			`"lines":[{"line_id":"l1","description":"Widget","quantity":2,"unit_price":1250}],` +
			`"total":2500,"paid":2500,"balance":0}`),
		UpdatedAt: paid,
		Offset:    41,
		Recent: []codecs.Recent{
			{CommandID: "c-issue", Version: 3, Events: 1},
			{CommandID: "c-pay-1", Version: 5, Events: 2},
		},
		Step: codecs.Step{
			CommandID: "c-pay-1",
			Events: []codecs.Event{
				{
					Aggregate: "invoice", AggregateID: "inv-1", Version: 4, Type: "PaymentRecorded",
					CommandID: "c-pay-1", OccurredAt: paid, Schema: 1,
					Data: json.RawMessage(`{"payment_id":"p1","amount":2500,"currency":"EUR"}`),
				},
				{
					Aggregate: "invoice", AggregateID: "inv-1", Version: 5, Type: "InvoicePaid",
					CommandID: "c-pay-1", OccurredAt: paid, Schema: 1,
					Data: json.RawMessage(`{}`),
				},
			},
		},
	}
}

// goldenDuplicate pins a duplicate carrying its first outcome, a rejection.
func goldenDuplicate() *codecs.Result {
	return &codecs.Result{
		CommandID:   "c-pay-2",
		AggregateID: "inv-1",
		Status:      codecs.StatusDuplicate,
		Version:     5,
		Error:       &codecs.Rejection{Code: "overpayment", Message: "amount 100 exceeds the balance 0"},
		FirstStatus: codecs.StatusRejected,
	}
}

// goldenSnapshotDedupe pins a snapshot remembering rejected and conflicting
// commands with fingerprints, written for a rejection (same version, a step
// without events). The snapshot golden file from before stays readable.
func goldenSnapshotDedupe() *codecs.Snapshot {
	s := goldenSnapshot()
	s.Offset = 43
	s.Recent[1].Fingerprint = "q1pPb0yWvHmT2o8c"
	s.Recent = append(s.Recent,
		codecs.Recent{CommandID: "c-pay-2", Version: 5, Status: codecs.StatusRejected, Fingerprint: "3cNsN0m1xYIhQw2d",
			Error: &codecs.Rejection{Code: "overpayment", Message: "amount 100 exceeds the balance 0"}},
		codecs.Recent{CommandID: "c-late", Version: 5, Status: codecs.StatusConflict, Fingerprint: "Jf0u2xk9R1AaVQ6e",
			Error: &codecs.Rejection{Code: "conflict", Message: "expected version 4, aggregate is at 5"}})
	s.Step = codecs.Step{CommandID: "c-late"}
	return s
}

// goldenSnapshotInput pins a snapshot stamped with the commands topic's ID.
func goldenSnapshotInput() *codecs.Snapshot {
	s := goldenSnapshotDedupe()
	s.Input = "V2pG1b5xQ9Wc3kC8m4nTqA=="
	return s
}

// codec is goka.Codec, which codecs does not import.
type codec interface {
	Encode(value any) ([]byte, error)
	Decode(data []byte) (any, error)
}

type goldenCase struct {
	name  string // testdata/<name>.golden.json
	codec codec
	value any // a pointer, as the codec decodes it
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"command", codecs.CommandCodec{}, goldenCommand()},
		{"command_create", codecs.CommandCodec{}, goldenCreate()},
		{"command_minimal", codecs.CommandCodec{}, goldenMinimal()},
		{"event", codecs.JSON[codecs.Event]{}, goldenEvent()},
		{"result_accepted", codecs.JSON[codecs.Result]{}, goldenAccepted()},
		{"result_rejected", codecs.JSON[codecs.Result]{}, goldenRejected()},
		{"snapshot", codecs.JSON[codecs.Snapshot]{}, goldenSnapshot()},
		{"result_duplicate", codecs.JSON[codecs.Result]{}, goldenDuplicate()},
		{"snapshot_dedupe", codecs.JSON[codecs.Snapshot]{}, goldenSnapshotDedupe()},
		{"snapshot_input", codecs.JSON[codecs.Snapshot]{}, goldenSnapshotInput()},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden.json") }

func TestGoldenEncode(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run("the "+tc.name+" wire format is unchanged", func(t *testing.T) {
			got, err := tc.codec.Encode(tc.value)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			path := goldenPath(tc.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from %s (-want +got):\n%s\nrun go test -update only if the change is compatible",
					path, cmp.Diff(string(want), string(got)))
			}
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run("the "+tc.name+" golden bytes decode to the fixed value", func(t *testing.T) {
			b, err := os.ReadFile(goldenPath(tc.name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.codec.Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if cmd, ok := got.(*codecs.Command); ok && cmd.Err != nil {
				t.Fatalf("decode: Err = %v", cmd.Err)
			}
			// Exact comparison of payload bytes, except for Err and Raw.
			if diff := cmp.Diff(tc.value, got, ignoreDecoderFields); diff != "" {
				t.Errorf("decoded value differs (-want +got):\n%s", diff)
			}
		})
	}
}
