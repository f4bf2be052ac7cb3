package jsonlite_test

import (
	"encoding/json"
	"strings"
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

// AppendString tests eight bytes at a time before it looks at bytes one
// by one: every byte value, at every position of strings longer than a few
// words, encodes as encoding/json encodes it.
func TestAppendStringEveryByteAtEveryPosition(t *testing.T) {
	for _, n := range []int{7, 8, 9, 16, 25} {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("user-0123456789.:_", 2)[:n])
				b[pos] = byte(c)
				s := string(b)
				want, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				if got := jsonlite.AppendString([]byte("x"), s); string(got[1:]) != string(want) {
					t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
				}
			}
		}
	}
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

// liteDoc is what FuzzReaderMatchesEncodingJSON reads, with the Reader
// and with encoding/json.
type liteDoc struct {
	S string          `json:"s"`
	U uint64          `json:"u"`
	I int             `json:"i"`
	L []string        `json:"l"`
	R json.RawMessage `json:"r"`
}

// readLite reads b as the decoders built on a Reader do; ok is false when
// they would hand b to encoding/json.
func readLite(b []byte) (d liteDoc, ok bool) {
	r := jsonlite.Reader{Data: b}
	if !r.BeginObject() {
		return d, false
	}
	for {
		key, more := r.NextKey()
		if !more {
			break
		}
		switch string(key) {
		case "s":
			if !r.Null() {
				d.S = r.String()
			}
		case "u":
			if !r.Null() {
				d.U = r.Uint()
			}
		case "i":
			if !r.Null() {
				d.I = r.Int()
			}
		case "l":
			d.L = r.Strings(nil)
		case "r":
			d.R = r.Raw()
		default:
			if jsonlite.FoldsToAny(key, "s", "u", "i", "l", "r") {
				return d, false
			}
			r.Skip()
		}
	}
	return d, r.End() == nil
}

// A Reader accepts only what encoding/json accepts, and reads the same
// values from it.
func FuzzReaderMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"s":"x","u":12,"i":-3,"l":["p","q"],"r":{"k":[1,2.5e-3,true,false,null,"s\"\u00e9"]},"z":null}`,
		` { "s" : "a b" , "l" : [ ] , "r" : [ 1 , { } ] } `, `{"l":null,"r":null,"s":null,"u":null,"i":null}`,
		`{"u":18446744073709551615}`, `{"u":18446744073709551616}`, `{"i":-9223372036854775808}`, `{"i":9223372036854775808}`,
		`{"u":0123}`, `{"i":-0}`, `{"i":1e3}`, `{"r":-0.5E+7}`, `{"r":"\ud83d\ude00\/"}`, `{"S":"x"}`, `{"l":["a"],"l":["b"]}`,
		"{\"s\":\"\x01\"}", "{\"s\":\"\xf4\"}", "{\"l\":[\"\xed\xa0\x80\"]}", `{"s":"é漢字🙂"}`, `{"r":[[[[]]]]}`, `{"r":tru}`, `{"x":{"a":1,}}`, `{"s":"<&>"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := readLite(b)
		if !ok {
			return // encoding/json decides
		}
		var want liteDoc
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%q: the Reader accepted what encoding/json refuses: %v", b, err)
		}
		if got.S != want.S || got.U != want.U || got.I != want.I || string(got.R) != string(want.R) ||
			(got.L == nil) != (want.L == nil) || len(got.L) != len(want.L) {
			t.Fatalf("%q: Reader %+v, encoding/json %+v", b, got, want)
		}
		for i := range got.L {
			if got.L[i] != want.L[i] {
				t.Fatalf("%q: Reader %+v, encoding/json %+v", b, got, want)
			}
		}
	})
}

// ParseTime reads only what time.Time.UnmarshalJSON reads, and the same
// time.
func FuzzParseTimeMatchesUnmarshalJSON(f *testing.F) {
	for _, s := range []string{
		`"2026-11-03T12:00:00Z"`, `"2026-11-03T12:00:00.1Z"`, `"2026-11-03T12:00:00.123456789Z"`, `"2026-11-03T12:00:00.1234567891Z"`,
		`"2024-02-29T23:59:59Z"`, `"2023-02-29T00:00:00Z"`, `"2100-02-29T00:00:00Z"`, `"2000-02-29T00:00:00Z"`, `"0000-01-01T00:00:00Z"`,
		`"9999-12-31T23:59:59.999999999Z"`, `"2026-11-03T24:00:00Z"`, `"2026-11-03T12:60:00Z"`, `"2026-11-03T12:00:60Z"`,
		`"2026-04-31T00:00:00Z"`, `"2026-13-01T00:00:00Z"`, `"2026-00-01T00:00:00Z"`, `"2026-11-03T12:00:00+01:00"`,
		`"2026-11-03T12:00:00.Z"`, `"2026-11-03T12:00:00,5Z"`, `"2026-11-03 12:00:00Z"`, `"2026-11-03T12:00:00z"`, `null`, `"+026-11-03T12:00:00Z"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := jsonlite.ParseTime(b)
		if !ok {
			return // time.Time.UnmarshalJSON decides
		}
		var want time.Time
		if err := want.UnmarshalJSON(b); err != nil {
			t.Fatalf("%q: ParseTime read %v, UnmarshalJSON refuses it: %v", b, got, err)
		}
		if got != want {
			t.Fatalf("%q: ParseTime %#v, UnmarshalJSON %#v", b, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{"user-0000001-1 <plain> text", "user-000001", "Consulting, senior, per day"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64)
			for b.Loop() {
				buf = jsonlite.AppendString(buf[:0], s)
			}
		})
	}
}
