package processors

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// The cache must answer exactly what decoding the stored bytes gives:
// every case is encoded as the processor encodes it, and what the cache
// keeps is compared with codecs.DecodeSnapshotSansStep of the bytes.
func TestSnapshotCacheMatchesDecoding(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC)
	paris := time.FixedZone("CET", 3600)
	rej := &codecs.Rejection{Code: "not_draft", Message: "invoice <a> & \"b\" is issued \u2028 é"}
	recent := []codecs.Recent{
		{CommandID: "c-1", Version: 1, Events: 1, Fingerprint: "fp1"},
		{CommandID: "c-2", Version: 1, Status: codecs.StatusRejected, Error: rej, Fingerprint: "fp2"},
		{CommandID: "c-3", Version: 1, Status: codecs.StatusConflict, Error: &codecs.Rejection{Code: "conflict"}},
	}
	base := func() codecs.Snapshot {
		return codecs.Snapshot{AggregateID: "inv-1", Version: 7, Schema: 2, State: json.RawMessage(`{"lines":[],"n":null}`),
			UpdatedAt: at, Offset: 42, Input: "topic-id", Recent: recent,
			Step: codecs.Step{CommandID: "c-3", Events: []codecs.Event{{Aggregate: "invoice", AggregateID: "inv-1", Version: 7, Data: json.RawMessage(`{}`)}}}}
	}
	cases := []struct {
		name   string
		change func(*codecs.Snapshot)
		cached bool
	}{
		{"plain", func(*codecs.Snapshot) {}, true},
		{"nil recent", func(s *codecs.Snapshot) { s.Recent = nil }, true},
		{"empty recent", func(s *codecs.Snapshot) { s.Recent = []codecs.Recent{} }, true},
		{"recent with spare capacity", func(s *codecs.Snapshot) { s.Recent = append(make([]codecs.Recent, 0, 10), recent...) }, true},
		{"nil state", func(s *codecs.Snapshot) { s.State = nil }, true},
		{"empty state", func(s *codecs.Snapshot) { s.State = json.RawMessage{} }, false}, // encoding fails
		{"null state", func(s *codecs.Snapshot) { s.State = json.RawMessage(`null`) }, true},
		{"number state", func(s *codecs.Snapshot) { s.State = json.RawMessage(`12`) }, true},
		{"string state with html", func(s *codecs.Snapshot) { s.State = json.RawMessage(`"<b>&"`) }, false},
		{"escaped html state", func(s *codecs.Snapshot) { s.State = json.RawMessage(`"\u003cb\u003e"`) }, true},
		{"state with spaces", func(s *codecs.Snapshot) { s.State = json.RawMessage(`{ "a" : [1, 2] }`) }, false},
		{"zero time", func(s *codecs.Snapshot) { s.UpdatedAt = time.Time{} }, true},
		{"fixed zone", func(s *codecs.Snapshot) { s.UpdatedAt = at.In(paris) }, true},
		{"local zone", func(s *codecs.Snapshot) { s.UpdatedAt = at.Local() }, true},
		{"monotonic clock", func(s *codecs.Snapshot) { s.UpdatedAt = time.Now() }, true},
		{"no input", func(s *codecs.Snapshot) { s.Input = "" }, true},
		{"no step", func(s *codecs.Snapshot) { s.Step = codecs.Step{} }, true},
		{"invalid utf-8 message", func(s *codecs.Snapshot) {
			s.Recent = []codecs.Recent{{CommandID: "c", Status: codecs.StatusRejected, Error: &codecs.Rejection{Code: "x", Message: "bad \xff"}}}
		}, false},
		{"invalid utf-8 input", func(s *codecs.Snapshot) { s.Input = "\xfe" }, false},
		{"id needing escapes", func(s *codecs.Snapshot) { s.AggregateID = "a<b" }, false},
		{"empty id", func(s *codecs.Snapshot) { s.AggregateID = "" }, true},
		{"large numbers", func(s *codecs.Snapshot) { s.Version, s.Offset, s.Schema = 1<<64-1, -1, -3 }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.change(&s)
			checkCacheable(t, &s, tc.cached)
		})
	}
}

// checkCacheable encodes s, and checks that cacheable accepts it when want
// is true and that what it returns is what decoding gives.
func checkCacheable(t *testing.T, s *codecs.Snapshot, want bool) {
	t.Helper()
	encoded, err := codecs.JSON[codecs.Snapshot]{}.Encode(s)
	if err != nil {
		if want {
			t.Fatalf("encode: %v", err)
		}
		return
	}
	n, ok := cacheable(s, encoded)
	if ok != want {
		t.Fatalf("cacheable = %v, want %v (%s)", ok, want, encoded)
	}
	if !ok {
		return
	}
	d, err := codecs.DecodeSnapshotSansStep(encoded)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(n, d) {
		t.Fatalf("cached and decoded differ:\ncached  %#v\ndecoded %#v", n, d)
	}
	if cap(n.Recent) != len(n.Recent) {
		t.Fatalf("cached recent has spare capacity: %d > %d", cap(n.Recent), len(n.Recent))
	}
	// The cache answers it for the same bytes, and only for them.
	c := newSnapshotCache(0)
	c.check = true
	c.put(s, encoded)
	got, hit, err := c.get(append([]byte(nil), encoded...))
	if err != nil || hit != (s.AggregateID != "") {
		t.Fatalf("get = %v, %v", hit, err)
	}
	if hit && !reflect.DeepEqual(got, d) {
		t.Fatalf("get returned %#v, want %#v", got, d)
	}
	other := append([]byte(nil), encoded...)
	other[len(other)-2] ^= 1
	if _, hit, _ := c.get(other); hit {
		t.Fatal("a cached snapshot answered other bytes")
	}
}

// cacheable lists the fields of codecs.Snapshot it reproduces: a new field
// must be added there (and here).
func TestSnapshotCacheKnowsEverySnapshotField(t *testing.T) {
	want := []string{"AggregateID", "Version", "Schema", "State", "UpdatedAt", "Offset", "Input", "Recent", "Step"}
	typ := reflect.TypeFor[codecs.Snapshot]()
	var got []string
	for i := range typ.NumField() {
		got = append(got, typ.Field(i).Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("codecs.Snapshot has fields %v; cacheable knows %v: teach it the new ones", got, want)
	}
	rt := reflect.TypeFor[codecs.Recent]()
	if rt.NumField() != 6 {
		t.Fatalf("codecs.Recent has %d fields; cacheable checks the strings of 6", rt.NumField())
	}
}

func TestSnapshotCacheBudget(t *testing.T) {
	c := newSnapshotCache(4096)
	var first []byte
	for i := range 100 {
		s := &codecs.Snapshot{AggregateID: "a" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Version: 1, State: json.RawMessage(`{}`)}
		enc, err := codecs.JSON[codecs.Snapshot]{}.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = enc
		}
		c.put(s, enc)
	}
	if n := c.entries.Len(); n >= 100 {
		t.Fatalf("%d entries kept within 4096 bytes", n)
	}
	if _, hit, _ := c.get(first); hit {
		t.Fatal("the oldest entry is still cached")
	}
	if newSnapshotCache(-1) != nil {
		t.Fatal("a negative budget made a cache")
	}
}

func FuzzSnapshotCacheMatchesDecoding(f *testing.F) {
	f.Add("inv-1", uint64(3), 1, `{"a":[1,"x"]}`, int64(1700000000), int32(3600), "c-1", "not_draft", "msg", "fp")
	f.Add("p", uint64(0), 0, `null`, int64(0), int32(0), "", "", "", "")
	f.Fuzz(func(t *testing.T, id string, version uint64, schema int, state string, unix int64, zone int32, cmdID, code, msg, fp string) {
		s := &codecs.Snapshot{AggregateID: id, Version: version, Schema: schema, State: json.RawMessage(state),
			UpdatedAt: time.Unix(unix%(1<<35), 0).In(time.FixedZone("z", int(zone%86400))), Offset: int64(version),
			Recent: []codecs.Recent{{CommandID: cmdID, Status: codecs.Status(code), Fingerprint: fp, Error: &codecs.Rejection{Code: code, Message: msg}}}}
		encoded, err := codecs.JSON[codecs.Snapshot]{}.Encode(s)
		if err != nil {
			return
		}
		n, ok := cacheable(s, encoded)
		if !ok {
			return
		}
		d, err := codecs.DecodeSnapshotSansStep(encoded)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(n, d) {
			t.Fatalf("cached and decoded differ:\ncached  %#v\ndecoded %#v", n, d)
		}
	})
}
