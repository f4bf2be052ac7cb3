package jsonlite_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs/jsonlite"
)

// AppendString and AppendStrings encode exactly as encoding/json does.
func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "<a&b>", "\x00\x01\b\f\n\r\t\x1f", "\u2028\u2029", "é漢字🙂", "bad\xff\xfeutf8", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonlite.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		ss := []string{s, "x", s}
		want, _ = json.Marshal(ss)
		if got := jsonlite.AppendStrings(nil, ss); string(got) != string(want) {
			t.Fatalf("AppendStrings = %s, want %s", got, want)
		}
	})
}

func TestAppendTimeMatchesEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{
		{}, time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 678900, time.FixedZone("x", -5*3600-1800)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*3600)),
	} {
		want, werr := json.Marshal(tm)
		got, gerr := jsonlite.AppendTime([]byte("x"), tm)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%v: AppendTime error %v, encoding/json %v", tm, gerr, werr)
		}
		if werr == nil && string(got) != "x"+string(want) {
			t.Errorf("AppendTime(%v) = %s, want x%s", tm, got, want)
		}
		if werr != nil && string(got) != "x" {
			t.Errorf("AppendTime(%v) failed but appended: %s", tm, got)
		}
	}
}

func TestReaderReadsAnObject(t *testing.T) {
	in := ` {"a":"x","n":12,"i":-3,"l":["p","q"],"e":[],"skip":{"k":[1,2.5e-3,true,false,null,"s\"\u00e9"]},"z":null} `
	r := jsonlite.Reader{Data: []byte(in)}
	if !r.BeginObject() {
		t.Fatal(r.Err())
	}
	var got []any
	for {
		key, ok := r.NextKey()
		if !ok {
			break
		}
		switch string(key) {
		case "a":
			got = append(got, r.String())
		case "n":
			got = append(got, r.Uint())
		case "i":
			got = append(got, r.Int())
		case "l", "e":
			got = append(got, len(r.Strings(nil)))
		case "z":
			got = append(got, r.Null())
		default:
			r.Skip()
		}
	}
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	want := []any{"x", uint64(12), -3, 2, 0, true}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// Input a Reader must not accept (encoding/json refuses it, or it needs
// encoding/json's full decoder) stops it.
func TestReaderStopsAtWhatItCannotTake(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":tru}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":1} x`, `{"a":1}{}`,
		`{"s":"esc\"aped"}`, `{"u":1.5}`, `{"u":-1}`, `{"u":"1"}`, `{"l":[1]}`, `{"e\u0041":1}`,
	} {
		r := jsonlite.Reader{Data: []byte(in)}
		if r.BeginObject() {
			for {
				key, ok := r.NextKey()
				if !ok {
					break
				}
				switch string(key) {
				case "s":
					_ = r.String()
				case "u":
					_ = r.Uint()
				case "l":
					_ = r.Strings(nil)
				default:
					r.Skip()
				}
			}
		}
		if r.End() == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = jsonlite.AppendString(buf[:0], "user-0000001-1 <plain> text")
	}
}
