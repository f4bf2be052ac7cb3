package reference

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// The documents encode themselves exactly as encoding/json encodes them.
func TestDocumentsAppendJSONLikeEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 3, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	docs := []interface {
		AppendJSON([]byte) ([]byte, error)
	}{
		ProfileDoc{}, ProfileDoc{ID: "u-1", Version: 7, Username: `"<ann>" & \\ é` + "\n\u2028\xff", Followers: []string{"a", "b<"}, Following: []string{},
			FollowersCount: 2, UpdatedAt: at},
		InvoiceDoc{}, InvoiceDoc{ID: "inv-1", Version: 3, Customer: "acme & co", Status: "paid", Currency: "EUR", DueDate: "2026-12-31",
			Total: -5, Paid: 1 << 40, Balance: 3, LineCount: 2, LineDescriptions: "a\nb", UpdatedAt: at},
		HistoryDoc{}, HistoryDoc{AggregateID: "inv-1", Version: 2, Type: "LineItemAdded", CommandID: "c", OccurredAt: at, Data: `{"x":"<y>"}`},
	}
	for _, d := range docs {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%T.AppendJSON = %s\nencoding/json gives %s", d, got, want)
		}
	}
	if _, err := (ProfileDoc{UpdatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}).AppendJSON(nil); err == nil {
		t.Error("a time encoding/json refuses was encoded")
	}
}

// The profile projection decodes the state the same with or without
// encoding/json.
func TestProfileStateLiteDecodesLikeEncodingJSON(t *testing.T) {
	for _, state := range []string{
		`{"username":"ann","following":["a"],"followers":[]}`, `{"username":null,"following":null}`, `{}`,
		`{"username":"a\"b","followers":["x"]}`, `{"Username":"case"}`, `{"following":[1]}`, `{"extra":{"k":[1,2]},"username":"u"}`,
		`{"followers":["a"],"followers":null}`, `null`,
	} {
		s := &codecs.Snapshot{AggregateID: "u-1", Version: 1, State: json.RawMessage(state)}
		got, err := projectProfile(s)
		var st profileState
		werr := json.Unmarshal(s.State, &st)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s: error %v, encoding/json %v", state, err, werr)
		}
		if err != nil {
			continue
		}
		doc := got.Doc.(ProfileDoc)
		if doc.Username != st.Username || len(doc.Followers) != len(st.Followers) || len(doc.Following) != len(st.Following) {
			t.Errorf("%s: projected %+v, encoding/json decodes %+v", state, doc, st)
		}
	}
}

func BenchmarkProjectProfile(b *testing.B) {
	s := &codecs.Snapshot{AggregateID: "user-0000001", Version: 1, UpdatedAt: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC),
		State: json.RawMessage(`{"followers":["f0"],"following":[],"username":"user-0000001-1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		p, err := projectProfile(s)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Doc.(ProfileDoc).AppendJSON(nil); err != nil {
			b.Fatal(err)
		}
	}
}
