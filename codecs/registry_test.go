package codecs_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

type trail struct {
	Trail string `json:"trail"`
}

type other struct {
	N int `json:"n"`
}

// appendTrail returns an upcaster that appends s to the trail field, so a
// test can see which links ran and in which order.
func appendTrail(s string) codecs.Upcaster {
	return func(data json.RawMessage) (json.RawMessage, error) {
		var v trail
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		v.Trail += s
		return json.Marshal(v)
	}
}

func mustRegistry(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRegister(t *testing.T) {
	t.Run("a name registered twice is refused", func(t *testing.T) {
		r := codecs.NewRegistry()
		mustRegistry(t, codecs.Register[trail](r, "Trail", 1))
		if err := codecs.Register[other](r, "Trail", 1); err == nil {
			t.Error("Register accepted a second type under the same name")
		}
	})
	t.Run("a type registered twice is refused", func(t *testing.T) {
		r := codecs.NewRegistry()
		mustRegistry(t, codecs.Register[trail](r, "Trail", 1))
		if err := codecs.Register[trail](r, "Other", 1); err == nil {
			t.Error("Register accepted the same type under a second name")
		}
		if name, _ := r.NameOf(trail{}); name != "Trail" {
			t.Errorf("NameOf = %q after a refused Register, want Trail", name)
		}
	})
	t.Run("an empty name is refused", func(t *testing.T) {
		if err := codecs.Register[trail](codecs.NewRegistry(), "", 1); err == nil {
			t.Error("Register accepted an empty name")
		}
	})
	t.Run("a schema below 1 is refused", func(t *testing.T) {
		for _, schema := range []int{0, -1} {
			if err := codecs.Register[trail](codecs.NewRegistry(), "Trail", schema); err == nil {
				t.Errorf("Register accepted schema %d", schema)
			}
		}
	})
	t.Run("names, schemas and types can be looked up", func(t *testing.T) {
		r := codecs.NewRegistry()
		mustRegistry(t, codecs.Register[trail](r, "Trail", 3), codecs.Register[other](r, "Other", 1))
		if diff := cmp.Diff([]string{"Other", "Trail"}, r.Names()); diff != "" {
			t.Errorf("Names (-want +got):\n%s", diff)
		}
		if got := r.Schema("Trail"); got != 3 {
			t.Errorf("Schema(Trail) = %d, want 3", got)
		}
		if got := r.Schema("Missing"); got != 0 {
			t.Errorf("Schema(Missing) = %d, want 0", got)
		}
		if name, ok := r.NameOf(other{}); !ok || name != "Other" {
			t.Errorf("NameOf(other{}) = %q, %v", name, ok)
		}
		for _, v := range []any{&other{}, 1, nil} {
			if name, ok := r.NameOf(v); ok {
				t.Errorf("NameOf(%T) = %q, want not found", v, name)
			}
		}
	})
}

// chain returns a registry where Trail is at schema 3 with links 1->2->3.
func chain(t *testing.T) *codecs.Registry {
	t.Helper()
	r := codecs.NewRegistry()
	mustRegistry(t,
		codecs.Register[trail](r, "Trail", 3),
		r.AddUpcaster("Trail", 2, appendTrail("+3")), // out of order on purpose
		r.AddUpcaster("Trail", 1, appendTrail("+2")),
	)
	return r
}

func TestUpcast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema int
		want   string
	}{
		{"schema 1 runs both links in order", 1, `{"trail":"s+2+3"}`},
		{"schema 0 counts as 1", 0, `{"trail":"s+2+3"}`},
		{"schema 2 runs only the last link", 2, `{"trail":"s+3"}`},
		{"the current schema is left as it is", 3, `{"trail":"s"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chain(t).Upcast("Trail", tc.schema, json.RawMessage(`{"trail":"s"}`))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Upcast = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("Decode upcasts before decoding", func(t *testing.T) {
		v, err := chain(t).Decode("Trail", 1, json.RawMessage(`{"trail":"s"}`))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(trail{Trail: "s+2+3"}, v); diff != "" {
			t.Errorf("Decode (-want +got):\n%s", diff)
		}
	})
	t.Run("a missing link is an error", func(t *testing.T) {
		r := codecs.NewRegistry()
		mustRegistry(t, codecs.Register[trail](r, "Trail", 3), r.AddUpcaster("Trail", 1, appendTrail("+2")))
		for _, schema := range []int{1, 2} {
			if got, err := r.Upcast("Trail", schema, json.RawMessage(`{}`)); err == nil {
				t.Errorf("Upcast from %d = %s, want an error for the missing link 2->3", schema, got)
			}
			if _, err := r.Decode("Trail", schema, json.RawMessage(`{}`)); err == nil {
				t.Errorf("Decode from %d succeeded despite the missing link", schema)
			}
		}
		if _, err := r.Upcast("Trail", 3, json.RawMessage(`{}`)); err != nil {
			t.Errorf("Upcast at the current schema: %v", err)
		}
	})
	t.Run("a schema newer than the registered one is an error", func(t *testing.T) {
		if got, err := chain(t).Upcast("Trail", 4, json.RawMessage(`{}`)); err == nil {
			t.Errorf("Upcast from 4 = %s, want an error", got)
		}
	})
	t.Run("a failing upcaster's error is wrapped", func(t *testing.T) {
		errBoom := errors.New("boom")
		r := codecs.NewRegistry()
		mustRegistry(t, codecs.Register[trail](r, "Trail", 2),
			r.AddUpcaster("Trail", 1, func(json.RawMessage) (json.RawMessage, error) { return nil, errBoom }))
		if _, err := r.Decode("Trail", 1, json.RawMessage(`{}`)); !errors.Is(err, errBoom) {
			t.Errorf("Decode = %v, want it to wrap the upcaster's error", err)
		}
	})
}

func TestAddUpcaster(t *testing.T) {
	r := codecs.NewRegistry()
	mustRegistry(t, codecs.Register[trail](r, "Trail", 3), r.AddUpcaster("Trail", 1, appendTrail("")))
	for _, tc := range []struct {
		name string
		typ  string
		from int
	}{
		{"a link registered twice is refused", "Trail", 1},
		{"a link from schema 0 is refused", "Trail", 0},
		{"a link from the current schema is refused", "Trail", 3},
		{"a link beyond the current schema is refused", "Trail", 4},
		{"a link for an unknown type is refused", "Missing", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.AddUpcaster(tc.typ, tc.from, appendTrail("")); err == nil {
				t.Errorf("AddUpcaster(%q, %d) succeeded", tc.typ, tc.from)
			}
		})
	}
}

func TestRegistryDecode(t *testing.T) {
	r := codecs.NewRegistry()
	mustRegistry(t, codecs.Register[InvoiceCancelled](r, "InvoiceCancelled", 1))

	t.Run("Decode ignores unknown fields", func(t *testing.T) {
		v, err := r.Decode("InvoiceCancelled", 1, json.RawMessage(`{"reason":"dup","added_later":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(InvoiceCancelled{Reason: "dup"}, v); diff != "" {
			t.Errorf("Decode (-want +got):\n%s", diff)
		}
	})
	t.Run("DecodeStrict refuses unknown fields", func(t *testing.T) {
		if v, err := r.DecodeStrict("InvoiceCancelled", json.RawMessage(`{"reason":"dup","reasn":"typo"}`)); err == nil {
			t.Errorf("DecodeStrict = %+v, want an error", v)
		}
	})
	t.Run("DecodeStrict accepts known fields and trailing space", func(t *testing.T) {
		v, err := r.DecodeStrict("InvoiceCancelled", json.RawMessage(" {\"reason\":\"dup\"} \n"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(InvoiceCancelled{Reason: "dup"}, v); diff != "" {
			t.Errorf("DecodeStrict (-want +got):\n%s", diff)
		}
	})
	// Regression: DecodeStrict used dec.More, which reports no more input
	// for a stray ']' or '}', so it accepted what Decode refuses.
	for _, in := range []string{`{"reason":"dup"} ]`, `{"reason":"dup"}}`, `{"reason":"dup"} {}`, `{"reason":"dup"} x`} {
		t.Run("both refuse trailing data like "+in[len(in)-1:], func(t *testing.T) {
			if v, err := r.DecodeStrict("InvoiceCancelled", json.RawMessage(in)); err == nil {
				t.Errorf("DecodeStrict(%s) = %+v, want an error", in, v)
			}
			if v, err := r.Decode("InvoiceCancelled", 1, json.RawMessage(in)); err == nil {
				t.Errorf("Decode(%s) = %+v, want an error", in, v)
			}
		})
	}
	t.Run("wrong field types are refused", func(t *testing.T) {
		in := json.RawMessage(`{"reason":5}`)
		if _, err := r.Decode("InvoiceCancelled", 1, in); err == nil {
			t.Error("Decode succeeded")
		}
		if _, err := r.DecodeStrict("InvoiceCancelled", in); err == nil {
			t.Error("DecodeStrict succeeded")
		}
	})
	t.Run("empty data and null decode to the zero value", func(t *testing.T) {
		for _, in := range []string{``, `null`} {
			for _, decode := range []func() (any, error){
				func() (any, error) { return r.Decode("InvoiceCancelled", 1, json.RawMessage(in)) },
				func() (any, error) { return r.DecodeStrict("InvoiceCancelled", json.RawMessage(in)) },
			} {
				v, err := decode()
				if err != nil || !cmp.Equal(v, InvoiceCancelled{}) {
					t.Errorf("decode %q = %#v, %v; want the zero value", in, v, err)
				}
			}
		}
	})
	t.Run("an unknown type is ErrUnknownType", func(t *testing.T) {
		if _, err := r.Decode("Missing", 1, json.RawMessage(`{}`)); !errors.Is(err, codecs.ErrUnknownType) {
			t.Errorf("Decode = %v", err)
		}
		if _, err := r.DecodeStrict("Missing", json.RawMessage(`{}`)); !errors.Is(err, codecs.ErrUnknownType) {
			t.Errorf("DecodeStrict = %v", err)
		}
		if _, err := r.Upcast("Missing", 1, json.RawMessage(`{}`)); !errors.Is(err, codecs.ErrUnknownType) {
			t.Errorf("Upcast = %v", err)
		}
		if err := r.AddUpcaster("Missing", 1, appendTrail("")); !errors.Is(err, codecs.ErrUnknownType) {
			t.Errorf("AddUpcaster = %v", err)
		}
	})
	t.Run("concurrent decodes are safe", func(t *testing.T) {
		r := chain(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					v, err := r.Decode("Trail", 1, json.RawMessage(`{"trail":"s"}`))
					if err != nil || v != (trail{Trail: "s+2+3"}) {
						t.Errorf("Decode = %v, %v", v, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
