package codecs_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

func recent(i int) codecs.Recent {
	return codecs.Recent{CommandID: fmt.Sprintf("c%d", i), Version: uint64(i), Events: 1}
}

func TestSnapshotRemember(t *testing.T) {
	for _, tc := range []struct {
		name string
		have int // entries c1..cN already remembered
		k    int
		want []codecs.Recent // after remembering c(have+1)
	}{
		{"an empty snapshot remembers the first command", 0, 3, []codecs.Recent{recent(1)}},
		{"below k every command is kept", 1, 3, []codecs.Recent{recent(1), recent(2)}},
		{"at k the oldest is dropped", 3, 3, []codecs.Recent{recent(2), recent(3), recent(4)}},
		{"over k (k was lowered) only the newest k are kept", 5, 2, []codecs.Recent{recent(5), recent(6)}},
		{"k of 1 keeps only the new command", 4, 1, []codecs.Recent{recent(5)}},
		{"k of 0 keeps nothing", 2, 0, []codecs.Recent{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s codecs.Snapshot
			for i := 1; i <= tc.have; i++ {
				s.Recent = append(s.Recent, recent(i))
			}
			s.Remember(recent(tc.have+1), tc.k)
			if diff := cmp.Diff(tc.want, s.Recent, cmp.Comparer(func(a, b []codecs.Recent) bool {
				return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
			})); diff != "" {
				t.Errorf("Recent (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a long run keeps the newest k, oldest first", func(t *testing.T) {
		var s codecs.Snapshot
		for i := 1; i <= 100; i++ {
			s.Remember(recent(i), 5)
		}
		want := []codecs.Recent{recent(96), recent(97), recent(98), recent(99), recent(100)}
		if diff := cmp.Diff(want, s.Recent); diff != "" {
			t.Errorf("Recent (-want +got):\n%s", diff)
		}
		if cap(s.Recent) > 16 {
			t.Errorf("cap(Recent) = %d, want the slice reused, not grown", cap(s.Recent))
		}
	})
}

func TestSnapshotFind(t *testing.T) {
	var s codecs.Snapshot
	for i := 1; i <= 10; i++ {
		s.Remember(recent(i), 3)
	}
	t.Run("the remembered commands are found", func(t *testing.T) {
		for i := 8; i <= 10; i++ {
			got, ok := s.Find(fmt.Sprintf("c%d", i))
			if !ok || got != recent(i) {
				t.Errorf("Find(c%d) = %+v, %v; want %+v", i, got, ok, recent(i))
			}
		}
	})
	t.Run("forgotten and unknown commands are not found", func(t *testing.T) {
		for _, id := range []string{"c1", "c7", "c11", ""} {
			if got, ok := s.Find(id); ok {
				t.Errorf("Find(%q) = %+v, want not found", id, got)
			}
		}
	})
	t.Run("the newest entry wins when an id repeats", func(t *testing.T) {
		s := codecs.Snapshot{Recent: []codecs.Recent{{CommandID: "c", Version: 1}, {CommandID: "c", Version: 2}}}
		if got, _ := s.Find("c"); got.Version != 2 {
			t.Errorf("Find = %+v, want version 2", got)
		}
	})
	t.Run("an empty snapshot finds nothing", func(t *testing.T) {
		var s codecs.Snapshot
		if got, ok := s.Find("c1"); ok {
			t.Errorf("Find = %+v", got)
		}
	})
}

func TestFingerprint(t *testing.T) {
	base := func() *codecs.Command {
		return &codecs.Command{ID: "c1", Aggregate: "invoice", AggregateID: "inv-1", Type: "RecordPayment",
			Data: json.RawMessage(`{"payment_id":"p1","amount":100}`)}
	}
	v := func(n uint64) *uint64 { return &n }
	same := map[string]func(c *codecs.Command){
		"another id, issue time and meta": func(c *codecs.Command) {
			c.ID, c.IssuedAt, c.Meta = "c2", time.Now(), map[string]string{"trace_id": "x"}
		},
		"whitespace in the data": func(c *codecs.Command) { c.Data = json.RawMessage(" {\"payment_id\": \"p1\",\n \"amount\": 100} ") },
	}
	different := map[string]func(c *codecs.Command){
		"another type":        func(c *codecs.Command) { c.Type = "CancelInvoice" },
		"another amount":      func(c *codecs.Command) { c.Data = json.RawMessage(`{"payment_id":"p1","amount":101}`) },
		"an expected version": func(c *codecs.Command) { c.ExpectedVersion = v(0) },
		"no data":             func(c *codecs.Command) { c.Data = nil },
		"type and data boundaries": func(c *codecs.Command) {
			c.Type, c.Data = "RecordPayment{", json.RawMessage(`"payment_id":"p1","amount":100}`)
		},
	}
	want := base().Fingerprint()
	for name, change := range same {
		t.Run("a command with "+name+" has the same fingerprint", func(t *testing.T) {
			c := base()
			change(c)
			if got := c.Fingerprint(); got != want {
				t.Fatalf("fingerprint %s, want %s", got, want)
			}
		})
	}
	for name, change := range different {
		t.Run("a command with "+name+" has another fingerprint", func(t *testing.T) {
			c := base()
			change(c)
			if got := c.Fingerprint(); got == want {
				t.Fatalf("fingerprint %s unchanged", got)
			}
		})
	}
	v0, v1 := base(), base()
	v0.ExpectedVersion, v1.ExpectedVersion = v(0), v(1)
	if v0.Fingerprint() == v1.Fingerprint() {
		t.Fatal("expected versions 0 and 1 share a fingerprint")
	}
}

func TestResultOutcome(t *testing.T) {
	unknown := &codecs.Rejection{Code: "replayed", Message: "no longer remembered"}
	rejected := &codecs.Rejection{Code: "not_draft", Message: "issued"}
	for _, tc := range []struct {
		name string
		r    codecs.Result
		want codecs.Status
	}{
		{"accepted", codecs.Result{Status: codecs.StatusAccepted}, codecs.StatusAccepted},
		{"rejected", codecs.Result{Status: codecs.StatusRejected, Error: rejected}, codecs.StatusRejected},
		{"conflict", codecs.Result{Status: codecs.StatusConflict}, codecs.StatusConflict},
		{"duplicate of an acceptance", codecs.Result{Status: codecs.StatusDuplicate, FirstStatus: codecs.StatusAccepted}, codecs.StatusAccepted},
		{"duplicate of a rejection", codecs.Result{Status: codecs.StatusDuplicate, FirstStatus: codecs.StatusRejected, Error: rejected}, codecs.StatusRejected},
		{"duplicate of a conflict", codecs.Result{Status: codecs.StatusDuplicate, FirstStatus: codecs.StatusConflict}, codecs.StatusConflict},
		{"replay of unknown outcome is never a success", codecs.Result{Status: codecs.StatusDuplicate, Error: unknown}, codecs.StatusRejected},
		{"duplicate from an older processor", codecs.Result{Status: codecs.StatusDuplicate}, codecs.StatusAccepted},
	} {
		if got := tc.r.Outcome(); got != tc.want {
			t.Errorf("%s: Outcome() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
