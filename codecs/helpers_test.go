package codecs_test

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/b2dc4357/sourced/codecs"
)

// equalJSON compares JSON texts by meaning, not bytes: encoding/json
// compacts and HTML-escapes a json.RawMessage when it marshals it, and a nil
// RawMessage marshals as null, so a round trip need not keep the bytes.
// Texts that are not JSON are compared byte for byte.
func equalJSON(a, b json.RawMessage) bool {
	va, errA := jsonValue(a)
	vb, errB := jsonValue(b)
	if errA != nil || errB != nil {
		return bytes.Equal(a, b)
	}
	return cmp.Equal(va, vb)
}

func jsonValue(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil // a nil RawMessage marshals as null
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep numbers exact, and 1e400 decodable
	var v any
	err := d.Decode(&v)
	return v, err
}

// ignoreDecoderFields ignores Command.Err and Command.Raw: they are what the
// decoder says about its input, not part of the command.
var ignoreDecoderFields = cmpopts.IgnoreFields(codecs.Command{}, "Err", "Raw")

// roundTrip holds the options that compare envelopes after a round trip.
var roundTrip = cmp.Options{
	cmp.Comparer(equalJSON),
	ignoreDecoderFields,
	// Meta is omitempty: an empty map comes back as nil.
	cmp.FilterValues(func(a, b map[string]string) bool { return len(a) == 0 && len(b) == 0 },
		cmp.Comparer(func(_, _ map[string]string) bool { return true })),
}

// nested returns a JSON object whose "data" holds depth nested objects.
func nested(depth int) []byte {
	return []byte(`{"id":"c1","aggregate":"invoice","aggregate_id":"i1","type":"T","data":` +
		strings.Repeat(`{"a":`, depth) + `1` + strings.Repeat(`}`, depth) + `}`)
}

// hostileJSON lists malformed or odd inputs (mostly not JSON at all),
// shared by the seeds of every fuzz target.
func hostileJSON() [][]byte {
	return [][]byte{
		nil,
		[]byte(``),
		[]byte(` `),
		[]byte(`{`),
		[]byte(`}`),
		[]byte(`{"id":"c1","aggregate":"inv`),
		[]byte(`{"id":"c1",}`),
		[]byte(`{"id":"c1"} x`),
		[]byte(`{"id":"c1"}]`),
		[]byte(`[]`),
		[]byte(`[{"id":"c1"}]`),
		[]byte(`"c1"`),
		[]byte(`42`),
		[]byte(`true`),
		[]byte(`null`),
		[]byte("{\"id\":\"c\xff1\"}"),
		[]byte(strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001)),
		nested(10001),
	}
}
