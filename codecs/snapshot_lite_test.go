package codecs

import (
	"encoding/json"
	"testing"
)

// DecodeSnapshotForView's fast path answers only what encoding/json would
// answer the same way; anything else goes to encoding/json.
func FuzzDecodeSnapshotForViewMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"aggregate_id":"inv-1","version":3,"schema":1,"state":{"a":[1,"x"]},"updated_at":"2026-11-03T12:00:00Z","offset":7,"recent":[{"command_id":"c","version":1}],"step":{"command_id":"","events":null}}`,
		`{"aggregate_id":null,"version":null,"state":null,"updated_at":null}`,
		`{"Version":2}`, `{"aggregate_id":"a\"b"}`, `{"version":1.5}`, `{"version":-1}`, `{"schema":-2}`, `{"updated_at":"bad"}`,
		`{"aggregate_id":"x","aggregate_id":"y"}`, "{\"aggregate_id\":\"bad \xf4 utf8\"}", `{"aggregate_id":"é漢字"}`, `{}`, `null`, ` {"state" : [ ] } `, `{"version":18446744073709551616}`,
		`{"updated_at":"2024-02-29T23:59:59.5Z"}`, `{"updated_at":"2023-02-29T00:00:00Z"}`, `{"updated_at":"2026-11-03T12:00:00+01:00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeSnapshotForView(b)
		var vs viewSnapshot
		werr := json.Unmarshal(b, &vs)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, encoding/json %v", b, err, werr)
		}
		if err != nil {
			return
		}
		want := Snapshot{AggregateID: vs.AggregateID, Version: vs.Version, Schema: vs.Schema, State: vs.State, UpdatedAt: vs.UpdatedAt}
		if got.AggregateID != want.AggregateID || got.Version != want.Version || got.Schema != want.Schema ||
			string(got.State) != string(want.State) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedAt.Location().String() != want.UpdatedAt.Location().String() {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", b, got, want)
		}
	})
}

func BenchmarkDecodeSnapshotForView(b *testing.B) {
	snap := []byte(`{"aggregate_id":"user-0000001","version":1,"schema":1,"state":{"followers":["f0"],"following":[],"username":"user-0000001-1"},"updated_at":"2026-11-03T12:00:00Z","offset":0,"recent":null,"step":{"command_id":"","events":null}}`)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSnapshotForView(snap); err != nil {
			b.Fatal(err)
		}
	}
}
