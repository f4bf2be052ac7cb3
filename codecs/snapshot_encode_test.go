package codecs_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// EncodeSnapshotCompactState must write the bytes JSON[Snapshot] writes for
// every snapshot whose state is compact: the golden snapshots, edge cases
// of every field, and random dedupe windows with odd strings.
func TestEncodeSnapshotCompactStateMatchesJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 5, time.FixedZone("x", -3600))
	var snaps []codecs.Snapshot
	golden, err := filepath.Glob(filepath.Join("testdata", "snapshot*.golden.json"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("golden snapshots: %v %v", golden, err)
	}
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var s codecs.Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		// The golden files are indented: compact the state as json.Marshal would.
		var buf bytes.Buffer
		if err := json.Compact(&buf, s.State); err != nil {
			t.Fatal(err)
		}
		s.State = buf.Bytes()
		snaps = append(snaps, s)
	}
	state, err := json.Marshal(map[string]any{"html": "<a>&</a>", "u": "\u2028é", "n": []int{}, "nil": nil})
	if err != nil {
		t.Fatal(err)
	}
	snaps = append(snaps,
		codecs.Snapshot{},
		codecs.Snapshot{AggregateID: "a<&>\"\\\u2028", Version: 1<<64 - 1, Schema: -1, State: state, UpdatedAt: at, Offset: -1, Input: "in<put>",
			Recent: []codecs.Recent{}, Step: codecs.Step{CommandID: "c", Events: []codecs.Event{{Data: json.RawMessage(`{ "spaced" : 1 }`)}}}},
		codecs.Snapshot{AggregateID: "b", State: json.RawMessage(`12`), UpdatedAt: time.Now(),
			Recent: []codecs.Recent{{CommandID: "x", Error: &codecs.Rejection{Code: "c", Message: "bad \xff"}}}},
	)
	odd := []string{"", "c-1", "<b>&", "quote\"back\\slash", "tab\t", "\u2028", "é😀", "bad \xff", "\x7f", "\x01"}
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		s := codecs.Snapshot{AggregateID: "r", State: json.RawMessage(`{}`), Recent: []codecs.Recent{}}
		for range rnd.IntN(70) {
			r := codecs.Recent{CommandID: odd[rnd.IntN(len(odd))], Version: rnd.Uint64(), Events: rnd.IntN(5) - 1,
				Status: codecs.Status(odd[rnd.IntN(len(odd))]), Fingerprint: odd[rnd.IntN(len(odd))]}
			if rnd.IntN(2) == 0 {
				r.Error = &codecs.Rejection{Code: odd[rnd.IntN(len(odd))], Message: odd[rnd.IntN(len(odd))]}
			}
			s.Recent = append(s.Recent, r)
		}
		snaps = append(snaps, s)
	}
	for _, s := range snaps {
		want, err := codecs.JSON[codecs.Snapshot]{}.Encode(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := codecs.EncodeSnapshotCompactState(&s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeSnapshotCompactState\n= %s\nwant %s", got, want)
		}
	}
	if _, err := codecs.EncodeSnapshotCompactState(&codecs.Snapshot{UpdatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a time JSON cannot hold was encoded")
	}
}

func BenchmarkEncodeSnapshot(b *testing.B) {
	s := codecs.Snapshot{AggregateID: "inv-1", Version: 100, Schema: 1, State: json.RawMessage(`{"customer":"ACME","lines":[]}`),
		UpdatedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Offset: 1000, Input: "topic-id",
		Step: codecs.Step{CommandID: "c-100", Events: []codecs.Event{{Aggregate: "invoice", AggregateID: "inv-1", Version: 100, Type: "LineItemAdded",
			CommandID: "c-100", Data: json.RawMessage(`{"line_id":"l-1"}`)}}}}
	for i := range 64 {
		s.Recent = append(s.Recent, codecs.Recent{CommandID: "c-" + string(rune('a'+i%26)), Version: uint64(i), Events: 1, Fingerprint: "abcdefghijklmnop"})
	}
	b.Run("JSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (codecs.JSON[codecs.Snapshot]{}).Encode(&s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CompactState", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codecs.EncodeSnapshotCompactState(&s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
