package estest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jnode is a JSON value that keeps key order and source positions, so
// document errors name the first bad field in document order, with a
// line:column like ES's.
type jnode struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys  []string
	vals  []*jnode // object values (parallel to keys) or array elements
	str   string
	num   json.Number
	b     bool
	start int // byte offset of the value's first character
}

// pos renders a byte offset as ES's "line:column" (both 1-based).
func pos(raw []byte, off int) string {
	if off > len(raw) {
		off = len(raw)
	}
	line := 1 + bytes.Count(raw[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(raw[:off], '\n')
	return fmt.Sprintf("%d:%d", line, col)
}

// parseTree parses raw into a jnode tree. Duplicate keys are refused, as
// ES's parser refuses them.
func parseTree(raw []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := readNode(dec, raw)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &treeError{off: int(dec.InputOffset()), msg: "Unexpected character after the end of the document"}
	}
	return n, nil
}

type treeError struct {
	off int
	msg string
}

func (e *treeError) Error() string { return e.msg }

// valueStart skips whitespace, ':' and ',' from off.
func valueStart(raw []byte, off int) int {
	for off < len(raw) {
		switch raw[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

func readNode(dec *json.Decoder, raw []byte) (*jnode, error) {
	start := valueStart(raw, int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, &treeError{off: start, msg: err.Error()}
	}
	n := &jnode{start: start}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = 'o'
			seen := map[string]bool{}
			for dec.More() {
				koff := valueStart(raw, int(dec.InputOffset()))
				kt, err := dec.Token()
				if err != nil {
					return nil, &treeError{off: koff, msg: err.Error()}
				}
				k, _ := kt.(string)
				if seen[k] {
					return nil, &treeError{off: koff, msg: fmt.Sprintf("Duplicate field '%s'", k)}
				}
				seen[k] = true
				v, err := readNode(dec, raw)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, &treeError{off: int(dec.InputOffset()), msg: err.Error()}
			}
		case '[':
			n.kind = 'a'
			for dec.More() {
				v, err := readNode(dec, raw)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, &treeError{off: int(dec.InputOffset()), msg: err.Error()}
			}
		default:
			return nil, &treeError{off: start, msg: fmt.Sprintf("Unexpected close marker '%c'", t)}
		}
	case string:
		n.kind, n.str = 's', t
	case json.Number:
		n.kind, n.num = 'n', t
	case bool:
		n.kind, n.b = 'b', t
	case nil:
		n.kind = 'z'
	}
	return n, nil
}

// preview renders a value as ES's "Preview of field's value" does (Java's
// toString of the parsed value).
func (n *jnode) preview() string {
	switch n.kind {
	case 's':
		return n.str
	case 'n':
		return n.num.String()
	case 'b':
		return fmt.Sprint(n.b)
	case 'z':
		return "null"
	case 'a':
		var b bytes.Buffer
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.preview())
		}
		b.WriteByte(']')
		return b.String()
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range n.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + n.vals[i].preview())
	}
	b.WriteByte('}')
	return b.String()
}

func (n *jnode) tokenName() string {
	switch n.kind {
	case 'o':
		return "START_OBJECT"
	case 'a':
		return "START_ARRAY"
	case 's':
		return "VALUE_STRING"
	case 'n':
		return "VALUE_NUMBER"
	case 'b':
		if n.b {
			return "VALUE_TRUE"
		}
		return "VALUE_FALSE"
	}
	return "VALUE_NULL"
}
