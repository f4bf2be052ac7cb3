package codecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		id    string
		valid bool
	}{
		{"a single letter is valid", "a", true},
		{"an id of 128 characters is valid", strings.Repeat("x", codecs.MaxIDLength), true},
		{"dots, colons, dashes and underscores are valid", "inv-1:2._x", true},
		{"a UUID is valid", "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", true},
		{"an empty id is invalid", "", false},
		{"an id of 129 characters is invalid", strings.Repeat("x", codecs.MaxIDLength+1), false},
		{"a space is invalid", "a b", false},
		{"a non-ASCII letter is invalid", "é", false},
		{"a slash is invalid", "a/b", false},
		{"a NUL byte is invalid", "a\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := codecs.ValidateID(tc.id)
			if tc.valid && err != nil {
				t.Errorf("ValidateID(%q) = %v, want nil", tc.id, err)
			}
			if !tc.valid && err == nil {
				t.Errorf("ValidateID(%q) = nil, want an error", tc.id)
			}
		})
	}
}

// valid is a command message that decodes without error.
const valid = `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"AddLineItem","data":{"line_id":"l1"}}`

func TestCommandCodecDecodesValidCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want codecs.Command
	}{
		{
			name: "a command with data decodes every field",
			in:   valid,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "AddLineItem",
				Data: json.RawMessage(`{"line_id":"l1"}`)},
		},
		{
			name: "a command without data is valid",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"IssueInvoice"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "IssueInvoice"},
		},
		{
			name: "data null is valid",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"IssueInvoice","data":null}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "IssueInvoice",
				Data: json.RawMessage(`null`)},
		},
		{
			name: "expected_version 0 is kept, not taken as absent",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"CreateInvoice","expected_version":0}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "CreateInvoice",
				ExpectedVersion: ptr[uint64](0)},
		},
		{
			name: "unknown envelope fields are ignored",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"IssueInvoice","future":[1]}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "IssueInvoice"},
		},
		{
			name: "meta and issued_at are read",
			in: `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"IssueInvoice",` +
				`"issued_at":"2026-11-23T10:15:00.123456789Z","meta":{"user":"alice"}}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "IssueInvoice",
				IssuedAt: issuedAt, Meta: map[string]string{"user": "alice"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := codecs.CommandCodec{}.Decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := v.(*codecs.Command)
			if got.Err != nil {
				t.Fatalf("Err = %v, want nil", got.Err)
			}
			if diff := cmp.Diff(&tc.want, got, ignoreDecoderFields); diff != "" {
				t.Errorf("decoded command (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommandCodecSalvagesBrokenCommands(t *testing.T) {
	small := codecs.CommandCodec{MaxBytes: 64}
	for _, tc := range []struct {
		name  string
		codec codecs.CommandCodec
		in    string
		// want holds the fields that must still be read.
		want codecs.Command
	}{
		{
			name: "data as an array is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"AddLineItem","data":[1]}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "AddLineItem"},
		},
		{
			name: "data as a string is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","data":"x"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "expected_version as a string is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","expected_version":"3"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "a negative expected_version is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","expected_version":-1}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "issued_at that is not a time is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","issued_at":"yesterday"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "meta with a number value is refused and the ids are kept",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","meta":{"n":1}}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "an id that is a number cannot be read but the other fields can",
			in:   `{"id":7,"aggregate":"invoice","aggregate_id":"i1","type":"T"}`,
			want: codecs.Command{Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "a missing id is refused",
			in:   `{"aggregate":"invoice","aggregate_id":"i1","type":"T"}`,
			want: codecs.Command{Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "an id with a space is refused and kept as read",
			in:   `{"id":"a b","aggregate":"invoice","aggregate_id":"i1","type":"T"}`,
			want: codecs.Command{ID: "a b", Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "an id of 129 characters is refused and kept as read",
			in:   `{"id":"` + strings.Repeat("a", 129) + `","aggregate":"invoice","aggregate_id":"i1","type":"T"}`,
			want: codecs.Command{ID: strings.Repeat("a", 129), Aggregate: "invoice", AggregateID: "i1", Type: "T"},
		},
		{
			name: "an invalid aggregate_id is refused",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i/1","type":"T"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i/1", Type: "T"},
		},
		{
			name: "a missing aggregate is refused",
			in:   `{"id":"c1","aggregate_id":"i1","type":"T"}`,
			want: codecs.Command{ID: "c1", AggregateID: "i1", Type: "T"},
		},
		{
			name: "a missing aggregate_id is refused",
			in:   `{"id":"c1","aggregate":"invoice","type":"T"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", Type: "T"},
		},
		{
			name: "a missing type is refused",
			in:   `{"id":"c1","aggregate":"invoice","aggregate_id":"i1"}`,
			want: codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1"},
		},
		{
			name:  "a message over MaxBytes is refused and the ids are kept",
			codec: small,
			in:    valid,
			want:  codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "i1", Type: "AddLineItem"},
		},
		{
			name:  "a message over MaxBytes that is not JSON is refused",
			codec: small,
			in:    strings.Repeat("x", 65),
		},
		{name: "truncated JSON is refused", in: valid[:30]},
		{name: "trailing data is refused", in: valid + ` x`},
		{name: "null is refused", in: `null`},
		{name: "an empty message is refused", in: ``},
		{name: "an array is refused", in: `[` + valid + `]`},
		{name: "a string is refused", in: `"c1"`},
		{name: "nesting deeper than encoding/json allows is refused", in: string(nested(10001))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			v, err := tc.codec.Decode(in)
			if err != nil {
				t.Fatalf("Decode returned an error: %v", err)
			}
			got := v.(*codecs.Command)
			if !errors.Is(got.Err, codecs.ErrMalformed) {
				t.Errorf("Err = %v, want it to wrap ErrMalformed", got.Err)
			}
			if !bytes.Equal(got.Raw, in) {
				t.Errorf("Raw = %q, want the input", got.Raw)
			}
			// Only the identity fields are salvaged; compare those.
			got = &codecs.Command{ID: got.ID, Aggregate: got.Aggregate, AggregateID: got.AggregateID, Type: got.Type}
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("salvaged fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommandCodecMaxBytes(t *testing.T) {
	in := []byte(valid)
	t.Run("a message of exactly MaxBytes is accepted", func(t *testing.T) {
		if cmd := (codecs.CommandCodec{MaxBytes: len(in)}).DecodeCommand(in); cmd.Err != nil {
			t.Errorf("Err = %v", cmd.Err)
		}
	})
	t.Run("a message one byte over MaxBytes is refused", func(t *testing.T) {
		if cmd := (codecs.CommandCodec{MaxBytes: len(in) - 1}).DecodeCommand(in); !errors.Is(cmd.Err, codecs.ErrMalformed) {
			t.Errorf("Err = %v, want ErrMalformed", cmd.Err)
		}
	})
	t.Run("the zero MaxBytes means 1 MiB", func(t *testing.T) {
		at := sizedCommand(t, codecs.DefaultMaxCommandBytes)
		if cmd := (codecs.CommandCodec{}).DecodeCommand(at); cmd.Err != nil {
			t.Errorf("a message of exactly 1 MiB: Err = %v", cmd.Err)
		}
		over := sizedCommand(t, codecs.DefaultMaxCommandBytes+1)
		cmd := codecs.CommandCodec{}.DecodeCommand(over)
		if !errors.Is(cmd.Err, codecs.ErrMalformed) {
			t.Fatalf("a message of 1 MiB + 1: Err = %v, want ErrMalformed", cmd.Err)
		}
		if cmd.ID != "c1" {
			t.Errorf("ID = %q, want it salvaged", cmd.ID)
		}
	})
}

// sizedCommand returns a valid command message of exactly n bytes.
func sizedCommand(t *testing.T, n int) []byte {
	t.Helper()
	const head, tail = `{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","meta":{"pad":"`, `"}}`
	b := []byte(head + strings.Repeat("p", n-len(head)-len(tail)) + tail)
	if len(b) != n {
		t.Fatalf("sizedCommand(%d) has %d bytes", n, len(b))
	}
	return b
}

func TestCommandCodecEncode(t *testing.T) {
	var c codecs.CommandCodec
	want := mustRead(t, goldenPath("command"))
	t.Run("a *Command is encoded", func(t *testing.T) {
		if got, err := c.Encode(goldenCommand()); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode = %s, %v; want %s", got, err, want)
		}
	})
	t.Run("a Command value is encoded the same", func(t *testing.T) {
		if got, err := c.Encode(*goldenCommand()); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode = %s, %v; want %s", got, err, want)
		}
	})
	t.Run("Err and Raw are not encoded", func(t *testing.T) {
		cmd := goldenCommand()
		cmd.Err, cmd.Raw = errors.New("x"), []byte("raw")
		if got, err := c.Encode(cmd); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode = %s, %v; want %s", got, err, want)
		}
	})
	t.Run("an invalid command is refused with ErrMalformed", func(t *testing.T) {
		for _, breakIt := range []func(*codecs.Command){
			func(c *codecs.Command) { c.ID = "" },
			func(c *codecs.Command) { c.ID = "a b" },
			func(c *codecs.Command) { c.Aggregate = "" },
			func(c *codecs.Command) { c.AggregateID = strings.Repeat("i", 129) },
			func(c *codecs.Command) { c.Type = "" },
			func(c *codecs.Command) { c.Data = json.RawMessage(`[1]`) },
			func(c *codecs.Command) { c.Data = json.RawMessage(`  `) },
		} {
			cmd := goldenCommand()
			breakIt(cmd)
			if b, err := c.Encode(cmd); !errors.Is(err, codecs.ErrMalformed) {
				t.Errorf("Encode(%+v) = %s, %v; want ErrMalformed", cmd, b, err)
			}
		}
	})
	t.Run("a []byte is passed through unchecked", func(t *testing.T) {
		in := []byte(`not a command`)
		if got, err := c.Encode(in); err != nil || !bytes.Equal(got, in) {
			t.Errorf("Encode = %q, %v; want the input", got, err)
		}
	})
	t.Run("other types are refused", func(t *testing.T) {
		for _, v := range []any{nil, goldenEvent(), "cmd", (**codecs.Command)(nil)} {
			if b, err := c.Encode(v); err == nil {
				t.Errorf("Encode(%T) = %s, want an error", v, b)
			}
		}
	})
}

func TestJSON(t *testing.T) {
	var c codecs.JSON[codecs.Event]
	want := mustRead(t, goldenPath("event"))
	t.Run("a *T is encoded", func(t *testing.T) {
		if got, err := c.Encode(goldenEvent()); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode = %s, %v; want %s", got, err, want)
		}
	})
	t.Run("a T value is encoded the same", func(t *testing.T) {
		if got, err := c.Encode(*goldenEvent()); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode = %s, %v; want %s", got, err, want)
		}
	})
	t.Run("other types are refused", func(t *testing.T) {
		for _, v := range []any{nil, goldenAccepted(), *goldenAccepted(), "event", []byte(want), (**codecs.Event)(nil)} {
			if b, err := c.Encode(v); err == nil {
				t.Errorf("Encode(%T) = %s, want an error", v, b)
			}
		}
	})
	t.Run("Decode returns a *T", func(t *testing.T) {
		v, err := c.Decode(want)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.(*codecs.Event); !ok {
			t.Errorf("Decode returned %T, want *codecs.Event", v)
		}
	})
	t.Run("Decode refuses bad JSON and wrong field types", func(t *testing.T) {
		for _, in := range []string{``, `{`, `[]`, `{"version":"2"}`, `{"version":-1}`, `{"occurred_at":1}`, string(want) + `x`} {
			if v, err := c.Decode([]byte(in)); err == nil {
				t.Errorf("Decode(%q) = %+v, want an error", in, v)
			}
		}
	})
}

func TestBytes(t *testing.T) {
	var c codecs.Bytes
	t.Run("a []byte is encoded as itself", func(t *testing.T) {
		in := []byte("anything, not JSON")
		got, err := c.Encode(in)
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("Encode = %q, %v", got, err)
		}
	})
	t.Run("nil is encoded as nil", func(t *testing.T) {
		if got, err := c.Encode(nil); err != nil || got != nil {
			t.Errorf("Encode(nil) = %q, %v", got, err)
		}
	})
	t.Run("other types are refused", func(t *testing.T) {
		for _, v := range []any{"string", 1, goldenEvent()} {
			if b, err := c.Encode(v); err == nil {
				t.Errorf("Encode(%T) = %q, want an error", v, b)
			}
		}
	})
	t.Run("Decode returns its input without copying", func(t *testing.T) {
		in := []byte("x\xff")
		v, err := c.Decode(in)
		if err != nil {
			t.Fatal(err)
		}
		got := v.([]byte)
		if !bytes.Equal(got, in) || &got[0] != &in[0] {
			t.Errorf("Decode = %q, want the input buffer", got)
		}
	})
}

func TestRejection(t *testing.T) {
	r := codecs.Reject(codecs.RejectInvalid, "quantity %d must be > 0", 0)
	want := &codecs.Rejection{Code: "invalid", Message: "quantity 0 must be > 0"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Reject (-want +got):\n%s", diff)
	}
	if got := r.Error(); got != "invalid: quantity 0 must be > 0" {
		t.Errorf("Error() = %q", got)
	}
	var err error = r
	var got *codecs.Rejection
	if !errors.As(err, &got) || got.Code != codecs.RejectInvalid {
		t.Errorf("errors.As(%v) = %v", err, got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
