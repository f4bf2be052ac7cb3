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
	"time"
	"unicode/utf8"
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

// The scanning functions below take the data and a position and return
// the position after what they read (-1 when it is not there or not
// valid): the position stays in a register through their loops instead
// of being stored to the Reader at every byte.

// space marks JSON's four whitespace bytes.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// skipWS returns the position of the first non-whitespace byte at or
// after i.
func skipWS(d []byte, i int) int {
	if i < len(d) && d[i] > ' ' {
		return i // the common case: compact JSON
	}
	for i < len(d) && space[d[i]] {
		i++
	}
	return i
}

func (r *Reader) ws() { r.pos = skipWS(r.Data, r.pos) }

// BeginObject reads the opening brace of the object.
func (r *Reader) BeginObject() bool {
	if r.err != nil {
		return false
	}
	i := skipWS(r.Data, r.pos)
	if i >= len(r.Data) || r.Data[i] != '{' {
		r.fail()
		return false
	}
	r.pos = i + 1
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
	d := r.Data
	i := skipWS(d, r.pos)
	if i >= len(d) {
		r.fail()
		return nil, false
	}
	switch c := d[i]; {
	case c == '}' && r.first:
		r.pos = i + 1
		r.first = false
		return nil, false
	case r.first:
	case c == '}':
		r.pos = i + 1
		return nil, false
	case c == ',':
		i = skipWS(d, i+1)
	default:
		r.fail()
		return nil, false
	}
	r.first = false
	end := plainString(d, i)
	if end < 0 {
		r.fail()
		return nil, false
	}
	key := d[i+1 : end-1]
	i = skipWS(d, end)
	if i >= len(d) || d[i] != ':' {
		r.fail()
		return nil, false
	}
	r.pos = skipWS(d, i+1)
	return key, true
}

// End checks that only whitespace follows the object.
func (r *Reader) End() error {
	if r.err != nil {
		return r.err
	}
	if skipWS(r.Data, r.pos) != len(r.Data) {
		r.fail()
	}
	return r.err
}

// plainString returns the end of the string without escapes at d[i]
// (after its closing quote), -1 when there is none. A string that is not
// valid UTF-8 has none either: encoding/json replaces its bad bytes with
// U+FFFD.
func plainString(d []byte, i int) int {
	if i >= len(d) || d[i] != '"' {
		return -1
	}
	start, ascii := i+1, true
	for i = start; i < len(d); i++ {
		switch plain[d[i]] {
		case plainASCII:
		case plainNonASCII:
			ascii = false
		default:
			if d[i] != '"' || (!ascii && !utf8.Valid(d[start:i])) {
				return -1 // an escape, a control character or bad UTF-8
			}
			return i + 1
		}
	}
	return -1
}

// plain classes the bytes of a string: those it holds as they are (ASCII,
// or part of a multi-byte UTF-8 sequence), and 0 for the quote, the
// backslash and control characters.
var plain = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = plainNonASCII
		case c >= 0x20 && c != '"' && c != '\\':
			t[c] = plainASCII
		}
	}
	return t
}()

const (
	plainASCII = 1 + iota
	plainNonASCII
)

// String reads a string value (or null, as ""). A string with an escape
// stops the Reader.
func (r *Reader) String() string {
	if r.err != nil || r.null() {
		return ""
	}
	end := plainString(r.Data, r.pos)
	if end < 0 {
		r.fail()
		return ""
	}
	s := string(r.Data[r.pos+1 : end-1])
	r.pos = end
	return s
}

// Null reads a null literal if the next value is one (encoding/json leaves
// a field unchanged for null).
func (r *Reader) Null() bool { return r.err == nil && r.null() }

// null reads a null literal if there is one.
func (r *Reader) null() bool {
	if isLiteral(r.Data, r.pos, "null") {
		r.pos += 4
		return true
	}
	return false
}

// isLiteral reports whether lit is at d[i].
func isLiteral(d []byte, i int, lit string) bool {
	return len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit
}

// digits returns the end of the run of decimal digits at d[i].
func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// maxShortDigits is how many decimal digits always fit an int64.
const maxShortDigits = 18

// Uint reads a non-negative integer (or null, as 0).
func (r *Reader) Uint() uint64 {
	if r.err != nil || r.null() {
		return 0
	}
	d, start := r.Data, r.pos
	end := digits(d, start)
	lit := d[start:end]
	r.pos = end
	if len(lit) == 0 || (len(lit) > 1 && lit[0] == '0') || r.numberGoesOn() {
		r.fail()
		return 0
	}
	if len(lit) <= maxShortDigits {
		var n uint64
		for _, c := range lit {
			n = n*10 + uint64(c-'0')
		}
		return n
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
	d, start := r.Data, r.pos
	neg := start < len(d) && d[start] == '-'
	first := start
	if neg {
		first++
	}
	end := digits(d, first)
	r.pos = end
	if lit := d[first:end]; len(lit) == 0 || (len(lit) > 1 && lit[0] == '0') || r.numberGoesOn() {
		r.fail()
		return 0
	}
	if end-first <= maxShortDigits {
		n := 0
		for _, c := range d[first:end] {
			n = n*10 + int(c-'0')
		}
		if neg {
			n = -n
		}
		return n
	}
	n, err := strconv.Atoi(string(d[start:end]))
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
	d, i := r.Data, r.pos
	if i >= len(d) || d[i] != '[' {
		r.fail()
		return dst
	}
	if dst == nil {
		dst = []string{}
	}
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == ']' {
		r.pos = i + 1
		return dst
	}
	for {
		i = skipWS(d, i)
		end := plainString(d, i)
		if end < 0 {
			r.pos = i
			r.fail()
			return dst
		}
		dst = append(dst, string(d[i+1:end-1]))
		i = skipWS(d, end)
		if i >= len(d) {
			r.pos = i
			r.fail()
			return dst
		}
		switch d[i] {
		case ',':
			i++
		case ']':
			r.pos = i + 1
			return dst
		default:
			r.pos = i
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
	end := skipValue(r.Data, start, 0)
	if end < 0 {
		r.fail()
		return nil
	}
	r.pos = end
	return r.Data[start:end]
}

// Skip reads any value, validating it.
func (r *Reader) Skip() {
	if r.err != nil {
		return
	}
	end := skipValue(r.Data, r.pos, 0)
	if end < 0 {
		r.fail()
		return
	}
	r.pos = end
}

// skipValue returns the end of the value at d[i], -1 when there is no
// valid one (or it nests deeper than maxDepth).
func skipValue(d []byte, i, depth int) int {
	if depth > maxDepth || i >= len(d) {
		return -1
	}
	switch c := d[i]; {
	case c == '"':
		return skipString(d, i)
	case c == '{':
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == '}' {
			return i + 1
		}
		for {
			i = skipString(d, skipWS(d, i))
			if i < 0 {
				return -1
			}
			i = skipWS(d, i)
			if i >= len(d) || d[i] != ':' {
				return -1
			}
			if i = skipValue(d, skipWS(d, i+1), depth+1); i < 0 {
				return -1
			}
			var done bool
			if i, done = afterElement(d, i, '}'); i < 0 || done {
				return i
			}
		}
	case c == '[':
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == ']' {
			return i + 1
		}
		for {
			if i = skipValue(d, skipWS(d, i), depth+1); i < 0 {
				return -1
			}
			var done bool
			if i, done = afterElement(d, i, ']'); i < 0 || done {
				return i
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(d, i)
	case isLiteral(d, i, "true"):
		return i + 4
	case isLiteral(d, i, "false"):
		return i + 5
	case isLiteral(d, i, "null"):
		return i + 4
	}
	return -1
}

// afterElement reads what follows a member of an object or an element of
// an array that end closes: it returns the position after end and true,
// the position after a comma and false, or -1 for anything else.
func afterElement(d []byte, i int, end byte) (int, bool) {
	i = skipWS(d, i)
	if i >= len(d) {
		return -1, false
	}
	switch d[i] {
	case end:
		return i + 1, true
	case ',':
		return i + 1, false
	}
	return -1, false
}

// skipString returns the end of the string at d[i], validating its
// escapes (encoding/json does not check UTF-8, and neither does this), -1
// when there is no valid one.
func skipString(d []byte, i int) int {
	if i < 0 || i >= len(d) || d[i] != '"' {
		return -1
	}
	for i++; i < len(d); {
		c := d[i]
		if plain[c] != 0 {
			i++
			continue
		}
		if c != '\\' {
			if c == '"' {
				return i + 1
			}
			return -1 // a control character
		}
		if i+1 >= len(d) {
			return -1
		}
		switch d[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(d) {
				return -1
			}
			for _, h := range d[i+2 : i+6] {
				if !isHex(h) {
					return -1
				}
			}
			i += 6
		default:
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber returns the end of the number at d[i], validating its
// grammar, -1 when there is no valid one.
func skipNumber(d []byte, i int) int {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return -1
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
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

// ParseTime reads a JSON string holding an RFC 3339 time in UTC to the
// second or with up to nine fraction digits ("2006-01-02T15:04:05Z",
// "2006-01-02T15:04:05.999Z"), as time.Time.UnmarshalJSON reads it,
// without its general parser. ok is false for anything else (another
// zone, more digits, null, an invalid date), which the caller hands to
// time.Time.UnmarshalJSON.
func ParseTime(b []byte) (t time.Time, ok bool) {
	const layout = `"2006-01-02T15:04:05`
	if len(b) < len(layout)+2 || b[0] != '"' || b[len(b)-1] != '"' || b[len(b)-2] != 'Z' ||
		b[5] != '-' || b[8] != '-' || b[11] != 'T' || b[14] != ':' || b[17] != ':' {
		return t, false
	}
	year, ok1 := decimal(b[1:5])
	month, ok2 := decimal(b[6:8])
	day, ok3 := decimal(b[9:11])
	hour, ok4 := decimal(b[12:14])
	minute, ok5 := decimal(b[15:17])
	sec, ok6 := decimal(b[18:20])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return t, false
	}
	nsec := 0
	if frac := b[len(layout) : len(b)-2]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return t, false
		}
		n, ok := decimal(frac[1:])
		if !ok {
			return t, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// decimal reads d, all decimal digits (at most nine).
func decimal(d []byte) (int, bool) {
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
