package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one analysed term and its position in the field.
type token struct {
	term string
	pos  int
}

// positionIncrementGap separates the values of a multi-valued text field so
// that a phrase never spans two values (ES default: 100).
const positionIncrementGap = 100

// analyze runs the simplified standard analyzer over s: Unicode word
// segmentation (see wordChar and midChar) followed by lowercasing. Han and
// Hiragana characters are one token each, as in UAX#29.
func analyze(s string) []string {
	var out []string
	start := -1 // byte offset of the current token, -1 outside one
	prevClass := classOther
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		c := classify(r)
		switch {
		case c == classIdeo:
			if start >= 0 {
				out = append(out, strings.ToLower(s[start:i]))
				start = -1
			}
			out = append(out, s[i:i+n])
		case c.word():
			if start < 0 {
				start = i
			}
		case start >= 0 && c.mid() && joins(prevClass, c, s[i+n:]):
			// a single mid character between two word characters stays in
			// the token ("don't", "3.14", "u.s.a")
		default:
			if start >= 0 {
				out = append(out, strings.ToLower(s[start:i]))
				start = -1
			}
		}
		if c.word() || c == classIdeo {
			prevClass = c
		} else if !(start >= 0 && c.mid()) {
			prevClass = classOther
		}
		i += n
	}
	if start >= 0 {
		out = append(out, strings.ToLower(s[start:]))
	}
	return out
}

type runeClass int

const (
	classOther runeClass = iota
	classLetter
	classDigit
	classExtend // underscore and other connector punctuation
	classIdeo   // Han, Hiragana: one token per character
	classMidLetter
	classMidNum
	classMidNumLet
)

func (c runeClass) word() bool { return c == classLetter || c == classDigit || c == classExtend }
func (c runeClass) mid() bool {
	return c == classMidLetter || c == classMidNum || c == classMidNumLet
}

func classify(r rune) runeClass {
	switch r {
	case '\'', '.', '\u2019', '\uFF0E':
		return classMidNumLet
	case ':', '\u00B7', '\u05F4', '\u2027':
		return classMidLetter
	case ',', ';', '\u037E', '\u0589', '\u066C':
		return classMidNum
	}
	switch {
	case unicode.In(r, unicode.Han, unicode.Hiragana):
		return classIdeo
	case unicode.IsLetter(r) || unicode.IsMark(r):
		return classLetter
	case unicode.IsDigit(r) || unicode.Is(unicode.Nl, r):
		return classDigit
	case unicode.Is(unicode.Pc, r):
		return classExtend
	}
	return classOther
}

// joins reports whether mid character class c, preceded by a word character
// of class prev, joins it with the next rune of rest (UAX#29 rules WB6/7 and
// WB11/12).
func joins(prev, c runeClass, rest string) bool {
	if rest == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	next := classify(r)
	switch {
	case prev == classLetter && next == classLetter:
		return c == classMidLetter || c == classMidNumLet
	case prev == classDigit && next == classDigit:
		return c == classMidNum || c == classMidNumLet
	}
	return false
}

// analyzeValues analyses every string of a multi-valued field, separating
// values by positionIncrementGap.
func analyzeValues(vals []any) []token {
	var toks []token
	pos := 0
	for i, v := range vals {
		s, ok := stringOf(v)
		if !ok {
			continue
		}
		if i > 0 && len(toks) > 0 {
			pos += positionIncrementGap
		}
		for _, t := range analyze(s) {
			toks = append(toks, token{term: t, pos: pos})
			pos++
		}
	}
	return toks
}
