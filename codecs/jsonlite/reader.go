// Package jsonlite reads and writes the JSON of the hot paths (table
// snapshots decoded by views, view documents encoded for the store)
// without encoding/json's reflection: a Reader walks an object key by key,
// reads strings, integers and raw values, and skips (validating) the rest;
// the Append functions encode strings and times exactly as encoding/json
// does.
//
// A Reader handles the common shape of its input only: a string with an
// escape, a value of an unexpected type or a malformed document stops it
// with ErrUnsupported, and its caller decodes the same bytes with
// encoding/json instead, which gives the exact result or error. So a
// decoder built on a Reader never accepts what encoding/json refuses.
package jsonlite

import (
	"bytes"
	"errors"
	"strconv"
)

// ErrUnsupported stops a Reader at input it does not handle (or that is
// not valid JSON): decode the input with encoding/json instead.
var ErrUnsupported = errors.New("jsonlite: unsupported input, use encoding/json")

// maxDepth bounds the nesting a Reader skips (encoding/json allows 10000).
const maxDepth = 1000

// Reader reads one JSON object from Data. The zero value with Data set is
// ready; errors are sticky (Err).
type Reader struct {
	Data []byte
	pos  int
	err  error
	// first is set until the object's first key was read.
	first bool
}

// Err returns the first error met, nil when none.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail() { r.err = ErrUnsupported }

func (r *Reader) ws() {
	if r.pos < len(r.Data) && r.Data[r.pos] > ' ' {
		return // the common case: no whitespace
	}
	for r.pos < len(r.Data) {
		switch r.Data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// BeginObject reads the opening brace of the object.
func (r *Reader) BeginObject() bool {
	if r.err != nil {
		return false
	}
	r.ws()
	if r.pos >= len(r.Data) || r.Data[r.pos] != '{' {
		r.fail()
		return false
	}
	r.pos++
	r.first = true
	return true
}

// NextKey reads the next key of the object and its colon, and returns it
// (an alias of Data, valid only when it has no escape; a key with one
// stops the Reader). It returns false at the object's end or on error;
// after the end, End checks that nothing follows.
func (r *Reader) NextKey() ([]byte, bool) {
	if r.err != nil {
		return nil, false
	}
	r.ws()
	if r.pos >= len(r.Data) {
		r.fail()
		return nil, false
	}
	c := r.Data[r.pos]
	if c == '}' && r.first {
		r.pos++
		r.first = false
		return nil, false
	}
	if !r.first {
		switch c {
		case '}':
			r.pos++
			return nil, false
		case ',':
			r.pos++
			r.ws()
		default:
			r.fail()
			return nil, false
		}
	}
	r.first = false
	key, ok := r.plainString()
	if !ok {
		r.fail()
		return nil, false
	}
	r.ws()
	if r.pos >= len(r.Data) || r.Data[r.pos] != ':' {
		r.fail()
		return nil, false
	}
	r.pos++
	r.ws()
	return key, true
}

// End checks that only whitespace follows the object.
func (r *Reader) End() error {
	if r.err != nil {
		return r.err
	}
	r.ws()
	if r.pos != len(r.Data) {
		r.fail()
	}
	return r.err
}

// plainString reads a string without escapes at pos and returns its
// content (an alias of Data).
func (r *Reader) plainString() ([]byte, bool) {
	d := r.Data
	if r.pos >= len(d) || d[r.pos] != '"' {
		return nil, false
	}
	start := r.pos + 1
	for i := start; i < len(d); i++ {
		if c := d[i]; plain[c] == 0 {
			if c != '"' {
				return nil, false // an escape or a control character
			}
			r.pos = i + 1
			return d[start:i], true
		}
	}
	return nil, false
}

// plain marks the bytes a string holds as they are: anything but a quote,
// a backslash and control characters.
var plain = func() (t [256]byte) {
	for c := range t {
		if c >= 0x20 && c != '"' && c != '\\' {
			t[c] = 1
		}
	}
	return t
}()

// String reads a string value (or null, as ""). A string with an escape
// stops the Reader.
func (r *Reader) String() string {
	if r.err != nil {
		return ""
	}
	if r.null() {
		return ""
	}
	s, ok := r.plainString()
	if !ok {
		r.fail()
		return ""
	}
	return string(s)
}

// Null reads a null literal if the next value is one (encoding/json leaves
// a field unchanged for null).
func (r *Reader) Null() bool { return r.err == nil && r.null() }

// null reads a null literal if there is one.
func (r *Reader) null() bool {
	if bytes.HasPrefix(r.Data[r.pos:], []byte("null")) {
		r.pos += 4
		return true
	}
	return false
}

// Uint reads a non-negative integer (or null, as 0).
func (r *Reader) Uint() uint64 {
	if r.err != nil || r.null() {
		return 0
	}
	start := r.pos
	for r.pos < len(r.Data) && r.Data[r.pos] >= '0' && r.Data[r.pos] <= '9' {
		r.pos++
	}
	lit := r.Data[start:r.pos]
	if len(lit) == 0 || (len(lit) > 1 && lit[0] == '0') || r.numberGoesOn() {
		r.fail()
		return 0
	}
	n, err := strconv.ParseUint(string(lit), 10, 64)
	if err != nil {
		r.fail()
		return 0
	}
	return n
}

// Int reads an integer that fits an int (or null, as 0).
func (r *Reader) Int() int {
	if r.err != nil || r.null() {
		return 0
	}
	start := r.pos
	if r.pos < len(r.Data) && r.Data[r.pos] == '-' {
		r.pos++
	}
	digits := r.pos
	for r.pos < len(r.Data) && r.Data[r.pos] >= '0' && r.Data[r.pos] <= '9' {
		r.pos++
	}
	if d := r.Data[digits:r.pos]; len(d) == 0 || (len(d) > 1 && d[0] == '0') || r.numberGoesOn() {
		r.fail()
		return 0
	}
	n, err := strconv.Atoi(string(r.Data[start:r.pos]))
	if err != nil {
		r.fail()
		return 0
	}
	return n
}

// numberGoesOn reports whether a fraction or exponent follows an integer.
func (r *Reader) numberGoesOn() bool {
	if r.pos >= len(r.Data) {
		return false
	}
	switch r.Data[r.pos] {
	case '.', 'e', 'E':
		return true
	}
	return false
}

// Strings reads an array of strings (or null, as nil), appending to dst.
// An empty array gives a non-nil empty slice, as encoding/json does.
func (r *Reader) Strings(dst []string) []string {
	if r.err != nil || r.null() {
		return dst
	}
	if r.pos >= len(r.Data) || r.Data[r.pos] != '[' {
		r.fail()
		return dst
	}
	r.pos++
	if dst == nil {
		dst = []string{}
	}
	r.ws()
	if r.pos < len(r.Data) && r.Data[r.pos] == ']' {
		r.pos++
		return dst
	}
	for {
		r.ws()
		s, ok := r.plainString()
		if !ok {
			r.fail()
			return dst
		}
		dst = append(dst, string(s))
		r.ws()
		if r.pos >= len(r.Data) {
			r.fail()
			return dst
		}
		switch r.Data[r.pos] {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return dst
		default:
			r.fail()
			return dst
		}
	}
}

// Raw reads any value, validating it, and returns its bytes (an alias of
// Data).
func (r *Reader) Raw() []byte {
	if r.err != nil {
		return nil
	}
	start := r.pos
	r.skip(0)
	if r.err != nil {
		return nil
	}
	return r.Data[start:r.pos]
}

// Skip reads any value, validating it.
func (r *Reader) Skip() {
	if r.err == nil {
		r.skip(0)
	}
}

func (r *Reader) skip(depth int) {
	if depth > maxDepth || r.pos >= len(r.Data) {
		r.fail()
		return
	}
	switch c := r.Data[r.pos]; {
	case c == '{':
		r.pos++
		r.ws()
		if r.pos < len(r.Data) && r.Data[r.pos] == '}' {
			r.pos++
			return
		}
		for {
			r.ws()
			r.skipString()
			r.ws()
			if r.err != nil || r.pos >= len(r.Data) || r.Data[r.pos] != ':' {
				r.fail()
				return
			}
			r.pos++
			r.ws()
			r.skip(depth + 1)
			r.ws()
			if r.err != nil || r.pos >= len(r.Data) {
				r.fail()
				return
			}
			if r.Data[r.pos] == '}' {
				r.pos++
				return
			}
			if r.Data[r.pos] != ',' {
				r.fail()
				return
			}
			r.pos++
		}
	case c == '[':
		r.pos++
		r.ws()
		if r.pos < len(r.Data) && r.Data[r.pos] == ']' {
			r.pos++
			return
		}
		for {
			r.ws()
			r.skip(depth + 1)
			r.ws()
			if r.err != nil || r.pos >= len(r.Data) {
				r.fail()
				return
			}
			if r.Data[r.pos] == ']' {
				r.pos++
				return
			}
			if r.Data[r.pos] != ',' {
				r.fail()
				return
			}
			r.pos++
		}
	case c == '"':
		r.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		r.skipNumber()
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(r.Data[r.pos:], []byte(lit)) {
				r.pos += len(lit)
				return
			}
		}
		r.fail()
	}
}

// skipString skips a string, validating its escapes (encoding/json does
// not check UTF-8, and neither does this).
func (r *Reader) skipString() {
	if r.err != nil || r.pos >= len(r.Data) || r.Data[r.pos] != '"' {
		r.fail()
		return
	}
	i := r.pos + 1
	for i < len(r.Data) {
		c := r.Data[i]
		if plain[c] != 0 {
			i++
			continue
		}
		switch {
		case c == '"':
			r.pos = i + 1
			return
		case c < 0x20:
			r.fail()
			return
		case c == '\\':
			if i+1 >= len(r.Data) {
				r.fail()
				return
			}
			switch r.Data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(r.Data) {
					r.fail()
					return
				}
				for _, h := range r.Data[i+2 : i+6] {
					if !isHex(h) {
						r.fail()
						return
					}
				}
				i += 6
			default:
				r.fail()
				return
			}
		default:
			i++
		}
	}
	r.fail()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber skips a number, validating its grammar.
func (r *Reader) skipNumber() {
	d := r.Data
	i := r.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		r.fail()
		return
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			r.fail()
			return
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			r.fail()
			return
		}
	}
	r.pos = i
}

// FoldsToAny reports whether key matches one of names case-insensitively
// without matching it exactly: encoding/json would fill that name's field
// from it, so the caller should fall back.
func FoldsToAny(key []byte, names ...string) bool {
	for _, c := range key {
		if c >= 0x80 { // Unicode folding (the Kelvin sign folds to k)
			return true
		}
	}
	for _, n := range names {
		if len(n) != len(key) || len(n) == 0 || key[0]|0x20 != n[0]|0x20 {
			continue // ASCII letters fold by their 0x20 bit; names here are lower case
		}
		if string(key) != n && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
