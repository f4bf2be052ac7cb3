package estest

import (
	"bytes"
	"encoding/json"
	"slices"
)

// rawJSON is pre-encoded JSON embedded in a response as is: marshalJSON
// writes its bytes unchanged, so a document's _source keeps the whitespace,
// escapes and number spellings it was indexed with, as in Elasticsearch.
// (encoding/json would compact it and escape HTML characters.)
type rawJSON json.RawMessage

// MarshalJSON returns the bytes unchanged. encoding/json compacts them; use
// marshalJSON to keep them byte for byte.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// marshalJSON encodes v as json.Marshal does, except that rawJSON values
// reached through map[string]any and []any are copied verbatim.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeJSON(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeJSON(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case rawJSON:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		b.Write(x)
		return nil
	case map[string]any:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, err := json.Marshal(k)
			if err != nil {
				return err
			}
			b.Write(kb)
			b.WriteByte(':')
			if err := encodeJSON(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case []any:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}
