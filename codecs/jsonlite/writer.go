package jsonlite

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe marks the ASCII bytes a string holds as they are: all but control
// characters, the quote, the backslash and the HTML characters <, > and &
// (encoding/json's htmlSafeSet).
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := range t {
		t[b] = b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped exactly as
// encoding/json escapes it (HTML characters, U+2028 and U+2029 as \u
// escapes, invalid UTF-8 as U+FFFD).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	i := safePrefix(s)
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Bytes of a word, for safePrefix's tests of eight bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// safePrefix returns the length of a prefix of s, a multiple of eight
// bytes, whose bytes AppendString copies as they are (safe, all ASCII). It
// tests a word at a time: ids and most text need no escape at all, and
// encoding a profile's ten thousand followers is mostly this scan.
func safePrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8] // one bounds check for the eight loads, which the compiler merges
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// Some byte is >= 0x80, < 0x20, or one of " \ < > &: each test
		// sets the high bit of (at least) the first byte that matches.
		if w&highs != 0 || hasBelow(w, 0x20) || hasByte(w, '"') || hasByte(w, '\\') ||
			hasByte(w, '<') || hasByte(w, '>') || hasByte(w, '&') {
			break
		}
	}
	return i
}

// hasBelow reports whether a byte of w, whose bytes are all below 0x80, is
// below n (n <= 0x80).
func hasBelow(w uint64, n byte) bool { return (w-ones*uint64(n))&^w&highs != 0 }

// hasByte reports whether a byte of w, whose bytes are all below 0x80, is b.
func hasByte(w uint64, b byte) bool { return hasBelow(w^(ones*uint64(b)), 1) }

// AppendStrings appends ss as a JSON array of strings ([] for nil).
func AppendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendTime appends t as encoding/json encodes a time.Time (RFC 3339 with
// nanoseconds, quoted).
func AppendTime(dst []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(dst, '"'))
	if err != nil {
		return dst, fmt.Errorf("jsonlite: time: %w", err)
	}
	return append(out, '"'), nil
}

// AppendInt appends n.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// AppendUint appends n.
func AppendUint(dst []byte, n uint64) []byte { return strconv.AppendUint(dst, n, 10) }
